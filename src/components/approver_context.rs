//! "Before you decide": what the broker knows about a pending request's identity that
//! bears on approving it — who answers for it, how its last grants here were used, what
//! else gives it access, and whether the time asked for is more than it recently needed.

use crate::components::time::RelativeTime;
use crate::page::Page;
use leptos::prelude::*;
use stint_core::context::{AccessRef, ApproverContext, PastGrant};
use stint_core::format;

#[component]
pub fn ApproverContextPanel(context: ApproverContext, identity: String) -> impl IntoView {
    let ApproverContext {
        owners,
        recent_grants,
        standing_paths,
        unjustified_break_glass,
        open_requests,
        live_grants,
        duration_advice,
    } = context;
    view! {
        <section class="card context" aria-labelledby="context-title" data-testid="approver-context">
            <h2 id="context-title">"Before you decide"</h2>
            {duration_advice.map(|a| {
                let used = if a.longest_use_secs == 0 {
                    format!("none of its last {} grants here was used", a.grants_considered)
                } else {
                    format!(
                        "its last {} grants here were used for at most {}",
                        a.grants_considered,
                        format::duration(a.longest_use_secs)
                    )
                };
                view! {
                    <p class="advice" role="note" data-testid="duration-advice">
                        {format!("This asks for {}; {used}. Consider approving for less.", format::duration(a.asked_secs))}
                    </p>
                }
            })}
            <dl class="facts">
                <dt>"Answers for it"</dt>
                <dd data-testid="context-owners">
                    {if owners.is_empty() {
                        view! { <span class="danger-text">"Nobody: the identity is orphaned"</span> }.into_any()
                    } else {
                        owners.into_iter().map(|o| view! {
                            <div>{o.user.name} <span class="muted">" · attested until "</span><RelativeTime at=o.attest_until/></div>
                        }).collect_view().into_any()
                    }}
                </dd>
                <dt>"Standing paths here"</dt>
                <dd data-testid="context-standing">
                    {match standing_paths {
                        0 => view! { <span class="muted">"None known"</span> }.into_any(),
                        1 => view! { "1 static secret reaches it outside Stint" }.into_any(),
                        n => view! { {format!("{n} static secrets reach it outside Stint")} }.into_any(),
                    }}
                </dd>
                <dt>"Unjustified break-glass"</dt>
                <dd data-testid="context-break-glass">
                    {match unjustified_break_glass {
                        0 => "None in the last 90 days".to_string(),
                        1 => "1 in the last 90 days".to_string(),
                        n => format!("{n} in the last 90 days"),
                    }}
                </dd>
                <dt>"Also waiting"</dt>
                <dd data-testid="context-open">{access_list(open_requests, "No other request")}</dd>
                <dt>"Live access"</dt>
                <dd data-testid="context-live">{access_list(live_grants, "None")}</dd>
            </dl>
            <h3>{format!("Last grants of {identity} here")}</h3>
            {if recent_grants.is_empty() {
                view! { <p class="muted" data-testid="context-history">"None yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="plain" data-testid="context-history">
                        {recent_grants.into_iter().map(past_grant).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

fn past_grant(g: PastGrant) -> impl IntoView {
    let used = match g.used_secs {
        None => "never used".to_string(),
        // Only its servers' checks say how long it was in use; a fetch says it was taken.
        Some(secs) if g.introspections > 0 => format!(
            "{}, last use after {}",
            format::times_used(g.uses),
            format::duration(secs)
        ),
        Some(_) => format!("{}, not checked by its servers", format::times_used(g.uses)),
    };
    view! {
        <li>
            <a href=Page::Request(g.request_id).path()>{format!("#{} {}", g.request_id, g.privilege)}</a>
            {format!(
                " · asked {}, ran {} · {used} · ended ",
                format::duration(g.asked_secs),
                format::duration(g.granted_secs)
            )}
            <RelativeTime at=g.ended_at/>
        </li>
    }
}

fn access_list(items: Vec<AccessRef>, none: &'static str) -> AnyView {
    if items.is_empty() {
        return view! { <span class="muted">{none}</span> }.into_any();
    }
    items
        .into_iter()
        .map(|a| {
            view! {
                <div>
                    {format!("{} ({})", a.resource, a.privilege)}
                    {a.from.map(|from| view! { <span class="muted">" · starts "</span><RelativeTime at=from/> })}
                    {a.until.map(|until| view! { <span class="muted">" · ends "</span><RelativeTime at=until/> })}
                </div>
            }
        })
        .collect_view()
        .into_any()
}

/// The context in the approvals queue, for the request selected there: the facts that
/// should give an approver pause before approving from the list (the request's page has
/// them all). Read when selected: the queue itself stays one cheap call.
#[component]
pub fn QueueContext(id: i64) -> impl IntoView {
    let detail = LocalResource::new(move || crate::api::request(id));
    move || {
        let context = detail.get()?.ok()?.context?;
        let mut facts: Vec<String> = Vec::new();
        if context.owners.is_empty() {
            facts.push("nobody answers for the identity".into());
        }
        if let Some(a) = &context.duration_advice {
            facts.push(format!(
                "asks {}; its last {} grants here were used for at most {}",
                format::duration(a.asked_secs),
                a.grants_considered,
                format::duration(a.longest_use_secs)
            ));
        }
        let never = context
            .recent_grants
            .iter()
            .filter(|g| g.used_secs.is_none())
            .count();
        match (never, context.recent_grants.len()) {
            (0, _) => {}
            (1, 1) => facts.push("its last grant here was never used".into()),
            (never, n) => facts.push(format!(
                "{never} of its last {n} grants here were never used"
            )),
        }
        // Standing paths have their own warning on the queue's card.
        if context.unjustified_break_glass > 0 {
            facts.push(format!(
                "{} unjustified break-glass in 90 days",
                context.unjustified_break_glass
            ));
        }
        if !context.live_grants.is_empty() {
            facts.push(format!(
                "holds {} live or scheduled grant(s)",
                context.live_grants.len()
            ));
        }
        let summary = if facts.is_empty() {
            "Nothing in its history gives pause.".to_string()
        } else {
            format!("Before you decide: {}.", facts.join(" · "))
        };
        Some(view! {
            <p class="muted" data-testid="queue-context">
                {summary} " " <a href=Page::Request(id).path()>"Full context"</a>
            </p>
        })
    }
}
