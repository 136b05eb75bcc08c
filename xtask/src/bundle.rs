//! What the portal's files weigh as the broker serves them, and what a visit transfers:
//! the main part (all a request link needs), and each split group's files, fetched with it
//! or later.

use crate::bench::Report;
use crate::split::split_groups;
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
    let loader = files
        .keys()
        .find(|n| n.starts_with("__wasm_split-"))
        .ok_or("dist/ has no split loader")?;
    // What index.html links, and the split loader, which the main part's glue imports.
    let main_part: Vec<&String> = files
        .keys()
        .filter(|name| {
            *name == "index.html" || *name == loader || index.contains(&format!("/{name}"))
        })
        .collect();
    let brotli = |names: &[&String]| -> u64 { names.iter().map(|n| files[*n].1).sum() };
    let main_bytes = brotli(&main_part);
    report.heading("What a visit transfers (Brotli bytes)");
    report.line(
        "Each split group's files (its own and the parts it shares): fetched with the main part \
         when a link to one of its pages opens the portal (index.html preloads them; the grants' \
         code on the dashboard and an identity's page), or later, when a page reached from \
         another needs them.",
    );
    report.line("");
    report.line("| opening | files | Brotli bytes |");
    report.line("|---------|------:|-------------:|");
    report.line(&format!(
        "| a request link (`/requests/{{id}}`): the main part | {} | {main_bytes} |",
        main_part.len()
    ));
    let loader_text = std::fs::read_to_string(dist.join(loader)).map_err(|e| e.to_string())?;
    for (group, parts) in split_groups(&loader_text) {
        let mut names: Vec<&String> = Vec::new();
        for part in &parts {
            names.push(
                files
                    .get_key_value(part)
                    .ok_or_else(|| format!("the loader fetches {part}, which dist/ lacks"))?
                    .0,
            );
        }
        let added = brotli(&names);
        report.line(&format!(
            "| `{group}`: with the main part · later | {} · +{} | {} · +{added} |",
            main_part.len() + names.len(),
            names.len(),
            main_bytes + added,
        ));
    }
    Ok(())
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
    fn names_read_the_same_from_one_build_to_the_next() {
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
