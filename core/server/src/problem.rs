//! RFC 9457 problem details for the admin API.
//!
//! Every problem has one of the [`ProblemType`]s, each with its URI, status
//! and title: the table below is the only place a problem type is defined,
//! and the OpenAPI document (`crate::openapi`) lists it whole.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// One invalid field of a request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
#[schema(examples(json!({"field": "credentialConfigurationIds[0]", "message": "tenant 'default' has no credential configuration 'badge'; it offers: employee_badge_sd_jwt"})))]
pub struct FieldError {
    /// JSON pointer or dotted name of the field.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// The URI prefix of every problem type.
pub const PROBLEM_TYPE_BASE: &str = "https://sigil.dev/problems/";

/// Defines [`ProblemType`] from one table: variant, slug, status, title,
/// and when it happens (for the OpenAPI document).
macro_rules! problem_types {
    ($($variant:ident = $slug:literal, $status:ident, $title:literal, $when:literal;)+) => {
        /// The type of a problem: its URI is [`PROBLEM_TYPE_BASE`] followed
        /// by [`ProblemType::slug`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ProblemType {
            $(
                #[doc = $when]
                $variant,
            )+
        }

        impl ProblemType {
            /// Every problem type, in the order of the table.
            pub const ALL: &[Self] = &[$(Self::$variant),+];

            /// The last segment of its URI, e.g. `not-found`.
            pub fn slug(self) -> &'static str {
                match self {
                    $(Self::$variant => $slug,)+
                }
            }

            /// The HTTP status of a problem of this type.
            pub fn status(self) -> StatusCode {
                match self {
                    $(Self::$variant => StatusCode::$status,)+
                }
            }

            /// Its short summary (`title`), the same for every problem of this type.
            pub fn title(self) -> &'static str {
                match self {
                    $(Self::$variant => $title,)+
                }
            }

            /// When a problem of this type happens.
            pub fn when(self) -> &'static str {
                match self {
                    $(Self::$variant => $when,)+
                }
            }
        }
    };
}

