// `mogftp tracker`'s listener: the MogileFS tracker protocol over TCP, one request line at a
// time per connection. Limits: connections in all and per client address, the length of a
// request line, and an idle timeout; while a request runs the socket is paused, and it resumes
// only when the reply is written out (a client that pipelines or does not read its replies
// holds nothing but its socket buffers).
import net from 'node:net';
import { ErrorCodes, describeError, mogError } from '../errors.ts';
import type { LogFn } from '../log.ts';
import type { StorageClient } from '../storage/client.ts';
import type { Tracker } from '../tracker/tracker.ts';
import { ADMIN_COMMANDS, FILE_COMMANDS } from './commands.ts';
import type { DoorContext, DoorSettings, DoorStore } from './context.ts';
import { Refusal, replyForError } from './errors.ts';
import { Keyspace } from './keyspace.ts';
import { errLine, okLine, parseRequest } from './protocol.ts';

export interface TrackerDoorLimits {
  /** Open connections in all (0: no limit). Default 1000. */
  maxConnections: number;
  /** Open connections per client address (0: no limit). Default 64. */
  maxPerAddress: number;
  /** Longest request line in bytes. Default 16384 (keys are ≤ 255 bytes in MogileFS). */
  maxLineBytes: number;
  /** A connection silent this long is closed. Default 300 s (clients keep theirs open between requests). */
  idleTimeoutMs: number;
}

export interface TrackerDoorOptions {
  store: DoorStore;
  tracker: Tracker;
  client: StorageClient;
  /** Hand out URLs signed with the storage key (the client must hold it); false for nodes without auth. */
  signUrls: boolean;
  host: string;
  port: number;
  settings?: Partial<DoorSettings>;
  limits?: Partial<TrackerDoorLimits>;
  log: LogFn;
}

export interface RunningTrackerDoor {
  port: number;
  address: string;
  close(): Promise<void>;
}

const DEFAULT_LIMITS: TrackerDoorLimits = { maxConnections: 1000, maxPerAddress: 64, maxLineBytes: 16384, idleTimeoutMs: 300_000 };
const DEFAULT_SETTINGS: DoorSettings = { putUrlTtlS: 3600, getUrlTtlS: 600, admin: true, unsignedHosts: [] };

export async function startTrackerDoor(opts: TrackerDoorOptions): Promise<RunningTrackerDoor> {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const settings = { ...DEFAULT_SETTINGS, ...opts.settings };
  for (const [name, v] of [['put-url-ttl', settings.putUrlTtlS], ['get-url-ttl', settings.getUrlTtlS]] as const) {
    if (!Number.isSafeInteger(v) || v <= 0) throw mogError(ErrorCodes.INVALID_ARGUMENT, `--${name} must be a whole number of seconds above 0, not ${v}`);
  }
  const ctx: DoorContext = {
    store: opts.store,
    tracker: opts.tracker,
    client: opts.client,
    keys: new Keyspace(opts.store),
    signs: opts.signUrls,
    settings,
    log: opts.log,
  };
  const perAddress = new Map<string, number>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    const addr = socket.remoteAddress ?? '?';
    const count = (perAddress.get(addr) ?? 0) + 1;
    if (limits.maxPerAddress > 0 && count > limits.maxPerAddress) {
      socket.end(errLine('too_many_connections', 'Too many connections from your address'), () => socket.destroy());
      return;
    }
    perAddress.set(addr, count);
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      const left = (perAddress.get(addr) ?? 1) - 1;
      if (left > 0) perAddress.set(addr, left);
      else perAddress.delete(addr);
    });
    serveConnection(ctx, socket, limits);
  });
  if (limits.maxConnections > 0) server.maxConnections = limits.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as net.AddressInfo;
  return {
    port: bound.port,
    address: bound.address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

function serveConnection(ctx: DoorContext, socket: net.Socket, limits: TrackerDoorLimits): void {
  let buffered = '';
  let busy = false;
  socket.setEncoding('latin1'); // one character per byte: keys are bytes, decoded by protocol.ts
  socket.setNoDelay(true);
  socket.setTimeout(limits.idleTimeoutMs, () => socket.destroy());
  socket.on('error', (err) => ctx.log('debug', 'tracker client connection failed', { error: describeError(err) }));
  const next = async (): Promise<void> => {
    while (!busy && !socket.destroyed && !socket.writableEnded) {
      const nl = buffered.indexOf('\n');
      if ((nl < 0 ? buffered.length : nl) > limits.maxLineBytes) {
        buffered = '';
        socket.end(errLine('line_too_long', `Request lines are limited to ${limits.maxLineBytes} bytes`), () => socket.destroy());
        return;
      }
      if (nl < 0) return;
      const line = buffered.slice(0, nl).replace(/\r$/, '');
      buffered = buffered.slice(nl + 1);
      if (line.trim() === '') continue;
      busy = true;
      socket.pause();
      const reply = await answer(ctx, line);
      if (!socket.destroyed && !socket.write(reply)) {
        await new Promise((r) => {
          socket.once('drain', r);
          socket.once('close', r);
        });
      }
      busy = false;
      socket.resume();
    }
  };
  socket.on('data', (chunk: string) => {
    if (socket.writableEnded) return; // refused: the rest is not read
    buffered += chunk;
    void next();
  });
}

/** The reply line to one request line. */
async function answer(ctx: DoorContext, line: string): Promise<string> {
  const req = parseRequest(line);
  // Own properties only: `constructor` or `toString` must not reach Object.prototype.
  const admin = req !== null && Object.hasOwn(ADMIN_COMMANDS, req.cmd);
  const command = req === null ? undefined : Object.hasOwn(FILE_COMMANDS, req.cmd) ? FILE_COMMANDS[req.cmd] : admin ? ADMIN_COMMANDS[req.cmd] : undefined;
  if (!req || !command) return errLine('unknown_command', 'Unknown server command');
  try {
    if (admin && !ctx.settings.admin) throw new Refusal('admin_disabled', 'This tracker was started with --no-admin');
    return okLine(await command(ctx, req.args));
  } catch (err) {
    const { code, text, unexpected } = replyForError(err);
    if (unexpected) ctx.log('error', `tracker command ${req.cmd} failed`, { error: describeError(err), cause: describeError((err as Error).cause ?? '') });
    return errLine(code, text);
  }
}
