// Protocol completeness with real clients (ftplib, lftp) and raw sockets where a client cannot
// express the case: FEAT, MLSD/MLST, MFMT, HASH, AVBL, SITE, OPTS, parsing, and error codes.
// Each of these fails on plain ftp-srv 4.6.3 (no MLSD/MLST/MFMT/HASH/AVBL, FEAT without EPSV
// and REST STREAM, `"` stripped, `-x` eaten, split commands, 402 answers).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, stat, utimes, chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { ftplib, lftp } from '../harness/clients.ts';
import { useCluster } from '../harness/cluster.ts';
import { RawFtp, writeData } from './protocol-raw.ts';

function json(r: { code: number | null; stdout: string; stderr: string }): any {
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

describe('FTP protocol commands', () => {
  const c = useCluster({ db: 'sqlite', ftp: true, tmpDir: 'mogftp-proto-' });
  let dir: string;
  before(() => (dir = c.tmpDir));

  test('FEAT tells the truth before login: EPSV, REST STREAM, MLST facts, HASH, no TLS lines without TLS', async () => {
    const { ftp } = await RawFtp.open(c.port);
    const r = (await ftp.cmd('FEAT'))!;
    ftp.close();
    assert.equal(r.code, 211);
    const feats = r.lines.slice(1, -1).map((l) => l.trim());
    for (const f of ['EPSV', 'EPRT', 'REST STREAM', 'UTF8', 'MFMT', 'AVBL', 'SIZE', 'MDTM'])
      assert.ok(feats.includes(f), `FEAT lists ${f}: ${feats.join(' | ')}`);
    assert.ok(feats.includes('MLST type*;size*;modify*;perm*;unique*;UNIX.mode*;x.class*;'), feats.join(' | '));
    assert.ok(feats.includes('HASH SHA-256*;SHA-1;MD5;CRC32'), feats.join(' | '));
    for (const f of feats) assert.ok(!/^(AUTH|PBSZ|PROT)\b/.test(f), `no TLS feature without TLS: ${f}`);
    for (const line of r.lines.slice(1, -1)) assert.ok(line.startsWith(' '), `feature lines start with a space: ${line}`);
  });

  test('MLSD and MLST give RFC 3659 facts, OPTS MLST selects them, read-only users get read-only perms', async () => {
    await c.addUser('viewer', 'viewer', { readOnly: true });
    const out = json(
      await ftplib(
        c.port,
        `ftp.encoding = 'utf-8'
ftp.mkd('mdir')
ftp.storbinary('STOR mdir/one file.txt', io.BytesIO(b'12345'))
ftp.storbinary('STOR mdir/ünï.bin', io.BytesIO(b''))
ftp.mkd('mdir/sub')
entries = {n: f for n, f in ftp.mlsd('mdir')}
mlst = ftp.sendcmd('MLST mdir/one file.txt')
opts = ftp.sendcmd('OPTS MLST type;size;')
narrow = {n: f for n, f in ftp.mlsd('mdir')}
try:
    ftp.sendcmd('MLSD mdir/one file.txt'); onfile = 'ok'
except ftplib.error_perm as e:
    onfile = str(e)
ftp2 = ftplib.FTP(); ftp2.connect('127.0.0.1', ${c.port}); ftp2.login('viewer', 'viewer'); ftp2.encoding = 'utf-8'
ro = {n: f for n, f in ftp2.mlsd('mdir')}
print(json.dumps({'entries': entries, 'mlst': mlst, 'opts': opts, 'narrow': narrow, 'onfile': onfile, 'ro': ro}))`,
      ),
    );
    const f = out.entries['one file.txt'];
    assert.equal(f.type, 'file');
    assert.equal(f.size, '5');
    assert.match(f.modify, /^\d{14}$/);
    assert.equal(f.perm, 'adfrw');
    assert.ok(f.unique);
    assert.equal(out.entries['ünï.bin'].size, '0');
    assert.equal(out.entries.sub.type, 'dir');
    assert.equal(out.entries.sub.perm, 'cdeflmp');
    assert.equal(f['x.class'], 'default');
    assert.equal(out.entries.sub['x.class'], 'default');
    assert.notEqual(out.entries.sub.unique, f.unique);
    assert.match(out.mlst, /^250-.*\n type=file;size=5;modify=\d{14};perm=adfrw;unique=\w+;UNIX\.mode=0644;x\.class=default; \/mdir\/one file\.txt\n250 End$/);
    assert.equal(out.opts, '200 MLST OPTS type;size;');
    assert.deepEqual(out.narrow['one file.txt'], { type: 'file', size: '5' });
    assert.match(out.onfile, /^550 /);
    assert.equal(out.ro['one file.txt'].perm, 'r');
    assert.equal(out.ro.sub.perm, 'el');
  });

  test('MFMT sets the time stored in the tree; MDTM and MLSD show it', async () => {
    const out = json(
      await ftplib(
        c.port,
        `ftp.storbinary('STOR timed.txt', io.BytesIO(b'abc'))
r = ftp.sendcmd('MFMT 20010203040506 timed.txt')
bad = None
try:
    ftp.sendcmd('MFMT 20011303040506 timed.txt')
except ftplib.error_perm as e:
    bad = str(e)
print(json.dumps({'mfmt': r, 'mdtm': ftp.sendcmd('MDTM timed.txt'), 'bad': bad, 'facts': dict(ftp.mlsd('/'))['timed.txt']}))`,
      ),
    );
    assert.equal(out.mfmt, '213 Modify=20010203040506; timed.txt');
    assert.equal(out.mdtm, '213 20010203040506');
    assert.match(out.bad, /^501 /);
    assert.equal(out.facts.modify, '20010203040506');
    const entry = await c.services.store.resolvePath(c.domainId, ['timed.txt']);
    assert.equal(entry?.mtime, Date.UTC(2001, 1, 3, 4, 5, 6));
  });

  test('HASH answers SHA-256 from the store and computes SHA-1, MD5 and CRC32; OPTS HASH selects', async () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog\n'.repeat(5000));
    await writeFile(join(dir, 'h.txt'), data);
    const out = json(
      await ftplib(
        c.port,
        `ftp.storbinary('STOR h.txt', open(${JSON.stringify(join(dir, 'h.txt'))}, 'rb'))
res = {'default': ftp.sendcmd('HASH h.txt')}
for alg in ['SHA-1', 'MD5', 'CRC32', 'SHA-256']:
    res['opts ' + alg] = ftp.sendcmd('OPTS HASH ' + alg)
    res[alg] = ftp.sendcmd('HASH h.txt')
res['feat'] = [l.strip() for l in ftp.sendcmd('FEAT').split('\\n') if l.strip().startswith('HASH')]
for bad in ['OPTS HASH SHA-512', 'HASH /', 'HASH nothing-here']:
    try:
        ftp.sendcmd(bad); res[bad] = 'ok'
    except ftplib.error_perm as e:
        res[bad] = str(e)
print(json.dumps(res))`,
      ),
    );
    const hex = (alg: string) => createHash(alg).update(data).digest('hex');
    const size = data.length;
    assert.equal(out.default, `213 SHA-256 0-${size} ${hex('sha256')} h.txt`);
    assert.equal(out['opts SHA-1'], '200 SHA-1');
    assert.equal(out['SHA-1'], `213 SHA-1 0-${size} ${hex('sha1')} h.txt`);
    assert.equal(out.MD5, `213 MD5 0-${size} ${hex('md5')} h.txt`);
    assert.equal(out.CRC32, `213 CRC32 0-${size} ${crc32(data).toString(16).padStart(8, '0')} h.txt`);
    assert.equal(out['SHA-256'], `213 SHA-256 0-${size} ${hex('sha256')} h.txt`);
    assert.deepEqual(out.feat, ['HASH SHA-256*;SHA-1;MD5;CRC32']);
    assert.match(out['OPTS HASH SHA-512'], /^501 /);
    assert.match(out['HASH /'], /^550 /);
    assert.match(out['HASH nothing-here'], /^550 /);
  });

  test('AVBL: the quota left, else the cluster\'s writable space', async () => {
    await c.addUser('quota', 'quota', { homeDir: '/quota', quotaBytes: 1_000_000 });
    const q = json(await ftplib(c.port, `ftp.storbinary('STOR f', io.BytesIO(b'x' * 1000))\nprint(json.dumps(ftp.sendcmd('AVBL')))`, { user: 'quota', password: 'quota' }));
    assert.equal(q, '213 999000');
    for (const n of c.nodes) await c.services.store.observeDevice(n.devid, { observed: 'writeable', mbTotal: 10_000, mbUsed: 4_000, at: Date.now() });
    c.services.tracker.invalidateDevices();
    const all = json(await ftplib(c.port, `print(json.dumps([ftp.sendcmd('AVBL'), ftp.sendcmd('AVBL /')]))`));
    assert.deepEqual(all, [`213 ${3 * 6000 * 1024 * 1024}`, `213 ${3 * 6000 * 1024 * 1024}`]);
  });

  test('SITE CHMOD stores the mode; SITE UTIME (lftp and ProFTPD forms) stores the time', async () => {
    const out = json(
      await ftplib(
        c.port,
        `ftp.storbinary('STOR s.txt', io.BytesIO(b's'))
res = [ftp.sendcmd('SITE CHMOD 640 s.txt'), dict(ftp.mlsd('/'))['s.txt']['unix.mode']]
res.append(ftp.sendcmd('SITE UTIME 19991231235958 s.txt')); res.append(ftp.sendcmd('MDTM s.txt'))
res.append(ftp.sendcmd('SITE UTIME s.txt 20020101000000 20030405060708 20020101000000 UTC')); res.append(ftp.sendcmd('MDTM s.txt'))
lines = []; ftp.retrlines('LIST s.txt', lines.append); res.append(lines[0][:10])
for bad in ['SITE CHMOD 999 s.txt', 'SITE NOPE x']:
    try:
        ftp.sendcmd(bad); res.append('ok')
    except ftplib.error_perm as e:
        res.append(str(e)[:3])
print(json.dumps(res))`,
      ),
    );
    assert.deepEqual(out, [
      '200 SITE CHMOD 640 done',
      '0640',
      '200 Modification time set to 19991231235958',
      '213 19991231235958',
      '200 Modification time set to 20030405060708',
      '213 20030405060708',
      '-rw-r-----',
      '501',
      '502',
    ]);
  });

  test('lftp mirror -R keeps modes and times (SITE CHMOD, MFMT) and mirrors back over MLSD', async () => {
    const src = join(dir, 'mirror-src');
    await mkdir(join(src, 'sub'), { recursive: true });
    await writeFile(join(src, 'a.txt'), 'alpha');
    await writeFile(join(src, 'sub', 'b.txt'), 'beta');
    await chmod(join(src, 'a.txt'), 0o600);
    const when = new Date(Date.UTC(2005, 5, 7, 8, 9, 10));
    await utimes(join(src, 'a.txt'), when, when);
    await utimes(join(src, 'sub', 'b.txt'), when, when);
    const up = await lftp(c.port, `mkdir -p /mirrored; mirror -R ${src} /mirrored`);
    assert.equal(up.code, 0, up.stderr);
    const a = await c.services.store.resolvePath(c.domainId, ['mirrored', 'a.txt']);
    assert.equal(a?.mtime, when.getTime());
    assert.equal(a?.mode, 0o600);
    const back = join(dir, 'mirror-back');
    const down = await lftp(c.port, `debug -o ${join(dir, 'lftp-debug.log')} 5; mirror /mirrored ${back}`);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(await readFile(join(back, 'sub', 'b.txt'), 'utf8'), 'beta');
    assert.equal((await stat(join(back, 'a.txt'))).mtimeMs, when.getTime());
    assert.equal((await stat(join(back, 'sub', 'b.txt'))).mtimeMs, when.getTime());
    assert.match(await readFile(join(dir, 'lftp-debug.log'), 'utf8'), /---> MLSD/);
  });

  test('OPTS UTF8 ON before and after login; SIZE of an empty file is 213 0', async () => {
    const { ftp } = await RawFtp.open(c.port);
    assert.equal((await ftp.cmd('OPTS UTF8 ON'))?.code, 200);
    await ftp.cmd('USER demo');
    assert.equal((await ftp.cmd('PASS demo'))?.code, 230);
    assert.equal((await ftp.cmd('OPTS UTF8 ON'))?.code, 200);
    assert.equal((await ftp.cmd('OPTS NOPE'))?.code, 501);
    const port = await ftp.epsv();
    const done = writeData(port, '');
    assert.equal((await ftp.cmd('STOR zero.bin'))?.code, 150);
    await done;
    assert.equal((await ftp.next())?.code, 226);
    assert.equal((await ftp.cmd('SIZE zero.bin'))?.text, '213 0');
    ftp.close();
  });

  test('a command split across TCP packets is one command; pipelined commands are answered in order', async () => {
    const ftp = await RawFtp.login(c.port);
    ftp.send('MK');
    await new Promise((r) => setTimeout(r, 150));
    ftp.send('D split');
    await new Promise((r) => setTimeout(r, 150));
    ftp.send(' dir\r');
    await new Promise((r) => setTimeout(r, 150));
    ftp.send('\n');
    const mkd = await ftp.next();
    assert.equal(mkd?.code, 257, mkd?.text);
    assert.match(mkd!.text, /"\/split dir"/);
    ftp.send('CWD split dir\r\nPWD\r\nNOOP\r\nCDUP\r\nPWD\r\n');
    const replies = [];
    for (let i = 0; i < 5; i++) replies.push(await ftp.next());
    assert.deepEqual(replies.map((r) => r?.code), [250, 257, 200, 250, 257]);
    assert.match(replies[1]!.text, /"\/split dir"/);
    assert.match(replies[4]!.text, /"\/"/);
    ftp.close();
  });

  test('names with quotes and a leading dash; LIST -la, LIST -a and NLST -1 list the current directory', async () => {
    const out = json(
      await ftplib(
        c.port,
        `ftp.mkd('opts')
ftp.cwd('opts')
for n in ['-x', 'say "hi".txt', '-la']:
    ftp.storbinary('STOR ' + n, io.BytesIO(n.encode()))
got = {}
for n in ['-x', 'say "hi".txt']:
    b = io.BytesIO(); ftp.retrbinary('RETR ' + n, b.write); got[n] = b.getvalue().decode()
def lines(cmd):
    out = []; ftp.retrlines(cmd, out.append); return out
res = {'got': got, 'la': lines('LIST -la'), 'a': lines('LIST -a'), 'n1': lines('NLST -1'), 'size': ftp.sendcmd('SIZE -x'), 'mkd': ftp.sendcmd('MKD q"uote')}
print(json.dumps(res))`,
      ),
    );
    assert.deepEqual(out.got, { '-x': '-x', 'say "hi".txt': 'say "hi".txt' });
    assert.equal(out.la.length, 3);
    assert.ok(out.la.some((l: string) => l.endsWith(' say "hi".txt')));
    assert.equal(out.a.length, 3);
    assert.deepEqual(out.n1.sort(), ['-la', '-x', 'say "hi".txt'].sort());
    assert.equal(out.size, '213 2');
    assert.equal(out.mkd, '257 "/opts/q""uote" created');
  });

  test('every command gets an answer, and none is the invalid 402', async () => {
    const ftp = await RawFtp.login(c.port);
    const help = (await ftp.cmd('HELP'))!;
    assert.equal(help.code, 214);
    const directives = help.lines.slice(1, -1).flatMap((l) => l.trim().split(/\s+/)).filter((d) => /^[A-Z]{3,4}$/.test(d));
    for (const d of ['MLSD', 'MLST', 'MFMT', 'HASH', 'AVBL', 'SITE', 'EPSV', 'STAT']) assert.ok(directives.includes(d), `HELP lists ${d}`);
    const skip = new Set(['QUIT', 'ABOR', 'AUTH', 'STOR', 'STOU', 'APPE', 'RETR', 'LIST', 'NLST', 'MLSD', 'PORT', 'EPRT', 'REIN']);
    for (const d of directives) {
      if (skip.has(d)) continue;
      for (const line of [d, `${d} nothing-here`, `HELP ${d}`]) {
        const r = await ftp.cmd(line, 10_000);
        assert.ok(r, `${line}: answered`);
        assert.notEqual(r.code, 402, `${line}: ${r.text}`);
        assert.ok(r.code >= 200 && r.code < 600, `${line}: ${r.text}`);
      }
    }
    assert.equal((await ftp.cmd('NOOP'))?.code, 200);
    ftp.close();
  });

  test('file-system errors keep their reply codes', async () => {
    const ftp = await RawFtp.login(c.port);
    const codes: Record<string, number | undefined> = {};
    for (const line of ['DELE no-such-file', 'MKD errs', 'MKD errs', 'RMD /', 'CWD no-such-dir', 'RNTO x', 'MFMT 2001 x', 'SITE CHMOD 644 no-such-file', 'MDTM no-such-file'])
      codes[line] = (await ftp.cmd(line))?.code;
    ftp.close();
    assert.deepEqual(codes, {
      'DELE no-such-file': 550,
      'MKD errs': 550,
      'RMD /': 550,
      'CWD no-such-dir': 550,
      'RNTO x': 503,
      'MFMT 2001 x': 501,
      'SITE CHMOD 644 no-such-file': 550,
      'MDTM no-such-file': 550,
    });
  });

  test('HASH of a SHA-256 file is the checksum recorded at upload (no replica read)', async () => {
    const out = json(await ftplib(c.port, `ftp.storbinary('STOR stored.txt', io.BytesIO(b'stored bytes'))\nprint(json.dumps({}))`));
    assert.deepEqual(out, {});
    const fid = (await c.fidOf('/stored.txt'))!;
    const file = (await c.services.store.getFile(fid))!;
    // With every replica gone, only the stored checksum can answer.
    for (const n of c.nodes) await rm(join(n.root, `dev${n.devid}`), { recursive: true, force: true }).then(() => mkdir(join(n.root, `dev${n.devid}`)));
    const r = json(await ftplib(c.port, `print(json.dumps(ftp.sendcmd('HASH stored.txt')))`));
    assert.equal(r, `213 SHA-256 0-${file.length} ${file.checksum} stored.txt`);
  });
});
