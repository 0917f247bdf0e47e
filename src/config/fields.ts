// What each setting may hold, one zod schema per option name. A name means the same thing in
// every command (`listen` is always HOST:PORT), so one table serves them all. Options without an
// entry here (a flag added later) are still checked against their yargs type by load.ts.
import { z } from 'zod';
import { describeError } from '../errors.ts';
import { parseListen, parsePortRange } from './listen.ts';
import { parseCidrList } from '../addresses.ts';
import { LOG_LEVELS } from '../log.ts';
import { parseDbUrl } from '../tracker/open.ts';

/** YAML reads `pasv-ports: 30000` or `listen: 2121` as numbers; they are meant as text. */
function text<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (typeof v === 'number' ? String(v) : v), schema);
}

/** A string the given parser accepts; the parser's own message explains a refusal. */
function parsedBy(parse: (s: string) => unknown) {
  return text(
    z.string().superRefine((value, ctx) => {
      try {
        parse(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: describeError(err) });
      }
    }),
  );
}

const DURATION = /^\s*[0-9]+(?:\.[0-9]+)?\s*(?:ms|s|m|h|d)?\s*$|^\s*(?:off|never)\s*$/i;

const nonEmpty = text(z.string().trim().min(1, 'must not be empty'));
const port = z.number().int('must be a whole number').min(0, 'must be 0..65535').max(65535, 'must be 0..65535');

export const FIELD_SCHEMAS: Record<string, z.ZodType> = {
  db: parsedBy(parseDbUrl),
  'storage-token': nonEmpty,
  token: nonEmpty,
  'storage-key-file': nonEmpty,
  'db-password-file': nonEmpty,
  'key-file': nonEmpty,
  'insecure-no-auth': z.boolean(),
  'log-level': z.enum(LOG_LEVELS),
  listen: parsedBy((s) => parseListen(s)),
  'admin-listen': parsedBy((s) => parseListen(s)),
  'pasv-address': nonEmpty,
  'pasv-ports': parsedBy(parsePortRange),
  root: nonEmpty,
  data: nonEmpty,
  host: nonEmpty,
  port,
  nodes: z.number().int('must be a whole number').min(1, 'must be at least 1').max(64, 'must be at most 64'),
  grace: z.number().min(0, 'must be 0 or more'),
  monitor: z.boolean(),
  'auto-dead-after': text(z.string().regex(DURATION, 'expected a duration such as 30m, 2h or 1d, or "off"')),
  'proxy-protocol-from': parsedBy(parseCidrList),
  'max-connections-per-address': z.number().int('must be a whole number').min(0, 'must be 0 (unlimited) or more'),
  'max-passive-per-address': z.number().int('must be a whole number').min(0, 'must be 0 (unlimited) or more'),
  'reply-stall-timeout': z.number().min(0, 'must be 0 (never) or more seconds'),
  'verify-before-send': z.number().int('must be a whole number of bytes').min(0, 'must be 0 (never before sending) or more bytes'),
  // mogftp sftp: one host key file or a list of them.
  'host-key': z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(nonEmpty).min(1, 'name at least one host key file')),
  'max-per-address': z.number().int('must be a whole number').min(1, 'must be at least 1'),
  'max-channels': z.number().int('must be a whole number').min(1, 'must be at least 1'),
  'idle-timeout': z.number().min(1, 'must be at least 1 second'),
  'sftp-port': port,
};

/** Settings a config file may hold at its top level, shared by every command that has them. */
export const COMMON_KEYS = ['db', 'db-password-file', 'storage-key-file', 'storage-token', 'log-level'] as const;

/** Commands that read a section of the config file named after them. */
export const SECTIONS = ['ftp', 'dav', 'sftp', 'tracker', 'storage', 'jobs', 'quickstart'] as const;
export type Section = (typeof SECTIONS)[number];
