// Docker HEALTHCHECK for every mogftp daemon: GET /healthz on the admin endpoint that
// MOGFTP_ADMIN_LISTEN names (the image sets 0.0.0.0:9100). Exit 0 healthy, 1 not.
//   node healthcheck.mjs --tls HOST:PORT   instead: healthy when a TLS handshake on HOST:PORT
//                                          completes (mogftp dav, which has no admin endpoint)
import { connect } from 'node:tls';

/** HOST:PORT or [V6]:PORT; a wildcard host is reached through loopback. */
function hostPort(listen, what) {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen.trim());
  if (!m) {
    console.error(`healthcheck: cannot read ${what}="${listen}"`);
    process.exit(1);
  }
  let host = m[1] ?? m[2] ?? '';
  if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
  if (host === '::') host = '::1';
  return { host, port: Number(m[3]) };
}

if (process.argv[2] === '--tls') {
  const { host, port } = hostPort(process.argv[3] ?? '', '--tls');
  // Only that the server is up and has its certificate loaded: the certificate is for the
  // public name, not for the loopback address this connects to, so it is not verified here.
  const socket = connect({ host, port, rejectUnauthorized: false, timeout: 4000 });
  socket.once('secureConnect', () => {
    socket.end();
    process.exit(0);
  });
  socket.once('timeout', () => {
    console.error(`healthcheck: TLS ${host}:${port}: no handshake within 4 s`);
    process.exit(1);
  });
  socket.once('error', (err) => {
    console.error(`healthcheck: TLS ${host}:${port}: ${err.message}`);
    process.exit(1);
  });
} else {
  const { host, port } = hostPort(process.env.MOGFTP_ADMIN_LISTEN || '127.0.0.1:9100', 'MOGFTP_ADMIN_LISTEN');
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/healthz`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
    process.exit(res.ok ? 0 : 1);
  } catch (err) {
    console.error(`healthcheck: ${url}: ${err.message}`);
    process.exit(1);
  }
}
