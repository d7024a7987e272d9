//! X.509 for issuer keys: a demo IACA + document-signer chain for
//! development, following the ISO/IEC 18013-5 Annex B certificate
//! profiles, and reading and checking configured chains (PEM, leaf first).
//!
//! The demo IACA is a self-signed P-256 CA: subject `C`, (`ST`,) `CN`;
//! `subjectKeyIdentifier` (SHA-1 of the public key, RFC 5280 method 1),
//! critical `keyUsage` `keyCertSign` + `cRLSign`, critical
//! `basicConstraints CA:TRUE, pathlen:0`, `issuerAltName` (the issuer URL)
//! and a `cRLDistributionPoints` URI. The document signer (DS) certificate
//! binds the issuer key's public key: subject `C` (and `ST`) of the IACA
//! plus its own `CN`; `authorityKeyIdentifier` (the IACA's key id),
//! `subjectKeyIdentifier`, critical `keyUsage` `digitalSignature`, critical
//! extended key usage `1.0.18013.5.1.2` (mdlDS), `issuerAltName` and the
//! CRL distribution point; no `basicConstraints`. It is valid for at most
//! 457 days (ISO's cap). The CRL distribution point names
//! `<issuer URL>/iaca.crl`, which Sigil does not serve: a verifier that
//! insists on fetching the CRL will not accept a demo chain.
//!
//! [`certificate_info`] reads what verifiers compare mDL elements with: the
//! subject's `countryName` and `stateOrProvinceName`.

use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, CrlDistributionPoint, CustomExtension, DistinguishedName,
    DnType, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, PublicKeyData, SerialNumber,
    SignatureAlgorithm,
};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::{Algorithm, Signer};

/// Why a chain could not be made, read or accepted.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// Generating a certificate failed.
    #[error("cannot generate a certificate: {0}")]
    Generate(String),
    /// A PEM file holds no usable certificate, or a certificate does not parse.
    #[error("not a certificate: {0}")]
    Parse(String),
    /// The key's public key cannot go into a certificate.
    #[error("unsupported issuer key: {0}")]
    Key(String),
}

/// OID of the mdlDS extended key usage (ISO/IEC 18013-5 Annex B).
pub const MDL_DS_EKU: &[u64] = &[1, 0, 18013, 5, 1, 2];
const ISSUER_ALT_NAME: &[u64] = &[2, 5, 29, 18];
const SUBJECT_KEY_IDENTIFIER: &[u64] = &[2, 5, 29, 14];
const EXTENDED_KEY_USAGE: &[u64] = &[2, 5, 29, 37];
/// The longest document signer validity ISO/IEC 18013-5 Annex B allows.
pub const MAX_DS_DAYS: u32 = 457;

/// What to put in a demo chain.
#[derive(Debug, Clone)]
pub struct DemoChainOptions {
    /// Common name stem, e.g. the tenant's display name.
    pub name: String,
    /// ISO 3166-1 alpha-2 country code of a new IACA (`UT`, "Utopia", is
    /// ISO's test country). A document signer always carries its IACA's.
    pub country: String,
    /// `stateOrProvinceName` of a new IACA (none by default); a document
    /// signer always carries its IACA's.
    pub state_or_province: Option<String>,
    /// The issuer's URL: issuer alternative name of the IACA, SAN URI of the DS.
    pub issuer_url: String,
    /// IACA validity in days (default 10 years).
    pub iaca_days: u32,
    /// Document signer validity in days (default and at most 457).
    pub ds_days: u32,
}

impl DemoChainOptions {
    /// Defaults for `name` at `issuer_url`.
    pub fn new(name: impl Into<String>, issuer_url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            country: "UT".into(),
            state_or_province: None,
            issuer_url: issuer_url.into(),
            iaca_days: 3652,
            ds_days: MAX_DS_DAYS,
        }
    }
}

/// A demo IACA: its certificate and private key, both PEM.
pub struct DemoIaca {
    /// The self-signed IACA certificate, PEM.
    pub certificate_pem: String,
    /// Its P-256 private key, PKCS#8 PEM (keep it private).
    pub private_key_pem: String,
}

