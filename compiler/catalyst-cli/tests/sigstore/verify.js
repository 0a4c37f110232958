// The independent verifier of the tests: sigstore-js (@sigstore/verify),
// which the project did not write, checks a Sigstore bundle against a
// trusted_root.json: the certificate chain to the CA, the SCT, the
// transparency-log entry (signed entry timestamp or inclusion proof), the
// signature, and the identity when one is asked for.
//
//   node verify.js TRUSTED_ROOT BUNDLE [--artifact FILE]
//                  [--identity SAN] [--issuer ISSUER] [--key PEM_FILE]
//
// Prints {"verified": true, "payloadType": ..., "payload": <base64>} and
// exits 0, or prints the reason on stderr and exits 1.
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const { bundleFromJSON } = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');

function main() {
  const [rootFile, bundleFile, ...rest] = process.argv.slice(2);
  const opt = {};
  for (let i = 0; i < rest.length; i += 2) opt[rest[i].replace(/^--/, '')] = rest[i + 1];
  const root = TrustedRoot.fromJSON(JSON.parse(fs.readFileSync(rootFile, 'utf8')));
  const keys = {};
  if (opt.key) {
    const pub = crypto.createPublicKey(fs.readFileSync(opt.key));
    keys['key'] = { publicKey: pub, validFor: () => true };
  }
  const material = toTrustMaterial(root, opt.key ? (hint) => keys['key'] : undefined);
  const verifier = new Verifier(material, { tlogThreshold: 1, ctlogThreshold: opt.key ? 0 : 1, tsaThreshold: 0 });
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundleFile, 'utf8')));
  const artifact = opt.artifact ? fs.readFileSync(opt.artifact) : undefined;
  const policy = {};
  if (opt.identity) policy.subjectAlternativeName = opt.identity;
  if (opt.issuer) policy.extensions = { issuer: opt.issuer };
  verifier.verify(toSignedEntity(bundle, artifact), policy);
  const env = bundle.content.$case === 'dsseEnvelope' ? bundle.content.dsseEnvelope : null;
  process.stdout.write(
    JSON.stringify({
      verified: true,
      payloadType: env ? env.payloadType : null,
      payload: env ? Buffer.from(env.payload).toString('base64') : null,
    }) + '\n',
  );
}

try {
  main();
} catch (e) {
  process.stderr.write(`not verified: ${e.code ? e.code + ': ' : ''}${e.message}\n`);
  process.exit(1);
}
