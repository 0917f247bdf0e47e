// The settings file (`--config FILE`, YAML or JSON): top-level settings every command shares,
// then one section per command. Its layout is checked here; each value again, with the other
// sources, by load.ts.
//
//   db: mysql://mogftp:secret@db:3306/mogftp
//   log-level: info
//   ftp:
//     listen: 0.0.0.0:2121
//     pasv-ports: 30000-30099
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createRequire } from 'node:module';
import { z } from 'zod';
import { ErrorCodes, mogError } from '../errors.ts';
import { COMMON_KEYS, FIELD_SCHEMAS, SECTIONS } from './fields.ts';

export interface ConfigFile {
  path: string;
  data: Record<string, unknown>;
}

/** Any section may hold any known setting; keys a command lacks are refused when it runs. */
const sectionSchema = z.object(Object.fromEntries(Object.entries(FIELD_SCHEMAS).map(([k, s]) => [k, s.optional()]))).catchall(z.unknown());

const fileSchema = z
  .object({
    ...Object.fromEntries(COMMON_KEYS.map((k) => [k, FIELD_SCHEMAS[k]!.optional()])),
    ...Object.fromEntries(SECTIONS.map((s) => [s, sectionSchema.nullish()])),
  })
  .strict();

export function readConfigFile(path: string): ConfigFile {
  const full = resolve(path);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch (err) {
    throw mogError(ErrorCodes.BAD_CONFIG, `Cannot read config file ${full}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseConfigText(full, text);
}

/** JSON is YAML too, so one parser reads both. */
export function parseConfigText(path: string, text: string): ConfigFile {
  let data: unknown;
  try {
    // Loaded only when a file is given: daemons without one do not carry the parser.
    const YAML: typeof import('yaml') = createRequire(import.meta.url)('yaml');
    data = YAML.parse(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    throw mogError(ErrorCodes.BAD_CONFIG, `Config file ${path} is not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  if (data === null || data === undefined) data = {};
  if (typeof data !== 'object' || Array.isArray(data))
    throw mogError(ErrorCodes.BAD_CONFIG, `Config file ${path} must hold a mapping of settings (key: value), not a ${Array.isArray(data) ? 'list' : typeof data}`);
  const checked = fileSchema.safeParse(data);
  if (!checked.success) {
    const lines = checked.error.issues.map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        const where = issue.path.length ? `${issue.path.join('.')}.` : '';
        return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${where}${k}"`).join(', ')} (top-level keys: ${[...COMMON_KEYS, ...SECTIONS].join(', ')})`;
      }
      return `"${issue.path.join('.')}": ${issue.message}`;
    });
    throw mogError(ErrorCodes.BAD_CONFIG, `Config file ${path}: ${lines.join('; ')}`);
  }
  return { path, data: data as Record<string, unknown> };
}
