//! Issuer keys held in memory, signing with `ring`: ES256 (P-256), ES384
//! (P-384) and EdDSA (Ed25519). Key files are private JWKs, PKCS#8 PEM
//! (`BEGIN PRIVATE KEY`) or SEC1 PEM (`BEGIN EC PRIVATE KEY`); the PKCS#8 and
//! SEC1 structures are parsed with RustCrypto's `pkcs8`/`sec1` crates, and
//! an EC public point a file leaves out is derived with `p256`/`p384`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pkcs8::ObjectIdentifier;
use pkcs8::der::Decode as _;
use pkcs8::der::asn1::OctetStringRef;
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
    KeyPair as _,
};
use serde_json::{Value, json};

use crate::{Algorithm, KeyError, SignError, Signer};

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

enum Inner {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// An issuer key held in memory.
pub struct IssuerKey {
    kid: String,
    alg: Algorithm,
    inner: Inner,
    rng: SystemRandom,
    /// The private scalar (EC) or seed (Ed25519), for writing the key back.
    private: Vec<u8>,
    public_jwk: Value,
    chain: Vec<Vec<u8>>,
}

impl std::fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("key", &"***")
            .finish_non_exhaustive()
    }
}

impl Drop for IssuerKey {
    fn drop(&mut self) {
        self.private.iter_mut().for_each(|b| *b = 0);
    }
}

fn scalar_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::Es256 | Algorithm::EdDsa => 32,
        Algorithm::Es384 => 48,
    }
}

fn curve_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::Es256 => "P-256",
        Algorithm::Es384 => "P-384",
        Algorithm::EdDsa => "Ed25519",
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn pad_left(bytes: &[u8], len: usize) -> Result<Vec<u8>, KeyError> {
    if bytes.len() > len {
        return Err(KeyError::InvalidKey(format!(
            "private key is {} bytes, expected {len}",
            bytes.len()
        )));
    }
    let mut out = vec![0u8; len - bytes.len()];
    out.extend_from_slice(bytes);
    Ok(out)
}

/// The uncompressed EC point of private scalar `d`.
fn derive_ec_public(alg: Algorithm, d: &[u8]) -> Result<Vec<u8>, KeyError> {
    let bad = |_| KeyError::InvalidKey("private scalar out of range".into());
    match alg {
        Algorithm::Es256 => {
            use p256::elliptic_curve::sec1::ToEncodedPoint as _;
            let sk = p256::SecretKey::from_slice(d).map_err(bad)?;
            Ok(sk.public_key().to_encoded_point(false).as_bytes().to_vec())
        }
        Algorithm::Es384 => {
            use p384::elliptic_curve::sec1::ToEncodedPoint as _;
            let sk = p384::SecretKey::from_slice(d).map_err(bad)?;
            Ok(sk.public_key().to_encoded_point(false).as_bytes().to_vec())
        }
        Algorithm::EdDsa => Err(KeyError::Unsupported("Ed25519 is not an EC curve".into())),
    }
}

