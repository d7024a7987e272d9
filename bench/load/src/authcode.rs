//! The authorization code flow as a wallet and its browser do it: an offer
//! with `issuer_state`, PAR with PKCE S256, `GET /authorize` and every
//! redirect after it followed by hand (never by reqwest) with a per-worker
//! cookie jar, the upstream provider's dev-interaction login and consent
//! forms filled in when they appear (`tests/wallet/op.mjs`, the way
//! `tests/wallet/lib/browser.mjs` does it), Sigil's `/login/callback`, and
//! the code from the final redirect to the wallet redirected to `/token`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Url;
use reqwest::header::{COOKIE, HeaderMap, LOCATION, SET_COOKIE};
use ring::rand::{SecureRandom as _, SystemRandom};
use serde_json::Value;
use std::time::Instant;

use crate::stats::{Endpoint, Samples};
use crate::{Ctx, Instance, call};

/// The wallet's client id (public client, no registration).
pub const CLIENT_ID: &str = "sigil-load";
/// The wallet's redirect URI: a loopback URI, allowed on any port by the
/// example configuration's `redirect_uris`. Nothing listens there; the
/// wallet reads the code from the redirect's `Location`.
pub const REDIRECT_URI: &str = "http://127.0.0.1:53682/sigil-load/callback";
/// Redirects followed after `/authorize` before giving up.
const MAX_HOPS: usize = 20;

/// Whether `/authorize` is expected to send the browser to an upstream
/// provider (`auth-code`) or straight back to the wallet
/// (`auth-code-nologin`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Login {
    /// The tenant has a `[tenants.<id>.login]`.
    Provider,
    /// It has none: the offer's `issuer_state` alone authorizes.
    None,
}

/// A cookie as a browser keeps it: host-only, keyed by host name (not port:
/// Sigil and the provider share 127.0.0.1), with its path.
struct Cookie {
    host: String,
    path: String,
    name: String,
    value: String,
}

/// Enough of RFC 6265 for oidc-provider's session and interaction cookies:
/// host-only cookies, `Path` prefix match, deletion by `Max-Age<=0` or an
/// `Expires` in 1970 (how oidc-provider clears them). Other expiry dates are
/// ignored: a run is far shorter than any session.
#[derive(Default)]
pub struct Jar {
    cookies: Vec<Cookie>,
}

impl Jar {
    fn store(&mut self, url: &Url, headers: &HeaderMap) {
        let host = url.host_str().unwrap_or_default();
        for line in headers.get_all(SET_COOKIE) {
            let Ok(line) = line.to_str() else { continue };
            let mut parts = line.split(';');
            let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            let name = name.trim();
            if name.is_empty() {
                continue;
            }
            let mut path = default_path(url.path());
            let mut delete = false;
            for attribute in parts {
                let (key, val) = attribute.split_once('=').unwrap_or((attribute, ""));
                let val = val.trim();
                match key.trim().to_ascii_lowercase().as_str() {
                    "path" if val.starts_with('/') => path = val.to_owned(),
                    "max-age" => delete = val.parse::<i64>().is_ok_and(|s| s <= 0),
                    "expires" => delete |= val.contains("1970"),
                    _ => {}
                }
            }
            self.cookies
                .retain(|c| !(c.host == host && c.path == path && c.name == name));
            if !delete {
                self.cookies.push(Cookie {
                    host: host.to_owned(),
                    path,
                    name: name.to_owned(),
                    value: value.trim().to_owned(),
                });
            }
        }
    }

    fn header(&self, url: &Url) -> Option<String> {
        let host = url.host_str().unwrap_or_default();
        let mut matching: Vec<&Cookie> = self
            .cookies
            .iter()
            .filter(|c| c.host == host && path_matches(url.path(), &c.path))
            .collect();
        matching.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        let header: Vec<String> = matching
            .iter()
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        (!header.is_empty()).then(|| header.join("; "))
    }
}

fn default_path(path: &str) -> String {
    match path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(i) => path[..i].to_owned(),
    }
}

fn path_matches(request: &str, cookie: &str) -> bool {
    request == cookie
        || request.starts_with(cookie)
            && (cookie.ends_with('/') || request.as_bytes().get(cookie.len()) == Some(&b'/'))
}

fn random_b64(rng: &SystemRandom, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rng.fill(&mut buf)
        .unwrap_or_else(|e| panic!("system random: {e}"));
    URL_SAFE_NO_PAD.encode(buf)
}

