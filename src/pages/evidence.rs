//! The evidence report for auditors: what Stint enforced over a period, section by
//! section, each mapped to the framework items it gives evidence for; downloadable as one
//! HTML file and printable.

use crate::api;
use crate::components::bar_chart::BarChart;
use crate::components::connection::steady;
use crate::components::states::{Loaded, RoleGate, refetch};
use crate::components::time::InlineTime;
use crate::page::Page;
use crate::time::{from_local_input, to_local_input, zone_name};
use chrono::{DateTime, SecondsFormat, Utc};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use stint_core::evidence::frameworks::describe;
use stint_core::evidence::{EvidenceReport, FrameworkRow, Section};
use stint_core::visibility;

#[component]
pub fn Evidence() -> impl IntoView {
    view! {
        <RoleGate roles=visibility::READS_EVERYTHING what="The evidence report" who="auditors and admins">
            <EvidencePage/>
        </RoleGate>
    }
}

/// The period's bounds from the URL (`since`, `until`, UTC), so a report is a link.
fn period_query(since: Option<String>, until: Option<String>) -> String {
    [("since", since), ("until", until)]
        .into_iter()
        .filter_map(|(key, v)| {
            v.filter(|v| !v.is_empty())
                .map(|v| format!("{key}={}", api::encode_query(&v)))
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[component]
fn EvidencePage() -> impl IntoView {
    let query = use_query_map();
    let navigate = use_navigate();
    let period = move || {
        let q = query.read();
        period_query(q.get("since"), q.get("until"))
    };
    let report = LocalResource::new(move || {
        let p = period();
        async move { api::evidence(&p).await }
    });
    // The inputs show the period read (the default one too), in the viewer's zone.
    let since = RwSignal::new(String::new());
    let until = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(Ok(r)) = report.get() {
            since.set(to_local_input(r.since));
            until.set(to_local_input(r.until));
        }
    });
    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let utc = |v: RwSignal<String>| {
            from_local_input(&v.get_untracked())
                .map(|t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        };
        navigate(
            &Page::Evidence.with_query(&period_query(utc(since), utc(until))),
            Default::default(),
        );
    };
    let zone = zone_name()
        .map(|z| format!("&tz={}", api::encode_query(&z)))
        .unwrap_or_default();
    let download = move |format: &str| {
        format!(
            "/api/v1/reports/evidence?format={format}{zone}&{}",
            period()
        )
    };
    let print = move |_| {
        if let Some(window) = web_sys::window() {
            let _ = window.print();
        }
    };
    view! {
        <section class="page wide evidence">
            <header class="page-head">
                <h1>"Evidence report"</h1>
                <p class="muted">
                    "What Stint enforced over a period, with the framework items each part gives evidence for: "
                    "OWASP Non-Human Identities Top 10, NIST CSF 2.0 and SOC 2."
                </p>
            </header>
            <form class="filters card no-print" on:submit=apply aria-label="The report's period">
                <div class="field">
                    <label for="evidence-since">"From"</label>
                    <input id="evidence-since" type="datetime-local" data-testid="evidence-since"
                        prop:value=move || since.get() on:input=move |ev| since.set(event_target_value(&ev))/>
                </div>
                <div class="field">
                    <label for="evidence-until">"Until"</label>
                    <input id="evidence-until" type="datetime-local" data-testid="evidence-until"
                        prop:value=move || until.get() on:input=move |ev| until.set(event_target_value(&ev))/>
                </div>
                <button type="submit" class="button primary">"Show"</button>
                <span class="exports">
                    <a class="button" download="" data-testid="evidence-html" href={
                        let download = download.clone();
                        move || download("html")
                    }>"Download HTML"</a>
                    <a class="button" download="" href=move || download("json")>"JSON"</a>
                    <button type="button" class="button subtle" on:click=print>"Print"</button>
                </span>
            </form>
            <Loaded value=steady(report) rows=8 retry=refetch(report) let:r>
                <Report report=r/>
            </Loaded>
        </section>
    }
}

#[component]
fn Report(report: EvidenceReport) -> impl IntoView {
    let chain = report.chain.clone();
    let attention = report.sections.iter().filter(|s| s.attention).count();
    view! {
        <p class="evidence-period" data-testid="evidence-period">
            "From " <InlineTime at=report.since/> " until " <InlineTime at=report.until/>
            ". Generated " <InlineTime at=report.generated_at/> "."
        </p>
        <div class="card evidence-chain" data-testid="evidence-chain">
            {if chain.verification.ok {
                view! {
                    <span class="badge green"><span aria-hidden="true">"✓ "</span>"The audit trail verifies"</span>
                    {format!(" {} events, up to event {}", chain.verification.count, chain.verification.head_seq)}
                    {match chain.checkpoint {
                        Some(c) => view! {
                            "; it ends on the checkpoint signed " <InlineTime at=c.at/>
                            {format!(" at event {} with key {}.", c.head_seq, c.kid)}
                        }.into_any(),
                        None => view! { "; no signed checkpoint holds it yet." }.into_any(),
                    }}
                }.into_any()
            } else {
                view! {
                    <span class="badge red"><span aria-hidden="true">"✕ "</span>"The audit trail does not verify"</span>
                    {format!(
                        " at event {}: {}.",
                        chain.verification.first_bad_seq.unwrap_or_default(),
                        chain.verification.reason.clone().unwrap_or_default()
                    )}
                }.into_any()
            }}
        </div>
        <p class="muted" aria-live="polite">
            {match attention {
                0 => "Nothing needs attention.".to_string(),
                1 => "1 section needs attention.".to_string(),
                n => format!("{n} sections need attention."),
            }}
        </p>
        <nav class="evidence-toc no-print" aria-label="Sections">
            <ul>
                {report.sections.iter().map(|s| view! {
                    <li><a href=format!("#{}", s.key.as_str())>{s.title.clone()}</a>
                        {s.attention.then(|| view! { <span class="badge amber">"attention"</span> })}
                    </li>
                }).collect_view()}
            </ul>
        </nav>
        {report.sections.into_iter().map(|section| view! { <ReportSection section/> }).collect_view()}
        <section class="card evidence-section" aria-labelledby="evidence-matrix">
            <h2 id="evidence-matrix">"Where the evidence is, by framework"</h2>
            <p class="muted small">
                "Each item, with the sections that give evidence for it. An item with none is one Stint's records say nothing about."
            </p>
            <Matrix name="OWASP Non-Human Identities Top 10 (2025)" rows=report.owasp_nhi/>
            <Matrix name="NIST Cybersecurity Framework 2.0" rows=report.nist_csf/>
            <Matrix name="SOC 2 common criteria" rows=report.soc2/>
        </section>
    }
}

#[component]
fn ReportSection(section: Section) -> impl IntoView {
    let key = section.key.as_str();
    let heading = format!("evidence-{key}-title");
    let labelled_by = heading.clone();
    let events = Page::Audit.with_query(&section.events_query);
    let tags: Vec<String> = section
        .owasp_nhi
        .iter()
        .chain(&section.nist_csf)
        .chain(&section.soc2)
        .cloned()
        .collect();
    view! {
        <section
            id=key
            class=if section.attention { "card evidence-section attention" } else { "card evidence-section" }
            aria-labelledby=labelled_by
            data-testid=format!("evidence-{key}")
        >
            <h2 id=heading>
                {section.title.clone()}
                {section.attention.then(|| view! { " " <span class="badge amber">"needs attention"</span> })}
            </h2>
            <p>{section.summary.clone()}</p>
            <dl class="figures">
                {section.figures.iter().map(|f| view! {
                    <div data-figure=f.key.clone()><dt>{f.label.clone()}</dt><dd>{f.display()}</dd></div>
                }).collect_view()}
            </dl>
            {section.chart.filter(|c| !c.bars.is_empty()).map(|chart| view! { <BarChart chart/> })}
            {(!section.items.is_empty()).then(|| view! {
                <ul class="evidence-items">
                    {section.items.into_iter().map(|item| view! {
                        <li>
                            {match item.href {
                                Some(href) => view! { <a href=href>{item.label}</a> }.into_any(),
                                None => view! { <strong>{item.label}</strong> }.into_any(),
                            }}
                            {format!(": {}", item.detail)}
                            {item.at.map(|at| view! { " " <span class="muted">"("<InlineTime at/>")"</span> })}
                        </li>
                    }).collect_view()}
                    {(section.more_items > 0).then(|| view! { <li class="muted">{format!("and {} more", section.more_items)}</li> })}
                </ul>
            })}
            <p class="evidence-tags small">
                {tags.into_iter().map(|id| view! { <span class="tag" title=describe(&id)>{id.clone()}</span> }).collect_view()}
                <a href=events>"The events behind these figures"</a>
            </p>
        </section>
    }
}

#[component]
fn Matrix(name: &'static str, rows: Vec<FrameworkRow>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table">
                <caption>{name}</caption>
                <thead><tr><th scope="col">"Item"</th><th scope="col">"Evidence in"</th></tr></thead>
                <tbody>
                    {rows.into_iter().map(|row| view! {
                        <tr>
                            <td>{format!("{} {}", row.id, row.name)}</td>
                            <td>
                                {if row.sections.is_empty() {
                                    view! { <span class="muted">"none from Stint"</span> }.into_any()
                                } else {
                                    row.sections.iter().enumerate().map(|(i, key)| view! {
                                        {(i > 0).then_some(", ")}
                                        <a href=format!("#{}", key.as_str())>{key.title()}</a>
                                    }).collect_view().into_any()
                                }}
                            </td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
