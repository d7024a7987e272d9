// Independent verification of mso_mdoc credentials with @animo-id/mdoc:
// the library parses IssuerSigned, checks the issuerAuth COSE_Sign1 with the
// x5chain leaf, the x5chain against the IACA trust anchors, the MSO validity
// and every IssuerSignedItem digest. It asks the caller for X.509 and crypto
// primitives; they come from node:crypto here. The OID4VCI-level checks
// (docType, deviceKey = proof key, unpadded base64url) are added below.
import { createHash, createPublicKey, randomBytes, verify as verifySignature, X509Certificate } from 'node:crypto';
import { DateOnly, parseIssuerSigned, Verifier } from '@animo-id/mdoc';
import { holderBinding } from './binding.mjs';

const HASHES = { ES256: 'sha256', ES384: 'sha384', ES512: 'sha512', EdDSA: null };

const x509 = (certificate) => new X509Certificate(Buffer.from(certificate));

/** The node:crypto X.509 and crypto callbacks @animo-id/mdoc needs. */
export function mdocContext(now = new Date()) {
  return {
    crypto: {
      random: (length) => new Uint8Array(randomBytes(length)),
      digest: ({ digestAlgorithm, bytes }) => new Uint8Array(createHash(digestAlgorithm.replace('-', '').toLowerCase()).update(bytes).digest()),
      calculateEphemeralMacKeyJwk: () => {
        throw new Error('device MAC keys are not used at issuance');
      },
    },
    cose: {
      sign1: {
        sign: () => {
          throw new Error('the wallet does not sign COSE');
        },
        verify: ({ sign1, jwk }) => {
          const { alg, signature, data } = sign1.getRawVerificationData();
          if (!(alg in HASHES)) throw new Error(`issuerAuth alg ${alg} not accepted`);
          const key = createPublicKey({ key: jwk, format: 'jwk' });
          return verifySignature(HASHES[alg], data, { key, dsaEncoding: 'ieee-p1363' }, signature);
        },
      },
      mac0: {
        sign: () => {
          throw new Error('unused');
        },
        verify: () => {
          throw new Error('unused');
        },
      },
    },
    x509: {
      // @animo-id/mdoc reads `C` and `ST` through this to enforce ISO/IEC
      // 18013-5 §9.3.1: issuing_country (issuing_jurisdiction) must equal
      // the countryName (stateOrProvinceName) "in the subject field within
      // the DS certificate" (the library's check text); `certificate` is
      // the DS certificate, so this reads its subject.
      getIssuerNameField: ({ certificate, field }) =>
        x509(certificate)
          .subject.split('\n')
          .filter((line) => line.startsWith(`${field}=`))
          .map((line) => line.slice(field.length + 1)),
      getPublicKey: ({ certificate }) => x509(certificate).publicKey.export({ format: 'jwk' }),
      // Leaf first: each certificate issued and signed by the next; the last
      // one is a trust anchor or issued and signed by one; all valid now.
      validateCertificateChain: ({ trustedCertificates, x5chain }) => {
        const chain = x5chain.map(x509);
        const anchors = trustedCertificates.map(x509);
        for (const c of [...chain, ...anchors]) {
          if (new Date(c.validFrom) > now || new Date(c.validTo) < now) throw new Error(`certificate ${c.subject} is not valid now`);
        }
        for (let i = 0; i + 1 < chain.length; i++) {
          if (!chain[i].checkIssued(chain[i + 1]) || !chain[i].verify(chain[i + 1].publicKey)) {
            throw new Error(`x5chain[${i}] is not signed by x5chain[${i + 1}]`);
          }
        }
        const last = chain[chain.length - 1];
        const anchored = anchors.some((a) => a.fingerprint256 === last.fingerprint256 || (last.checkIssued(a) && last.verify(a.publicKey)));
        if (!anchored) throw new Error(`x5chain does not lead to a trusted IACA (last: ${last.subject.replace(/\n/g, ', ')})`);
      },
      getCertificateData: ({ certificate }) => {
        const c = x509(certificate);
        return {
          issuerName: c.issuer.replace(/\n/g, ', '),
          subjectName: c.subject.replace(/\n/g, ', '),
          serialNumber: c.serialNumber,
          thumbprint: c.fingerprint256.replace(/:/g, '').toLowerCase(),
          notBefore: new Date(c.validFrom),
          notAfter: new Date(c.validTo),
          pem: c.toString(),
        };
      },
    },
  };
}

/** CBOR element values as JSON, plus the CBOR type each had. */
function toJson(value) {
  if (value instanceof DateOnly) return { json: String(value), type: 'full-date' };
  if (value instanceof Date) return { json: value.toISOString().replace('.000Z', 'Z'), type: 'tdate' };
  if (value instanceof Uint8Array) return { json: Buffer.from(value).toString('base64url'), type: 'bytes' };
  if (value instanceof Map) {
    const out = {};
    for (const [k, v] of value) out[k] = toJson(v).json;
    return { json: out, type: 'map' };
  }
  if (Array.isArray(value)) return { json: value.map((v) => toJson(v).json), type: 'array' };
  if (value !== null && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = toJson(v).json;
    return { json: out, type: 'map' };
  }
  return { json: value, type: typeof value };
}

