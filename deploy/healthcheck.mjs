// Docker HEALTHCHECK for every mogftp daemon: GET /healthz on the admin endpoint that
// MOGFTP_ADMIN_LISTEN names (the image sets 0.0.0.0:9100). Exit 0 healthy, 1 not.
const listen = process.env.MOGFTP_ADMIN_LISTEN || '127.0.0.1:9100';
const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen.trim());
if (!m) {
  console.error(`healthcheck: cannot read MOGFTP_ADMIN_LISTEN="${listen}"`);
  process.exit(1);
}
let host = m[1] ?? m[2] ?? '';
// A wildcard listen address is reached through loopback.
if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
if (host === '::') host = '::1';
const url = `http://${host.includes(':') ? `[${host}]` : host}:${m[3]}/healthz`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
  process.exit(res.ok ? 0 : 1);
} catch (err) {
  console.error(`healthcheck: ${url}: ${err.message}`);
  process.exit(1);
}
