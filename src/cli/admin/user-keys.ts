// `mogftp admin user key ...`: a user's SSH public keys, for publickey logins to `mogftp sftp`.
// `add` takes an id_*.pub or authorized_keys file (or `-` for stdin) and adds every key in it,
// all or none: each line is checked first (src/tracker/ssh-keys.ts says which keys are accepted),
// and a key the user already has refuses the whole file before anything is added.
import { open } from 'node:fs/promises';
import { ErrorCodes, describeError, mogError } from '../../errors.ts';
import { MAX_KEYS_PER_USER, parseAuthorizedKeys } from '../../tracker/ssh-keys.ts';
import type { UserKey } from '../../tracker/auth-types.ts';
import { leaf, noun, requireUser, withStore } from './context.ts';
import { formatTime, jsonOption, printList, say, type Column } from './output.ts';

/** Bytes read from a key file at most: an authorized_keys file of MAX_KEYS_PER_USER long RSA keys fits. */
const MAX_KEY_FILE_BYTES = 1024 * 1024;

const invalid = (msg: string) => mogError(ErrorCodes.INVALID_ARGUMENT, msg);

/** The stable JSON shape of a key. */
function keyRecord(k: UserKey) {
  return { user: k.userName, fingerprint: k.fingerprint, algorithm: k.algorithm, comment: k.comment, addedAt: new Date(k.createdAt).toISOString() };
}
type KeyRecord = ReturnType<typeof keyRecord>;

const columns: Column<KeyRecord>[] = [
  { header: 'FINGERPRINT', value: (k) => k.fingerprint },
  { header: 'ALGORITHM', value: (k) => k.algorithm },
  { header: 'COMMENT', value: (k) => (k.comment === '' ? null : k.comment) },
  { header: 'ADDED', value: (k) => formatTime(Date.parse(k.addedAt)) },
];

/** Reads at most MAX_KEY_FILE_BYTES (+1, to tell a file that is too long) from a stream. */
async function readLimited(stream: AsyncIterable<Buffer | string>, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += b.length;
    if (size > MAX_KEY_FILE_BYTES) throw invalid(`${what} is larger than ${MAX_KEY_FILE_BYTES} bytes: not a public key file`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The text of --key-file: a file, or stdin for `-`. */
async function readKeyFile(file: string): Promise<string> {
  if (file === '-') return readLimited(process.stdin, 'stdin');
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw mogError(ErrorCodes.INVALID_ARGUMENT, `cannot read ${file}: ${describeError(err)}`, err);
  }
  try {
    if ((await fh.stat()).isDirectory()) throw invalid(`${file} is a directory, not a public key file`);
    return await readLimited(fh.createReadStream({ autoClose: false }), file);
  } finally {
    await fh.close();
  }
}

/** `SHA256:...` as given, or the bare base64 part of it (what people copy from a log line). */
function normaliseFingerprint(fp: string): string {
  const text = fp.trim();
  if (/^MD5:/i.test(text) || /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/i.test(text)) throw invalid('MD5 fingerprints are not used: give the SHA256:... one (`mogftp admin user key list NAME`)');
  return /^SHA256:/i.test(text) ? `SHA256:${text.slice(7)}` : `SHA256:${text}`;
}

const add = leaf<{ name: string; keyFile: string }>({
  command: 'add <name>',
  describe: `Add the SSH public keys of an id_*.pub or authorized_keys file (at most ${MAX_KEYS_PER_USER} per user)`,
  builder: (y) =>
    y
      .positional('name', { type: 'string' })
      .option('key-file', { type: 'string', demandOption: true, describe: 'The public key file (e.g. ~/.ssh/id_ed25519.pub); --key-file=- reads stdin' }),
  handler: async (args) => {
    const keys = parseAuthorizedKeys(await readKeyFile(args.keyFile));
    await withStore(args, async (store) => {
      await requireUser(store, args.name);
      const had = new Set((await store.listUserKeys(args.name)).map((k) => k.fingerprint));
      const dup = keys.find((k) => had.has(k.fingerprint));
      if (dup) throw mogError(ErrorCodes.EXISTS, `User "${args.name}" already has the key ${dup.fingerprint}${keys.length > 1 ? ': nothing added' : ''}`);
      if (had.size + keys.length > MAX_KEYS_PER_USER)
        throw invalid(`User "${args.name}" has ${had.size} keys; ${keys.length} more would pass the limit of ${MAX_KEYS_PER_USER}: nothing added`);
      // The keys of one file are added a millisecond apart, so a listing (oldest first) keeps their order.
      const now = Date.now();
      for (const [i, k] of keys.entries()) {
        await store.addUserKey(args.name, { algorithm: k.algorithm, key: k.key, comment: k.comment, fingerprint: k.fingerprint, now: now + i });
        say(`Added ${k.algorithm} key ${k.fingerprint}${k.comment === '' ? '' : ` (${k.comment})`} to user ${args.name}`);
      }
    });
  },
});

const list = leaf<{ name: string; json: boolean }>({
  command: 'list <name>',
  describe: "List a user's SSH public keys: fingerprint, algorithm, comment, when added",
  builder: (y) => y.positional('name', { type: 'string' }).option('json', jsonOption),
  handler: async (args) => {
    await withStore(args, async (store) => {
      await requireUser(store, args.name);
      printList(args.json, (await store.listUserKeys(args.name)).map(keyRecord), columns);
    });
  },
});

const remove = leaf<{ name: string; fingerprint: string }>({
  command: 'remove <name> <fingerprint>',
  describe: "Remove one of a user's SSH public keys, by its SHA256: fingerprint",
  builder: (y) => y.positional('name', { type: 'string' }).positional('fingerprint', { type: 'string' }),
  handler: async (args) => {
    const fingerprint = normaliseFingerprint(String(args.fingerprint));
    await withStore(args, async (store) => {
      await requireUser(store, args.name);
      if (!(await store.removeUserKey(args.name, fingerprint))) throw mogError(ErrorCodes.NOT_FOUND, `User "${args.name}" has no key ${fingerprint}`);
      say(`Removed key ${fingerprint} from user ${args.name}`);
    });
  },
});

export const keyCommand = noun('key', "Manage a user's SSH public keys (publickey logins to mogftp sftp)", [add, list, remove]);