/// A PKCE verifier (43 characters) and its S256 challenge.
fn pkce(rng: &SystemRandom) -> (String, String) {
    let verifier = random_b64(rng, 32);
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    let challenge = URL_SAFE_NO_PAD.encode(digest.as_ref());
    (verifier, challenge)
}

/// What a hop answered.
struct Answer {
    status: reqwest::StatusCode,
    location: Option<Url>,
    body: String,
}

/// One front-channel request, no redirect followed, cookies from and into
/// `jar`. `check` decides whether the answer is what this hop should give;
/// the sample is recorded as an error when it is not.
async fn hop(
    ctx: &Ctx,
    s: &mut Samples,
    endpoint: Endpoint,
    jar: &mut Jar,
    request: reqwest::RequestBuilder,
    url: &Url,
    check: impl FnOnce(&Answer) -> Result<(), String>,
) -> Option<Answer> {
    let request = match jar.header(url) {
        Some(cookie) => request.header(COOKIE, cookie),
        None => request,
    };
    let started = Instant::now();
    let result = match request.send().await {
        Ok(response) => {
            jar.store(url, response.headers());
            let status = response.status();
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| url.join(l).ok());
            match response.text().await {
                Ok(body) => {
                    let answer = Answer {
                        status,
                        location,
                        body,
                    };
                    check(&answer)
                        .map(|()| answer)
                        .map_err(|e| format!("{} {status} ({url}): {e}", endpoint.name()))
                }
                Err(e) => Err(format!(
                    "{} {status}: reading the body: {e}",
                    endpoint.name()
                )),
            }
        }
        Err(e) => Err(format!("{}: {e}", endpoint.name())),
    };
    let done = Instant::now();
    s.request(&ctx.window, endpoint, done - started, done, result.is_ok());
    match result {
        Ok(a) => Some(a),
        Err(message) => {
            ctx.note_error(message);
            None
        }
    }
}

fn is_wallet_redirect(url: &Url) -> bool {
    url.as_str()
        .strip_prefix(REDIRECT_URI)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('?'))
}