impl IssuerKey {
    /// Generate a fresh key for `alg`. Its `kid` is the RFC 7638 JWK thumbprint.
    pub fn generate(alg: Algorithm) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let failed = |_| KeyError::InvalidKey("the random generator failed".into());
        let pkcs8 = match alg {
            Algorithm::Es256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(failed)?
            }
            Algorithm::Es384 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng)
                    .map_err(failed)?
            }
            Algorithm::EdDsa => Ed25519KeyPair::generate_pkcs8(&rng).map_err(failed)?,
        };
        Self::from_pkcs8_der(pkcs8.as_ref(), None)
    }

    /// Generate a fresh P-256 key.
    #[allow(
        clippy::expect_used,
        reason = "P-256 generation fails only without an OS random source"
    )]
    pub fn generate_p256() -> Self {
        Self::generate(Algorithm::Es256).expect("P-256 key generation")
    }

    /// Build from the private scalar/seed and (optionally) the raw public key.
    pub fn from_parts(
        alg: Algorithm,
        private: &[u8],
        public: Option<&[u8]>,
        kid: Option<String>,
    ) -> Result<Self, KeyError> {
        let private = pad_left(private, scalar_len(alg))?;
        let rng = SystemRandom::new();
        let rejected = |e: ring::error::KeyRejected| {
            KeyError::InvalidKey(format!("{} key rejected: {e}", curve_name(alg)))
        };
        let (inner, public) = match alg {
            Algorithm::Es256 | Algorithm::Es384 => {
                let public = match public {
                    Some(p) => p.to_vec(),
                    None => derive_ec_public(alg, &private)?,
                };
                let signing = if alg == Algorithm::Es256 {
                    &ECDSA_P256_SHA256_FIXED_SIGNING
                } else {
                    &ECDSA_P384_SHA384_FIXED_SIGNING
                };
                let pair =
                    EcdsaKeyPair::from_private_key_and_public_key(signing, &private, &public, &rng)
                        .map_err(rejected)?;
                (Inner::Ecdsa(pair), public)
            }
            Algorithm::EdDsa => {
                let pair = match public {
                    Some(p) => Ed25519KeyPair::from_seed_and_public_key(&private, p),
                    None => Ed25519KeyPair::from_seed_unchecked(&private),
                }
                .map_err(rejected)?;
                let public = pair.public_key().as_ref().to_vec();
                (Inner::Ed25519(pair), public)
            }
        };
        let mut public_jwk = match alg {
            Algorithm::Es256 | Algorithm::Es384 => {
                let n = scalar_len(alg);
                if public.len() != 1 + 2 * n || public[0] != 0x04 {
                    return Err(KeyError::InvalidKey("not an uncompressed EC point".into()));
                }
                json!({
                    "kty": "EC", "crv": curve_name(alg),
                    "x": b64(&public[1..=n]), "y": b64(&public[1 + n..]),
                })
            }
            Algorithm::EdDsa => json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(&public) }),
        };
        let kid = match kid {
            Some(k) if !k.is_empty() => k,
            _ => crate::jwk::thumbprint(&public_jwk).unwrap_or_default(),
        };
        if let Some(map) = public_jwk.as_object_mut() {
            map.insert("kid".into(), kid.clone().into());
            map.insert("alg".into(), alg.jose_name().into());
            map.insert("use".into(), "sig".into());
        }
        Ok(Self {
            kid,
            alg,
            inner,
            rng,
            private,
            public_jwk,
            chain: Vec::new(),
        })
    }

    /// Load a key from a private JWK: `kty: EC` with `crv` `P-256` or
    /// `P-384`, or `kty: OKP` with `crv: Ed25519`; `d` present. The JWK's
    /// `kid` is kept; without one the thumbprint is used.
    pub fn from_jwk(jwk: &Value) -> Result<Self, KeyError> {
        let s = |k: &str| jwk.get(k).and_then(Value::as_str).unwrap_or_default();
        let bytes = |k: &str| {
            URL_SAFE_NO_PAD
                .decode(s(k))
                .map_err(|_| KeyError::InvalidJwk(format!("member `{k}` is not base64url")))
        };
        let alg = match (s("kty"), s("crv")) {
            ("EC", "P-256") => Algorithm::Es256,
            ("EC", "P-384") => Algorithm::Es384,
            ("OKP", "Ed25519") => Algorithm::EdDsa,
            (kty, crv) => return Err(KeyError::Unsupported(format!("kty '{kty}', crv '{crv}'"))),
        };
        if s("d").is_empty() {
            return Err(KeyError::InvalidJwk("no private member `d`".into()));
        }
        let d = bytes("d")?;
        if d.len() != scalar_len(alg) {
            return Err(KeyError::InvalidJwk(format!(
                "`d` is {} bytes, expected {}",
                d.len(),
                scalar_len(alg)
            )));
        }
        let public = match alg {
            Algorithm::EdDsa => bytes("x")?,
            _ => {
                let mut p = vec![0x04];
                p.extend(bytes("x")?);
                p.extend(bytes("y")?);
                p
            }
        };
        let kid = jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
        Self::from_parts(alg, &d, Some(&public), kid)
            .map_err(|e| KeyError::InvalidJwk(e.to_string()))
    }

    /// Load a PKCS#8 `PrivateKeyInfo` (DER): EC P-256/P-384 or Ed25519.
    pub fn from_pkcs8_der(der: &[u8], kid: Option<String>) -> Result<Self, KeyError> {
        let info = pkcs8::PrivateKeyInfo::try_from(der)
            .map_err(|e| KeyError::InvalidKey(format!("not PKCS#8: {e}")))?;
        let oid = info.algorithm.oid;
        if oid == OID_ED25519 {
            let seed = OctetStringRef::from_der(info.private_key)
                .map_err(|e| KeyError::InvalidKey(format!("Ed25519 private key: {e}")))?;
            let public = info.public_key;
            return Self::from_parts(Algorithm::EdDsa, seed.as_bytes(), public, kid);
        }
        if oid != OID_EC_PUBLIC_KEY {
            return Err(KeyError::Unsupported(format!("key algorithm {oid}")));
        }
        let curve = info
            .algorithm
            .parameters_oid()
            .map_err(|_| KeyError::InvalidKey("EC key without a named curve".into()))?;
        let ec = sec1::EcPrivateKey::try_from(info.private_key)
            .map_err(|e| KeyError::InvalidKey(format!("EC private key: {e}")))?;
        Self::from_ec(curve, &ec, kid)
    }

    fn from_ec(
        curve: ObjectIdentifier,
        ec: &sec1::EcPrivateKey<'_>,
        kid: Option<String>,
    ) -> Result<Self, KeyError> {
        let alg = if curve == OID_P256 {
            Algorithm::Es256
        } else if curve == OID_P384 {
            Algorithm::Es384
        } else {
            return Err(KeyError::Unsupported(format!("EC curve {curve}")));
        };
        Self::from_parts(alg, ec.private_key, ec.public_key, kid)
    }

    /// Load a PEM private key: PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`).
    pub fn from_pem(text: &str, kid: Option<String>) -> Result<Self, KeyError> {
        let blocks =
            pem::parse_many(text).map_err(|e| KeyError::InvalidKey(format!("not PEM: {e}")))?;
        for b in &blocks {
            match b.tag() {
                "PRIVATE KEY" => return Self::from_pkcs8_der(b.contents(), kid),
                "EC PRIVATE KEY" => {
                    let ec = sec1::EcPrivateKey::try_from(b.contents())
                        .map_err(|e| KeyError::InvalidKey(format!("SEC1 EC key: {e}")))?;
                    // Without parameters, the scalar's length tells the curve.
                    let curve = match ec.parameters.and_then(|p| p.named_curve()) {
                        Some(oid) => oid,
                        None if ec.private_key.len() == 32 => OID_P256,
                        None if ec.private_key.len() == 48 => OID_P384,
                        None => {
                            return Err(KeyError::InvalidKey("SEC1 key names no curve".into()));
                        }
                    };
                    return Self::from_ec(curve, &ec, kid);
                }
                "ENCRYPTED PRIVATE KEY" => {
                    return Err(KeyError::Unsupported(
                        "encrypted PEM keys (decrypt it: openssl pkcs8 -in k.pem -out plain.pem)"
                            .into(),
                    ));
                }
                _ => {}
            }
        }
        Err(KeyError::InvalidKey(
            "no PRIVATE KEY or EC PRIVATE KEY block".into(),
        ))
    }

    /// Load a key file's text: a private JWK (JSON) or a PEM private key.
    pub fn from_file_text(text: &str) -> Result<Self, KeyError> {
        if text.trim_start().starts_with('{') {
            let jwk: Value = serde_json::from_str(text)
                .map_err(|e| KeyError::InvalidJwk(format!("not JSON: {e}")))?;
            Self::from_jwk(&jwk)
        } else {
            Self::from_pem(text, None)
        }
    }

    /// Replace the key id (a `kid` set in the key manifest).
    pub fn with_key_id(mut self, kid: String) -> Self {
        if let Some(map) = self.public_jwk.as_object_mut() {
            map.insert("kid".into(), kid.clone().into());
        }
        self.kid = kid;
        self
    }

    /// Attach an X.509 chain (leaf first, DER).
    pub fn with_certificate_chain(mut self, chain: Vec<Vec<u8>>) -> Self {
        self.chain = chain;
        self
    }

    /// The raw public key: uncompressed EC point, or the Ed25519 key.
    pub fn public_key_bytes(&self) -> Vec<u8> {
        match &self.inner {
            Inner::Ecdsa(p) => p.public_key().as_ref().to_vec(),
            Inner::Ed25519(p) => p.public_key().as_ref().to_vec(),
        }
    }

    /// The private JWK, for writing a generated key to disk.
    pub fn to_private_jwk(&self) -> Value {
        let mut jwk = self.public_jwk.clone();
        if let Some(map) = jwk.as_object_mut() {
            map.remove("use");
            map.insert("d".into(), b64(&self.private).into());
        }
        jwk
    }
}

