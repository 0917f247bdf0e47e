// The library baseline: ftp-srv 4.6.3 as it ships (its own local-filesystem backend, its default
// logger), serving one directory to one user. Started by bench/run.ts as a child process:
//   node --import tsx bench/ftpsrv-plain.ts <root> <user> <password>
// Prints "ftp-srv listening on <port>" when ready; SIGTERM stops it (ftp-srv's own handler).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const FtpSrv: new (opts: Record<string, unknown>) => {
  on(event: 'login', fn: (d: { username: string; password: string }, resolve: (r: { root: string }) => void, reject: (e: Error) => void) => void): void;
  listen(): Promise<unknown>;
  server: { address(): { port: number } };
} = require('ftp-srv');

const [root, user, password] = process.argv.slice(2);
if (!root || !user || !password) {
  process.stderr.write('usage: ftpsrv-plain.ts <root> <user> <password>\n');
  process.exit(2);
}

const server = new FtpSrv({ url: 'ftp://127.0.0.1:0', pasv_url: '127.0.0.1', pasv_min: 0, pasv_max: 0, anonymous: false });
server.on('login', ({ username, password: pw }, resolve, reject) => {
  if (username === user && pw === password) resolve({ root: root! });
  else reject(new Error('Login incorrect'));
});
await server.listen();
process.stdout.write(`ftp-srv listening on ${server.server.address().port}\n`);
