//! Secrets scanners' reports, read into findings that hold only a fingerprint.
//!
//! Three formats: the detect-secrets baseline (JSON; it stores only a SHA-1 of each
//! secret), gitleaks' JSON report (an array; `Secret` is the raw value) and trufflehog's
//! JSON lines (`Raw` is the raw value). Raw values are hashed here, at parse time, and go
//! no further: nothing after this module ever sees a secret.

use serde::Deserialize;
use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use stint_core::standing::SecretSource;

/// Reports larger than this are refused before they are read.
pub const MAX_REPORT_BYTES: usize = 8 * 1024 * 1024;
/// A report with more findings than this is refused (one import is one transaction).
pub const MAX_FINDINGS: usize = 50_000;

/// One secret at one place, as a report found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The file path (for mapping rules), empty when the report names none.
    pub path: String,
    /// `path:line`, or the path alone when the report gives no line.
    pub location: String,
    /// Every type the tool gave this secret here, sorted and joined (`AWS Access Key, …`).
    pub secret_type: String,
    /// `sha1:…` (detect-secrets) or `sha256:…` of the secret.
    pub fingerprint: String,
}

/// A report read whole: its tool and findings, merged so that one secret at one place is
/// one finding however many of the tool's detectors reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub tool: SecretSource,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReportError(pub String);

fn err(message: impl Into<String>) -> ReportError {
    ReportError(message.into())
}

/// The fingerprint of a raw secret.
pub fn sha256_fingerprint(secret: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(secret.as_bytes())))
}

/// The fingerprint detect-secrets would record for a raw secret.
pub fn sha1_fingerprint(secret: &str) -> String {
    format!("sha1:{}", hex::encode(Sha1::digest(secret.as_bytes())))
}

/// Reads `bytes` as a report of `tool`, or of whichever tool's format it is in.
pub fn parse(bytes: &[u8], tool: Option<SecretSource>) -> Result<Report, ReportError> {
    if bytes.len() > MAX_REPORT_BYTES {
        return Err(err(format!(
            "the report is {} bytes; at most {MAX_REPORT_BYTES} are accepted",
            bytes.len()
        )));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| err("the report is not UTF-8 text"))?;
    let tool = match tool {
        Some(SecretSource::Manual) => {
            return Err(err("`manual` is not a report format"));
        }
        Some(tool) => tool,
        None => detect(text)?,
    };
    let findings = match tool {
        SecretSource::DetectSecrets => detect_secrets(text)?,
        SecretSource::Gitleaks => gitleaks(text)?,
        SecretSource::Trufflehog => trufflehog(text)?,
        SecretSource::Manual => unreachable!("refused above"),
    };
    if findings.len() > MAX_FINDINGS {
        return Err(err(format!(
            "the report has {} findings; at most {MAX_FINDINGS} are accepted in one import",
            findings.len()
        )));
    }
    Ok(Report {
        tool,
        findings: merge(findings),
    })
}

/// Which tool wrote `text`, from its shape.
fn detect(text: &str) -> Result<SecretSource, ReportError> {
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(err(
            "the report is empty; name its format to import a scan that found nothing",
        ));
    }
    if trimmed.starts_with('[') {
        return Ok(SecretSource::Gitleaks);
    }
    if trimmed.starts_with('{') {
        // A baseline is one object over many lines; trufflehog writes one object a line.
        let first_line = trimmed.lines().next().unwrap_or_default();
        if let Ok(Value::Object(first)) = serde_json::from_str::<Value>(first_line)
            && first.contains_key("SourceMetadata")
        {
            return Ok(SecretSource::Trufflehog);
        }
        return Ok(SecretSource::DetectSecrets);
    }
    Err(err(
        "not a report Stint reads: expected a detect-secrets baseline, a gitleaks JSON report \
         or trufflehog JSON lines",
    ))
}

/// Says what is wrong and where, never quoting the report: serde_json's own messages
/// quote the offending value ("invalid type: string \"AKIA…\""), which may be a secret.
fn json_error(what: &str, e: serde_json::Error) -> ReportError {
    use serde_json::error::Category;
    let message = e.to_string();
    let detail = match e.classify() {
        Category::Eof => "it ends early (truncated?)",
        Category::Syntax => "it is not well-formed JSON",
        Category::Io => "it could not be read",
        Category::Data => match message.split_once("missing field `") {
            Some((_, rest)) => {
                let field = rest.split('`').next().unwrap_or_default();
                return err(format!(
                    "not a valid {what}: a finding lacks the field `{field}` (line {}, column {})",
                    e.line(),
                    e.column()
                ));
            }
            None => "a value is not of the type this format has there",
        },
    };
    err(format!(
        "not a valid {what}: {detail} (line {}, column {})",
        e.line(),
        e.column()
    ))
}

