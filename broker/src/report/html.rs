//! The evidence report as one HTML file an auditor can keep, print or attach: no script,
//! no outside resource, its one stylesheet inline (allowed by its hash), every piece of
//! recorded text escaped by the template.

use axum::http::HeaderValue;
use base64::Engine;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;
use stint_core::evidence::frameworks::{self, FrameworkRow};
use stint_core::evidence::{Chart, EvidenceReport, Section, Unit};

const STYLE: &str = "
:root{color-scheme:light dark;--fg:#1b1f24;--muted:#5b6470;--line:#d4d9df;--accent:#1f6feb;--warn:#b35900;--bad:#c62828;--ok:#1a7f37;--bg:#fff}
@media (prefers-color-scheme:dark){:root{--fg:#e6e9ed;--muted:#9aa4af;--line:#3a414a;--accent:#58a6ff;--warn:#f0a04b;--bad:#ff7b72;--ok:#3fb950;--bg:#0f1419}}
body{font:15px/1.5 system-ui,sans-serif;color:var(--fg);background:var(--bg);max-width:60rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.6rem;margin:0}h2{font-size:1.2rem;margin:0 0 .25rem}
.muted{color:var(--muted)}.small{font-size:.85rem}
section{border:1px solid var(--line);border-radius:8px;padding:1rem 1.25rem;margin:1rem 0;break-inside:avoid}
section.attention{border-left:4px solid var(--warn)}
.status{font-weight:600}.status.ok{color:var(--ok)}.status.bad{color:var(--bad)}.status.warn{color:var(--warn)}
dl.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.5rem 1rem;margin:.75rem 0}
dl.figures div{border-top:1px solid var(--line);padding-top:.25rem}dt{font-size:.8rem;color:var(--muted)}dd{margin:0;font-size:1.15rem;font-weight:600}
.tags span{display:inline-block;border:1px solid var(--line);border-radius:999px;padding:0 .5rem;margin:0 .25rem .25rem 0;font-size:.8rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{text-align:left;border-bottom:1px solid var(--line);padding:.3rem .4rem;vertical-align:top}
svg{width:100%;height:6rem}svg rect{fill:var(--accent)}
a{color:var(--accent)}ul{padding-left:1.2rem}
@media print{body{margin:0;max-width:none;font-size:11pt}a{color:inherit;text-decoration:none}section{border-color:#999}}
";

/// The Content-Security-Policy the report is served under: nothing runs, nothing loads,
/// only its own stylesheet applies.
pub fn content_security_policy() -> HeaderValue {
    static POLICY: LazyLock<HeaderValue> = LazyLock::new(|| inline_style_policy(STYLE));
    POLICY.clone()
}

/// The policy of a page the broker renders itself: no script, nothing loaded, only `style`
/// (its one inline stylesheet, allowed by its hash) applies.
pub fn inline_style_policy(style: &str) -> HeaderValue {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(style.as_bytes()));
    HeaderValue::from_str(&format!(
        "default-src 'none'; style-src 'sha256-{hash}'; img-src data:; base-uri 'none'; \
         form-action 'none'; frame-ancestors 'none'"
    ))
    .expect("base64 and ASCII make a header value")
}

/// The report as a document; links lead to the portal at `portal_url`, times are shown
/// in `zone`.
pub fn render(report: &EvidenceReport, portal_url: &str, zone: Tz) -> String {
    let when = |t: DateTime<Utc>| {
        t.with_timezone(&zone)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string()
    };
    let link = |path: &str| format!("{}{path}", portal_url.trim_end_matches('/'));
    let chain = &report.chain.verification;
    let doc = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Stint evidence report, " (when(report.since)) " to " (when(report.until)) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { "Access evidence report" }
                    p.muted {
                        "Period " (when(report.since)) " to " (when(report.until))
                        ". Generated " (when(report.generated_at)) " by Stint at "
                        a href=(link("/")) { (portal_url) } "."
                    }
                    p {
                        @if chain.ok {
                            span.status.ok { "The audit trail verifies" }
                            " (" (chain.count) " events, head " (chain.head_seq) ")"
                            @if let Some(c) = &report.chain.checkpoint {
                                "; it ends on the checkpoint signed " (when(c.at)) " at event "
                                (c.head_seq) " with key " code { (c.kid) } "."
                            } @else {
                                "; no signed checkpoint holds it yet."
                            }
                        } @else {
                            span.status.bad { "The audit trail does NOT verify" }
                            ": event " (chain.first_bad_seq.unwrap_or_default()) " "
                            (chain.reason.clone().unwrap_or_default()) "."
                        }
                    }
                }
                @for section in &report.sections {
                    (render_section(section, &link, &when))
                }
                section {
                    h2 { "Where the evidence is, by framework" }
                    p.muted.small {
                        "Each item, and the sections above that give evidence for it. An item with \
                         none is one Stint's records say nothing about; look for evidence elsewhere."
                    }
                    (matrix("OWASP Non-Human Identities Top 10 (2025)", &report.owasp_nhi))
                    (matrix("NIST Cybersecurity Framework 2.0", &report.nist_csf))
                    (matrix("SOC 2 common criteria", &report.soc2))
                }
            }
        }
    };
    doc.into_string()
}

