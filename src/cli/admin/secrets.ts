// Passwords come from a flag or from stdin (so they stay out of shell history and `ps`).
import { mogError, ErrorCodes } from '../../errors.ts';

/** All of stdin, minus one trailing newline (what `echo pw |` or a here-string adds). */
export async function readSecretFromStdin(stream: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** The password from exactly one of --password / --password-stdin; never empty. */
export async function passwordFromArgs(args: { password?: unknown; passwordStdin?: unknown }): Promise<string> {
  const fromFlag = args.password !== undefined;
  const fromStdin = args.passwordStdin === true;
  if (fromFlag && fromStdin) throw mogError(ErrorCodes.INVALID_ARGUMENT, 'Give --password or --password-stdin, not both');
  if (!fromFlag && !fromStdin) throw mogError(ErrorCodes.INVALID_ARGUMENT, 'A password is required: --password P or --password-stdin');
  const password = fromStdin ? await readSecretFromStdin() : String(args.password);
  if (password === '') throw mogError(ErrorCodes.INVALID_ARGUMENT, 'The password is empty');
  return password;
}
