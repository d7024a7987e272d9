#!/usr/bin/env node
// Independent Token Status List check for Sigil's e2e tests: what a verifier
// does with a credential's `status.status_list`.
//
//   node tests/wallet/status-list.mjs < input.json
//
// Input (one JSON object on stdin):
//   {"credential": "<dc+sd-jwt or base64url mso_mdoc>", "format": "dc+sd-jwt" | "mso_mdoc",
//    "issuer": "<credential_issuer, for its /.well-known/jwt-vc-issuer keys>",
//    "cwt": false}                      // true: also fetch and check the statuslist+cwt form
//   or {"uri": "...", "idx": 7, "issuer": "...", "cwt": false}
//
// The reference comes from the SD-JWT payload's `status.status_list` or the
// mdoc MSO's `status.status_list` (@animo-id/mdoc parses IssuerSigned). The
// list is fetched with Accept: application/statuslist+jwt; its signature is
// checked with jose against the tenant's key (the kid in the jwt-vc-issuer
// JWKS, else x5c[0]), then @sd-jwt/jwt-status-list decodes it. The CWT form
// is decoded with the CBOR of @animo-id/mdoc, its COSE_Sign1 signature
// checked with node:crypto, and its list decoded by @sd-jwt/jwt-status-list.
//
// Output: {"ok": true, "uri", "idx", "value", "bits", "jwt": {contentType, cacheControl,
//   allowOrigin, header, claims: {sub, iat, exp, ttl}, keySource}, "cwt": {contentType,
//   header: {alg, typ, kid?, x5chain?}, claims: {sub, iat, exp, ttl}, bits, value}}
// or {"ok": false, "message"} (exit 1).
import { createPublicKey, verify as verifySignature, X509Certificate } from 'node:crypto';
import { cborDecode, parseIssuerSigned } from '@animo-id/mdoc';
import { getListFromStatusListJWT, StatusList } from '@sd-jwt/jwt-status-list';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { ISSUER_ALGS, IssuerKeys } from './lib/issuer-keys.mjs';

const HASHES = { ES256: 'sha256', ES384: 'sha384', ES512: 'sha512', EdDSA: null };
const COSE_ALGS = { [-7]: 'ES256', [-35]: 'ES384', [-36]: 'ES512', [-8]: 'EdDSA' };

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

/** A CBOR map (decoded as a Map) or a plain object, read by key. */
function get(m, key) {
  if (m instanceof Map) return m.get(key);
  return m?.[key];
}

/** The `status.status_list` of a credential. */
function reference({ credential, format }) {
  if (format === 'dc+sd-jwt') {
    const payload = decodeJwt(credential.split('~')[0]);
    return { ...payload.status?.status_list, iss: payload.iss };
  }
  if (format === 'mso_mdoc') {
    const document = parseIssuerSigned(new Uint8Array(Buffer.from(credential, 'base64url')));
    const mso = document.issuerSigned.issuerAuth.decodedPayload;
    const list = get(get(mso, 'status'), 'status_list');
    return { idx: get(list, 'idx'), uri: get(list, 'uri') };
  }
  throw new Error(`format ${format} has no status reference this script reads`);
}

async function fetchForm(uri, accept) {
  const response = await fetch(uri, { headers: { Accept: accept } });
  check(response.ok, `GET ${uri} (Accept ${accept}): HTTP ${response.status}`);
  return {
    contentType: response.headers.get('content-type'),
    cacheControl: response.headers.get('cache-control'),
    allowOrigin: response.headers.get('access-control-allow-origin'),
    body: new Uint8Array(await response.arrayBuffer()),
  };
}

async function checkJwt(uri, idx, issuerKeys, issuer) {
  const fetched = await fetchForm(uri, 'application/statuslist+jwt');
  check(fetched.contentType?.startsWith('application/statuslist+jwt'), `content-type ${fetched.contentType}`);
  const jwt = Buffer.from(fetched.body).toString('utf8');
  const header = decodeProtectedHeader(jwt);
  check(header.typ === 'statuslist+jwt', `typ '${header.typ}' != 'statuslist+jwt'`);
  const { key, source } = await issuerKeys.resolve(header, issuer);
  const { payload } = await jwtVerify(jwt, key, { algorithms: ISSUER_ALGS, typ: 'statuslist+jwt', subject: uri });
  check(Number.isInteger(payload.iat), 'iat missing');
  check(Number.isInteger(payload.ttl) && payload.ttl > 0, 'ttl missing or not positive');
  const list = getListFromStatusListJWT(jwt);
  return {
    contentType: fetched.contentType,
    cacheControl: fetched.cacheControl,
    allowOrigin: fetched.allowOrigin,
    header,
    claims: { sub: payload.sub, iat: payload.iat, exp: payload.exp, ttl: payload.ttl },
    keySource: source,
    bits: list.getBitsPerStatus(),
    value: list.getStatus(idx),
  };
}

