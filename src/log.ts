// A small leveled logger: JSON lines on stderr, or readable lines on a terminal.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFn = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(opts: { level?: LogLevel | 'silent'; name?: string; pretty?: boolean } = {}): LogFn {
  const level = opts.level ?? 'info';
  if (level === 'silent') return () => {};
  const min = RANK[level];
  const pretty = opts.pretty ?? process.stderr.isTTY;
  return (lvl, msg, fields = {}) => {
    if (RANK[lvl] < min) return;
    const line = pretty
      ? `${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${opts.name ? `[${opts.name}] ` : ''}${msg}${Object.keys(fields).length ? ' ' + JSON.stringify(fields) : ''}`
      : JSON.stringify({ time: Date.now(), level: lvl, name: opts.name, msg, ...fields });
    process.stderr.write(line + '\n');
  };
}
