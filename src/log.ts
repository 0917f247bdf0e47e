// Logging: pino underneath, JSON lines on stderr (one object per event, level as a word), or
// coloured readable lines when stderr is a terminal. Callers get a plain function, so nothing
// outside this file depends on pino.
import type { DestinationStream, Logger } from 'pino';
import { createRequire } from 'node:module';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFn = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;

/**
 * Field names whose values never reach a log line, whatever a caller passes. Passwords are
 * never logged on purpose; this is the net under that rule.
 */
const REDACT = ['password', 'pass', 'secret', 'token', 'authorization', 'storageToken', 'storage-token'];

export interface LoggerOptions {
  level?: LogLevel | 'silent';
  /** The component (ftp, storage, jobs, quickstart), as `name` on every line. */
  name?: string;
  /** Readable lines instead of JSON. Default: when stderr is a terminal. */
  pretty?: boolean;
  /** Where lines go (tests). Default: stderr. */
  destination?: DestinationStream;
}

// pino-pretty (and its dependencies) is loaded only for a terminal: daemons log JSON.
function loadPretty(): (opts: Record<string, unknown>) => DestinationStream {
  const mod = createRequire(import.meta.url)('pino-pretty');
  return mod.default ?? mod;
}

export function createPino(opts: LoggerOptions = {}): Logger {
  // Required here, not imported above: every command reads LOG_LEVELS from this file (through
  // the settings), but only one that logs needs pino (~20 ms of CPU to load; admin does not).
  const pino: typeof import('pino').default = createRequire(import.meta.url)('pino');
  const usePretty = opts.pretty ?? (process.stderr.isTTY === true && !opts.destination);
  const dest: DestinationStream =
    opts.destination ??
    (usePretty
      ? loadPretty()({ destination: 2, sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
      : pino.destination({ fd: 2, sync: true }));
  return pino(
    {
      level: opts.level ?? 'info',
      name: opts.name,
      base: { pid: process.pid },
      // Words are easier to grep and to match in a log pipeline than pino's numbers.
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...REDACT, ...REDACT.map((k) => `*.${k}`)], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    dest,
  );
}

/** A leveled log function; `fields` become keys of the JSON line. */
export function createLogger(opts: LoggerOptions = {}): LogFn {
  if (opts.level === 'silent') return () => {};
  return logFnOf(createPino(opts));
}

export function logFnOf(logger: Logger): LogFn {
  return (level, msg, fields) => {
    if (fields && Object.keys(fields).length > 0) logger[level](fields, msg);
    else logger[level](msg);
  };
}