/** COSE_Key (EC2/OKP) of the MSO as a public JWK. */
function coseKeyToJwk(key) {
  const get = (label) => (key instanceof Map ? key.get(label) : key[label]);
  const b64 = (bytes) => Buffer.from(bytes).toString('base64url');
  const kty = get(1);
  if (kty === 2) {
    const crv = { 1: 'P-256', 2: 'P-384', 3: 'P-521' }[get(-1)];
    return { kty: 'EC', crv, x: b64(get(-2)), y: b64(get(-3)) };
  }
  if (kty === 1) return { kty: 'OKP', crv: { 6: 'Ed25519' }[get(-1)], x: b64(get(-2)) };
  throw new Error(`deviceKey has unsupported kty ${kty}`);
}

export async function verifyMdoc({ credential, holderKeys, usedKeys, expectedDoctype, trustAnchors, now }) {
  const check = (cond, msg) => {
    if (!cond) throw new Error(msg);
  };
  check(typeof credential === 'string' && /^[A-Za-z0-9_-]+$/.test(credential), 'mso_mdoc credential must be unpadded base64url');
  check(Array.isArray(trustAnchors) && trustAnchors.length > 0, 'mso_mdoc verification needs trustAnchors (IACA PEM certificates)');
  const bytes = new Uint8Array(Buffer.from(credential, 'base64url'));
  const document = parseIssuerSigned(bytes, expectedDoctype);
  const { issuerAuth } = document.issuerSigned;
  const at = now ? new Date(now) : new Date();
  const ctx = mdocContext(at);
  const trustedCertificates = trustAnchors.map((pem) => new Uint8Array(new X509Certificate(pem).raw));

  const checks = [];
  const onCheckG = (c) => checks.push(c);
  const verifier = new Verifier();
  await verifier.verifyIssuerSignature({ trustedCertificates, issuerAuth, now: at, disableCertificateChainValidation: false, onCheckG }, ctx);
  await verifier.verifyData({ mdoc: document, onCheckG }, ctx);
  const failed = checks.filter((c) => c.status === 'FAILED');
  check(failed.length === 0, `@animo-id/mdoc: ${failed.map((c) => `${c.check}${c.reason ? ` (${c.reason})` : ''}`).join('; ')}`);
  check(checks.some((c) => c.check === 'Issuer signature must be valid' && c.status === 'PASSED'), 'issuer signature was not checked');

  const mso = issuerAuth.decodedPayload;
  check(mso.docType === document.docType, `MSO docType '${mso.docType}' != document docType '${document.docType}'`);
  if (expectedDoctype) check(mso.docType === expectedDoctype, `MSO docType '${mso.docType}' != metadata doctype '${expectedDoctype}'`);
  check(mso.version === '1.0', `MSO version '${mso.version}'`);
  check(mso.digestAlgorithm === 'SHA-256', `MSO digestAlgorithm '${mso.digestAlgorithm}'`);
  // Every digest in the MSO belongs to an item, and every item was checked above.
  let items = 0;
  const salts = [];
  const claims = {};
  const types = {};
  for (const [ns, list] of document.issuerSigned.nameSpaces) {
    const ids = new Set();
    claims[ns] = {};
    types[ns] = {};
    for (const item of list) {
      check(!ids.has(item.digestID), `digestID ${item.digestID} repeats in ${ns}`);
      ids.add(item.digestID);
      check(item.random.length >= 16, `${ns}/${item.elementIdentifier}: random has ${item.random.length} bytes (< 16)`);
      salts.push(Buffer.from(item.random).toString('hex'));
      const { json, type } = toJson(item.elementValue);
      claims[ns][item.elementIdentifier] = json;
      types[ns][item.elementIdentifier] = type;
      items++;
    }
    check(mso.valueDigests.get(ns)?.size === list.length, `valueDigests of ${ns} has ${mso.valueDigests.get(ns)?.size} entries for ${list.length} items`);
  }
  check(mso.valueDigests.size === document.issuerSigned.nameSpaces.size, 'valueDigests names a namespace without items');

  const deviceJwk = coseKeyToJwk(mso.deviceKeyInfo?.deviceKey ?? new Map());
  const binding = await holderBinding(deviceJwk, holderKeys, usedKeys);
  const iso = (d) => d.toISOString().replace('.000Z', 'Z');
  const leaf = new X509Certificate(Buffer.from(issuerAuth.certificate));
  return {
    format: 'mso_mdoc',
    verified: true,
    keySource: 'x5chain',
    docType: mso.docType,
    alg: issuerAuth.alg,
    x5chainLength: issuerAuth.certificateChain.length,
    signerSubject: leaf.subject.replace(/\n/g, ', '),
    signerNotBefore: iso(new Date(leaf.validFrom)),
    validityInfo: {
      signed: iso(mso.validityInfo.signed),
      validFrom: iso(mso.validityInfo.validFrom),
      validUntil: iso(mso.validityInfo.validUntil),
    },
    claims,
    types,
    itemCount: items,
    salts,
    checks: checks.length,
    deviceKey: deviceJwk,
    ...binding,
  };
}
