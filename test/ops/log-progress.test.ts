// The logger's line format and redaction, and the progress display in both modes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createProgress, formatDuration } from '../../src/cli/progress.ts';
import { createLogger } from '../../src/log.ts';

function capture() {
  const lines: string[] = [];
  return { lines, destination: { write: (s: string) => void lines.push(s) } };
}

describe('createLogger', () => {
  test('JSON lines: level as a word, name, msg, fields, time; below the level nothing', () => {
    const c = capture();
    const log = createLogger({ level: 'info', name: 'ftp', destination: c.destination });
    log('debug', 'not shown');
    log('info', 'transfer', { user: 'alice', bytes: 10 });
    log('error', 'plain');
    assert.equal(c.lines.length, 2);
    const first = JSON.parse(c.lines[0]!);
    assert.equal(first.level, 'info');
    assert.equal(first.name, 'ftp');
    assert.equal(first.msg, 'transfer');
    assert.equal(first.user, 'alice');
    assert.equal(first.bytes, 10);
    assert.match(first.time, /^\d{4}-\d\d-\d\dT/);
    assert.equal(JSON.parse(c.lines[1]!).level, 'error');
  });

  test('secrets under the usual names are redacted, nested too', () => {
    const c = capture();
    const log = createLogger({ level: 'debug', destination: c.destination });
    log('info', 'oops', { password: 'pw-one', user: { name: 'a', password: 'pw-two' }, token: 'tk', authorization: 'Bearer x' });
    const text = c.lines.join('');
    for (const secret of ['pw-one', 'pw-two', '"tk"', 'Bearer x']) assert.equal(text.includes(secret), false, secret);
    assert.equal(JSON.parse(c.lines[0]!).password, '[redacted]');
  });

  test('silent writes nothing', () => {
    const c = capture();
    createLogger({ level: 'silent', destination: c.destination })('error', 'x');
    assert.equal(c.lines.length, 0);
  });
});

function sink(isTTY: boolean) {
  let text = '';
  const stream = Object.assign(
    new Writable({
      write(chunk, _enc, cb) {
        text += chunk.toString();
        cb();
      },
    }),
    { isTTY, columns: 100 },
  );
  return { stream, text: () => text };
}

describe('createProgress', () => {
  test('on a terminal: one line redrawn with a bar, then a summary', () => {
    const out = sink(true);
    let t = 0;
    const p = createProgress({ label: 'fsck', total: 10, stream: out.stream, now: () => t });
    for (let i = 1; i <= 10; i++) {
      t += 1000;
      p.tick(`fid ${i}`);
    }
    p.finish();
    const text = out.text();
    assert.match(text, /\rfsck \[#{24}\] 10\/10 100% 1\.0\/s  fid 10/);
    assert.match(text, /\rfsck \[#{12}-{12}\] 5\/10 50% 1\.0\/s eta 5s/);
    assert.match(text, /\nfsck: done, 10 items in 10s\n$/);
    assert.equal(text.split('\n').length, 3, 'only the summary takes new lines');
  });

  test('elsewhere: plain lines at each tenth and on a timer, no control characters', () => {
    const out = sink(false);
    let t = 0;
    const p = createProgress({ label: 'drain dev3', total: 1000, stream: out.stream, now: () => t, plainIntervalMs: 60_000 });
    for (let i = 1; i <= 1000; i++) {
      t += 10;
      p.update(i);
    }
    p.finish('1000 files moved');
    const lines = out.text().trimEnd().split('\n');
    // The first update shows at once, then one line per tenth, then the summary.
    assert.equal(lines.length, 12, out.text());
    assert.equal(lines[0], 'drain dev3: 1/1000 0% 100/s eta 10s');
    assert.equal(lines[1], 'drain dev3: 100/1000 10% 100/s eta 9s');
    assert.equal(lines[10], 'drain dev3: 1000/1000 100% 100/s');
    assert.equal(lines[11], 'drain dev3: done, 1000 files moved');
    assert.doesNotMatch(out.text(), /\r/);
  });

  test('unknown total: counts and rate only', () => {
    const out = sink(false);
    let t = 0;
    const p = createProgress({ label: 'rebalance', stream: out.stream, now: () => t, plainIntervalMs: 1000 });
    t = 2000;
    p.update(50);
    p.finish();
    assert.equal(out.text(), 'rebalance: 50 25/s\nrebalance: done, 50 items in 2s\n');
  });

  test('durations', () => {
    assert.equal(formatDuration(59_400), '59s');
    assert.equal(formatDuration(61_000), '1m01s');
    assert.equal(formatDuration(3_720_000), '1h02m');
  });
});