impl std::fmt::Debug for DemoIaca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoIaca").finish_non_exhaustive()
    }
}

fn now_minus_skew() -> OffsetDateTime {
    OffsetDateTime::now_utc() - time::Duration::minutes(5)
}

fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    SerialNumber::from_slice(&bytes)
}

fn der_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
}

fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    der_len(content.len(), &mut out);
    out.extend_from_slice(content);
    out
}

/// `GeneralNames ::= SEQUENCE { uniformResourceIdentifier [6] IA5String }`.
fn uri_general_names(uri: &str) -> Vec<u8> {
    der_tlv(0x30, &der_tlv(0x86, uri.as_bytes()))
}

/// An OBJECT IDENTIFIER, DER (the first two arcs below 40 and 80, as all here).
fn der_oid(arcs: &[u64]) -> Vec<u8> {
    let mut content = Vec::new();
    let (first, rest) = match arcs {
        [a, b, rest @ ..] => (a * 40 + b, rest),
        _ => (0, arcs),
    };
    for arc in std::iter::once(first).chain(rest.iter().copied()) {
        let mut bytes = vec![(arc & 0x7f) as u8];
        let mut v = arc >> 7;
        while v > 0 {
            bytes.push((v & 0x7f) as u8 | 0x80);
            v >>= 7;
        }
        bytes.reverse();
        content.extend(bytes);
    }
    der_tlv(0x06, &content)
}

/// RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits (what
/// ISO/IEC 18013-5 verifiers recompute).
fn key_identifier(public_key: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, public_key)
        .as_ref()
        .to_vec()
}

/// Where the demo certificates say their CRL is (nothing serves it).
fn crl_url(issuer_url: &str) -> String {
    format!("{}/iaca.crl", issuer_url.trim_end_matches('/'))
}

/// The extensions both demo certificates share: `issuerAltName` and the
/// CRL distribution point.
fn shared_extensions(params: &mut CertificateParams, issuer_url: &str) {
    params
        .custom_extensions
        .push(CustomExtension::from_oid_content(
            ISSUER_ALT_NAME,
            uri_general_names(issuer_url),
        ));
    params.crl_distribution_points = vec![CrlDistributionPoint {
        uris: vec![crl_url(issuer_url)],
    }];
}

/// `C`, then `ST` when given, then `CN`.
fn subject(country: &str, state: Option<&str>, common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, country);
    if let Some(st) = state {
        dn.push(DnType::StateOrProvinceName, st);
    }
    dn.push(DnType::CommonName, common_name);
    dn
}

impl DemoIaca {
    /// Generate a self-signed demo IACA (P-256).
    pub fn generate(opts: &DemoChainOptions) -> Result<Self, ChainError> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| ChainError::Generate(e.to_string()))?;
        let params = iaca_params(opts, key.public_key_raw());
        let cert = params
            .self_signed(&key)
            .map_err(|e| ChainError::Generate(e.to_string()))?;
        Ok(Self {
            certificate_pem: cert.pem(),
            private_key_pem: key.serialize_pem(),
        })
    }

    /// The IACA certificate, DER.
    pub fn certificate_der(&self) -> Result<Vec<u8>, ChainError> {
        let mut certs = parse_pem_chain(&self.certificate_pem)?;
        if certs.is_empty() {
            return Err(ChainError::Parse("no CERTIFICATE block".into()));
        }
        Ok(certs.remove(0))
    }

    /// Issue a document signer certificate for `signer`'s public key; DER.
    pub fn issue_document_signer(
        &self,
        signer: &dyn Signer,
        opts: &DemoChainOptions,
    ) -> Result<Vec<u8>, ChainError> {
        let key = KeyPair::from_pem(&self.private_key_pem)
            .map_err(|e| ChainError::Generate(format!("IACA private key: {e}")))?;
        let issuer = Issuer::from_ca_cert_pem(&self.certificate_pem, key)
            .map_err(|e| ChainError::Parse(format!("IACA certificate: {e}")))?;
        let names = certificate_info(&self.certificate_der()?)?;
        let country = names
            .country
            .ok_or_else(|| ChainError::Parse("the IACA's subject has no countryName".into()))?;
        let subject_key = SubjectKey::of(signer)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = subject(
            &country,
            names.state_or_province.as_deref(),
            &format!("{} Document Signer", opts.name),
        );
        params.serial_number = Some(random_serial());
        // Annex B caps the span (457 days), clock skew allowance included.
        params.not_before = now_minus_skew();
        params.not_after = (OffsetDateTime::now_utc() + time::Duration::days(opts.ds_days.into()))
            .min(params.not_before + time::Duration::days(MAX_DS_DAYS.into()));
        // Annex B lists no basicConstraints for a document signer.
        params.is_ca = IsCa::NoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(
                SUBJECT_KEY_IDENTIFIER,
                der_tlv(0x04, &key_identifier(&subject_key.raw)),
            ));
        // rcgen writes extendedKeyUsage non-critical; Annex B wants it critical.
        let mut eku = CustomExtension::from_oid_content(
            EXTENDED_KEY_USAGE,
            der_tlv(0x30, &der_oid(MDL_DS_EKU)),
        );
        eku.set_criticality(true);
        params.custom_extensions.push(eku);
        shared_extensions(&mut params, &opts.issuer_url);
        let cert = params
            .signed_by(&subject_key, &issuer)
            .map_err(|e| ChainError::Generate(e.to_string()))?;
        Ok(cert.der().to_vec())
    }
}

