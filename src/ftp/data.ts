// Moving bytes over the data connection. Only a clean end of the client's data stream (its FIN)
// counts as a complete upload; a reset, an error or our own teardown is an abort. Both
// directions honour backpressure in both directions, so memory stays flat.
import type { Readable, Writable } from 'node:stream';
import type { Socket } from 'node:net';
import { ErrorCodes, mogError } from '../errors.ts';

/** Pipes the client's upload into `sink` and resolves after sink's 'finish' (its commit). */
export function receive(socket: Socket, sink: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    let clientEnded = false;
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      sink.destroy(err);
      socket.destroy();
      reject(err);
    };
    socket.on('data', (chunk: Buffer) => {
      if (settled) return;
      if (!sink.write(chunk)) {
        socket.pause();
        sink.once('drain', () => socket.resume());
      }
    });
    socket.once('end', () => {
      clientEnded = true;
      if (!settled) sink.end();
    });
    socket.once('close', () => {
      if (!clientEnded) fail(mogError(ErrorCodes.UPLOAD_ABORTED, 'Data connection closed before the upload completed; nothing was stored'));
    });
    socket.on('error', (err) => fail(mogError(ErrorCodes.UPLOAD_ABORTED, `Data connection failed (${err.message}); nothing was stored`)));
    sink.once('finish', () => {
      settled = true;
      resolve();
    });
    sink.once('error', (err) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(err);
    });
    socket.resume();
  });
}

/** Sends `source` to the client and resolves once everything was handed to the kernel. */
export function send(source: Readable, socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    let finished = false;
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      source.destroy();
      socket.destroy();
      reject(err);
    };
    source.on('data', (chunk: Buffer) => {
      if (!socket.write(chunk)) {
        source.pause();
        socket.once('drain', () => source.resume());
      }
    });
    source.once('end', () =>
      socket.end((err?: Error | null) => {
        if (err) return fail(mogError(ErrorCodes.TRANSFER_ABORTED, `Data connection failed (${err.message}); transfer aborted`));
        finished = true;
        settled = true;
        resolve();
      }),
    );
    source.once('error', (err) => fail(err));
    socket.once('close', () => {
      if (!finished) fail(mogError(ErrorCodes.TRANSFER_ABORTED, 'Data connection closed; transfer aborted'));
    });
    socket.on('error', (err) => fail(mogError(ErrorCodes.TRANSFER_ABORTED, `Data connection failed (${err.message}); transfer aborted`)));
    socket.resume();
  });
}

/** Writes text lines with backpressure (listings of any length). */
export async function sendLines(lines: AsyncIterable<string>, socket: Socket): Promise<void> {
  let batch = '';
  const flush = async () => {
    if (!batch) return;
    const ok = socket.write(batch);
    batch = '';
    if (!ok) await new Promise<void>((resolve, reject) => {
      socket.once('drain', resolve);
      socket.once('error', (err) => reject(mogError(ErrorCodes.TRANSFER_ABORTED, `Data connection failed (${err.message}); listing aborted`)));
      socket.once('close', () => reject(mogError(ErrorCodes.TRANSFER_ABORTED, 'Data connection closed; listing aborted')));
    });
  };
  for await (const line of lines) {
    if (socket.destroyed) throw mogError(ErrorCodes.TRANSFER_ABORTED, 'Data connection closed; listing aborted');
    batch += line + '\r\n';
    if (batch.length >= 64 * 1024) await flush();
  }
  await flush();
  await new Promise<void>((resolve, reject) =>
    socket.end((err?: Error | null) =>
      err ? reject(mogError(ErrorCodes.TRANSFER_ABORTED, `Data connection failed (${err.message}); listing aborted`)) : resolve(),
    ),
  );
}
