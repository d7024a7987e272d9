// A strict check of an IACA root and document signer (DS) certificate
// against the ISO/IEC 18013-5 Annex B certificate profiles, independent of
// Sigil's Rust code: the DER is parsed with @peculiar/asn1-x509, names,
// validity and signatures come from node:crypto. Every problem is reported,
// not only the first.
//
// Checked (B.1.2 IACA, B.1.4 DS; B.1.1 for both):
//   both: X.509 v3; positive serial of at most 20 octets with >= 63 bits;
//         subject with exactly one countryName (ISO 3166-1 alpha-2) and a
//         commonName; no policyMappings, nameConstraints, policyConstraints,
//         inhibitAnyPolicy or freshestCRL; no critical extension outside the
//         profile; subjectKeyIdentifier = SHA-1 of the public key bits (RFC
//         5280 method 1), non-critical; issuerAlternativeName (URI or
//         rfc822Name), non-critical; cRLDistributionPoints with a fullName URI
//         and neither reasons nor cRLIssuer, non-critical.
//   IACA: self-issued and self-signed; keyUsage critical, exactly keyCertSign
//         + cRLSign; basicConstraints critical, CA, pathLenConstraint 0;
//         validity at most 20 years.
//   DS:   issuer = the IACA's subject (DER), signed by the IACA; countryName
//         (and stateOrProvinceName, when either has one) equal to the
//         IACA's; authorityKeyIdentifier = the IACA's subjectKeyIdentifier,
//         non-critical; keyUsage critical, exactly digitalSignature;
//         extendedKeyUsage critical, exactly 1.0.18013.5.1.2 (mdlDS); no CA
//         basicConstraints; validity at most 457 days, within the IACA's.
import { createHash, X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  CRLDistributionPoints,
  ExtendedKeyUsage,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_cRLDistributionPoints,
  id_ce_extKeyUsage,
  id_ce_freshestCRL,
  id_ce_inhibitAnyPolicy,
  id_ce_issuerAltName,
  id_ce_keyUsage,
  id_ce_nameConstraints,
  id_ce_policyConstraints,
  id_ce_policyMappings,
  id_ce_subjectKeyIdentifier,
  IssueAlternativeName,
  KeyUsage,
  KeyUsageFlags,
  SubjectKeyIdentifier,
} from '@peculiar/asn1-x509';
import { WalletError } from './errors.mjs';

const MDL_DS = '1.0.18013.5.1.2';
const DAY = 86_400_000;
const FORBIDDEN = {
  [id_ce_policyMappings]: 'policyMappings',
  [id_ce_nameConstraints]: 'nameConstraints',
  [id_ce_policyConstraints]: 'policyConstraints',
  [id_ce_inhibitAnyPolicy]: 'inhibitAnyPolicy',
  [id_ce_freshestCRL]: 'freshestCRL',
};

const hex = (buf) => Buffer.from(buf).toString('hex');

/** One certificate: node's view, the parsed DER, its extensions by OID. */
function load(pem) {
  const node = new X509Certificate(pem);
  const asn = AsnConvert.parse(node.raw, Certificate);
  const extensions = new Map();
  for (const e of asn.tbsCertificate.extensions ?? []) extensions.set(e.extnID, e);
  const names = (text) => {
    const out = {};
    for (const line of text.split('\n')) {
      const at = line.indexOf('=');
      (out[line.slice(0, at)] ??= []).push(line.slice(at + 1));
    }
    return out;
  };
  return { node, asn, extensions, subject: names(node.subject) };
}

