//! Who is calling the admin API, and what they may reach.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use crate::auth::AdminScope;
use crate::problem::Problem;
use crate::state::AppState;
use crate::tenants::Tenant;

/// An authenticated admin request (the extractor checks the bearer token
/// before any body is read).
#[derive(Debug, Clone)]
pub struct Admin {
    scope: AdminScope,
}

impl FromRequest for Admin {
    type Error = Problem;
    type Future = Ready<Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AppState>>() else {
            return ready(Err(Problem::unauthorized(
                "the admin API is not configured",
            )));
        };
        ready(state.admin.check(req).map(|scope| Self { scope }))
    }
}

impl Admin {
    /// Whether this caller may see `tenant`'s resources.
    pub fn sees(&self, tenant: &str) -> bool {
        self.scope.covers(tenant)
    }

    /// The one tenant a tenant key reaches; `None` for the global token.
    pub fn scoped_tenant(&self) -> Option<&str> {
        match &self.scope {
            AdminScope::All => None,
            AdminScope::Tenant(t) => Some(t),
        }
    }

    /// The tenant `id`, when it exists and this caller may see it; 404
    /// otherwise (a tenant key is not told that other tenants exist).
    pub fn tenant<'a>(&self, state: &'a AppState, id: &str) -> Result<&'a Tenant, Problem> {
        state
            .tenants
            .get(id)
            .filter(|_| self.sees(id))
            .ok_or_else(|| Problem::not_found(format!("no tenant '{}'", printable(id))))
    }

    /// The first tenant this caller sees in which `find` finds something:
    /// the tenant of an id given at `/admin/v1` without its tenant.
    pub async fn tenant_having<'a, T, E, Fut>(
        &self,
        state: &'a AppState,
        find: impl Fn(&'a Tenant) -> Fut,
    ) -> Result<Option<&'a Tenant>, E>
    where
        Fut: std::future::Future<Output = Result<Option<T>, E>>,
    {
        for t in state.tenants.iter().filter(|t| self.sees(&t.id)) {
            if find(t).await?.is_some() {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }
}

/// `text` as it may be echoed in a problem: control characters escaped,
/// at most 100 characters.
pub fn printable(text: &str) -> String {
    text.chars()
        .take(100)
        .flat_map(char::escape_debug)
        .collect()
}
