// One quickstart storage node in a child process of its own (quickstart-nodes.ts forks this file
// with an IPC channel), so the nodes hash, write and fsync on the machine's other cores instead of
// the front-end's event loop. argv: ROOT KEY_FILE. It tells the parent its port ({ port }) or why
// it could not start ({ error }), and stops when told ('stop') or when the channel closes (the
// quickstart ended, however: Ctrl-C, SIGTERM, SIGKILL). Ctrl-C reaches the whole foreground
// process group; the quickstart decides when its nodes stop (after its transfers), so the signals
// themselves are ignored here.
import { describeError } from '../errors.ts';
import { readStorageKeyFile } from '../storage/auth.ts';
import { startStorageNode, type StorageNode } from '../storage/node.ts';

/** What the child says to the quickstart over the IPC channel. */
export type NodeChildMessage = { port: number } | { error: string };

const [root, keyFile] = process.argv.slice(2);
const send = (m: NodeChildMessage) => process.send?.(m);

process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});

let node: StorageNode | null = null;
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void (node ? node.close() : Promise.resolve()).finally(() => process.exit(0));
};
process.on('disconnect', stop);
process.on('message', (m) => {
  if (m === 'stop') stop();
});

if (!root || !keyFile || !process.send) {
  process.stderr.write('mogftp: quickstart-node-child.ts is started by mogftp quickstart, with an IPC channel, ROOT and KEY_FILE\n');
  process.exit(2);
}
try {
  node = await startStorageNode({ root, host: '127.0.0.1', port: 0, key: readStorageKeyFile(keyFile) });
  if (stopping) await node.close();
  else send({ port: node.port });
} catch (err) {
  send({ error: describeError(err) });
  process.exit(1);
}
