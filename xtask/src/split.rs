//! Cutting the portal's wasm at its split points (`src/lazy_pages.rs`), after Trunk built it.
//!
//! Trunk 0.21 has no split step (trunk-rs/trunk#1022), so this redoes the last part of its
//! pipeline from cargo's own output: `wasm-split-cli` cuts the module (the main part, one
//! file per split group, the code groups share), `wasm-bindgen` makes the main part's glue,
//! and `wasm-opt -Oz` shrinks every part. The main part and its glue replace Trunk's files
//! under Trunk's names (so index.html loads them, its integrity hashes updated); the other
//! parts carry the same build hash in their names, so browsers may keep them for good.

use crate::{Result, run, tools};
use base64::Engine;
use sha2::{Digest, Sha384};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// What `wasm-split-cli` names the loader of the split parts; the main glue imports it.
const LOADER: &str = "__wasm_split";

/// Splits the portal Trunk just wrote into `dist`.
pub fn split(dist: &Path) -> Result {
    let index_path = dist.join("index.html");
    let mut index = read_text(&index_path)?;
    let stem = trunk_stem(&index)?;
    let build_hash = stem.rsplit('-').next().unwrap_or_default().to_string();
    let raw = tools::target_dir()
        .join("wasm32-unknown-unknown")
        .join("wasm-release")
        .join("stint-portal.wasm");

    let work = tools::target_dir().join("portal-split");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    run(Command::new(tools::wasm_split())
        .arg(&raw)
        .arg(&work)
        .args(["--out-name", &stem]))?;
    let glue = work.join("glue");
    run(Command::new(tools::wasm_bindgen()).args([
        "--target",
        "web",
        // The split parts link to the main part through these exports and symbol names.
        "--keep-lld-exports",
        "--no-demangle",
        "--no-typescript",
        "--out-dir",
        &glue.to_string_lossy(),
        "--out-name",
        &stem,
        &work.join(format!("{stem}.wasm")).to_string_lossy(),
    ]))?;

    // The parts, renamed `NAME-HASH.wasm`, and the loader that fetches them.
    let mut loader = read_text(&work.join(format!("{LOADER}.js")))?;
    let mut parts = Vec::new();
    for entry in std::fs::read_dir(&work).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.ends_with(".wasm") && name != format!("{stem}.wasm") {
            parts.push(name.to_string());
        }
    }
    parts.sort();
    // A part the loader never fetches (an empty one) is left out.
    parts.retain(|name| loader.contains(&format!("\"./{name}\"")));
    for name in &parts {
        let hashed = hashed_name(name, &build_hash);
        let quoted = format!("\"./{name}\"");
        loader = loader.replace(&quoted, &format!("\"./{hashed}\""));
        optimise(&work.join(name), &dist.join(&hashed))?;
    }
    let loader_name = format!("{LOADER}-{build_hash}.js");
    write(&dist.join(&loader_name), loader.as_bytes())?;
    index = with_split_files(&index, &split_groups(&loader))?;

    let js_name = format!("{stem}.js");
    let wasm_name = format!("{stem}_bg.wasm");
    // Only where the glue imports the loader: the wasm still names it `./__wasm_split.js`
    // among its imports, and so must the glue's table of them.
    let js = read_text(&glue.join(&js_name))?.replace(
        &format!("from \"./{LOADER}.js\""),
        &format!("from \"./{loader_name}\""),
    );
    write(&dist.join(&js_name), js.as_bytes())?;
    optimise(&glue.join(&wasm_name), &dist.join(&wasm_name))?;
    for name in [&js_name, &wasm_name] {
        index = with_integrity(
            &index,
            name,
            &std::fs::read(dist.join(name)).map_err(|e| e.to_string())?,
        )?;
    }
    write(&index_path, index.as_bytes())?;
    eprintln!(
        "split the portal into its main part and {} more ({})",
        parts.len(),
        parts.join(", ")
    );
    Ok(())
}

