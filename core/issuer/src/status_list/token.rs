//! Status List Tokens (Token Status List §5): the list signed as a JWT
//! (`statuslist+jwt`) or as a CWT in a COSE_Sign1 (`statuslist+cwt`).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;
use sigil_keys::Signer;

use super::cbor::Cbor;
use super::encoding;

/// The JWT form's `typ` header.
pub const JWT_TYP: &str = "statuslist+jwt";
/// The JWT form's media type.
pub const JWT_CONTENT_TYPE: &str = "application/statuslist+jwt";
/// The CWT form's media type (also its `typ` header, COSE label 16).
pub const CWT_CONTENT_TYPE: &str = "application/statuslist+cwt";

/// COSE header labels (RFC 9052 §3.1, RFC 9360 §2).
const COSE_ALG: i64 = 1;
const COSE_KID: i64 = 4;
const COSE_TYP: i64 = 16;
const COSE_X5CHAIN: i64 = 33;
/// CWT claim keys (RFC 8392; Token Status List §5.2).
const CWT_SUB: i64 = 2;
const CWT_EXP: i64 = 4;
const CWT_IAT: i64 = 6;
const CWT_STATUS_LIST: i64 = 65_533;
const CWT_TTL: i64 = 65_534;
/// CBOR tag of a COSE_Sign1.
const COSE_SIGN1_TAG: u64 = 18;

/// The form of a status list token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenForm {
    /// `application/statuslist+jwt` (the default).
    Jwt,
    /// `application/statuslist+cwt`.
    Cwt,
}

impl TokenForm {
    /// Its media type.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jwt => JWT_CONTENT_TYPE,
            Self::Cwt => CWT_CONTENT_TYPE,
        }
    }

    /// The form an `Accept` header asks for: the CWT when it prefers
    /// `application/statuslist+cwt` to `application/statuslist+jwt` (by
    /// `q`), the JWT otherwise.
    pub fn from_accept(accept: Option<&str>) -> Self {
        let Some(accept) = accept else {
            return Self::Jwt;
        };
        let quality = |media: &str| -> f32 {
            accept
                .split(',')
                .filter_map(|range| {
                    let mut parts = range.split(';');
                    let name = parts.next()?.trim();
                    if !name.eq_ignore_ascii_case(media) {
                        return None;
                    }
                    let q = parts
                        .filter_map(|p| p.trim().strip_prefix("q="))
                        .find_map(|q| q.trim().parse::<f32>().ok())
                        .unwrap_or(1.0);
                    Some(q)
                })
                .fold(0.0, f32::max)
        };
        if quality(CWT_CONTENT_TYPE) > quality(JWT_CONTENT_TYPE) {
            Self::Cwt
        } else {
            Self::Jwt
        }
    }
}

/// What a status list token says.
#[derive(Debug, Clone, Copy)]
pub struct TokenClaims<'a> {
    /// `sub`: the list's URI (the `uri` credentials refer to).
    pub uri: &'a str,
    /// `iat`, Unix seconds.
    pub iat: i64,
    /// `exp`, Unix seconds.
    pub exp: i64,
    /// `ttl`, seconds.
    pub ttl: u64,
    /// Bits per entry.
    pub bits: u8,
    /// The packed list, compressed ([`encoding::compress`]).
    pub compressed: &'a [u8],
}

/// Sign `claims` as a compact JWS: header `{alg, typ, kid, x5c}` (`x5c`
/// when the key has a chain).
pub fn sign_jwt(signer: &dyn Signer, claims: &TokenClaims<'_>) -> Result<String, String> {
    let mut header = json!({
        "alg": signer.algorithm().jose_name(),
        "typ": JWT_TYP,
        "kid": signer.key_id(),
    });
    let chain = signer.certificate_chain();
    if !chain.is_empty() {
        header["x5c"] = chain.iter().map(|c| STANDARD.encode(c)).collect();
    }
    let payload = json!({
        "sub": claims.uri,
        "iat": claims.iat,
        "exp": claims.exp,
        "ttl": claims.ttl,
        "status_list": { "bits": claims.bits, "lst": encoding::lst(claims.compressed) },
    });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    let signature = signer.sign(input.as_bytes()).map_err(|e| e.to_string())?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// Sign `claims` as a CWT in a tagged COSE_Sign1: protected header `{1:
/// alg, 16: typ}` and `33: x5chain` when the key has a chain, else `4: kid`.
pub fn sign_cwt(signer: &dyn Signer, claims: &TokenClaims<'_>) -> Result<Vec<u8>, String> {
    let chain = signer.certificate_chain();
    let mut protected = Cbor::new();
    protected.map(3);
    protected
        .int(COSE_ALG)
        .int(i64::from(signer.algorithm().cose_id()));
    protected.int(COSE_TYP).text(CWT_CONTENT_TYPE);
    match chain {
        [] => {
            protected.int(COSE_KID).bytes(signer.key_id().as_bytes());
        }
        [leaf] => {
            protected.int(COSE_X5CHAIN).bytes(leaf);
        }
        certs => {
            protected.int(COSE_X5CHAIN).array(certs.len());
            for c in certs {
                protected.bytes(c);
            }
        }
    }
    let protected = protected.into_bytes();

    let mut payload = Cbor::new();
    payload.map(5);
    payload.int(CWT_SUB).text(claims.uri);
    payload.int(CWT_EXP).int(claims.exp);
    payload.int(CWT_IAT).int(claims.iat);
    payload.int(CWT_STATUS_LIST).map(2);
    payload.text("bits").int(i64::from(claims.bits));
    payload.text("lst").bytes(claims.compressed);
    payload
        .int(CWT_TTL)
        .int(i64::try_from(claims.ttl).unwrap_or(i64::MAX));
    let payload = payload.into_bytes();

    // Sig_structure (RFC 9052 §4.4).
    let mut to_sign = Cbor::new();
    to_sign
        .array(4)
        .text("Signature1")
        .bytes(&protected)
        .bytes(&[])
        .bytes(&payload);
    let signature = signer
        .sign(&to_sign.into_bytes())
        .map_err(|e| e.to_string())?;

    let mut sign1 = Cbor::new();
    sign1
        .tag(COSE_SIGN1_TAG)
        .array(4)
        .bytes(&protected)
        .map(0)
        .bytes(&payload)
        .bytes(&signature);
    Ok(sign1.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::TokenForm;

    #[test]
    fn accept_picks_the_form() {
        let cases = [
            (None, TokenForm::Jwt),
            (Some("*/*"), TokenForm::Jwt),
            (Some("application/statuslist+cwt"), TokenForm::Cwt),
            (
                Some("Application/StatusList+CWT; q=0.9, */*"),
                TokenForm::Cwt,
            ),
            (
                Some("application/statuslist+jwt, application/statuslist+cwt"),
                TokenForm::Jwt,
            ),
            (
                Some("application/statuslist+jwt;q=0.5, application/statuslist+cwt"),
                TokenForm::Cwt,
            ),
            (Some("application/statuslist+cwt;q=0"), TokenForm::Jwt),
            (Some("application/statuslist+jwt"), TokenForm::Jwt),
        ];
        for (accept, want) in cases {
            assert_eq!(TokenForm::from_accept(accept), want, "{accept:?}");
        }
    }
}
