//! What the portal's files weigh as the broker serves them, and what a visit transfers:
//! the first load any link makes, and what opening a page of each split file adds.

use crate::bench::Report;
use crate::{Result, root};
use std::collections::BTreeMap;
use std::path::Path;

/// The bundle table and the per-visit table, from `dist/` as `cargo xtask portal` left it.
pub fn bundle(report: &mut Report) -> Result {
    let dist = root().join("dist");
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(&dist)
        .map_err(|e| e.to_string())?
        .flatten()
    {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("wasm" | "js" | "css" | "html" | "svg")
        ) {
            continue;
        }
        let raw = entry.metadata().map_err(|e| e.to_string())?.len();
        files.insert(
            name,
            (raw, variant_size(&path, "br")?, variant_size(&path, "gz")?),
        );
    }

    report.heading("Portal release bundle (dist/)");
    report.line("| file | raw bytes | Brotli bytes (served) | gzip -9 bytes |");
    report.line("|------|----------:|----------------------:|--------------:|");
    for (name, (raw, br, gz)) in &files {
        report.line(&format!("| {} | {raw} | {br} | {gz} |", without_hash(name)));
    }
    let (raw, br, gz) = files.values().fold((0, 0, 0), |(r, b, g), (raw, br, gz)| {
        (r + raw, b + br, g + gz)
    });
    report.line(&format!("| whole portal | {raw} | {br} | {gz} |"));

    let index = std::fs::read_to_string(dist.join("index.html")).map_err(|e| e.to_string())?;
    let first: Vec<&String> = files
        .keys()
        .filter(|name| *name == "index.html" || index.contains(&format!("/{name}")))
        .collect();
    let brotli = |names: &[&String]| -> u64 { names.iter().map(|n| files[*n].1).sum() };
    let first_load = brotli(&first);
    report.heading("What a visit transfers (Brotli bytes)");
    report.line("| opening | files | Brotli bytes |");
    report.line("|---------|------:|-------------:|");
    report.line(&format!(
        "| any link (sign-in, dashboard, requests, a request to approve, approvals) | {} | {first_load} |",
        first.len()
    ));
    let loader = files
        .keys()
        .find(|n| n.starts_with("__wasm_split-"))
        .ok_or("dist/ has no split loader")?;
    let loader_text = std::fs::read_to_string(dist.join(loader)).map_err(|e| e.to_string())?;
    for (group, parts) in split_groups(&loader_text) {
        let mut names: Vec<&String> = vec![loader];
        for part in &parts {
            names.push(
                files
                    .get_key_value(part)
                    .ok_or_else(|| format!("the loader fetches {part}, which dist/ lacks"))?
                    .0,
            );
        }
        report.line(&format!(
            "| then a page of `{group}` | +{} | +{} |",
            names.len(),
            brotli(&names)
        ));
    }
    Ok(())
}

/// Each split group the loader knows, with the files (its own and the shared parts it
/// waits for) that opening one of its pages fetches.
fn split_groups(loader: &str) -> Vec<(String, Vec<String>)> {
    let fetched = |at: &str| -> Option<String> {
        let start = at.find("new URL(\"./")? + "new URL(\"./".len();
        Some(at[start..start + at[start..].find('"')?].to_string())
    };
    let mut chunks = BTreeMap::new();
    for piece in loader.split("const __chunk_").skip(1) {
        if let (Some(id), Some(file)) = (piece.split(' ').next(), fetched(piece)) {
            chunks.insert(format!("__chunk_{id}"), file);
        }
    }
    let mut groups = Vec::new();
    for piece in loader.split("export const __wasm_split_load_").skip(1) {
        let group = piece.split(' ').next().unwrap_or_default().to_string();
        let Some(own) = fetched(piece) else { continue };
        let deps = piece
            .rfind(", [")
            .map(|at| &piece[at + 3..])
            .and_then(|rest| rest.split(']').next())
            .unwrap_or_default();
        let mut parts = vec![own];
        parts.extend(
            deps.split(',')
                .filter_map(|d| chunks.get(d.trim()).cloned()),
        );
        groups.push((group, parts));
    }
    groups
}

/// `split_admin-5c82d1614519a183.wasm` → `split_admin.wasm`: names that read the same
/// from one run to the next.
fn without_hash(name: &str) -> String {
    match name.rsplit_once('-') {
        Some((base, rest)) if rest.bytes().take_while(u8::is_ascii_hexdigit).count() >= 8 => {
            let suffix = rest.trim_start_matches(|c: char| c.is_ascii_hexdigit());
            format!("{base}{suffix}")
        }
        _ => name.to_string(),
    }
}

/// The size of the compressed variant the portal's build wrote beside `path`.
fn variant_size(path: &Path, suffix: &str) -> Result<u64> {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    std::fs::metadata(&name).map(|m| m.len()).map_err(|e| {
        format!(
            "{}: {e} (build the portal with `cargo xtask portal`)",
            Path::new(&name).display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_which_files_a_split_group_fetches() {
        let loader = r#"
const __chunk_4 = makeLoad(() => {
    const src = fetch(new URL("./chunk_4-ab.wasm", import.meta.url));
}, []);
const __chunk_5 = makeLoad(() => {
    const src = fetch(new URL("./chunk_5-ab.wasm", import.meta.url));
}, []);
export const __wasm_split_load_admin = wrapAsyncCb(makeLoad(() => {
    const src = fetch(new URL("./split_admin-ab.wasm", import.meta.url));
}
, [__chunk_5]));
"#;
        assert_eq!(
            split_groups(loader),
            [(
                "admin".to_string(),
                vec![
                    "split_admin-ab.wasm".to_string(),
                    "chunk_5-ab.wasm".to_string()
                ]
            )]
        );
        assert_eq!(
            without_hash("split_admin-5c82d1614519a183.wasm"),
            "split_admin.wasm"
        );
        assert_eq!(
            without_hash("stint-portal-5c82d1614519a183_bg.wasm"),
            "stint-portal_bg.wasm"
        );
        assert_eq!(without_hash("favicon.svg"), "favicon.svg");
    }
}
