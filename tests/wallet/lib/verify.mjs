// Independent verification of issued credentials: @sd-jwt/sd-jwt-vc for
// dc+sd-jwt (signature, disclosure digests, iat/nbf/exp, status list), jose
// for the issuer signature, plus the OID4VCI-level checks the tests rely on.
import { digest } from '@sd-jwt/crypto-nodejs';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { calculateJwkThumbprint, compactVerify, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { holderBinding } from './binding.mjs';
import { verifyMdoc } from './mdoc.mjs';
import { ISSUER_ALGS } from './issuer-keys.mjs';

const hasher = (data, alg) => digest(data, alg);

/**
 * Verifies one credential string. `holderKeys`: public JWKs the wallet proved
 * (null in verify-only mode without a holder key); `usedKeys`: thumbprints
 * already bound by earlier credentials of the same batch.
 */
export async function verifyCredential(opts) {
  const { format } = opts;
  if (format === 'dc+sd-jwt') return verifySdJwtVc(opts);
  if (format === 'jwt_vc_json') return verifyJwtVc(opts);
  if (format === 'mso_mdoc') return verifyMdoc(opts);
  return { format, verified: false, note: `format ${format} is not verified by this harness`, credential: opts.credential };
}

async function verifySdJwtVc({ credential, credentialIssuer, issuerKeys, holderKeys, usedKeys, expectedVct, status = {} }) {
  const check = (cond, msg) => {
    if (!cond) throw new Error(msg);
  };
  check(typeof credential === 'string' && credential.endsWith('~'), 'dc+sd-jwt credential must be a string ending in ~ (no KB-JWT at issuance)');
  const header = decodeProtectedHeader(credential.split('~')[0]);
  const payload = decodeJwt(credential.split('~')[0]);
  check(header.typ === 'dc+sd-jwt', `header typ '${header.typ}' != 'dc+sd-jwt'`);
  check(payload.iss === credentialIssuer, `iss '${payload.iss}' != credential_issuer '${credentialIssuer}'`);
  check(typeof payload.vct === 'string' && payload.vct.length > 0, 'vct missing');
  if (expectedVct) check(payload.vct === expectedVct, `vct '${payload.vct}' != metadata vct '${expectedVct}'`);

  let keySource;
  const verifier = async (signingInput, signature) => {
    const { key, source } = await issuerKeys.resolve(issuerKeys.headerOf(signingInput), credentialIssuer);
    keySource ??= source;
    await compactVerify(`${signingInput}.${signature}`, key, { algorithms: ISSUER_ALGS });
    return true;
  };
  const statusInfo = {};
  const instance = new SDJwtVcInstance({
    hasher,
    verifier,
    statusListFetcher: (uri) => fetchStatusList(issuerKeys.fetch, uri),
    statusValidator: async (value) => {
      statusInfo.value = value;
    },
  });
  if (status.check === false) instance.verifyStatus = async () => {};
  const verified = await instance.verify(credential);
  if (payload.status?.status_list && status.check !== false) {
    const expect = status.expect ?? 0;
    check(statusInfo.value === expect, `status list value ${statusInfo.value} != expected ${expect}`);
  }

  const sdjwt = await instance.decode(credential);
  await checkDisclosuresReferenced(payload, sdjwt.disclosures ?? []);
  const binding = await holderBinding(payload.cnf?.jwk, holderKeys, usedKeys);
  return {
    format: 'dc+sd-jwt',
    verified: true,
    keySource,
    header,
    payload,
    claims: verified.payload,
    disclosureCount: sdjwt.disclosures?.length ?? 0,
    ...(payload.status?.status_list ? { statusValue: statusInfo.value ?? null } : {}),
    ...binding,
  };
}

/**
 * jwt_vc_json (VCDM 1.1 JWT encoding): jose verifies the signature with the
 * issuer key (jwt-vc-issuer JWKS by kid, or x5c) and the iss/nbf/exp claims;
 * the rest are the OID4VCI App. A.1 / VCDM 1.1 §6.3.1 mappings.
 */
async function verifyJwtVc({ credential, credentialIssuer, issuerKeys, holderKeys, usedKeys, expectedTypes }) {
  const check = (cond, msg) => {
    if (!cond) throw new Error(msg);
  };
  check(typeof credential === 'string' && credential.split('.').length === 3, 'jwt_vc_json credential must be a compact JWS string');
  const header = decodeProtectedHeader(credential);
  check(header.typ === undefined || header.typ === 'JWT', `header typ '${header.typ}' is not JWT`);
  const { key, source } = await issuerKeys.resolve(header, credentialIssuer);
  const { payload } = await jwtVerify(credential, key, { algorithms: ISSUER_ALGS, issuer: credentialIssuer });
  const vc = payload.vc;
  check(vc && typeof vc === 'object', 'payload has no vc claim');
  check(Array.isArray(vc['@context']) && ['https://www.w3.org/2018/credentials/v1', 'https://www.w3.org/ns/credentials/v2'].includes(vc['@context'][0]), `vc @context ${JSON.stringify(vc['@context'])} does not start with a W3C VC context`);
  check(Array.isArray(vc.type) && vc.type.includes('VerifiableCredential'), `vc.type ${JSON.stringify(vc.type)} lacks VerifiableCredential`);
  if (expectedTypes) check(JSON.stringify(vc.type) === JSON.stringify(expectedTypes), `vc.type ${JSON.stringify(vc.type)} != credential_definition.type ${JSON.stringify(expectedTypes)}`);
  check(typeof payload.nbf === 'number', 'nbf missing');
  check(typeof payload.jti === 'string' && payload.jti.length > 0, 'jti missing');
  if (vc.id !== undefined) check(vc.id === payload.jti, `vc.id '${vc.id}' != jti '${payload.jti}'`);
  if (vc.issuer !== undefined) check((vc.issuer.id ?? vc.issuer) === payload.iss, `vc.issuer != iss`);
  const subject = vc.credentialSubject;
  check(subject && typeof subject === 'object' && !Array.isArray(subject), 'vc.credentialSubject missing');
  // Holder binding: sub = did:jwk of the holder key = credentialSubject.id; cnf.jwk the same key.
  let holderJwk = payload.cnf?.jwk;
  if (typeof payload.sub === 'string' && payload.sub.startsWith('did:jwk:')) {
    check(subject.id === payload.sub, `credentialSubject.id '${subject.id}' != sub '${payload.sub}'`);
    const didKey = JSON.parse(Buffer.from(payload.sub.slice(8).split('#')[0], 'base64url').toString());
    if (holderJwk) {
      check((await calculateJwkThumbprint(didKey)) === (await calculateJwkThumbprint(holderJwk)), 'sub did:jwk and cnf.jwk name different keys');
    }
    holderJwk ??= didKey;
  }
  const { id: subjectId, ...claims } = subject;
  return {
    format: 'jwt_vc_json',
    verified: true,
    keySource: source,
    header,
    payload,
    claims,
    subjectId: subjectId ?? null,
    disclosureCount: 0,
    ...(await holderBinding(holderJwk, holderKeys, usedKeys)),
  };
}

/** RFC 9901 §7.1: every disclosure's digest must be referenced exactly once. */
async function checkDisclosuresReferenced(payload, disclosures) {
  const referenced = [];
  const walk = (node) => {
    if (Array.isArray(node)) {
      for (const item of node) {
        if (item && typeof item === 'object' && !Array.isArray(item) && Object.keys(item).length === 1 && typeof item['...'] === 'string') referenced.push(item['...']);
        else walk(item);
      }
    } else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (k === '_sd' && Array.isArray(v)) referenced.push(...v);
        else walk(v);
      }
    }
  };
  walk(payload);
  for (const d of disclosures) walk(d.value);
  const seen = new Set();
  for (const r of referenced) {
    if (seen.has(r)) throw new Error(`digest ${r} appears more than once`);
    seen.add(r);
  }
  const alg = payload._sd_alg ?? 'sha-256';
  for (const d of disclosures) {
    const dg = await d.digest({ hasher, alg });
    if (!seen.has(dg)) throw new Error(`disclosure ${d.encode()} is not referenced by any digest`);
  }
}

async function fetchStatusList(fetchFn, uri) {
  const response = await fetchFn(uri, { headers: { Accept: 'application/statuslist+jwt' } });
  if (!response.ok) throw new Error(`status list ${uri}: HTTP ${response.status}`);
  if (!response.headers.get('content-type')?.includes('application/statuslist+jwt')) {
    throw new Error(`status list ${uri}: content-type ${response.headers.get('content-type')}`);
  }
  return response.text();
}