problem_types! {
    Unauthorized = "unauthorized", UNAUTHORIZED, "Unauthorized",
        "No `Authorization: Bearer` token, or one that is neither the global admin token nor a key of a tenant (or the admin API is not enabled). Sent with `WWW-Authenticate: Bearer`.";
    Forbidden = "forbidden", FORBIDDEN, "Forbidden",
        "The token is valid but may not use this resource: a tenant key on a resource that serves every tenant.";
    NotFound = "not-found", NOT_FOUND, "Not Found",
        "No such resource, or one the caller may not see (a tenant key is told nothing about other tenants), or no admin route at this path.";
    MethodNotAllowed = "method-not-allowed", METHOD_NOT_ALLOWED, "Method Not Allowed",
        "The resource exists but not with this method; the `Allow` header lists the methods it has.";
    Validation = "validation", BAD_REQUEST, "Invalid request",
        "Members of the body or parameters of the query are invalid; `errors` names each (at most 50, the rest counted in `errorsOmitted`).";
    BadBody = "bad-body", BAD_REQUEST, "Invalid request body",
        "The body as a whole is invalid: not JSON, a member name repeated, or it could not be read.";
    TooLarge = "too-large", PAYLOAD_TOO_LARGE, "Request body too large",
        "The body is larger than 256 KiB (refused from `Content-Length` before it is read).";
    HeadersTooLarge = "headers-too-large", REQUEST_HEADER_FIELDS_TOO_LARGE, "Request Header Fields Too Large",
        "The request line and headers are larger than 32 KiB.";
    UnsupportedMediaType = "unsupported-media-type", UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type",
        "The body is not sent as `application/json` (or another `+json` type).";
    Conflict = "conflict", CONFLICT, "Conflict",
        "The request conflicts with the resource's state, e.g. revoking an offer whose credentials were all issued.";
    StoreUnavailable = "store-unavailable", SERVICE_UNAVAILABLE, "Store unavailable",
        "The database did not answer; nothing was changed. Try again.";
    QrTooLong = "qr-too-long", UNPROCESSABLE_ENTITY, "QR code not possible",
        "The offer's URI is too long for a QR code (an offer by value with many claims); use `valueMode` `by_reference`.";
    OfferNotSendable = "offer-not-sendable", CONFLICT, "The offer cannot be sent",
        "Only an offer no wallet has used yet (created or resolved, not expired) can be pushed to a wallet.";
    OriginNotAllowed = "origin-not-allowed", FORBIDDEN, "Wallet origin not allowed",
        "The wallet's URL is not at an origin of `[offer_push] allowed_origins` (or that list is empty: pushing is off).";
    WalletRefusedOffer = "wallet-refused-offer", BAD_GATEWAY, "The wallet refused the offer",
        "The wallet's credential offer endpoint answered with an error status (or a redirect, which is not followed); event `offer_sent` records it.";
    WalletUnreachable = "wallet-unreachable", BAD_GATEWAY, "The wallet could not be reached",
        "The wallet's credential offer endpoint did not answer (connection, TLS or time-out); event `offer_sent` records it.";
    WalletMetadataUnusable = "wallet-metadata-unusable", BAD_GATEWAY, "The wallet metadata cannot be used",
        "`walletMetadataUrl` did not give a JSON document with a usable `credential_offer_endpoint`; nothing was sent.";
    BadLastEventId = "bad-last-event-id", BAD_REQUEST, "Bad Last-Event-ID",
        "`Last-Event-ID` is not the id of an event a stream sent (a non-negative integer).";
    KeyFolder = "key-folder", CONFLICT, "The key folder cannot be used",
        "Rotating or reloading a tenant's keys failed on its key folder; the keys in use are unchanged.";
    NoStatusEntry = "no-status-entry", CONFLICT, "No status list entry",
        "The credential has no status list entry (status lists were off when it was issued), so its status cannot change.";
    SuspensionUnsupported = "suspension-unsupported", CONFLICT, "Suspension not supported",
        "The credential is on a status list of 1 bit per entry, which says valid or revoked only.";
    RevokedIsFinal = "revoked-is-final", CONFLICT, "Credential revoked",
        "The credential is revoked, which is final: it cannot be suspended or reinstated.";
    DeferredClosed = "deferred-closed", CONFLICT, "Deferred transaction closed",
        "The deferred transaction is no longer waiting: expired, already completed or denied, its offer revoked, or its configuration gone.";
    ClaimsPending = "claims-pending", CONFLICT, "Claims still pending",
        "Completing from the claim source: the source still answers pending; try later or give the claims.";
    ClaimsFailed = "claims-failed", BAD_GATEWAY, "Claims could not be resolved",
        "Completing from the claim source: the source failed.";
    ClaimsRefused = "claims-refused", UNPROCESSABLE_ENTITY, "Claims refused",
        "The claims (given, or from the source) do not make a credential of the configuration.";
    PluginNotLoaded = "plugin-not-loaded", NOT_FOUND, "Plugin call failed",
        "No plugin with this id is loaded.";
    PluginWrongKind = "plugin-wrong-kind", BAD_REQUEST, "Plugin call failed",
        "The plugin is not of the kind the call needs (e.g. a format plugin asked for claims).";
    PluginTimeout = "plugin-timeout", GATEWAY_TIMEOUT, "Plugin call failed",
        "The plugin did not finish within its time limit.";
    PluginUnavailable = "plugin-unavailable", SERVICE_UNAVAILABLE, "Plugin call failed",
        "The plugin cannot take calls now (every instance busy).";
    ClaimsDenied = "claims-denied", FORBIDDEN, "Plugin call failed",
        "The claim provider denied the claims for this subject.";
    ClaimsNotFound = "claims-not-found", NOT_FOUND, "Plugin call failed",
        "The claim provider found no claims for this subject.";
    ClaimsInvalidInput = "claims-invalid-input", BAD_REQUEST, "Plugin call failed",
        "The claim provider refused its input (source settings, inline claims or subject).";
    PluginFuelExhausted = "plugin-fuel-exhausted", BAD_GATEWAY, "Plugin call failed",
        "The plugin used up its fuel (instruction budget).";
    PluginMemoryExceeded = "plugin-memory-exceeded", BAD_GATEWAY, "Plugin call failed",
        "The plugin exceeded its memory limit.";
    PluginCapabilityDenied = "plugin-capability-denied", BAD_GATEWAY, "Plugin call failed",
        "The plugin tried to reach a host it was not granted.";
    PluginCrashed = "plugin-crashed", BAD_GATEWAY, "Plugin call failed",
        "The plugin trapped (crashed).";
    PluginInvalidOutput = "plugin-invalid-output", BAD_GATEWAY, "Plugin call failed",
        "The plugin's output is not what its interface promises.";
    PluginFailed = "plugin-failed", BAD_GATEWAY, "Plugin call failed",
        "The plugin reported an upstream or internal failure.";
    PluginRefused = "plugin-refused", UNPROCESSABLE_ENTITY, "Plugin refused",
        "A plugin reload found plugins that do not load (not a valid component, a wrong kind or WIT version, a sha256 pin not matched); `errors` names each by id (or folder) with the file and the problem. A refused new version is not swapped in: the version before keeps serving. The rest of the reload was applied.";
    PluginReloadRefused = "plugin-reload-refused", CONFLICT, "Plugin reload refused",
        "The reloaded plugins do not fit the configuration (a credential configuration, attribute provider or webhook endpoint names a plugin that is gone or of another kind, or a new format plugin cannot describe a configuration), or the plugin directory cannot be read. Nothing was swapped: the plugins in use keep serving.";
}