/** The public key a COSE protected header names: kid in the JWKS, else the x5chain leaf. */
async function coseKey(headers, issuerKeys, issuer) {
  const kid = get(headers, 4);
  if (kid !== undefined) {
    const { jwks } = await issuerKeys.metadata(issuer);
    const name = Buffer.from(kid).toString('utf8');
    const jwk = jwks.keys.find((k) => k.kid === name);
    check(jwk, `COSE kid '${name}' not in the jwt-vc-issuer JWKS of ${issuer}`);
    return { key: createPublicKey({ key: jwk, format: 'jwk' }), source: 'jwt-vc-issuer', kid: name };
  }
  const chain = get(headers, 33);
  check(chain !== undefined, 'COSE protected header has neither kid (4) nor x5chain (33)');
  const leaf = chain instanceof Uint8Array ? chain : chain[0];
  return { key: new X509Certificate(Buffer.from(leaf)).publicKey, source: 'x5chain', x5chain: Array.isArray(chain) ? chain.length : 1 };
}

async function checkCwt(uri, idx, issuerKeys, issuer) {
  const fetched = await fetchForm(uri, 'application/statuslist+cwt');
  check(fetched.contentType?.startsWith('application/statuslist+cwt'), `content-type ${fetched.contentType}`);
  // @animo-id/mdoc decodes tag 18 as its COSE_Sign1.
  const sign1 = cborDecode(fetched.body);
  check(typeof sign1?.getRawVerificationData === 'function', 'the body is not a tagged COSE_Sign1 (tag 18)');
  const headers = sign1.protectedHeaders;
  const alg = COSE_ALGS[get(headers, 1)];
  check(alg, `COSE alg ${get(headers, 1)} not accepted`);
  check(get(headers, 16) === 'application/statuslist+cwt', `COSE typ '${get(headers, 16)}'`);
  const { key, source, kid, x5chain } = await coseKey(headers, issuerKeys, issuer);
  const { data, signature } = sign1.getRawVerificationData();
  const valid = verifySignature(HASHES[alg], data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  check(valid, 'COSE_Sign1 signature does not verify');
  const claims = cborDecode(sign1.payload);
  check(get(claims, 2) === uri, `CWT sub '${get(claims, 2)}' != ${uri}`);
  const statusList = get(claims, 65533);
  const lst = get(statusList, 'lst');
  check(lst instanceof Uint8Array, 'CWT status list lst is not a byte string');
  const bits = get(statusList, 'bits');
  const list = StatusList.decompressStatusList(Buffer.from(lst).toString('base64url'), bits);
  return {
    contentType: fetched.contentType,
    header: { alg, typ: get(headers, 16), ...(kid ? { kid } : {}), ...(x5chain ? { x5chain } : {}), keySource: source },
    claims: { sub: get(claims, 2), iat: get(claims, 6), exp: get(claims, 4), ttl: get(claims, 65534) },
    bits,
    value: list.getStatus(idx),
  };
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

let output;
try {
  const input = JSON.parse(await readStdin());
  const ref = input.credential ? reference(input) : { uri: input.uri, idx: input.idx };
  check(typeof ref.uri === 'string' && Number.isInteger(ref.idx), `no status_list {uri, idx} found: ${JSON.stringify(ref)}`);
  const issuer = input.issuer ?? ref.iss;
  check(typeof issuer === 'string', 'give "issuer" (the credential_issuer)');
  const issuerKeys = new IssuerKeys(fetch);
  const jwt = await checkJwt(ref.uri, ref.idx, issuerKeys, issuer);
  output = { ok: true, uri: ref.uri, idx: ref.idx, value: jwt.value, bits: jwt.bits, jwt };
  if (input.cwt) output.cwt = await checkCwt(ref.uri, ref.idx, issuerKeys, issuer);
} catch (e) {
  output = { ok: false, message: e?.message ?? String(e) };
}
process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
process.exitCode = output.ok ? 0 : 1;
