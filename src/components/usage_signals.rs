//! How grants that ended lately were used: never, for a fraction of their time, always
//! extended — of an identity, or of a resource.

use leptos::prelude::*;
use stint_core::usage::UsageSignals;

#[component]
pub fn UsageSignalsView(
    usage: UsageSignals,
    /// What the grants were of: "identity" or "resource".
    subject: &'static str,
) -> impl IntoView {
    let summary = if usage.ended_grants == 0 {
        format!(
            "No grant of this {subject} ended in the last {} days.",
            usage.days
        )
    } else {
        let grants = if usage.ended_grants == 1 {
            "grant"
        } else {
            "grants"
        };
        let mut text = format!(
            "In the last {} days {} {grants} ended; {} never used.",
            usage.days, usage.ended_grants, usage.never_used
        );
        if let Some(share) = usage.median_used_share {
            text.push_str(&format!(
                " Of the {} its servers checked, half were last used within the first {} % of their time.",
                usage.watched,
                (share * 100.0).round() as i64
            ));
        }
        if usage.always_extended {
            text.push_str(&format!(
                " All {} were extended: its tasks may need longer grants, or renewals keep standing access alive.",
                usage.ended_grants
            ));
        } else if usage.extended > 0 {
            let were = if usage.extended == 1 { "was" } else { "were" };
            text.push_str(&format!(" {} {were} extended.", usage.extended));
        }
        text
    };
    view! {
        <section aria-labelledby="usage-title">
            <h2 id="usage-title">"How its access was used"</h2>
            <p data-testid="usage-signals">{summary}</p>
            <p class="muted">"Grants that go unused, or are used for a fraction of their length, ask for shorter or fewer grants."</p>
        </section>
    }
}

/// A resource's signals, read when its editor opens (the list of resources carries none).
#[component]
pub fn ResourceUsage(id: i64) -> impl IntoView {
    let resource = LocalResource::new(move || crate::api::resource(id));
    move || {
        resource
            .get()
            .and_then(Result::ok)
            .and_then(|r| r.usage)
            .map(|usage| view! { <UsageSignalsView usage subject="resource"/> })
    }
}
