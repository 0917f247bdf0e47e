// Parsing of operator-typed values (sizes, ids, ports, home paths). Pure functions, each
// throwing INVALID_ARGUMENT with a message that names the flag the operator got wrong.
import { mogError, ErrorCodes } from '../../errors.ts';
import { resolvePathComponents, joinComponents } from '../../tracker/names.ts';

function invalid(message: string): never {
  throw mogError(ErrorCodes.INVALID_ARGUMENT, message);
}

/** A whole number in [min, max], from a string the operator typed. */
export function parseIntegerArg(what: string, raw: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const text = String(raw ?? '').trim();
  if (!/^[0-9]+$/.test(text)) invalid(`${what} must be a whole number, not "${text}"`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min || n > max)
    invalid(max === Number.MAX_SAFE_INTEGER ? `${what} must be at least ${min}` : `${what} must be between ${min} and ${max}`);
  return n;
}

export function parsePort(raw: unknown): number {
  return parseIntegerArg('--port', raw, 1, 65535);
}

export function parseDevid(raw: unknown): number {
  return parseIntegerArg('DEVID', raw, 1);
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40, P: 2 ** 50 };

/**
 * A byte count: plain digits, or a number with a binary suffix (10G, 500M, 1.5T, 64KiB, 2GB).
 * 'none' or 'unlimited' mean no limit (null).
 */
export function parseSize(raw: unknown): number | null {
  const text = String(raw ?? '').trim();
  if (/^(none|unlimited)$/i.test(text)) return null;
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([kmgtp]?)(?:i?b)?$/i.exec(text);
  if (!m) invalid(`--quota must be a size such as 500M, 10G or 1073741824 (or "none"), not "${text}"`);
  const bytes = Math.round(Number(m[1]) * SIZE_UNITS[m[2]!.toUpperCase()]!);
  if (!Number.isSafeInteger(bytes)) invalid(`--quota ${text} is too large`);
  return bytes;
}

/** A user's home: an absolute path inside the domain, normalised ('/a//b/' → '/a/b'). */
export function parseHomeDir(raw: unknown): string {
  const text = String(raw ?? '');
  if (!text.startsWith('/')) invalid(`--home must be an absolute path such as / or /alice, not "${text}"`);
  return joinComponents(resolvePathComponents([], text));
}

/** A name for a host, domain, class or user: non-empty, printable, no surrounding spaces. */
export function parseObjectName(what: string, raw: unknown): string {
  const text = String(raw ?? '');
  if (text === '' || text.trim() !== text || /[\0-\x1f\x7f]/.test(text))
    invalid(`${what} name "${text}" is not valid: use printable characters without leading or trailing spaces`);
  return text;
}

/** An optional boolean flag given as true|false (yargs has already parsed it when typed). */
export function parseBooleanArg(what: string, raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  return invalid(`${what} takes true or false, not "${String(raw)}"`);
}
