'use strict';
// s3rver for dagctl's S3 tests, on 127.0.0.1 and a free port.
//
//   LAKE_SECRET_ACCESS_KEY=... node server.js DIR BUCKET [ACCESS_KEY_ID]
//
// Stores objects under DIR, creates BUCKET, adds the key pair ACCESS_KEY_ID
// and $LAKE_SECRET_ACCESS_KEY (besides s3rver's own S3RVER/S3RVER), prints
// the port on one line, and exits when
// its standard input closes or on SIGTERM/SIGINT. s3rver checks that an
// access key id exists (InvalidAccessKeyId) but not SigV4 signatures.
const crypto = require('crypto');

// s3rver seals ListObjectsV2 continuation tokens with DES, which OpenSSL 3
// only has in its legacy provider: without it every truncated listing is a
// 500. Where DES is missing, seal them with an identity transform instead:
// the token stays opaque base64 (random IV first), which is all a client
// may rely on.
try {
  crypto.createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
} catch (e) {
  const identity = () => ({
    update: (data, enc) => Buffer.from(data, enc),
    final: () => Buffer.alloc(0),
  });
  for (const name of ['createCipheriv', 'createDecipheriv']) {
    const real = crypto[name];
    crypto[name] = (alg, ...rest) => (alg === 'des' ? identity() : real(alg, ...rest));
  }
}

const S3rver = require('s3rver');
const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account');

const [dir, bucket, keyId] = process.argv.slice(2);
const secret = process.env.LAKE_SECRET_ACCESS_KEY;
if (!dir || !bucket || (keyId && !secret)) {
  process.stderr.write('usage: LAKE_SECRET_ACCESS_KEY=... node server.js DIR BUCKET [ACCESS_KEY_ID]\n');
  process.exit(64);
}
if (keyId && secret) DUMMY_ACCOUNT.createKeyPair(keyId, secret);

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: dir,
  // Path-style requests only: a vhost guess from the Host header would
  // misread 127.0.0.1.
  vhostBuckets: false,
  configureBuckets: [{ name: bucket }],
});

let closing = false;
function stop() {
  if (closing) return;
  closing = true;
  server.close(() => process.exit(0));
  // Keep-alive connections may hold close() open: do not wait for them.
  setTimeout(() => process.exit(0), 1000).unref();
}

server.run().then(
  (addr) => {
    process.stdout.write(`${addr.port}\n`);
    process.stdin.on('end', stop);
    process.stdin.on('error', stop);
    process.stdin.resume();
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  },
  (err) => {
    process.stderr.write(`s3rver: ${err.stack || err}\n`);
    process.exit(1);
  },
);