impl Signer for IssuerKey {
    fn key_id(&self) -> &str {
        &self.kid
    }

    fn algorithm(&self) -> Algorithm {
        self.alg
    }

    fn public_jwk(&self) -> Value {
        self.public_jwk.clone()
    }

    fn certificate_chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignError> {
        match &self.inner {
            Inner::Ecdsa(pair) => pair
                .sign(&self.rng, data)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| SignError::Failed("ECDSA signing failed".into())),
            Inner::Ed25519(pair) => Ok(pair.sign(data).as_ref().to_vec()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn ec_verify_p256(jwk: &Value, data: &[u8], sig: &[u8]) -> bool {
        use p256::ecdsa::signature::Verifier as _;
        let point = crate::jwk::public_key_bytes(jwk).unwrap();
        let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).unwrap();
        let sig = p256::ecdsa::Signature::from_slice(sig).unwrap();
        vk.verify(data, &sig).is_ok()
    }

    fn ec_verify_p384(jwk: &Value, data: &[u8], sig: &[u8]) -> bool {
        use p384::ecdsa::signature::Verifier as _;
        let point = crate::jwk::public_key_bytes(jwk).unwrap();
        let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(&point).unwrap();
        let sig = p384::ecdsa::Signature::from_slice(sig).unwrap();
        vk.verify(data, &sig).is_ok()
    }

    fn ed_verify(jwk: &Value, data: &[u8], sig: &[u8]) -> bool {
        use ed25519_dalek::Verifier as _;
        let raw: [u8; 32] = crate::jwk::public_key_bytes(jwk)
            .unwrap()
            .try_into()
            .unwrap();
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&raw).unwrap();
        let sig = ed25519_dalek::Signature::from_slice(sig).unwrap();
        vk.verify(data, &sig).is_ok()
    }

