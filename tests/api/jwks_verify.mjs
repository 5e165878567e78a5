// Verifies a rollcall access token against a JWKS with an implementation
// that is not ours (jose), so that our ES256 signatures, kids and JWKS are
// checked by someone else's reading of RFC 7515/7517/7518.
//
//   node tests/api/jwks_verify.mjs <jwks.json file or URL> <token> <issuer>
//
// Prints the payload as JSON and exits 0 when the token verifies; prints the
// reason on stderr and exits 1 when it does not, 2 on bad usage.
import { readFile } from 'node:fs/promises';
import { createLocalJWKSet, jwtVerify } from 'jose';

async function loadJwks(where) {
  if (/^https?:\/\//.test(where)) {
    const res = await fetch(where);
    if (!res.ok) throw new Error(`GET ${where}: HTTP ${res.status}`);
    return res.json();
  }
  return JSON.parse(await readFile(where, 'utf8'));
}

async function main(argv) {
  if (argv.length !== 3) {
    console.error('usage: jwks_verify.mjs <jwks.json file or URL> <token> <issuer>');
    return 2;
  }
  const [where, token, issuer] = argv;
  try {
    const jwks = createLocalJWKSet(await loadJwks(where));
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      algorithms: ['ES256'],
      issuer,
      typ: 'JWT',
      requiredClaims: ['sub', 'role', 'iat', 'exp', 'jti', 'tv'],
    });
    if (!protectedHeader.kid) throw new Error('token has no kid');
    console.log(JSON.stringify(payload));
    return 0;
  } catch (e) {
    console.error(`not verified: ${e.code ?? ''} ${e.message}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
