//! Bearer authentication of the admin API.

use actix_web::HttpRequest;
use sha2::{Digest, Sha256};

use crate::problem::Problem;

/// The admin credential, kept as a SHA-256 digest so comparisons do not
/// leak the token through timing and the token itself is not held.
#[derive(Clone)]
pub struct AdminToken {
    digest: Option<[u8; 32]>,
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(***)")
    }
}

impl AdminToken {
    /// From the token value (`SIGIL_ADMIN_TOKEN`); `None` disables the admin API.
    pub fn new(token: Option<&str>) -> Self {
        Self {
            digest: token
                .filter(|t| !t.is_empty())
                .map(|t| Sha256::digest(t.as_bytes()).into()),
        }
    }

    /// Check the request's `Authorization: Bearer` header.
    pub fn check(&self, req: &HttpRequest) -> Result<(), Problem> {
        let Some(expected) = &self.digest else {
            return Err(Problem::unauthorized(
                "the admin API is disabled: start Sigil with SIGIL_ADMIN_TOKEN set",
            ));
        };
        let presented = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| Problem::unauthorized("send Authorization: Bearer <admin token>"))?;
        let digest: [u8; 32] = Sha256::digest(presented.trim().as_bytes()).into();
        let same = digest
            .iter()
            .zip(expected.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
        if same {
            Ok(())
        } else {
            Err(Problem::unauthorized("the admin token is not valid"))
        }
    }
}