    /// Verify with an independent implementation (RustCrypto, dalek).
    fn verifies(key: &IssuerKey, data: &[u8], sig: &[u8]) -> bool {
        let jwk = key.public_jwk();
        match key.algorithm() {
            Algorithm::Es256 => ec_verify_p256(&jwk, data, sig),
            Algorithm::Es384 => ec_verify_p384(&jwk, data, sig),
            Algorithm::EdDsa => ed_verify(&jwk, data, sig),
        }
    }

    #[test]
    fn every_algorithm_signs_what_an_independent_verifier_accepts() {
        for (alg, len) in [
            (Algorithm::Es256, 64),
            (Algorithm::Es384, 96),
            (Algorithm::EdDsa, 64),
        ] {
            let key = IssuerKey::generate(alg).unwrap();
            let sig = key.sign(b"hello").unwrap();
            assert_eq!(sig.len(), len, "{alg:?}");
            assert!(verifies(&key, b"hello", &sig), "{alg:?}");
            assert!(!verifies(&key, b"tampered", &sig), "{alg:?}");
            assert_eq!(key.public_jwk()["alg"], alg.jose_name());
            assert!(key.public_jwk().get("d").is_none());
        }
    }

    #[test]
    fn private_jwk_round_trips_and_keeps_kid() {
        for alg in [Algorithm::Es256, Algorithm::Es384, Algorithm::EdDsa] {
            let key = IssuerKey::generate(alg).unwrap();
            let again = IssuerKey::from_jwk(&key.to_private_jwk()).unwrap();
            assert_eq!(again.key_id(), key.key_id());
            assert_eq!(again.public_jwk(), key.public_jwk());
            let sig = again.sign(b"x").unwrap();
            assert!(verifies(&key, b"x", &sig));
        }
    }

