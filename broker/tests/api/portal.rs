use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use std::sync::Arc;
use stint_broker::Broker;
use stint_broker::clock::SystemClock;
use stint_broker::config::Config;
use tower::ServiceExt;

/// A stand-in for Trunk's output: an index.html with an inline loader, and a script file.
fn fake_portal(dir: &std::path::Path) {
    std::fs::write(
        dir.join("index.html"),
        r#"<html><head><script type="module">import init from '/app.js'; await init();</script></head><body></body></html>"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("app.js"),
        "export default async function init() {}",
    )
    .unwrap();
}

async fn get(router: &axum::Router, path: &str) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = router
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

#[tokio::test]
async fn serves_the_portal_with_an_spa_fallback_under_a_strict_csp() {
    let dir = tempfile::tempdir().unwrap();
    let portal = dir.path().join("dist");
    std::fs::create_dir(&portal).unwrap();
    fake_portal(&portal);
    let mut config = Config::new(format!("sqlite://{}", dir.path().join("db").display()));
    config.portal_dir = Some(portal);
    let broker = Broker::open(config, Arc::new(SystemClock)).await.unwrap();
    let router = broker.router().unwrap();

    let (status, headers, body) = get(&router, "/requests/42").await;
    assert_eq!(status, StatusCode::OK, "a route of the app gets index.html");
    assert!(body.contains("import init"));
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(
        csp.contains("'sha256-"),
        "the inline loader is allowed by its hash: {csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");

    let (status, _, body) = get(&router, "/app.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("export default"));
    let compressed = router
        .clone()
        .oneshot(
            Request::get("/app.js")
                .header(header::ACCEPT_ENCODING, "gzip")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(compressed.headers()[header::CONTENT_ENCODING], "gzip");

    // The API never falls back to the app.
    let (status, headers, body) = get(&router, "/api/v1/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("\"not_found\""), "{body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");

    let (status, _, body) = get(&router, "/healthz").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, r#"{"status":"ok"}"#)
    );
}

#[tokio::test]
async fn refuses_to_start_without_the_portal_it_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(format!("sqlite://{}", dir.path().join("db").display()));
    config.portal_dir = Some(dir.path().join("missing"));
    let broker = Broker::open(config, Arc::new(SystemClock)).await.unwrap();
    let error = broker.router().unwrap_err().to_string();
    assert!(error.contains("index.html"), "{error}");
}

/// The body of `path` as sent to a browser taking `encodings`, its encoding and caching.
async fn fetch(
    router: &axum::Router,
    path: &str,
    encodings: &str,
) -> (Option<String>, String, Vec<u8>) {
    let response = router
        .clone()
        .oneshot(
            Request::get(path)
                .header(header::ACCEPT_ENCODING, encodings)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let headers = response.headers().clone();
    assert_eq!(headers[header::VARY], "accept-encoding", "{path}");
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .map(|e| e.to_str().unwrap().to_string());
    (
        encoding,
        headers[header::CACHE_CONTROL].to_str().unwrap().to_string(),
        bytes,
    )
}

#[tokio::test]
async fn serves_the_files_compressed_at_build_time_and_keeps_hashed_ones_for_a_year() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let portal = dir.path().join("dist");
    std::fs::create_dir(&portal).unwrap();
    fake_portal(&portal);
    // A hashed file as Trunk names them, with its variants as `cargo xtask portal` writes.
    let raw = format!(
        "import * as split from \"./__wasm_split-30eb1dfb026f74fd.js\";\n{}",
        "export const answer = 42;\n".repeat(200)
    );
    let name = "stint-portal-30eb1dfb026f74fd.js";
    // The split loader it imports, and a rarely used page's part that loader fetches.
    std::fs::write(
        portal.join("__wasm_split-30eb1dfb026f74fd.js"),
        r#"const src = fetch(new URL("./split_admin-30eb1dfb026f74fd.wasm", import.meta.url));"#,
    )
    .unwrap();
    std::fs::write(portal.join("split_admin-30eb1dfb026f74fd.wasm"), b"\0asm").unwrap();
    std::fs::write(portal.join(name), &raw).unwrap();
    let mut br = Vec::new();
    brotli::BrotliCompress(&mut raw.as_bytes(), &mut br, &Default::default()).unwrap();
    std::fs::write(portal.join(format!("{name}.br")), &br).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(raw.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    std::fs::write(portal.join(format!("{name}.gz")), &gz).unwrap();
    // index.html names it, as Trunk's does: that is what makes it kept for a year.
    std::fs::write(
        portal.join("index.html"),
        format!(r#"<html><head><script type="module">import init from '/{name}'; await init();</script></head><body></body></html>"#),
    )
    .unwrap();
    let mut config = Config::new(format!("sqlite://{}", dir.path().join("db").display()));
    config.portal_dir = Some(portal);
    let broker = Broker::open(config, Arc::new(SystemClock)).await.unwrap();
    let router = broker.router().unwrap();
    let path = format!("/{name}");

    let (encoding, cache, body) = fetch(&router, &path, "gzip, deflate, br").await;
    assert_eq!(encoding.as_deref(), Some("br"));
    assert_eq!(body, br, "the file written at build time, as it is");
    let mut decoded = Vec::new();
    brotli::Decompressor::new(&body[..], 4096)
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, raw.as_bytes());
    assert_eq!(cache, "public, max-age=31536000, immutable");

    let (encoding, _, body) = fetch(&router, &path, "gzip").await;
    assert_eq!(encoding.as_deref(), Some("gzip"));
    assert_eq!(
        body, gz,
        "the file written at build time, not compressed again"
    );
    let mut decoded = String::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_string(&mut decoded)
        .unwrap();
    assert_eq!(decoded, raw);

    let (encoding, _, body) = fetch(&router, &path, "identity").await;
    assert_eq!(encoding, None);
    assert_eq!(body, raw.as_bytes());

    // What the glue loads in turn is kept for a year too: each build names it anew.
    for loaded in [
        "/__wasm_split-30eb1dfb026f74fd.js",
        "/split_admin-30eb1dfb026f74fd.wasm",
    ] {
        let (_, cache, _) = fetch(&router, loaded, "identity").await;
        assert_eq!(cache, "public, max-age=31536000, immutable", "{loaded}");
    }

    // index.html, and the app's routes answered with it, are revalidated every visit.
    for page in ["/", "/index.html", "/requests/42"] {
        let (_, cache, _) = fetch(&router, page, "gzip").await;
        assert_eq!(cache, "no-cache", "{page}");
    }

    // A hashed file this build does not have (another replica's newer build) is missing,
    // never the app's page kept for a year under that name.
    let response = router
        .clone()
        .oneshot(
            Request::get("/stint-portal-0123456789abcdef_bg.wasm")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn refuses_a_portal_whose_compressed_index_is_another_builds() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let portal = dir.path().join("dist");
    std::fs::create_dir(&portal).unwrap();
    fake_portal(&portal);
    // An older build's compressed index left beside a newer index.html.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(b"<html><head><script>old()</script></head></html>")
        .unwrap();
    std::fs::write(portal.join("index.html.gz"), gz.finish().unwrap()).unwrap();
    let mut config = Config::new(format!("sqlite://{}", dir.path().join("db").display()));
    config.portal_dir = Some(portal);
    let broker = Broker::open(config, Arc::new(SystemClock)).await.unwrap();
    let error = broker.router().unwrap_err().to_string();
    assert!(
        error.contains("index.html.gz") && error.contains("cargo xtask portal"),
        "{error}"
    );
}