impl ProblemType {
    /// Its URI, the problem's `type`.
    pub fn uri(self) -> String {
        format!("{PROBLEM_TYPE_BASE}{}", self.slug())
    }
}

/// The schema of a problem's `type`: every URI, and a table of what each
/// means (the OpenAPI document's list of problem types).
impl utoipa::PartialSchema for ProblemType {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let rows: Vec<String> = Self::ALL
            .iter()
            .map(|t| {
                format!(
                    "| `{}` | {} | {} | {} |",
                    t.slug(),
                    t.status().as_u16(),
                    t.title(),
                    t.when()
                )
            })
            .collect();
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::Custom("uri".into())))
            .enum_values(Some(Self::ALL.iter().map(|t| t.uri())))
            .description(Some(format!(
                "The type of a problem: `{PROBLEM_TYPE_BASE}` followed by one of these slugs. Every problem of a type has its status and title.\n\n| slug | status | title | when |\n| --- | --- | --- | --- |\n{}",
                rows.join("\n")
            )))
            .into()
    }
}

impl ToSchema for ProblemType {}

/// An `application/problem+json` response (RFC 9457).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(examples(json!({
    "type": "https://sigil.dev/problems/not-found",
    "title": "Not Found",
    "status": 404,
    "detail": "no offer '0f8e2c1a-5b7d-4e0f-9a41-3c2d1e0b9f77'"
})))]
pub struct Problem {
    /// URI identifying the problem type (see `ProblemType`).
    #[serde(rename = "type")]
    #[schema(value_type = ProblemType)]
    pub kind: String,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status.
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// What happened in this case, for a human to act on.
    pub detail: String,
    /// Field errors of a validation failure, at most 50
    /// ([`MAX_FIELD_ERRORS`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// How many field errors were left out of `errors`.
    #[serde(rename = "errorsOmitted", skip_serializing_if = "is_zero")]
    pub errors_omitted: u32,
    /// The methods a 405 answer allows (sent as `Allow`, not in the body).
    #[serde(skip)]
    pub allow: Option<&'static str>,
}

