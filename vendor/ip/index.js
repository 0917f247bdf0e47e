'use strict';
// Stand-in for the `ip` package (see package.json): ftp-srv 4.6.3 requires it in
// src/connector/active.js and passive.js for ip.isEqual only. mogftp replaces those connectors,
// so this is never on a request path; it exists so that requiring ftp-srv's modules works.
const net = require('net');

function canonical(address) {
  let a = String(address || '').trim().toLowerCase();
  if (net.isIPv6(a)) a = new URL(`http://[${a}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(a);
  if (mapped) {
    const hi = parseInt(mapped[1], 16);
    const lo = parseInt(mapped[2], 16);
    return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
  }
  return a;
}

exports.isEqual = function isEqual(a, b) {
  return canonical(a) === canonical(b);
};