#[derive(Deserialize)]
struct Baseline {
    results: std::collections::BTreeMap<String, Vec<BaselineSecret>>,
}

#[derive(Deserialize)]
struct BaselineSecret {
    #[serde(rename = "type")]
    kind: String,
    filename: String,
    hashed_secret: String,
    #[serde(default)]
    line_number: Option<u64>,
}

fn detect_secrets(text: &str) -> Result<Vec<Finding>, ReportError> {
    let baseline: Baseline =
        serde_json::from_str(text).map_err(|e| json_error("detect-secrets baseline", e))?;
    let mut out = Vec::new();
    for secret in baseline.results.into_values().flatten() {
        let hash = secret.hashed_secret.to_ascii_lowercase();
        if hash.len() != 40 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(err(format!(
                "{}: hashed_secret is not a SHA-1 in hex",
                secret.filename
            )));
        }
        out.push(finding(
            &secret.filename,
            secret.line_number,
            &secret.kind,
            format!("sha1:{hash}"),
        ));
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GitleaksFinding {
    #[serde(rename = "RuleID")]
    rule_id: String,
    #[serde(default)]
    description: String,
    file: String,
    #[serde(default)]
    start_line: Option<u64>,
    secret: String,
}

fn gitleaks(text: &str) -> Result<Vec<Finding>, ReportError> {
    // gitleaks writes `null`, not `[]`, for a scan that found nothing.
    if text.trim() == "null" {
        return Ok(Vec::new());
    }
    let items: Vec<GitleaksFinding> =
        serde_json::from_str(text).map_err(|e| json_error("gitleaks JSON report", e))?;
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            if item.secret.is_empty() {
                return Err(err(format!(
                    "finding {}: Secret is empty (was the report written with --redact? \
                     Stint needs it to fingerprint the secret, and stores only the hash)",
                    i + 1
                )));
            }
            // Short descriptions name the secret ("AWS Access Token"); long ones are
            // sentences, where the rule id says it better ("generic-api-key").
            let kind = if item.description.is_empty() || item.description.len() > 40 {
                item.rule_id
            } else {
                item.description
            };
            Ok(finding(
                &item.file,
                item.start_line,
                &kind,
                sha256_fingerprint(&item.secret),
            ))
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TrufflehogFinding {
    source_metadata: Value,
    detector_name: String,
    raw: String,
}

fn trufflehog(text: &str) -> Result<Vec<Finding>, ReportError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let item: TrufflehogFinding = serde_json::from_str(line)
            .map_err(|e| json_error(&format!("trufflehog JSON line (line {})", i + 1), e))?;
        if item.raw.is_empty() {
            return Err(err(format!("line {}: Raw is empty", i + 1)));
        }
        let (path, line_number) = trufflehog_place(&item.source_metadata);
        out.push(finding(
            &path,
            line_number,
            &item.detector_name,
            sha256_fingerprint(&item.raw),
        ));
    }
    Ok(out)
}

/// The file and line in a trufflehog finding's `SourceMetadata.Data.<source>`, whichever
/// source (git, filesystem, github, …) scanned it.
fn trufflehog_place(metadata: &Value) -> (String, Option<u64>) {
    let data = metadata
        .get("Data")
        .and_then(Value::as_object)
        .and_then(|d| d.values().next());
    let Some(data) = data else {
        return (String::new(), None);
    };
    let path = ["file", "path", "link"]
        .iter()
        .find_map(|k| data.get(*k).and_then(Value::as_str))
        .unwrap_or_default()
        .to_string();
    (path, data.get("line").and_then(Value::as_u64))
}

fn finding(path: &str, line: Option<u64>, kind: &str, fingerprint: String) -> Finding {
    let location = match line {
        Some(line) if !path.is_empty() => format!("{path}:{line}"),
        _ if path.is_empty() => "(no location given)".to_string(),
        _ => path.to_string(),
    };
    Finding {
        path: path.to_string(),
        location,
        secret_type: kind.trim().to_string(),
        fingerprint,
    }
}