/// At most this many entries in a problem's `errors` (the rest are counted
/// in `errorsOmitted`), so a request with thousands of bad entries gets an
/// answer of bounded size.
pub const MAX_FIELD_ERRORS: usize = 50;

/// At most this many characters of a field name or message (both may
/// echo what the client sent).
const MAX_TEXT: usize = 500;

/// A count as it is reported (saturating at `u32::MAX`).
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// `text`, cut to [`MAX_TEXT`] characters (marked with an ellipsis).
fn bounded(text: String) -> String {
    if text.chars().count() <= MAX_TEXT {
        return text;
    }
    let mut cut: String = text.chars().take(MAX_TEXT).collect();
    cut.push('…');
    cut
}

impl Problem {
    /// A problem of type `kind` (which gives its status and title) with a
    /// detail.
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Self {
        Self {
            kind: kind.uri(),
            title: kind.title().to_owned(),
            status: kind.status().as_u16(),
            detail: bounded(detail.into()),
            errors: Vec::new(),
            errors_omitted: 0,
            allow: None,
        }
    }

    /// 401: missing or wrong admin token.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(ProblemType::Unauthorized, detail)
    }

    /// 404: no such resource.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ProblemType::NotFound, detail)
    }

    /// 503: the database did not answer; nothing was changed.
    pub fn store_unavailable(detail: impl Into<String>) -> Self {
        Self::new(ProblemType::StoreUnavailable, detail)
    }

    /// 400: the request body is invalid.
    pub fn validation(detail: impl Into<String>, errors: Vec<FieldError>) -> Self {
        let mut p = Self::new(ProblemType::Validation, detail);
        let total = errors.len();
        p.errors = errors
            .into_iter()
            .take(MAX_FIELD_ERRORS)
            .map(|e| FieldError {
                field: bounded(e.field),
                message: bounded(e.message),
            })
            .collect();
        p.count_omitted(total);
        p
    }

    /// Record that `total` field errors were found, of which `errors` lists
    /// the first (for checks that stop collecting at the cap).
    pub fn count_omitted(&mut self, total: usize) {
        let omitted = count(total.saturating_sub(self.errors.len()));
        if omitted > self.errors_omitted {
            self.errors_omitted = omitted;
            self.detail = format!(
                "{} ({omitted} more errors are not listed; fix these and send again)",
                self.detail
            );
        }
    }

    /// 400: the body is invalid as a whole (not JSON, a repeated member).
    pub fn bad_body(detail: impl Into<String>) -> Self {
        Self::new(ProblemType::BadBody, detail)
    }

    /// 413: the body is larger than the endpoint accepts.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            ProblemType::TooLarge,
            format!("the body may have at most {limit} bytes"),
        )
    }

    /// 415: the body is not sent as JSON.
    pub fn unsupported_media(given: Option<&str>) -> Self {
        let detail = match given {
            Some(g) => format!(
                "the body is sent as {}; send it as application/json",
                g.chars().take(100).collect::<String>()
            ),
            None => "send the body with Content-Type: application/json".to_owned(),
        };
        Self::new(ProblemType::UnsupportedMediaType, detail)
    }

    /// 405: the resource exists but not with this method.
    pub fn method_not_allowed(method: &str, allow: &'static str) -> Self {
        let mut p = Self::new(
            ProblemType::MethodNotAllowed,
            format!("{method} is not allowed here; use {allow}"),
        );
        p.allow = Some(allow);
        p
    }

    /// 409: the request conflicts with the resource's state.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(ProblemType::Conflict, detail)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.title, self.detail)
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.content_type("application/problem+json");
        if self.status == 401 {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if let Some(allow) = &self.allow {
            response.insert_header(("Allow", *allow));
        }
        response.json(self)
    }
}
