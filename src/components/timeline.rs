//! What happened to a request, in order, from the audit trail.

use crate::components::time::RelativeTime;
use leptos::prelude::*;
use serde_json::Value;
use stint_core::api::AuditEventView;
use stint_core::format;

/// Who an event names as its doer: the audit trail's actor, and "Stint" for the broker.
fn actor(event: &AuditEventView) -> String {
    match event.actor.as_str() {
        "stint" => "Stint".into(),
        name => name.to_string(),
    }
}

/// The subject of an event's sentence: its actor, or, for what happened as a consequence
/// of their step, that step ("bob's approval started access …", "alice's break-glass …").
fn subject(event: &AuditEventView, break_glass: bool) -> String {
    let who = actor(event);
    match (event.action.as_str(), event.actor.as_str()) {
        ("grant.activated", "stint") => who,
        ("grant.activated", _) if break_glass => format!("{who}'s break-glass"),
        ("grant.activated" | "grant.scheduled" | "grant.extended", _) => {
            format!("{who}'s approval")
        }
        ("review.opened", _) => format!("{who}'s break-glass"),
        _ => who,
    }
}

/// One sentence per event; user text stays text (Leptos escapes it).
fn describe(event: &AuditEventView) -> String {
    let d = &event.details;
    let text = |key: &str| {
        d.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let secs = |key: &str| d.get(key).and_then(Value::as_i64).unwrap_or_default();
    match event.action.as_str() {
        "request.filed" => {
            // An identity filing for itself says what let it in.
            let via = d
                .get("via")
                .and_then(Value::as_str)
                .map(|via| format!(", itself, with its {via}"))
                .unwrap_or_default();
            // A change window, or an extension of a live grant.
            let when = if d.get("starts_at").is_some() {
                format!(", from {}", local_time(d, "starts_at"))
            } else if let Some(grant) = d.get("extends_grant").and_then(Value::as_i64) {
                format!(", to extend grant #{grant}")
            } else {
                String::new()
            };
            format!(
                "filed for {} on {} ({}) for {}{when}{via}",
                text("identity"),
                text("resource"),
                text("privilege"),
                format::duration(secs("duration_secs"))
            )
        }
        "grant.released" => format!(
            "released by its holder after {} of {}: task {}",
            format::duration(secs("used_secs")),
            format::duration(secs("granted_secs")),
            text("outcome")
        ),
        "request.approved" => {
            let remaining = secs("approvals_remaining");
            let tail = if remaining > 0 {
                format!("; {remaining} more needed")
            } else {
                String::new()
            };
            format!(
                "approved for {}{tail}",
                format::duration(secs("duration_secs"))
            )
        }
        "break_glass.taken" => format!(
            "took break-glass access for {} on {} ({}) for {}",
            text("identity"),
            text("resource"),
            text("privilege"),
            format::duration(secs("duration_secs"))
        ),
        "review.opened" => "opened a review, due for a reviewer's judgement".into(),
        "review.decided" => format!("judged the break-glass access {}", text("outcome")),
        "request.auto_approved" => "approved it under the resource's auto-approval rule".into(),
        "request.denied" => "denied the request".into(),
        "request.cancelled" => "cancelled the request".into(),
        "request.expired" => "expired the request: nobody decided in time".into(),
        "grant.activated" if d.get("scheduled").is_some() => "started the scheduled access".into(),
        "grant.activated" => format!(
            "started access for {}",
            format::duration(secs("duration_secs"))
        ),
        "grant.scheduled" => format!(
            "scheduled access for {}, from {}",
            format::duration(secs("duration_secs")),
            local_time(d, "starts_at")
        ),
        "grant.extended" => format!(
            "extended the grant by {}, to {}",
            format::duration(secs("duration_secs")),
            local_time(d, "expires_at")
        ),
        "connector.extended" => format!("moved the end of {} in {}", made(d), text("connector")),
        "credential.issued" => format!("fetched credential {}", text("jti")),
        "grant.revoked" => "revoked the grant".into(),
        "grant.expired" => "expired the grant on time".into(),
        // What a connector did downstream: the role (or, for a webhook, the access).
        "connector.provisioned" => format!("made {} in {}", made(d), text("connector")),
        "connector.revoked" => {
            let sessions = secs("sessions_ended");
            let ended = if sessions > 0 {
                format!("; sessions ended: {sessions}")
            } else {
                String::new()
            };
            format!("took {} away in {}{ended}", made(d), text("connector"))
        }
        "connector.provision_failed" | "connector.extend_failed" | "connector.revoke_failed" => {
            format!(
                "could not {} {} in {} (attempt {}): {}",
                match event.action.as_str() {
                    "connector.revoke_failed" => "take away",
                    "connector.extend_failed" => "extend",
                    _ => "make",
                },
                made(d),
                text("connector"),
                secs("attempt"),
                text("error")
            )
        }
        "grant.revocation_failing" => format!(
            "flagged: taking {} away in {} keeps failing",
            made(d),
            text("connector")
        ),
        other => other.to_string(),
    }
}

/// A moment an event's details name (`key`), in the viewer's zone.
fn local_time(details: &Value, key: &str) -> String {
    details
        .get(key)
        .and_then(|v| serde_json::from_value::<chrono::DateTime<chrono::Utc>>(v.clone()).ok())
        .map(crate::time::short)
        .unwrap_or_default()
}

/// What a connector made: the role's name, or the access for connectors without accounts.
fn made(details: &Value) -> String {
    match details.get("account").and_then(Value::as_str) {
        Some(role) => format!("role {role}"),
        None => "the access".into(),
    }
}

/// Free text worth quoting under the event: a task, a comment, a reason.
fn quote(event: &AuditEventView) -> Option<String> {
    ["task", "comment", "reason", "notes"]
        .iter()
        .find_map(|k| event.details.get(*k).and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[component]
pub fn Timeline(events: Vec<AuditEventView>) -> impl IntoView {
    let break_glass = events.iter().any(|e| e.action == "break_glass.taken");
    view! {
        <ol class="timeline" data-testid="timeline">
            {events
                .into_iter()
                .map(|event| {
                    let sentence = describe(&event);
                    let who = subject(&event, break_glass);
                    let quoted = quote(&event);
                    view! {
                        <li class="timeline-item" data-action=event.action.clone()>
                            <div class="timeline-line">
                                <strong>{who}</strong>
                                " "
                                {sentence}
                                " · "
                                <RelativeTime at=event.at/>
                            </div>
                            {quoted.map(|q| view! { <blockquote>{q}</blockquote> })}
                        </li>
                    }
                })
                .collect_view()}
        </ol>
    }
}