    #[test]
    fn did_key_vector_private_jwk_loads() {
        // A P-256 private JWK from the did:key test vectors.
        let jwk = json!({"kty": "EC", "crv": "P-256",
            "x": "igrFmi0whuihKnj9R3Om1SoMph72wUGeFaBbzG2vzns",
            "y": "efsX5b10x8yjyrj4ny3pGfLcY7Xby1KzgqOdqnsrJIM",
            "d": "gPh-VvVS8MbvKQ9LSVVmfnxnKjHn4Tqj0bmbpehRlpc"});
        let key = IssuerKey::from_jwk(&jwk).unwrap();
        assert_eq!(key.public_jwk()["x"], jwk["x"]);
        // A JWK whose public members do not match `d` is refused.
        let mut wrong = jwk.clone();
        wrong["y"] = json!("hW2ojTNfH7Jbi8--CJUo3OCbH3y5n91g-IMA9MLMbTU");
        assert!(IssuerKey::from_jwk(&wrong).is_err());
    }

    #[test]
    fn pkcs8_and_sec1_pem_written_by_rustcrypto_load() {
        use p256::pkcs8::EncodePrivateKey as _;
        let sk = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let expected = {
            use p256::elliptic_curve::sec1::ToEncodedPoint as _;
            sk.public_key().to_encoded_point(false).as_bytes().to_vec()
        };
        let pkcs8 = sk.to_pkcs8_pem(Default::default()).unwrap();
        let key = IssuerKey::from_file_text(&pkcs8).unwrap();
        assert_eq!(key.algorithm(), Algorithm::Es256);
        assert_eq!(key.public_key_bytes(), expected);
        let sec1 = sk.to_sec1_pem(Default::default()).unwrap();
        let key = IssuerKey::from_file_text(&sec1).unwrap();
        assert_eq!(key.public_key_bytes(), expected);

        let sk = p384::SecretKey::random(&mut rand::rngs::OsRng);
        let key = IssuerKey::from_file_text(&sk.to_pkcs8_pem(Default::default()).unwrap()).unwrap();
        assert_eq!(key.algorithm(), Algorithm::Es384);
        let sig = key.sign(b"p384").unwrap();
        assert!(verifies(&key, b"p384", &sig));
    }

    #[test]
    fn ed25519_pkcs8_pem_of_rfc8410_loads() {
        // RFC 8410 §10.3 example private key (PKCS#8 v1, seed only).
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";
        let key = IssuerKey::from_file_text(pem).unwrap();
        assert_eq!(key.algorithm(), Algorithm::EdDsa);
        let seed: [u8; 32] = key.private.clone().try_into().unwrap();
        let dalek = ed25519_dalek::SigningKey::from_bytes(&seed);
        assert_eq!(
            key.public_key_bytes(),
            dalek.verifying_key().as_bytes().to_vec()
        );
        let sig = key.sign(b"ed").unwrap();
        assert!(verifies(&key, b"ed", &sig));
    }

    #[test]
    fn rejects_other_curves_and_public_only_keys() {
        let jwk = json!({"kty": "EC", "crv": "P-521", "x": "", "y": "", "d": ""});
        assert!(matches!(
            IssuerKey::from_jwk(&jwk),
            Err(KeyError::Unsupported(_))
        ));
        let public = IssuerKey::generate_p256().public_jwk();
        assert!(matches!(
            IssuerKey::from_jwk(&public),
            Err(KeyError::InvalidJwk(_))
        ));
        assert!(
            IssuerKey::from_file_text(
                "-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n"
            )
            .is_err()
        );
    }
}