fn iaca_params(opts: &DemoChainOptions, public_key: &[u8]) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = subject(
        &opts.country,
        opts.state_or_province.as_deref(),
        &format!("{} Demo IACA", opts.name),
    );
    params.serial_number = Some(random_serial());
    params.not_before = now_minus_skew();
    params.not_after = params.not_before + time::Duration::days(opts.iaca_days.into());
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.key_identifier_method = KeyIdMethod::PreSpecified(key_identifier(public_key));
    shared_extensions(&mut params, &opts.issuer_url);
    params
}

/// The subject public key of a [`Signer`], for rcgen.
struct SubjectKey {
    raw: Vec<u8>,
    alg: &'static SignatureAlgorithm,
}

impl SubjectKey {
    fn of(signer: &dyn Signer) -> Result<Self, ChainError> {
        let raw = crate::jwk::public_key_bytes(&signer.public_jwk())
            .ok_or_else(|| ChainError::Key("public JWK has no usable key".into()))?;
        let alg = match signer.algorithm() {
            Algorithm::Es256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            Algorithm::Es384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            Algorithm::EdDsa => &rcgen::PKCS_ED25519,
        };
        Ok(Self { raw, alg })
    }
}

impl PublicKeyData for SubjectKey {
    fn der_bytes(&self) -> &[u8] {
        &self.raw
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.alg
    }
}

/// Every `CERTIFICATE` block of a PEM text, in order, DER.
pub fn parse_pem_chain(text: &str) -> Result<Vec<Vec<u8>>, ChainError> {
    let blocks = pem::parse_many(text).map_err(|e| ChainError::Parse(e.to_string()))?;
    let mut out = Vec::new();
    for b in blocks {
        if b.tag() == "CERTIFICATE" {
            X509Certificate::from_der(b.contents())
                .map_err(|e| ChainError::Parse(e.to_string()))?;
            out.push(b.contents().to_vec());
        }
    }
    Ok(out)
}