fn render_section(
    section: &Section,
    link: &dyn Fn(&str) -> String,
    when: &dyn Fn(DateTime<Utc>) -> String,
) -> Markup {
    html! {
        section id=(section.key.as_str()) class=[section.attention.then_some("attention")] {
            h2 { (section.title) }
            @if section.attention { p.status.warn { "Needs attention" } }
            p { (section.summary) }
            dl.figures {
                @for f in &section.figures {
                    div { dt { (f.label) } dd { (f.display()) } }
                }
            }
            @if let Some(chart) = &section.chart {
                @if !chart.bars.is_empty() { (bars(chart)) }
            }
            @if !section.items.is_empty() {
                ul {
                    @for item in &section.items {
                        li {
                            @match &item.href {
                                Some(href) => a href=(link(href)) { (item.label) },
                                None => (item.label),
                            }
                            ": " (item.detail)
                            @if let Some(at) = item.at { span.muted { " (" (when(at)) ")" } }
                        }
                    }
                    @if section.more_items > 0 { li.muted { "and " (section.more_items) " more" } }
                }
            }
            p.tags.small {
                @for id in section.owasp_nhi.iter().chain(&section.nist_csf).chain(&section.soc2) {
                    span title=(frameworks::describe(id)) { (id) }
                }
                a href=(link(&format!("/audit?{}", section.events_query))) { "The events behind these figures" }
            }
        }
    }
}

/// Bars scaled to the chart's top, drawn as SVG shapes (no style attribute, which the
/// report's policy would refuse).
fn bars(chart: &Chart) -> Markup {
    let top = chart.top() as f64;
    let step = 300.0 / chart.bars.len().max(1) as f64;
    let unit = if chart.unit == Unit::Percent {
        " %"
    } else {
        ""
    };
    html! {
        figure {
            svg viewBox="0 0 300 60" preserveAspectRatio="none" role="img" aria-label=(chart.caption) {
                @for (i, bar) in chart.bars.iter().enumerate() {
                    @let height = (60.0 * bar.value as f64 / top).max(0.5);
                    rect x=(format!("{:.1}", i as f64 * step + 0.5)) y=(format!("{:.1}", 60.0 - height))
                         width=(format!("{:.1}", (step - 1.0).max(0.5))) height=(format!("{height:.1}")) {
                        title { (bar.label) ": " (bar.value) (unit) }
                    }
                }
            }
            figcaption.muted.small { (chart.caption) }
        }
    }
}

fn matrix(name: &str, rows: &[FrameworkRow]) -> Markup {
    html! {
        h3 { (name) }
        table {
            thead { tr { th { "Item" } th { "Evidence in" } } }
            tbody {
                @for row in rows {
                    tr {
                        td { (row.id) " " (row.name) }
                        td {
                            @if row.sections.is_empty() { span.muted { "none from Stint" } }
                            @for (i, key) in row.sections.iter().enumerate() {
                                @if i > 0 { ", " }
                                a href=(format!("#{}", key.as_str())) { (key.title()) }
                            }
                        }
                    }
                }
            }
        }
    }
}
