//! The portal's files compressed once at build time (Brotli and gzip, at their strongest),
//! so the broker serves them as they are instead of compressing each response.

use crate::Result;
use std::io::Write;
use std::path::Path;

/// What is worth compressing: text and WebAssembly (images are compressed already).
const COMPRESSIBLE: [&str; 7] = ["wasm", "js", "css", "html", "svg", "json", "webmanifest"];

/// Writes `NAME.br` and `NAME.gz` beside every compressible file of `dir`.
pub fn precompress(dir: &Path) -> Result {
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            precompress(&path)?;
            continue;
        }
        let compressible = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| COMPRESSIBLE.contains(&e));
        if !compressible {
            continue;
        }
        let raw = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        write(&path, "br", &brotli(&raw)?)?;
        write(&path, "gz", &gzip(&raw)?)?;
    }
    Ok(())
}

fn write(path: &Path, suffix: &str, bytes: &[u8]) -> Result {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    std::fs::write(&name, bytes).map_err(|e| format!("{}: {e}", Path::new(&name).display()))
}

fn brotli(raw: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 24,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &raw[..], &mut out, &params).map_err(|e| e.to_string())?;
    Ok(out)
}

fn gzip(raw: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(raw).map_err(|e| e.to_string())?;
    encoder.finish().map_err(|e| e.to_string())
}
