// Independent verification of issued credentials: @sd-jwt/sd-jwt-vc for
// dc+sd-jwt (signature, disclosure digests, iat/nbf/exp, status list), jose
// for the issuer signature, plus the OID4VCI-level checks the tests rely on.
import { digest } from '@sd-jwt/crypto-nodejs';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { calculateJwkThumbprint, compactVerify, decodeJwt, decodeProtectedHeader } from 'jose';
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

async function verifyJwtVc({ credential, credentialIssuer, issuerKeys, holderKeys, usedKeys }) {
  const header = decodeProtectedHeader(credential);
  const payload = decodeJwt(credential);
  if (payload.iss !== credentialIssuer) throw new Error(`iss '${payload.iss}' != credential_issuer '${credentialIssuer}'`);
  const { key, source } = await issuerKeys.resolve(header, credentialIssuer);
  await compactVerify(credential, key, { algorithms: ISSUER_ALGS });
  const now = Math.floor(Date.now() / 1000);
  if (payload.exp !== undefined && payload.exp < now) throw new Error('credential expired');
  let holderJwk = payload.cnf?.jwk;
  const sub = payload.sub ?? payload.vc?.credentialSubject?.id;
  if (!holderJwk && typeof sub === 'string' && sub.startsWith('did:jwk:')) {
    holderJwk = JSON.parse(Buffer.from(sub.slice(8).split('#')[0], 'base64url').toString());
  }
  return { format: 'jwt_vc_json', verified: true, keySource: source, header, payload, claims: payload.vc?.credentialSubject ?? {}, disclosureCount: 0, ...(await holderBinding(holderJwk, holderKeys, usedKeys)) };
}

/** cnf.jwk must be one of the proved holder keys and not bound twice. */
async function holderBinding(cnfJwk, holderKeys, usedKeys) {
  if (!cnfJwk) {
    if (holderKeys) throw new Error('credential has no cnf.jwk although holder keys were proved');
    return { holderKeyThumbprint: null, cnfMatchesHolderKey: null };
  }
  if (cnfJwk.d !== undefined) throw new Error('cnf.jwk contains a private key member');
  const thumbprint = await calculateJwkThumbprint(cnfJwk);
  if (!holderKeys) return { holderKeyThumbprint: thumbprint, cnfMatchesHolderKey: null };
  const match = holderKeys.find((k) => k.kty === cnfJwk.kty && k.crv === cnfJwk.crv && k.x === cnfJwk.x && k.y === cnfJwk.y);
  if (!match) throw new Error(`cnf.jwk (thumbprint ${thumbprint}) is none of the holder keys sent in the proofs`);
  if (usedKeys.has(thumbprint)) throw new Error(`two credentials are bound to the same holder key ${thumbprint}`);
  usedKeys.add(thumbprint);
  return { holderKeyThumbprint: thumbprint, cnfMatchesHolderKey: true };
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