/// DER certificates as PEM text.
pub fn chain_to_pem(chain: &[Vec<u8>]) -> String {
    let blocks: Vec<pem::Pem> = chain
        .iter()
        .map(|der| pem::Pem::new("CERTIFICATE", der.clone()))
        .collect();
    pem::encode_many_config(
        &blocks,
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// Whether `ca` (DER) issued and signed `cert` (DER).
pub fn issued_by(cert: &[u8], ca: &[u8]) -> bool {
    let (Ok((_, cert)), Ok((_, ca))) = (
        X509Certificate::from_der(cert),
        X509Certificate::from_der(ca),
    ) else {
        return false;
    };
    cert.issuer() == ca.subject() && cert.verify_signature(Some(ca.public_key())).is_ok()
}

/// What one certificate says, for checks and listings.
#[derive(Debug, Clone)]
pub struct CertificateInfo {
    /// Subject distinguished name.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Start of validity.
    pub not_before: SystemTime,
    /// End of validity.
    pub not_after: SystemTime,
    /// The subject public key, raw (EC point or Ed25519 key).
    pub public_key: Vec<u8>,
    /// The subject's `countryName` (`C`), when it has one.
    pub country: Option<String>,
    /// The subject's `stateOrProvinceName` (`ST`), when it has one.
    pub state_or_province: Option<String>,
}

/// Read the basics of a DER certificate.
pub fn certificate_info(der: &[u8]) -> Result<CertificateInfo, ChainError> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| ChainError::Parse(e.to_string()))?;
    let to_time = |t: x509_parser::time::ASN1Time| {
        let secs = t.timestamp();
        if secs >= 0 {
            SystemTime::UNIX_EPOCH + Duration::from_secs(secs as u64)
        } else {
            SystemTime::UNIX_EPOCH
        }
    };
    Ok(CertificateInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before: to_time(cert.validity().not_before),
        not_after: to_time(cert.validity().not_after),
        public_key: cert.public_key().subject_public_key.data.to_vec(),
        country: first_text(cert.subject().iter_country()),
        state_or_province: first_text(cert.subject().iter_state_or_province()),
    })
}