/// Each split group the loader knows, with the files (its own and the shared parts it
/// waits for) that opening one of its pages fetches.
pub fn split_groups(loader: &str) -> Vec<(String, Vec<String>)> {
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

/// Where index.html's boot script takes each split group's files, to fetch them beside the
/// main part when the page opened is one of the group's.
const SPLIT_FILES: &str = "/*split-files*/{}";

/// index.html with each group's files (`{"admin": ["split_admin-HASH.wasm", …]}`) in its
/// boot script.
fn with_split_files(index: &str, groups: &[(String, Vec<String>)]) -> Result<String> {
    if !index.contains(SPLIT_FILES) {
        return Err(format!(
            "index.html's boot script has no `{SPLIT_FILES}` to fill in"
        ));
    }
    let files: serde_json::Map<String, serde_json::Value> = groups
        .iter()
        .map(|(group, files)| (group.clone(), serde_json::json!(files)))
        .collect();
    Ok(index.replace(SPLIT_FILES, &serde_json::Value::Object(files).to_string()))
}

/// `stint-portal-HASH`: the name Trunk gave the portal's glue and wasm in index.html.
fn trunk_stem(index: &str) -> Result<String> {
    let start = index
        .find("/stint-portal-")
        .ok_or("index.html does not load the portal's wasm")?;
    let rest = &index[start + 1..];
    let end = rest
        .find(".js")
        .ok_or("index.html does not load the portal's glue")?;
    Ok(rest[..end].to_string())
}

/// `split_admin.wasm` → `split_admin-HASH.wasm`.
fn hashed_name(name: &str, hash: &str) -> String {
    let (base, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    format!("{base}-{hash}.{ext}")
}

/// index.html with the `integrity` of its link to `name` computed for `bytes` (Trunk
/// computed it for the files this step replaced).
fn with_integrity(index: &str, name: &str, bytes: &[u8]) -> Result<String> {
    let link = index
        .find(&format!("href=\"/{name}\""))
        .ok_or_else(|| format!("index.html does not link {name}"))?;
    let attribute = "integrity=\"";
    let tag_end = link + index[link..].find('>').unwrap_or(index.len() - link);
    let start = link
        + index[link..tag_end]
            .find(attribute)
            .ok_or_else(|| format!("index.html's link to {name} has no integrity"))?
        + attribute.len();
    let end = start + index[start..].find('"').ok_or("unterminated integrity")?;
    let digest = base64::engine::general_purpose::STANDARD.encode(Sha384::digest(bytes));
    Ok(format!(
        "{}sha384-{digest}{}",
        &index[..start],
        &index[end..]
    ))
}

fn optimise(from: &Path, to: &Path) -> Result {
    run(Command::new(tools::wasm_opt()).args([
        "-Oz",
        "--enable-bulk-memory",
        "--enable-nontrapping-float-to-int",
        &from.to_string_lossy(),
        "-o",
        &to.to_string_lossy(),
    ]))
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result {
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
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
    }

    #[test]
    fn writes_each_groups_files_into_the_boot_script() {
        let groups = [(
            "admin".to_string(),
            vec![
                "split_admin-ab.wasm".to_string(),
                "chunk_5-ab.wasm".to_string(),
            ],
        )];
        assert_eq!(
            with_split_files("var files = /*split-files*/{};", &groups).unwrap(),
            r#"var files = {"admin":["split_admin-ab.wasm","chunk_5-ab.wasm"]};"#
        );
        assert!(with_split_files("<script></script>", &groups).is_err());
    }

    #[test]
    fn finds_trunks_stem_and_rewrites_one_integrity() {
        let index = r#"<script type="module">import init from '/stint-portal-ab12.js';</script>
<link rel="modulepreload" href="/stint-portal-ab12.js" integrity="sha384-old1"><link rel="preload" href="/stint-portal-ab12_bg.wasm" integrity="sha384-old2">"#;
        assert_eq!(trunk_stem(index).unwrap(), "stint-portal-ab12");
        let updated = with_integrity(index, "stint-portal-ab12_bg.wasm", b"abc").unwrap();
        assert!(updated.contains("integrity=\"sha384-old1\""));
        assert!(updated.contains(
            "integrity=\"sha384-ywB1P0WjXou1oD1pmsZQBycsMqsO3tFjGotgWkP/W+2AhgcroefMI1i67KE0yCWn\""
        ));
        assert_eq!(hashed_name("chunk_3.wasm", "ab12"), "chunk_3-ab12.wasm");
    }
}
