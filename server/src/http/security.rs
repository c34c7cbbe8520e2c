//! Security layers: cross-origin protection for state-changing requests, response headers
//! (enforcing CSP, nosniff, framing), request body limits and panic recovery.

use app::ssr::{page_csp, PageNonce};
use axum::{
    body::Body,
    extract::Request,
    http::{header, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::any::Any;
use tower_http::{catch_panic::CatchPanicLayer, limit::RequestBodyLimitLayer};

use super::error::internal;

/// CSP of every response that did not set its own (pages set one with a script nonce).
const DEFAULT_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Refuses state-changing requests that a browser sent from another site, using the headers
/// browsers always send (`Sec-Fetch-Site`, `Origin`), as Go's `CrossOriginProtection` and the
/// OWASP "verify origin with standard headers" rule do. Scripts that send neither header (curl,
/// API clients with bearer tokens) are not browsers and pass; the session cookie is also
/// `SameSite=Lax`.
pub async fn cross_origin_protection(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    let cross = match fetch_site {
        Some("same-origin") | Some("none") => false,
        Some(_) => true,
        None => match (
            headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
            headers.get(header::HOST),
        ) {
            (Some(origin), Some(host)) => {
                let origin_host = origin
                    .split_once("://")
                    .map(|(_, rest)| rest)
                    .unwrap_or("null");
                host.to_str()
                    .map_or(true, |host| !origin_host.eq_ignore_ascii_case(host))
            }
            (Some(_), None) => true,
            (None, _) => false,
        },
    };
    if cross {
        tracing::warn!(uri = %req.uri(), "cross-origin state-changing request refused");
        return (StatusCode::FORBIDDEN, "cross-origin request refused").into_response();
    }
    next.run(req).await
}

/// Adds the security headers every response carries.
pub async fn security_headers(mut req: Request, next: Next) -> Response {
    let page_nonce = PageNonce::default();
    req.extensions_mut().insert(page_nonce.clone());
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    // A page rendered by Leptos recorded its script nonce: its CSP allows exactly that nonce.
    if let Some(nonce) = page_nonce.take() {
        if let Ok(value) = HeaderValue::from_str(&page_csp(&nonce)) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(DEFAULT_CSP));
    response
}

/// Caps every request body, streamed or not: a declared length over the cap is refused with
/// 413 at once, and a chunked body fails when it crosses the cap (handlers map that to 413).
pub fn body_limit(max: usize) -> RequestBodyLimitLayer {
    RequestBodyLimitLayer::new(max)
}

/// Turns a panic in a handler into a JSON 500; the server keeps serving.
/// What `CatchPanicLayer` calls with the panic payload.
type PanicHandler = fn(Box<dyn Any + Send + 'static>) -> Response<Body>;

pub fn catch_panic() -> CatchPanicLayer<PanicHandler> {
    CatchPanicLayer::custom(panic_response as PanicHandler)
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    internal(format!("handler panicked: {message}")).into_response()
}

/// Whether an error (from reading a body) is the body limit being crossed.
pub fn is_body_limit(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if e.is::<http_body_util::LengthLimitError>()
            || e.to_string().contains("length limit exceeded")
        {
            return true;
        }
        current = e.source();
    }
    false
}