/// One finding per secret and place, with every type the tool gave it.
fn merge(findings: Vec<Finding>) -> Vec<Finding> {
    let mut merged: Vec<Finding> = Vec::with_capacity(findings.len());
    let mut index = std::collections::HashMap::new();
    for f in findings {
        let key = (f.location.clone(), f.fingerprint.clone());
        match index.get(&key) {
            Some(&i) => {
                let existing: &mut Finding = &mut merged[i];
                let mut kinds: Vec<&str> = existing.secret_type.split(", ").collect();
                if !kinds.contains(&f.secret_type.as_str()) {
                    kinds.push(&f.secret_type);
                    kinds.sort_unstable();
                    existing.secret_type = kinds.join(", ");
                }
            }
            None => {
                index.insert(key, merged.len());
                merged.push(f);
            }
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASELINE: &str = include_str!("../tests/fixtures/detect-secrets-baseline.json");
    const GITLEAKS: &str = include_str!("../tests/fixtures/gitleaks-report.json");
    const TRUFFLEHOG: &str = include_str!("../tests/fixtures/trufflehog.jsonl");

    #[test]
    fn reads_a_detect_secrets_baseline_merging_detectors_of_one_secret() {
        let report = parse(BASELINE.as_bytes(), None).unwrap();
        assert_eq!(report.tool, SecretSource::DetectSecrets);
        let line2 = report
            .findings
            .iter()
            .find(|f| f.location == "deploy/payments.env:2")
            .unwrap();
        assert_eq!(
            line2.secret_type,
            "AWS Access Key, Base64 High Entropy String, Secret Keyword"
        );
        assert!(line2.fingerprint.starts_with("sha1:"));
        assert_eq!(line2.path, "deploy/payments.env");
    }

    #[test]
    fn reads_gitleaks_and_trufflehog_keeping_only_hashes() {
        let report = parse(GITLEAKS.as_bytes(), None).unwrap();
        assert_eq!(report.tool, SecretSource::Gitleaks);
        assert_eq!(report.findings.len(), 2);
        assert_eq!(report.findings[0].location, "deploy/payments.env:1");
        assert_eq!(
            report.findings[0].fingerprint,
            sha256_fingerprint("AKIAIOSFODNN7EXAMPLE")
        );
        let report = parse(TRUFFLEHOG.as_bytes(), None).unwrap();
        assert_eq!(report.tool, SecretSource::Trufflehog);
        assert_eq!(report.findings.len(), 2);
        assert_eq!(report.findings[0].location, "ci/pipeline.yml:14");
        assert_eq!(report.findings[1].location, "scripts/backup.sh:3");
        let debug = format!("{report:?}");
        assert!(!debug.contains("AKIA"), "a raw secret survived parsing");
    }

    #[test]
    fn refuses_what_is_not_a_whole_report_of_a_known_format() {
        let truncated = &GITLEAKS[..GITLEAKS.len() / 2];
        let e = parse(truncated.as_bytes(), None).unwrap_err();
        assert!(e.0.contains("ends early"), "{e}");
        assert!(parse(b"", None).is_err());
        assert!(parse(b"hello", None).unwrap_err().0.contains("expected"));
        assert!(parse(b"{\"results\": 3}", None).is_err());
        // The right shape read as the wrong tool.
        assert!(parse(GITLEAKS.as_bytes(), Some(SecretSource::DetectSecrets)).is_err());
        let big = vec![b' '; MAX_REPORT_BYTES + 1];
        assert!(parse(&big, None).unwrap_err().0.contains("at most"));
        // Errors never quote the report, which may hold secrets where a number belongs.
        let misplaced =
            r#"[{"RuleID":"aws","File":"a","StartLine":"AKIAIOSFODNN7EXAMPLE","Secret":"x"}]"#;
        let e = parse(misplaced.as_bytes(), None).unwrap_err();
        assert!(!e.0.contains("AKIA"), "{e}");
        let e = parse(br#"[{"RuleID":"aws","StartLine":1,"Secret":"x"}]"#, None).unwrap_err();
        assert!(e.0.contains("`File`"), "{e}");
        let redacted = r#"[{"RuleID":"aws","File":"a","StartLine":1,"Secret":""}]"#;
        assert!(
            parse(redacted.as_bytes(), None)
                .unwrap_err()
                .0
                .contains("redact")
        );
        assert_eq!(
            parse(b"null", Some(SecretSource::Gitleaks))
                .unwrap()
                .findings,
            vec![]
        );
    }
}
