//! X.509 for issuer keys: a demo IACA + document-signer chain for
//! development (ISO/IEC 18013-5 Annex B profile as far as practical), and
//! reading and checking configured chains (PEM, leaf first).
//!
//! The demo IACA is a self-signed P-256 CA (`keyCertSign`, `cRLSign`,
//! `basicConstraints CA:TRUE, pathlen:0`, `issuerAltName`), and the document
//! signer (DS) certificate binds the issuer key's public key
//! (`digitalSignature`, extended key usage `1.0.18013.5.1.2` mdlDS). ISO
//! caps DS certificates at 457 days; the demo default is longer (730 days)
//! so a demo chain covers a one-year credential for a year. What the demo
//! chain leaves out: CRL distribution points (there is no CRL to point at).

use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, SanType,
    SerialNumber, SignatureAlgorithm,
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

/// What to put in a demo chain.
#[derive(Debug, Clone)]
pub struct DemoChainOptions {
    /// Common name stem, e.g. the tenant's display name.
    pub name: String,
    /// ISO 3166-1 alpha-2 country code (`UT`, "Utopia", is ISO's test country).
    pub country: String,
    /// The issuer's URL: issuer alternative name of the IACA, SAN URI of the DS.
    pub issuer_url: String,
    /// IACA validity in days (default 10 years).
    pub iaca_days: u32,
    /// Document signer validity in days (default 730).
    pub ds_days: u32,
}

impl DemoChainOptions {
    /// Defaults for `name` at `issuer_url`.
    pub fn new(name: impl Into<String>, issuer_url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            country: "UT".into(),
            issuer_url: issuer_url.into(),
            iaca_days: 3652,
            ds_days: 730,
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

impl DemoIaca {
    /// Generate a self-signed demo IACA (P-256).
    pub fn generate(opts: &DemoChainOptions) -> Result<Self, ChainError> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| ChainError::Generate(e.to_string()))?;
        let params = iaca_params(opts);
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
        let subject = SubjectKey::of(signer)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, opts.country.as_str());
        dn.push(
            DnType::CommonName,
            format!("{} Document Signer", opts.name).as_str(),
        );
        params.distinguished_name = dn;
        params.serial_number = Some(random_serial());
        params.not_before = now_minus_skew();
        params.not_after = OffsetDateTime::now_utc() + time::Duration::days(opts.ds_days.into());
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(MDL_DS_EKU.to_vec())];
        params.use_authority_key_identifier_extension = true;
        if let Ok(uri) = opts.issuer_url.as_str().try_into() {
            params.subject_alt_names = vec![SanType::URI(uri)];
            params
                .custom_extensions
                .push(CustomExtension::from_oid_content(
                    ISSUER_ALT_NAME,
                    uri_general_names(&opts.issuer_url),
                ));
        }
        let cert = params
            .signed_by(&subject, &issuer)
            .map_err(|e| ChainError::Generate(e.to_string()))?;
        Ok(cert.der().to_vec())
    }
}

fn iaca_params(opts: &DemoChainOptions) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, opts.country.as_str());
    dn.push(
        DnType::CommonName,
        format!("{} Demo IACA", opts.name).as_str(),
    );
    params.distinguished_name = dn;
    params.serial_number = Some(random_serial());
    params.not_before = now_minus_skew();
    params.not_after = OffsetDateTime::now_utc() + time::Duration::days(opts.iaca_days.into());
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
        .custom_extensions
        .push(CustomExtension::from_oid_content(
            ISSUER_ALT_NAME,
            uri_general_names(&opts.issuer_url),
        ));
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
    })
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
        // DS profile.
        let ku = ds_cert.key_usage().unwrap().unwrap().value;
        assert!(ku.digital_signature() && !ku.key_cert_sign());
        let eku = ds_cert.extended_key_usage().unwrap().unwrap().value;
        assert!(
            eku.other
                .iter()
                .any(|o| o.to_id_string() == "1.0.18013.5.1.2")
        );
        assert!(ds_cert.extensions().iter().any(|e| matches!(
            e.parsed_extension(),
            ParsedExtension::IssuerAlternativeName(_)
        )));
        // Validity: DS ends before the IACA, both well in the future.
        let ds_info = certificate_info(&ds).unwrap();
        let root_info = certificate_info(&root).unwrap();
        let year = Duration::from_secs(365 * 86_400);
        assert!(ds_info.not_after > SystemTime::now() + year);
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
    fn garbage_is_not_a_chain() {
        let pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(parse_pem_chain(pem).is_err());
        assert!(parse_pem_chain("").unwrap().is_empty());
    }
}