fn first_text<'a>(
    mut values: impl Iterator<Item = &'a x509_parser::x509::AttributeTypeAndValue<'a>>,
) -> Option<String> {
    values
        .next()
        .and_then(|v| v.as_str().ok())
        .map(str::to_owned)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::IssuerKey;
    use x509_parser::extensions::ParsedExtension;

    #[test]
    fn demo_chain_binds_the_issuer_key_and_is_signed_by_the_iaca() {
        let opts = DemoChainOptions::new("Test", "https://issuer.example.com");
        let iaca = DemoIaca::generate(&opts).unwrap();
        let key = IssuerKey::generate_p256();
        let ds = iaca.issue_document_signer(&key, &opts).unwrap();
        let root = iaca.certificate_der().unwrap();

        let (_, ds_cert) = X509Certificate::from_der(&ds).unwrap();
        let (_, root_cert) = X509Certificate::from_der(&root).unwrap();
        // The leaf carries the issuer key and is signed by the IACA.
        assert_eq!(
            ds_cert.public_key().subject_public_key.data.as_ref(),
            crate::jwk::public_key_bytes(&key.public_jwk()).unwrap()
        );
        ds_cert
            .verify_signature(Some(root_cert.public_key()))
            .unwrap();
        root_cert.verify_signature(None).unwrap();
        assert_eq!(ds_cert.issuer(), root_cert.subject());
        // CA profile.
        let bc = root_cert.basic_constraints().unwrap().unwrap().value;
        assert!(bc.ca);
        assert_eq!(bc.path_len_constraint, Some(0));
        let ku = root_cert.key_usage().unwrap().unwrap().value;
        assert!(ku.key_cert_sign() && ku.crl_sign() && !ku.digital_signature());
        // DS profile (Annex B): KU digitalSignature only, critical; EKU
        // mdlDS only, critical; no basicConstraints; IAN; CRL DP; SKI is
        // SHA-1 of the key, AKI the IACA's SKI.
        let ku = ds_cert.key_usage().unwrap().unwrap();
        assert!(ku.critical);
        assert!(ku.value.digital_signature() && !ku.value.key_cert_sign());
        let eku = ds_cert.extended_key_usage().unwrap().unwrap();
        assert!(eku.critical, "EKU is critical");
        let ekus: Vec<String> = eku.value.other.iter().map(|o| o.to_id_string()).collect();
        assert_eq!(ekus, ["1.0.18013.5.1.2"]);
        assert!(ds_cert.basic_constraints().unwrap().is_none());
        for cert in [&ds_cert, &root_cert] {
            let mut ian = false;
            let mut crl = false;
            for e in cert.extensions() {
                match e.parsed_extension() {
                    ParsedExtension::IssuerAlternativeName(_) => ian = !e.critical,
                    ParsedExtension::CRLDistributionPoints(points) => {
                        crl = !e.critical
                            && points.points.iter().any(|p| {
                                format!("{:?}", p.distribution_point)
                                    .contains("https://issuer.example.com/iaca.crl")
                            });
                    }
                    _ => {}
                }
            }
            assert!(ian && crl, "IAN and CRL DP, non-critical");
        }
        let ski = |c: &X509Certificate<'_>| {
            c.extensions()
                .iter()
                .find_map(|e| match e.parsed_extension() {
                    ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
                    _ => None,
                })
                .unwrap()
        };
        let sha1 = |c: &X509Certificate<'_>| {
            let bits = &c.public_key().subject_public_key.data;
            ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, bits)
                .as_ref()
                .to_vec()
        };
        assert_eq!(ski(&ds_cert), sha1(&ds_cert));
        assert_eq!(ski(&root_cert), sha1(&root_cert));
        let aki = ds_cert
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(a) => {
                    a.key_identifier.as_ref().map(|k| k.0.to_vec())
                }
                _ => None,
            })
            .unwrap();
        assert_eq!(aki, ski(&root_cert));
        // Validity: DS ends before the IACA, both well in the future.
        let ds_info = certificate_info(&ds).unwrap();
        let root_info = certificate_info(&root).unwrap();
        let year = Duration::from_secs(365 * 86_400);
        assert!(ds_info.not_after > SystemTime::now() + year);
        let cap = Duration::from_secs(u64::from(MAX_DS_DAYS) * 86_400);
        assert!(ds_info.not_after <= ds_info.not_before + cap);
        assert_eq!(ds_info.country.as_deref(), Some("UT"));
        assert_eq!(ds_info.state_or_province, None);
        assert!(root_info.not_after > ds_info.not_after);
        // PEM round trip keeps order.
        let pem = chain_to_pem(&[ds.clone(), root.clone()]);
        assert_eq!(parse_pem_chain(&pem).unwrap(), vec![ds, root]);
    }

    #[test]
    fn a_second_document_signer_comes_from_the_same_iaca() {
        let opts = DemoChainOptions::new("Test", "https://issuer.example.com");
        let iaca = DemoIaca::generate(&opts).unwrap();
        let root = iaca.certificate_der().unwrap();
        let (_, root_cert) = X509Certificate::from_der(&root).unwrap();
        for _ in 0..2 {
            let ds = iaca
                .issue_document_signer(&IssuerKey::generate_p256(), &opts)
                .unwrap();
            let (_, ds_cert) = X509Certificate::from_der(&ds).unwrap();
            ds_cert
                .verify_signature(Some(root_cert.public_key()))
                .unwrap();
        }
    }

    #[test]
    fn the_document_signer_carries_its_iacas_country_and_state() {
        let mut opts = DemoChainOptions::new("Test", "https://issuer.example.com");
        opts.country = "FR".into();
        opts.state_or_province = Some("FR-75".into());
        let iaca = DemoIaca::generate(&opts).unwrap();
        // Asking for another country afterwards changes nothing: Annex B
        // wants the DS country to be its IACA's.
        opts.country = "DE".into();
        opts.state_or_province = None;
        let ds = iaca
            .issue_document_signer(&IssuerKey::generate_p256(), &opts)
            .unwrap();
        let info = certificate_info(&ds).unwrap();
        assert_eq!(info.country.as_deref(), Some("FR"));
        assert_eq!(info.state_or_province.as_deref(), Some("FR-75"));
        let root = certificate_info(&iaca.certificate_der().unwrap()).unwrap();
        assert_eq!(root.country.as_deref(), Some("FR"));
        assert!(info.subject.contains("Document Signer"), "{}", info.subject);
    }

    #[test]
    fn oids_are_encoded_in_base_128() {
        assert_eq!(
            der_oid(MDL_DS_EKU),
            [0x06, 0x07, 0x28, 0x81, 0x8c, 0x5d, 0x05, 0x01, 0x02]
        );
        assert_eq!(der_oid(&[2, 5, 29, 37]), [0x06, 0x03, 0x55, 0x1d, 0x25]);
    }

    #[test]
    fn garbage_is_not_a_chain() {
        let pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(parse_pem_chain(pem).is_err());
        assert!(parse_pem_chain("").unwrap().is_empty());
    }
}