/// The wallet's view of the authorization response (RFC 6749 §4.1.2,
/// RFC 9207 `iss`): the code, when `state` and `iss` are right.
fn wallet_code(location: &Url, state: &str, issuer: &str) -> Result<String, String> {
    let get = |name: &str| {
        location
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if let Some(error) = get("error") {
        return Err(format!(
            "the wallet got error={error}: {}",
            get("error_description").unwrap_or_default()
        ));
    }
    if get("state").as_deref() != Some(state) {
        return Err(format!("state is not the wallet's: {location}"));
    }
    if get("iss").as_deref() != Some(issuer) {
        return Err(format!(
            "iss is not the credential issuer {issuer}: {location}"
        ));
    }
    get("code").ok_or_else(|| format!("no code: {location}"))
}

fn redirect(a: &Answer) -> Result<(), String> {
    if a.status.is_redirection() && a.location.is_some() {
        Ok(())
    } else {
        Err(format!("expected a redirect: {}", clip(&a.body)))
    }
}

fn clip(body: &str) -> String {
    body.chars().take(300).collect()
}

/// One of oidc-provider's dev-interaction forms: `prompt` (`login` or
/// `consent`) and where it posts to.
fn interaction_form(html: &str, page: &Url) -> Option<(&'static str, Url)> {
    let mut rest = html;
    while let Some(start) = rest.find("<form") {
        let form = &rest[start..];
        let end = form.find("</form>").unwrap_or(form.len());
        let (form, after) = form.split_at(end);
        rest = after;
        let prompt = if form.contains(r#"name="prompt" value="login""#) {
            "login"
        } else if form.contains(r#"name="prompt" value="consent""#) {
            "consent"
        } else {
            continue;
        };
        let action = form.split_once(r#"action=""#)?.1.split_once('"')?.0;
        let action = action
            .replace("&#x2F;", "/")
            .replace("&#47;", "/")
            .replace("&amp;", "&");
        return Some((prompt, page.join(&action).ok()?));
    }
    None
}

/// Offer → offer by reference → PAR → authorize → (provider → callback)
/// → token: a fresh access token from the authorization code flow, every
/// request to Sigil at instance `at` (redirects to the public URL
/// included).
pub async fn access_token(
    ctx: &Ctx,
    at: &Instance,
    s: &mut Samples,
    jar: &mut Jar,
    login: Login,
) -> Option<String> {
    let uri = call(
        ctx,
        s,
        Endpoint::Offer,
        ctx.client
            .post(at.url("/admin/v1/offers"))
            .bearer_auth(&ctx.admin_token)
            .json(&ctx.auth_offer_body),
        |v| v.get("credentialOfferUri")?.as_str(),
    )
    .await?;
    let uri = ctx.local_str(at, &uri);
    let issuer_state = call(ctx, s, Endpoint::OfferUri, ctx.client.get(&uri), |v| {
        v.get("grants")?
            .get("authorization_code")?
            .get("issuer_state")?
            .as_str()
    })
    .await?;

    let rng = SystemRandom::new();
    let (verifier, challenge) = pkce(&rng);
    let state = random_b64(&rng, 16);
    let request_uri = call(
        ctx,
        s,
        Endpoint::Par,
        ctx.client.post(at.url("/par")).form(&[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT_URI),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("issuer_state", &issuer_state),
            ("state", &state),
        ]),
        |v| v.get("request_uri")?.as_str(),
    )
    .await?;

    let authorize = Url::parse_with_params(
        &at.url("/authorize"),
        &[("client_id", CLIENT_ID), ("request_uri", &request_uri)],
    )
    .ok()?;
    let issuer = ctx.audience.as_str();
    let wallet_check = |a: &Answer| -> Result<(), String> {
        redirect(a)?;
        match &a.location {
            Some(l) if is_wallet_redirect(l) => wallet_code(l, &state, issuer).map(drop),
            _ => Ok(()),
        }
    };
    let first = hop(
        ctx,
        s,
        Endpoint::Authorize,
        jar,
        ctx.client.get(authorize.clone()),
        &authorize,
        |a| {
            wallet_check(a)?;
            let to_wallet = a.location.as_ref().is_some_and(is_wallet_redirect);
            match (login, to_wallet) {
                (Login::Provider, true) => Err(
                    "/authorize sent the browser back to the wallet: the tenant has no login configured (use auth-code-nologin)".into(),
                ),
                (Login::None, false) => Err(
                    "/authorize sent the browser elsewhere than the wallet: the tenant has a login configured (use auth-code)".into(),
                ),
                _ => Ok(()),
            }
        },
    )
    .await?;
    let mut location = ctx.local(at, first.location?);

    // The browser at the provider and back at Sigil's /login/callback.
    let callback_path = format!(
        "{}/login/callback",
        at.base_url.path().trim_end_matches('/')
    );
    let mut submitted: Vec<&str> = Vec::new();
    let mut hops = 0;
    while !is_wallet_redirect(&location) {
        hops += 1;
        if hops > MAX_HOPS {
            ctx.note_error(format!(
                "more than {MAX_HOPS} redirects after /authorize, last {location}"
            ));
            return None;
        }
        let at_sigil = location.origin() == at.base_url.origin();
        if at_sigil && location.path() == callback_path {
            let url = location.clone();
            let a = hop(
                ctx,
                s,
                Endpoint::Callback,
                jar,
                ctx.client.get(url.clone()),
                &url,
                wallet_check,
            )
            .await?;
            location = ctx.local(at, a.location?);
            continue;
        }
        if at_sigil {
            ctx.note_error(format!("an unexpected redirect to Sigil's {location}"));
            return None;
        }
        let url = location.clone();
        let a = hop(
            ctx,
            s,
            Endpoint::Provider,
            jar,
            ctx.client
                .get(url.clone())
                .header("accept", "text/html,*/*;q=0.8"),
            &url,
            |a| {
                if a.status == reqwest::StatusCode::OK && interaction_form(&a.body, &url).is_some()
                {
                    Ok(())
                } else {
                    redirect(a)
                }
            },
        )
        .await?;
        if let Some(next) = a.location {
            // The provider sends the browser back to the public URL's
            // /login/callback: this wallet's instance answers it.
            location = ctx.local(at, next);
            continue;
        }
        // A login or consent page: fill it in, once per prompt.
        let (prompt, action) = interaction_form(&a.body, &url)?;
        if submitted.contains(&prompt) {
            ctx.note_error(format!(
                "the provider asked for {prompt} again: {}",
                clip(&a.body)
            ));
            return None;
        }
        submitted.push(prompt);
        let mut form = vec![("prompt", prompt)];
        if prompt == "login" {
            form.push(("login", ctx.login_user.as_str()));
            form.push(("password", ctx.login_password.as_str()));
        }
        let posted = hop(
            ctx,
            s,
            Endpoint::Provider,
            jar,
            ctx.client.post(action.clone()).form(&form),
            &action,
            redirect,
        )
        .await?;
        s.interaction(&ctx.window, Instant::now());
        location = ctx.local(at, posted.location?);
    }
    let code = wallet_code(&location, &state, issuer).ok()?;

    call(
        ctx,
        s,
        Endpoint::Token,
        ctx.client.post(at.url("/token")).form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", CLIENT_ID),
            ("code_verifier", &verifier),
        ]),
        |v: &Value| v.get("access_token")?.as_str(),
    )
    .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn jar_keeps_host_path_and_deletions() {
        let mut jar = Jar::default();
        let auth = Url::parse("http://127.0.0.1:4000/auth").unwrap();
        let mut h = HeaderMap::new();
        h.append(SET_COOKIE, "_session=s1; path=/; httponly".parse().unwrap());
        h.append(
            SET_COOKIE,
            "_interaction=i1; path=/interaction/abc; httponly"
                .parse()
                .unwrap(),
        );
        jar.store(&auth, &h);
        assert_eq!(jar.header(&auth).as_deref(), Some("_session=s1"));
        let page = Url::parse("http://127.0.0.1:4000/interaction/abc").unwrap();
        assert_eq!(
            jar.header(&page).as_deref(),
            Some("_interaction=i1; _session=s1")
        );
        // Host-only, any port (as browsers do).
        let sigil = Url::parse("http://127.0.0.1:8099/login/callback").unwrap();
        assert_eq!(jar.header(&sigil).as_deref(), Some("_session=s1"));
        let mut h = HeaderMap::new();
        h.append(
            SET_COOKIE,
            "_interaction=; path=/interaction/abc; expires=Thu, 01 Jan 1970 00:00:00 GMT"
                .parse()
                .unwrap(),
        );
        jar.store(&auth, &h);
        assert_eq!(jar.header(&page).as_deref(), Some("_session=s1"));
        assert_eq!(
            jar.header(&Url::parse("http://localhost:4000/").unwrap()),
            None
        );
    }

    #[test]
    fn finds_the_dev_interaction_forms() {
        let page = Url::parse("http://127.0.0.1:4000/interaction/abc").unwrap();
        let login = r#"<div><form autocomplete="off" action="&#x2F;interaction&#x2F;abc" method="post">
  <input type="hidden" name="prompt" value="login"/></form></div>"#;
        let (prompt, action) = interaction_form(login, &page).unwrap();
        assert_eq!(prompt, "login");
        assert_eq!(action.as_str(), "http://127.0.0.1:4000/interaction/abc");
        let consent = r#"<form action="/interaction/xyz" method="post"><input type="hidden" name="prompt" value="consent"/></form>"#;
        assert_eq!(interaction_form(consent, &page).unwrap().0, "consent");
        assert!(interaction_form("<form action=\"/x\"></form>", &page).is_none());
    }

    #[test]
    fn reads_the_wallet_redirect() {
        let ok = Url::parse(&format!(
            "{REDIRECT_URI}?code=c1&state=s&iss=http%3A%2F%2F127.0.0.1%3A1"
        ))
        .unwrap();
        assert!(is_wallet_redirect(&ok));
        assert_eq!(wallet_code(&ok, "s", "http://127.0.0.1:1").unwrap(), "c1");
        assert!(wallet_code(&ok, "other", "http://127.0.0.1:1").is_err());
        assert!(wallet_code(&ok, "s", "http://127.0.0.1:2").is_err());
        let denied = Url::parse(&format!("{REDIRECT_URI}?error=access_denied&state=s")).unwrap();
        assert!(wallet_code(&denied, "s", "x").is_err());
        assert!(!is_wallet_redirect(
            &Url::parse("http://127.0.0.1:53682/sigil-load/callbackx").unwrap()
        ));
    }

    #[test]
    fn pkce_is_s256() {
        let (verifier, challenge) = pkce(&SystemRandom::new());
        assert_eq!(verifier.len(), 43);
        assert_eq!(challenge.len(), 43);
    }
}
