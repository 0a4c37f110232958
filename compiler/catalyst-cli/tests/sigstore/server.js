// A local Sigstore for the tests: a STAND-IN for the public instance
// (Fulcio, Rekor, a CT log) and for a CI's OIDC issuer, which these
// machines cannot reach. The CA, logs and their keys are sigstore-js's own
// test doubles (@sigstore/mock: real keys, real certificates, real SCTs,
// signed entry timestamps and inclusion proofs); this file only serves them
// over HTTP on loopback and adds what a real Fulcio does that the doubles
// do not: it refuses an identity token that its issuer did not sign.
//
//   node server.js TRUSTED_ROOT_OUT
//
// prints one JSON line on stdout when listening:
//   {"url": "http://127.0.0.1:PORT", "issuer": "http://127.0.0.1:PORT/oidc"}
// and serves
//   POST /api/v2/signingCert      Fulcio (needs a token of /oidc)
//   POST /api/v1/log/entries      Rekor v1
//   GET  /oidc/token?sub=S[&aud=A][&iss=I]
//                                  an identity token for subject S, as a CI's
//                                  token endpoint does ({"value": JWT});
//                                  GitHub Actions' protocol: bearer auth with
//                                  the request token "stand-in"
//   GET  /oidc/.well-known/openid-configuration, /oidc/jwks
// and writes its trust root as a Sigstore trusted_root.json. It exits when
// its standard input closes (the test that started it ended).
'use strict';
const http = require('http');
const crypto = require('crypto');
const fs = require('fs');
const jose = require('jose');
const mock = require('@sigstore/mock');
const { generateKeyPair } = require('@sigstore/mock/dist/util/key');

const MAX_BODY = 1 << 20;

async function main() {
  const out = process.argv[2];
  if (!out) throw new Error('usage: node server.js TRUSTED_ROOT_OUT');
  const server = http.createServer();
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${server.address().port}`;
  const issuer = `${url}/oidc`;

  const caKeys = generateKeyPair('prime256v1');
  const ctKeys = generateKeyPair('prime256v1');
  const tlogKeys = generateKeyPair('prime256v1');
  const ctlog = await mock.initializeCTLog(ctKeys);
  const ca = await mock.initializeCA(caKeys, ctlog);
  const tlog = await mock.initializeTLog(url, tlogKeys);
  const fulcio = mock.fulcioHandler(ca, { strict: true });
  const rekor = mock.rekorHandler(tlog, { strict: true });

  const oidcKeys = await jose.generateKeyPair('ES256');
  const jwk = { ...(await jose.exportJWK(oidcKeys.publicKey)), kid: 'stand-in', alg: 'ES256', use: 'sig' };

  fs.writeFileSync(out, JSON.stringify(trustedRoot(url, ca, ctlog, tlog, tlogKeys), null, 2));

  server.on('request', (req, res) => {
    handle(req, res).catch((e) => reply(res, 500, 'text/plain', String(e && e.message)));
  });
  async function handle(req, res) {
    const u = new URL(req.url, url);
    if (req.method === 'POST' && u.pathname === fulcio.path) {
      const body = await read(req);
      const token = JSON.parse(body)?.credentials?.oidcIdentityToken;
      try {
        await jose.jwtVerify(token, oidcKeys.publicKey, { issuer, audience: 'sigstore' });
      } catch (e) {
        return reply(res, 401, 'text/plain', `identity token refused: ${e.message}`);
      }
      const r = await fulcio.fn(body);
      return reply(res, r.statusCode, r.contentType, r.response);
    }
    if (req.method === 'POST' && u.pathname === rekor.path) {
      const r = await rekor.fn(canonicalEntry(await read(req)));
      return reply(res, r.statusCode, r.contentType, r.response);
    }
    if (req.method === 'GET' && u.pathname === '/oidc/token') {
      if (req.headers.authorization !== 'bearer stand-in' && req.headers.authorization !== 'Bearer stand-in') {
        return reply(res, 401, 'text/plain', 'no request token');
      }
      const sub = u.searchParams.get('sub') || 'https://ci.example/workflow';
      const token = await new jose.SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: 'stand-in' })
        .setIssuer(u.searchParams.get('iss') || issuer)
        .setSubject(sub)
        .setAudience(u.searchParams.get('audience') || 'sigstore')
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(oidcKeys.privateKey);
      return reply(res, 200, 'application/json', JSON.stringify({ value: token }));
    }
    if (req.method === 'GET' && u.pathname === '/oidc/.well-known/openid-configuration') {
      return reply(res, 200, 'application/json', JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    }
    if (req.method === 'GET' && u.pathname === '/oidc/jwks') {
      return reply(res, 200, 'application/json', JSON.stringify({ keys: [jwk] }));
    }
    return reply(res, 404, 'text/plain', 'not found');
  }
  process.stdout.write(JSON.stringify({ url, issuer }) + '\n');
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('close', () => process.exit(0));
}

function read(req) {
  return new Promise((ok, fail) => {
    const parts = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        fail(new Error('request body too large'));
        req.destroy();
      } else parts.push(c);
    });
    req.on('end', () => ok(Buffer.concat(parts).toString('utf8')));
    req.on('error', fail);
  });
}

function reply(res, status, type, body) {
  res.writeHead(status, { 'Content-Type': type || 'text/plain' });
  res.end(body);
}

// A dsse entry as Rekor stores it: Rekor turns the proposed envelope into
// its hashes and signatures (the doubles store what they are given).
function canonicalEntry(body) {
  const entry = JSON.parse(body);
  const proposed = entry?.kind === 'dsse' && entry.spec?.proposedContent;
  if (!proposed) return body;
  const envelope = JSON.parse(proposed.envelope);
  const verifiers = proposed.verifiers || [];
  entry.spec = {
    envelopeHash: { algorithm: 'sha256', value: sha256(Buffer.from(proposed.envelope)).toString('hex') },
    payloadHash: { algorithm: 'sha256', value: sha256(Buffer.from(envelope.payload, 'base64')).toString('hex') },
    signatures: (envelope.signatures || []).map((s, i) => ({ signature: s.sig, verifier: verifiers[i] || verifiers[0] })),
  };
  return JSON.stringify(entry);
}

const b64 = (b) => Buffer.from(b).toString('base64');
const spki = (key) => key.export({ format: 'der', type: 'spki' });
const sha256 = (b) => crypto.createHash('sha256').update(b).digest();
const START = '2020-01-01T00:00:00Z';

// The trust root in Sigstore's trusted_root.json form (protobuf-specs
// TrustedRoot v0.1): the CA's certificate, the log's and the CT log's
// public keys with their log IDs.
function trustedRoot(url, ca, ctlog, tlog, tlogKeys) {
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: url,
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: b64(spki(tlogKeys.publicKey)), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: START } },
        logId: { keyId: b64(sha256(spki(tlogKeys.publicKey))) },
      },
    ],
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.dev', commonName: 'sigstore' },
        uri: url,
        certChain: { certificates: [{ rawBytes: b64(ca.rootCertificate) }] },
        validFor: { start: START },
      },
    ],
    ctlogs: [
      {
        baseUrl: url,
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: b64(ctlog.publicKey), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: START } },
        logId: { keyId: b64(ctlog.logID) },
      },
    ],
    timestampAuthorities: [],
  };
}

main().catch((e) => {
  process.stderr.write(`sigstore stand-in: ${e.stack || e}\n`);
  process.exit(1);
});