/** The checks of one profile; `problems` collects what fails. */
function profile(label, cert, problems, allowed) {
  const fail = (message) => problems.push(`${label}: ${message}`);
  const { asn, extensions, subject } = cert;
  const tbs = asn.tbsCertificate;
  if (tbs.version !== 2) fail(`version is v${tbs.version + 1}, not v3`);
  const serial = Buffer.from(tbs.serialNumber);
  if (serial.length > 20) fail(`serialNumber has ${serial.length} octets (at most 20)`);
  if (serial[0] & 0x80) fail('serialNumber is negative');
  const bits = serial.length * 8 - Math.clz32(serial[0] ?? 0) + 24;
  if (bits < 63) fail(`serialNumber has ${bits} bits (at least 63)`);
  const c = subject.C ?? [];
  if (c.length !== 1 || !/^[A-Z]{2}$/.test(c[0])) fail(`subject countryName must be one ISO 3166-1 alpha-2 code, is ${JSON.stringify(c)}`);
  if (!subject.CN?.length) fail('subject has no commonName');
  for (const [oid, e] of extensions) {
    if (FORBIDDEN[oid]) fail(`${FORBIDDEN[oid]} is not allowed`);
    else if (e.critical && !allowed.includes(oid)) fail(`unknown critical extension ${oid}`);
  }
  const ext = (oid, name, type, critical) => {
    const e = extensions.get(oid);
    if (!e) {
      fail(`${name} is missing`);
      return undefined;
    }
    if (e.critical !== critical) fail(`${name} must be ${critical ? '' : 'non-'}critical`);
    return AsnConvert.parse(e.extnValue, type);
  };
  const ski = ext(id_ce_subjectKeyIdentifier, 'subjectKeyIdentifier', SubjectKeyIdentifier, false);
  const keyBits = asn.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey;
  const method1 = createHash('sha1').update(Buffer.from(keyBits)).digest('hex');
  if (ski && hex(ski.buffer) !== method1) fail('subjectKeyIdentifier is not the SHA-1 of the public key (RFC 5280 method 1)');
  const ian = ext(id_ce_issuerAltName, 'issuerAlternativeName', IssueAlternativeName, false);
  if (ian && !ian.some((n) => n.uniformResourceIdentifier || n.rfc822Name)) fail('issuerAlternativeName has no URI or rfc822Name');
  const crl = ext(id_ce_cRLDistributionPoints, 'cRLDistributionPoints', CRLDistributionPoints, false);
  for (const point of crl ?? []) {
    if (point.reasons) fail('a CRL distribution point has reasons');
    if (point.cRLIssuer) fail('a CRL distribution point has a cRLIssuer');
    if (!point.distributionPoint?.fullName?.some((n) => n.uniformResourceIdentifier)) fail('a CRL distribution point has no fullName URI');
  }
  if (crl && crl.length === 0) fail('cRLDistributionPoints is empty');
  const ku = ext(id_ce_keyUsage, 'keyUsage', KeyUsage, true);
  return { ski: ski && hex(ski.buffer), keyUsage: ku?.toNumber(), crl: crl?.flatMap((p) => p.distributionPoint?.fullName ?? []).map((n) => n.uniformResourceIdentifier), ian: ian?.map((n) => n.uniformResourceIdentifier ?? n.rfc822Name) };
}

function iacaProfile(iaca, problems, now) {
  const fail = (message) => problems.push(`IACA: ${message}`);
  const facts = profile('IACA', iaca, problems, [id_ce_keyUsage, id_ce_basicConstraints]);
  if (facts.keyUsage !== (KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign)) fail('keyUsage must be exactly keyCertSign and cRLSign');
  const bc = iaca.extensions.get(id_ce_basicConstraints);
  if (!bc) fail('basicConstraints is missing');
  else {
    const value = AsnConvert.parse(bc.extnValue, BasicConstraints);
    if (!bc.critical) fail('basicConstraints must be critical');
    if (!value.cA || value.pathLenConstraint !== 0) fail('basicConstraints must be CA with pathLenConstraint 0');
  }
  const { node } = iaca;
  if (!node.checkIssued(node) || !node.verify(node.publicKey)) fail('is not self-issued and self-signed');
  const from = new Date(node.validFrom);
  const to = new Date(node.validTo);
  if (to - from > 20 * 366 * DAY) fail('validity exceeds 20 years');
  if (now < from || now > to) fail('is not valid now');
  return facts;
}

