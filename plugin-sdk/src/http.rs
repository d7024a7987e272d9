//! Outbound HTTP through `wasi:http`. The host only lets requests through to
//! origins the operator allowed for this plugin; anything else fails with
//! [`HttpError::Denied`].
//!
//! ```ignore
//! use sigil_plugin_sdk::http::Request;
//! let person: serde_json::Value = Request::get("https://crm.example.com/people/42")
//!     .header("accept", "application/json")
//!     .send()?
//!     .error_for_status()?
//!     .json()?;
//! ```

use std::time::Duration;

use serde::de::DeserializeOwned;
use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};

/// Largest response body the SDK reads (the host may cap it lower).
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpError {
    /// The host refused the request: the origin is not allowed for this plugin.
    Denied(String),
    /// The URL or a header is invalid.
    InvalidRequest(String),
    /// The request did not complete in time.
    Timeout,
    /// The response body was larger than allowed.
    TooLarge,
    /// The server answered with an error status.
    Status(u16),
    /// The response body could not be decoded.
    Decode(String),
    /// Any other transport failure.
    Transport(String),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Denied(m) => write!(f, "request denied by the host: {m}"),
            Self::InvalidRequest(m) => write!(f, "invalid request: {m}"),
            Self::Timeout => write!(f, "request timed out"),
            Self::TooLarge => write!(f, "response body too large"),
            Self::Status(s) => write!(f, "server answered HTTP {s}"),
            Self::Decode(m) => write!(f, "could not decode the response: {m}"),
            Self::Transport(m) => write!(f, "transport error: {m}"),
        }
    }
}

impl std::error::Error for HttpError {}

impl From<ErrorCode> for HttpError {
    fn from(e: ErrorCode) -> Self {
        match e {
            ErrorCode::HttpRequestDenied => Self::Denied("origin not allowed".into()),
            ErrorCode::ConnectionTimeout | ErrorCode::ConnectionReadTimeout => Self::Timeout,
            ErrorCode::HttpResponseBodySize(_) => Self::TooLarge,
            ErrorCode::HttpRequestUriInvalid => Self::InvalidRequest("invalid URI".into()),
            other => Self::Transport(format!("{other:?}")),
        }
    }
}

/// An HTTP request under construction.
#[derive(Debug, Clone)]
pub struct Request {
    method: Method,
    url: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Option<Vec<u8>>,
    timeout: Option<Duration>,
}

/// A received HTTP response with its body read.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers as (lower-case name, value) pairs.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// Fail with [`HttpError::Status`] unless the status is 2xx.
    pub fn error_for_status(self) -> Result<Self, HttpError> {
        if (200..300).contains(&self.status) {
            Ok(self)
        } else {
            Err(HttpError::Status(self.status))
        }
    }

    /// Decode the body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body).map_err(|e| HttpError::Decode(e.to_string()))
    }

    /// The first value of a header, as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }
}

impl Request {
    /// A request with any method.
    pub fn new(method: &str, url: impl Into<String>) -> Self {
        let method = match method.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "PATCH" => Method::Patch,
            "HEAD" => Method::Head,
            other => Method::Other(other.to_string()),
        };
        Self {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: None,
            timeout: None,
        }
    }

    /// A GET request.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }

    /// A POST request.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new("POST", url)
    }

    /// Add a header.
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.as_ref().to_vec()));
        self
    }

    /// Set the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Set a JSON body and `content-type: application/json`.
    pub fn json(self, value: &serde_json::Value) -> Self {
        self.header("content-type", "application/json")
            .body(value.to_string())
    }

    /// Limit the time to the first response byte (the host also enforces the plugin's deadline).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Send the request and read the whole response.
    pub fn send(self) -> Result<Response, HttpError> {
        let (scheme, rest) = if let Some(r) = self.url.strip_prefix("https://") {
            (Scheme::Https, r)
        } else if let Some(r) = self.url.strip_prefix("http://") {
            (Scheme::Http, r)
        } else {
            return Err(HttpError::InvalidRequest(format!(
                "URL must start with http:// or https://: {}",
                self.url
            )));
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_string()
        };
        let fields = Fields::from_list(&self.headers)
            .map_err(|e| HttpError::InvalidRequest(format!("invalid header: {e:?}")))?;
        let request = OutgoingRequest::new(fields);
        let bad = |what: &str| HttpError::InvalidRequest(format!("invalid {what}"));
        request
            .set_method(&self.method)
            .map_err(|()| bad("method"))?;
        request
            .set_scheme(Some(&scheme))
            .map_err(|()| bad("scheme"))?;
        request
            .set_authority(Some(authority))
            .map_err(|()| bad("authority"))?;
        request
            .set_path_with_query(Some(&path))
            .map_err(|()| bad("path"))?;
        let outgoing_body = request.body().map_err(|()| bad("body"))?;
        let options = self.timeout.map(|t| {
            let o = RequestOptions::new();
            let nanos = u64::try_from(t.as_nanos()).unwrap_or(u64::MAX);
            let _ = o.set_first_byte_timeout(Some(nanos));
            let _ = o.set_connect_timeout(Some(nanos));
            o
        });
        let future = outgoing_handler::handle(request, options)?;
        if let Some(body) = &self.body {
            let stream = outgoing_body.write().map_err(|()| bad("body stream"))?;
            for chunk in body.chunks(4096) {
                stream
                    .blocking_write_and_flush(chunk)
                    .map_err(|e| HttpError::Transport(format!("writing the body: {e:?}")))?;
            }
            drop(stream);
        }
        OutgoingBody::finish(outgoing_body, None)?;
        let incoming = loop {
            match future.get() {
                Some(result) => {
                    break result
                        .map_err(|()| HttpError::Transport("response already taken".into()))??;
                }
                None => future.subscribe().block(),
            }
        };
        let status = incoming.status();
        let headers = incoming.headers().entries();
        let body = incoming
            .consume()
            .map_err(|()| HttpError::Transport("response body already taken".into()))?;
        let bytes = read_body(&body)?;
        let _ = IncomingBody::finish(body);
        Ok(Response {
            status,
            headers,
            body: bytes,
        })
    }
}

fn read_body(body: &IncomingBody) -> Result<Vec<u8>, HttpError> {
    let stream = body
        .stream()
        .map_err(|()| HttpError::Transport("body stream already taken".into()))?;
    let mut out = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => {
                out.extend_from_slice(&chunk);
                if out.len() > MAX_BODY_BYTES {
                    return Err(HttpError::TooLarge);
                }
            }
            Err(wasi::io::streams::StreamError::Closed) => break,
            Err(wasi::io::streams::StreamError::LastOperationFailed(e)) => {
                return Err(match wasi::http::types::http_error_code(&e) {
                    Some(code) => code.into(),
                    None => HttpError::Transport(e.to_debug_string()),
                });
            }
        }
    }
    Ok(out)
}
