//! The built portal: static files with an SPA fallback, and the Content-Security-Policy
//! that lets exactly its own scripts run.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any_service};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use std::path::Path;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};

/// The service answering every path that is not the API, and the CSP for all responses.
pub fn service(dir: Option<&Path>) -> anyhow::Result<(MethodRouter, String)> {
    let Some(dir) = dir else {
        let missing = || async {
            (
                StatusCode::NOT_FOUND,
                "The portal is not built into this broker; start it with --portal DIR.",
            )
                .into_response()
        };
        return Ok((axum::routing::any(missing), csp(&[])));
    };
    let index = dir.join("index.html");
    let html = std::fs::read_to_string(&index)
        .map_err(|e| anyhow::anyhow!("cannot read the portal's {}: {e}", index.display()))?;
    // Unknown paths are routes of the single-page app: answer them with index.html.
    // Files are served as `cargo xtask portal` compressed them (NAME.br, NAME.gz) when the
    // browser takes that encoding; a portal built without them is compressed per response.
    // Only these static files are compressed: API answers carry credentials, and
    // compressing secrets beside attacker-chosen text is how BREACH-style attacks work.
    let files = ServiceBuilder::new()
        .layer(axum::middleware::from_fn(cache_headers))
        .layer(CompressionLayer::new())
        .service(
            ServeDir::new(dir)
                .precompressed_br()
                .precompressed_gzip()
                .fallback(
                    ServeFile::new(index)
                        .precompressed_br()
                        .precompressed_gzip(),
                ),
        );
    Ok((any_service(files), csp(&inline_scripts(&html))))
}

/// How long a browser keeps what it was sent: Trunk names its outputs by their content's
/// hash, so those never change (a year, immutable); everything else — index.html, and the
/// app's routes answered with it — is revalidated on each visit, so a new build is seen.
async fn cache_headers(request: Request, next: Next) -> Response {
    let hashed = is_content_hashed(request.uri().path());
    let mut response = next.run(request).await;
    if response.status().is_success() {
        let headers = response.headers_mut();
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(if hashed {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            }),
        );
        headers
            .entry(header::VARY)
            .or_insert(HeaderValue::from_static("accept-encoding"));
    }
    response
}

/// Whether a path's file name carries Trunk's content hash: 16 hex digits after a `-`,
/// ending the name or followed by `_` or `.` (`stint-portal-30eb1dfb026f74fd_bg.wasm`).
fn is_content_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    name.split('-').skip(1).any(|part| {
        let hex = part.bytes().take_while(u8::is_ascii_hexdigit).count();
        hex == 16 && matches!(part.as_bytes().get(16), None | Some(b'_' | b'.'))
    })
}

/// The policy: nothing from elsewhere, no inline code but the loader Trunk writes into
/// index.html (allowed by its hash), WebAssembly compilation allowed.
fn csp(inline_scripts: &[&str]) -> String {
    let hashes: String = inline_scripts
        .iter()
        .map(|s| {
            format!(
                " 'sha256-{}'",
                STANDARD.encode(Sha256::digest(s.as_bytes()))
            )
        })
        .collect();
    format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The bodies of `<script>` elements without a `src`, exactly as the browser hashes them.
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let tag = &after[..tag_end];
        let body_and_rest = &after[tag_end + 1..];
        let Some(close) = body_and_rest.find("</script>") else {
            break;
        };
        if !tag.contains(" src=") {
            out.push(&body_and_rest[..close]);
        }
        rest = &body_and_rest[close..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunks_hashed_names_are_told_from_others() {
        assert!(is_content_hashed("/stint-portal-30eb1dfb026f74fd_bg.wasm"));
        assert!(is_content_hashed("/stint-portal-30eb1dfb026f74fd.js"));
        assert!(is_content_hashed("/main-0123456789abcdef.css"));
        assert!(!is_content_hashed("/index.html"));
        assert!(!is_content_hashed("/favicon.svg"));
        assert!(!is_content_hashed("/requests/30eb1dfb026f74fd"));
        assert!(!is_content_hashed("/stint-portal-30eb1dfb026f74fdaa.js"));
    }

    #[test]
    fn hashes_only_inline_scripts() {
        let html =
            r#"<head><script src="/a.js"></script><script type="module">boot()</script></head>"#;
        assert_eq!(inline_scripts(html), vec!["boot()"]);
        let policy = csp(&inline_scripts(html));
        let expected = STANDARD.encode(Sha256::digest(b"boot()"));
        assert!(policy.contains(&format!("'sha256-{expected}'")));
        assert!(!policy.contains("unsafe-inline"));
    }
}