function dsProfile(ds, iaca, iacaFacts, problems, now) {
  const fail = (message) => problems.push(`document signer: ${message}`);
  const facts = profile('document signer', ds, problems, [id_ce_keyUsage, id_ce_extKeyUsage]);
  if (facts.keyUsage !== KeyUsageFlags.digitalSignature) fail('keyUsage must be exactly digitalSignature');
  const eku = ds.extensions.get(id_ce_extKeyUsage);
  if (!eku) fail('extendedKeyUsage is missing');
  else {
    const value = AsnConvert.parse(eku.extnValue, ExtendedKeyUsage);
    if (!eku.critical) fail('extendedKeyUsage must be critical');
    if (value.length !== 1 || value[0] !== MDL_DS) fail(`extendedKeyUsage must be exactly ${MDL_DS}, is ${JSON.stringify([...value])}`);
  }
  const aki = ds.extensions.get(id_ce_authorityKeyIdentifier);
  if (!aki) fail('authorityKeyIdentifier is missing');
  else {
    const value = AsnConvert.parse(aki.extnValue, AuthorityKeyIdentifier);
    if (aki.critical) fail('authorityKeyIdentifier must be non-critical');
    if (!value.keyIdentifier || hex(value.keyIdentifier.buffer) !== iacaFacts.ski) fail("authorityKeyIdentifier is not the IACA's subjectKeyIdentifier");
  }
  const bc = ds.extensions.get(id_ce_basicConstraints);
  if (bc && AsnConvert.parse(bc.extnValue, BasicConstraints).cA) fail('must not be a CA');
  const sameIssuer = Buffer.compare(Buffer.from(AsnConvert.serialize(ds.asn.tbsCertificate.issuer)), Buffer.from(AsnConvert.serialize(iaca.asn.tbsCertificate.subject))) === 0;
  if (!sameIssuer) fail("issuer is not the IACA's subject");
  if (!ds.node.verify(iaca.node.publicKey)) fail('is not signed by the IACA');
  for (const name of ['C', 'ST']) {
    const mine = JSON.stringify(ds.subject[name] ?? []);
    const theirs = JSON.stringify(iaca.subject[name] ?? []);
    if (mine !== theirs) fail(`subject ${name} ${mine} differs from the IACA's ${theirs}`);
  }
  const from = new Date(ds.node.validFrom);
  const to = new Date(ds.node.validTo);
  if (to - from > 457 * DAY) fail(`validity is ${((to - from) / DAY).toFixed(2)} days (at most 457)`);
  if (from < new Date(iaca.node.validFrom) || to > new Date(iaca.node.validTo)) fail("validity is not within the IACA's");
  if (now < from || now > to) fail('is not valid now');
  return facts;
}

/** `{mode: "iso-profile", iaca: PEM, documentSigner: PEM, now?}` → facts, or a `profile` failure listing every problem. */
export function checkIsoProfile({ iaca, documentSigner, now }) {
  if (typeof iaca !== 'string' || typeof documentSigner !== 'string') throw new WalletError('input', 'iso-profile needs iaca and documentSigner (PEM)');
  const at = now ? new Date(now) : new Date();
  const problems = [];
  const root = load(iaca);
  const ds = load(documentSigner.split(/(?=-----BEGIN CERTIFICATE-----)/)[0]);
  const rootFacts = iacaProfile(root, problems, at);
  const dsFacts = dsProfile(ds, root, rootFacts, problems, at);
  if (problems.length > 0) throw new WalletError('profile', problems.join('; '));
  return {
    ok: true,
    iaca: { subject: root.subject, crl: rootFacts.crl, issuerAltName: rootFacts.ian },
    documentSigner: { subject: ds.subject, crl: dsFacts.crl, issuerAltName: dsFacts.ian, validFrom: ds.node.validFrom, validTo: ds.node.validTo },
  };
}
