// One command's settings from its four sources, strongest first: command-line flag, environment
// variable MOGFTP_<NAME> (dashes become underscores), the config file (the command's section,
// then the top level), the built-in default. Every value that did not come from the defaults is
// checked against the schema, and a refusal names the setting and where it came from.
import { z } from 'zod';
import { ErrorCodes, mogError } from '../errors.ts';
import { redactDbUrl } from '../tracker/open.ts';
import type { ConfigFile } from './file.ts';
import { COMMON_KEYS, FIELD_SCHEMAS } from './fields.ts';

export interface OptionSpec {
  key: string;
  type: 'string' | 'number' | 'boolean';
  choices?: readonly unknown[];
}

export type Source =
  | { kind: 'flag'; name: string }
  | { kind: 'env'; name: string }
  | { kind: 'file'; path: string; key: string }
  | { kind: 'default' };

export interface ConfigInput {
  /** The running command; its section of the file applies. */
  command: string;
  options: OptionSpec[];
  /** Only the options given on the command line. */
  flags: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  file?: ConfigFile | null;
  /** The built-in defaults (yargs' values for options not given). */
  defaults?: Record<string, unknown>;
}

export interface LoadedConfig {
  values: Record<string, unknown>;
  sources: Record<string, Source>;
}

/**
 * Another name a setting is known by where a command spells it differently: the storage node's
 * `--key-file` is the front-ends' `--storage-key-file` (and its deprecated `--token` their
 * `--storage-token`), so one `storage-key-file:` (or MOGFTP_STORAGE_KEY_FILE) configures a
 * whole cluster.
 */
const SHARED_NAMES: Record<string, string> = { 'key-file': 'storage-key-file', token: 'storage-token' };

export function envName(key: string): string {
  return `MOGFTP_${key.toUpperCase().replace(/-/g, '_')}`;
}

export function describeSource(key: string, s: Source): string {
  switch (s.kind) {
    case 'flag':
      return `flag ${s.name}`;
    case 'env':
      return `environment variable ${s.name}`;
    case 'file':
      return `"${s.key}" in ${s.path}`;
    default:
      return `default of ${key}`;
  }
}

export function loadConfig(input: ConfigInput): LoadedConfig {
  const values: Record<string, unknown> = {};
  const sources: Record<string, Source> = {};
  const problems: string[] = [];
  const known = new Set(input.options.map((o) => o.key));
  const top = input.file?.data ?? {};
  const rawSection = input.file?.data[input.command];
  const section = (rawSection && typeof rawSection === 'object' ? rawSection : {}) as Record<string, unknown>;

  if (input.file) {
    for (const key of Object.keys(section)) {
      if (!known.has(key))
        problems.push(`${input.command}.${key} (in ${input.file.path}): unknown setting, 'mogftp ${input.command}' has no --${key} option`);
    }
  }

  for (const opt of input.options) {
    const shared = SHARED_NAMES[opt.key] !== undefined && !known.has(SHARED_NAMES[opt.key]!) ? SHARED_NAMES[opt.key] : undefined;
    let raw: unknown;
    let source: Source | null = null;
    if (opt.key in input.flags && input.flags[opt.key] !== undefined) {
      raw = input.flags[opt.key];
      source = { kind: 'flag', name: `--${opt.key}` };
    } else {
      for (const name of [envName(opt.key), ...(shared ? [envName(shared)] : [])]) {
        const v = input.env[name];
        if (v !== undefined && v !== '') {
          raw = v;
          source = { kind: 'env', name };
          break;
        }
      }
    }
    if (!source && input.file) {
      const fileKeys: Array<[Record<string, unknown>, string, string]> = [[section, opt.key, `${input.command}.${opt.key}`]];
      const topName = (COMMON_KEYS as readonly string[]).includes(opt.key) ? opt.key : shared;
      if (topName) fileKeys.push([top, topName, topName]);
      for (const [obj, k, label] of fileKeys) {
        if (obj[k] !== undefined && obj[k] !== null) {
          raw = obj[k];
          source = { kind: 'file', path: input.file.path, key: label };
          break;
        }
      }
    }
    if (!source) {
      if (input.defaults && opt.key in input.defaults) {
        values[opt.key] = input.defaults[opt.key];
        sources[opt.key] = { kind: 'default' };
      }
      continue;
    }
    const checked = schemaFor(opt, source).safeParse(raw);
    if (!checked.success) {
      problems.push(`${opt.key} (from ${describeSource(opt.key, source)}): ${checked.error.issues.map((i) => i.message).join('; ')}`);
      continue;
    }
    values[opt.key] = checked.data;
    sources[opt.key] = source;
  }

  if (problems.length > 0) {
    const head = problems.length === 1 ? 'Bad setting' : `${problems.length} bad settings`;
    throw mogError(ErrorCodes.BAD_CONFIG, `${head}: ${problems.join('\n  ')}`);
  }
  return { values, sources };
}

/** The option's own schema, after turning an environment string into the option's type. */
function schemaFor(opt: OptionSpec, source: Source): z.ZodType {
  let schema: z.ZodType = FIELD_SCHEMAS[opt.key] ?? typeSchema(opt);
  if (opt.choices && opt.choices.length > 0) {
    const allowed = opt.choices;
    schema = schema.refine((v) => allowed.includes(v), { message: `must be one of ${allowed.map((c) => JSON.stringify(c)).join(', ')}` });
  }
  if (source.kind !== 'env') return schema;
  return z.preprocess((v) => (typeof v === 'string' ? fromEnv(opt.type, v) : v), schema);
}

function typeSchema(opt: OptionSpec): z.ZodType {
  if (opt.type === 'number') return z.number();
  if (opt.type === 'boolean') return z.boolean();
  return z.preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string());
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

/** Environment variables are text; a value that does not read as the type is left for the schema to refuse. */
function fromEnv(type: OptionSpec['type'], v: string): unknown {
  const t = v.trim();
  if (type === 'boolean') return TRUE.has(t.toLowerCase()) ? true : FALSE.has(t.toLowerCase()) ? false : v;
  if (type === 'number') return t !== '' && Number.isFinite(Number(t)) ? Number(t) : v;
  return v;
}

/** The settings for display (--print-config): secrets hidden, each with its source. */
export function describeConfig(cfg: LoadedConfig): Record<string, { value: unknown; source: string }> {
  const out: Record<string, { value: unknown; source: string }> = {};
  for (const [key, value] of Object.entries(cfg.values)) {
    const s = cfg.sources[key]!;
    // A *-file setting names where a secret is, not the secret: its path is shown.
    const shown = /token|password|secret/.test(key) && !key.endsWith('-file') && value ? '***' : key === 'db' && typeof value === 'string' ? redactDbUrl(value) : value;
    out[key] = { value: shown, source: s.kind === 'default' ? 'default' : describeSource(key, s) };
  }
  return out;
}
