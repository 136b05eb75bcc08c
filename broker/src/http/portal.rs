//! The built portal: static files with an SPA fallback, and the Content-Security-Policy
//! that lets exactly its own scripts run.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any_service};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
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
    // The CSP is computed from index.html; browsers are sent its compressed variants.
    check_variants(&index, html.as_bytes())?;
    let assets = Arc::new(loaded_assets(dir, &html));
    // Unknown paths are routes of the single-page app: answer them with index.html.
    // Files are served as `cargo xtask portal` compressed them (NAME.br, NAME.gz) when the
    // browser takes that encoding; a portal built without them is compressed per response.
    // Only these static files are compressed: API answers carry credentials, and
    // compressing secrets beside attacker-chosen text is how BREACH-style attacks work.
    let files = ServiceBuilder::new()
        .layer(axum::middleware::from_fn_with_state(assets, cache_headers))
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

/// How long a browser keeps what it was sent: the files index.html loads are named by
/// their content's hash, so those never change (a year, immutable); everything else —
/// index.html, and the app's routes answered with it — is revalidated on each visit, so a
/// new build is seen. A file this build lacks (another replica's newer build, during a
/// rolling deploy) is missing, never the app's page under that name.
async fn cache_headers(
    State(assets): State<Arc<HashSet<String>>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    let mut response = next.run(request).await;
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|t| t.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if is_page && names_a_file(&path) {
        return (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        )
            .into_response();
    }
    if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
        let immutable = assets.contains(&path) && is_content_hashed(&path);
        let headers = response.headers_mut();
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(if immutable {
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

/// Whether a path names a file (its last segment has an extension) other than index.html:
/// the app's routes never do.
fn names_a_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    name.contains('.') && name != "index.html"
}

/// Whether a file name carries a content hash as Trunk writes it: hex digits (up to 16;
/// Trunk does not pad them) after a `-`, followed by `_` or `.`
/// (`stint-portal-30eb1dfb026f74fd_bg.wasm`).
fn is_content_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    name.split('-').skip(1).any(|part| {
        let hex = part.bytes().take_while(u8::is_ascii_hexdigit).count();
        (1..=16).contains(&hex) && matches!(part.as_bytes().get(hex), Some(b'_' | b'.'))
    })
}

/// The paths index.html loads (`src="/…"`, `href="/…"`, and `'/…'` in Trunk's loader): the
/// only files kept for a year.
fn referenced_assets(html: &str) -> HashSet<String> {
    let mut found = HashSet::new();
    for (opening, closing) in [("src=\"", '"'), ("href=\"", '"'), ("'", '\'')] {
        let mut rest = html;
        while let Some(at) = rest.find(opening) {
            rest = &rest[at + opening.len()..];
            let value = &rest[..rest.find(closing).unwrap_or(rest.len())];
            if value.starts_with('/')
                && !value.starts_with("//")
                && !value.contains(char::is_whitespace)
            {
                found.insert(value.to_string());
            }
            // Past the closing quote, so it does not open the next value.
            rest = rest.get(value.len() + 1..).unwrap_or_default();
        }
    }
    found
}

/// What index.html loads, and what its scripts load in turn (the split loader fetches the
/// portal's rarely used pages as `"./NAME-HASH.wasm"`): the only files kept for a year.
fn loaded_assets(dir: &Path, html: &str) -> HashSet<String> {
    let mut found = referenced_assets(html);
    let mut scripts: Vec<String> = found
        .iter()
        .filter(|p| p.ends_with(".js"))
        .cloned()
        .collect();
    while let Some(script) = scripts.pop() {
        let Ok(text) = std::fs::read_to_string(dir.join(script.trim_start_matches('/'))) else {
            continue;
        };
        for path in relative_files(&text) {
            if found.insert(path.clone()) && path.ends_with(".js") {
                scripts.push(path);
            }
        }
    }
    found
}

/// The `"./NAME"` strings of a script served from the root, as paths (`/NAME`).
fn relative_files(script: &str) -> Vec<String> {
    script
        .split("\"./")
        .skip(1)
        .filter_map(|rest| {
            let name = &rest[..rest.find('"')?];
            let plain = !name.is_empty()
                && !name.contains(['/', '\\'])
                && !name.contains(char::is_whitespace);
            plain.then(|| format!("/{name}"))
        })
        .collect()
}

/// Refuses a portal whose index.html.br or index.html.gz is not its index.html (a build
/// copied over an older one): browsers would be sent a page the CSP was not made for.
fn check_variants(index: &Path, raw: &[u8]) -> anyhow::Result<()> {
    use std::io::Read;
    for (suffix, decode) in [
        (
            "br",
            (|f: std::fs::File, out: &mut Vec<u8>| {
                brotli_decompressor::Decompressor::new(f, 4096).read_to_end(out)
            }) as fn(std::fs::File, &mut Vec<u8>) -> std::io::Result<usize>,
        ),
        ("gz", |f, out| {
            flate2::read::GzDecoder::new(f).read_to_end(out)
        }),
    ] {
        let variant = index.with_file_name(format!("index.html.{suffix}"));
        let Ok(file) = std::fs::File::open(&variant) else {
            continue;
        };
        let mut decoded = Vec::new();
        if decode(file, &mut decoded).is_err() || decoded != raw {
            anyhow::bail!(
                "{} is not {}'s compressed copy: rebuild the portal with `cargo xtask portal`, \
                 or delete the .br and .gz files beside it",
                variant.display(),
                index.display()
            );
        }
    }
    Ok(())
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
        assert!(
            is_content_hashed("/main-abc123.css"),
            "Trunk does not pad its hashes"
        );
        assert!(!is_content_hashed("/index.html"));
        assert!(!is_content_hashed("/favicon.svg"));
        assert!(!is_content_hashed("/requests/30eb1dfb026f74fd"));
        assert!(!is_content_hashed("/stint-portal-30eb1dfb026f74fdaa.js"));
    }

    #[test]
    fn the_assets_index_html_loads_are_found() {
        let html = r#"<link rel="stylesheet" href="/main-abc.css"><script src="/app-1f.js"></script><a href="//elsewhere/x.js"><script>init({ module_or_path: '/app-1f_bg.wasm' })</script>"#;
        let found = referenced_assets(html);
        assert!(found.contains("/main-abc.css") && found.contains("/app-1f.js"));
        assert!(found.contains("/app-1f_bg.wasm"), "the loader's");
        assert_eq!(found.len(), 3, "not another site's");
        assert!(names_a_file("/app-1f.js") && !names_a_file("/requests/42"));
        assert!(!names_a_file("/index.html"));
    }

    #[test]
    fn the_files_its_scripts_load_count_too() {
        let dir = tempfile::tempdir().unwrap();
        let html = r#"<script type="module">import init from '/app-1f.js';</script>"#;
        std::fs::write(
            dir.path().join("app-1f.js"),
            r#"import * as a from "./__wasm_split-1f.js"; import b from "../up.js";"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("__wasm_split-1f.js"),
            r#"fetch(new URL("./split_admin-1f.wasm", import.meta.url)); "./sub/dir.wasm""#,
        )
        .unwrap();
        let found = loaded_assets(dir.path(), html);
        let mut found: Vec<_> = found.into_iter().collect();
        found.sort();
        assert_eq!(
            found,
            ["/__wasm_split-1f.js", "/app-1f.js", "/split_admin-1f.wasm"]
        );
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
