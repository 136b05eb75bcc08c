//! What a notification says: one event of the trail, told as a Slack Block Kit message or
//! as a JSON document for any webhook. Built once when the delivery is queued, so every
//! retry sends the same words. It names the request, its identity and resource, why and
//! for how long, and who is to act — never a credential or a token: nothing here reads one.

use crate::store::port::NotableEvent;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use stint_core::api::NamedRef;
use stint_core::format::duration;
use stint_core::notify::{NoticeRequest, SinkKind};

/// The body a sink of `kind` is sent about `event`, addressed to `recipients`; links point
/// into the portal at `public_url`.
pub fn body(
    kind: SinkKind,
    event: &NotableEvent,
    recipients: &[NamedRef],
    public_url: &str,
) -> String {
    let link = Link::of(event, public_url.trim_end_matches('/'));
    match kind {
        SinkKind::Slack => slack(event, recipients, link.as_ref()),
        SinkKind::Webhook => webhook(event, recipients, link.as_ref()),
    }
    .to_string()
}

/// Where in the portal a person acts on the event.
struct Link {
    label: &'static str,
    url: String,
}

impl Link {
    fn of(event: &NotableEvent, base: &str) -> Option<Link> {
        if event.proposal.is_some() {
            return Some(Link {
                label: "Review the proposal",
                url: format!("{base}/admin/proposals"),
            });
        }
        if let Some(c) = &event.campaign {
            return Some(Link {
                label: "Answer your items",
                url: format!("{base}/campaigns/{}", c.id),
            });
        }
        if (event.action.starts_with("review.") || event.action == "break_glass.taken")
            && let Some(review) = event.review_id
        {
            return Some(Link {
                label: "Open the review",
                url: format!("{base}/reviews/{review}"),
            });
        }
        event.request.as_ref().map(|r| Link {
            label: if event.action == "request.filed" {
                "Review the request"
            } else {
                "Open the request"
            },
            url: format!("{base}/requests/{}", r.id),
        })
    }
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// "read on orders-db as svc-billing".
fn access(r: &NoticeRequest) -> String {
    format!("{} on {} as {}", r.privilege, r.resource, r.identity)
}

/// One line saying what happened, in plain words.
pub fn summary(event: &NotableEvent) -> String {
    if let Some(c) = &event.campaign {
        let due = c.due_at.format("%Y-%m-%d %H:%M");
        return if event.action == "campaign.overdue" {
            format!(
                "Access review \u{201c}{}\u{201d} was due {due} UTC: your items still wait",
                c.name
            )
        } else {
            format!(
                "Access review \u{201c}{}\u{201d} started: answer your items by {due} UTC",
                c.name
            )
        };
    }
    if let Some(p) = &event.proposal {
        return format!(
            "{} proposes a change to {} that widens access ({}): a second admin must approve it",
            event.actor,
            p.subject,
            p.widenings.join("; ")
        );
    }
    let Some(r) = &event.request else {
        return event.action.clone();
    };
    let holder = event
        .audience
        .holder
        .as_ref()
        .map_or(r.requester.as_str(), |h| h.name.as_str());
    let by = if event.actor == "stint" {
        "Stint".to_string()
    } else {
        event.actor.clone()
    };
    let ends = event
        .grant_expires_at
        .map(|at| format!(" ends at {} UTC", at.format("%H:%M")))
        .unwrap_or_default();
    let due = event
        .review_due_at
        .map(|at| format!(" (due {} UTC)", at.format("%Y-%m-%d %H:%M")))
        .unwrap_or_default();
    match event.action.as_str() {
        "request.filed" => format!(
            "{} asks for {} for {}",
            r.requester,
            access(r),
            duration(r.duration_secs)
        ),
        "request.approved" => format!("{by} approved {}'s request for {}", r.requester, access(r)),
        "request.auto_approved" => format!(
            "{}'s request for {} was approved by its policy's rule",
            r.requester,
            access(r)
        ),
        "request.denied" => format!("{by} denied {}'s request for {}", r.requester, access(r)),
        "request.expired" => format!(
            "{}'s request for {} expired undecided",
            r.requester,
            access(r)
        ),
        "break_glass.taken" => format!(
            "{} took break-glass access: {} for {}",
            r.requester,
            access(r),
            duration(r.duration_secs)
        ),
        "review.due_soon" => format!(
            "The review of {}'s break-glass access ({}) is due soon{due}",
            r.requester,
            access(r)
        ),
        "review.overdue" => format!(
            "The review of {}'s break-glass access ({}) is overdue{due}",
            r.requester,
            access(r)
        ),
        "grant.expiring" => format!("{holder}'s {}{ends}", access(r)),
        "grant.revoked" => format!("{by} revoked {holder}'s {}", access(r)),
        "grant.revocation_failing" => format!(
            "Taking away {holder}'s {} keeps failing: the access may still exist",
            access(r)
        ),
        other => format!("{other}: {}", access(r)),
    }
}

fn webhook(event: &NotableEvent, recipients: &[NamedRef], link: Option<&Link>) -> Value {
    json!({
        "event": event.action,
        "seq": event.seq,
        "at": rfc3339(event.at),
        "actor": event.actor,
        "summary": summary(event),
        "request": event.request,
        "grant": event.grant_id.map(|id| json!({
            "id": id,
            "expires_at": event.grant_expires_at.map(rfc3339),
        })),
        "review": event.review_id.map(|id| json!({
            "id": id,
            "due_at": event.review_due_at.map(rfc3339),
        })),
        "reason": event.reason,
        "campaign": event.campaign,
        "proposal": event.proposal,
        "recipients": recipients.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
        "url": link.map(|l| l.url.as_str()),
    })
}

/// Text as Slack's mrkdwn shows it literally: `&`, `<` and `>` escaped, so a task cannot
/// mention `@channel` or hide a link.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn field(label: &str, value: &str) -> Value {
    json!({ "type": "mrkdwn", "text": format!("*{label}*\n{}", escaped(value)) })
}

fn slack(event: &NotableEvent, recipients: &[NamedRef], link: Option<&Link>) -> Value {
    let summary = summary(event);
    let mut blocks = vec![json!({
        "type": "section",
        "text": { "type": "mrkdwn", "text": escaped(&summary) },
    })];
    if let Some(r) = &event.request {
        let mut fields = vec![
            field("Identity", &r.identity),
            field("Resource", &r.resource),
            field("Privilege", &r.privilege),
            field("For", &duration(r.duration_secs)),
        ];
        if let Some(ticket) = &r.ticket {
            fields.push(field("Ticket", ticket));
        }
        fields.push(field("Requested by", &r.requester));
        blocks.push(json!({ "type": "section", "fields": fields }));
        blocks.push(json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": format!("*Why*\n{}", escaped(&r.task)) },
        }));
    }
    if let Some(reason) = &event.reason {
        blocks.push(json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": format!("*Reason*\n{}", escaped(reason)) },
        }));
    }
    if !recipients.is_empty() {
        let names: Vec<&str> = recipients.iter().map(|u| u.name.as_str()).collect();
        blocks.push(json!({
            "type": "context",
            "elements": [{ "type": "mrkdwn", "text": escaped(&format!("For {}", names.join(", "))) }],
        }));
    }
    if let Some(link) = link {
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": { "type": "plain_text", "text": link.label },
                "url": link.url,
                "style": "primary",
            }],
        }));
    }
    // The fallback text (notifications, screen readers) is mrkdwn too.
    json!({ "text": escaped(&summary), "blocks": blocks })
}

#[cfg(test)]
mod tests {
    use super::*;
    use stint_core::notify::AudienceFacts;

    fn filed() -> NotableEvent {
        NotableEvent {
            seq: 7,
            action: "request.filed".into(),
            at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            actor: "alice".into(),
            request: Some(NoticeRequest {
                id: 3,
                identity: "svc-billing".into(),
                resource: "orders-db".into(),
                privilege: "read".into(),
                duration_secs: 3_600,
                task: "Fix <!channel> & the invoices".into(),
                ticket: Some("OPS-12".into()),
                requester: "alice".into(),
                break_glass: false,
                auto_approved: false,
            }),
            resource_id: Some(2),
            grant_id: None,
            grant_expires_at: None,
            review_id: None,
            review_due_at: None,
            reason: None,
            campaign: None,
            proposal: None,
            audience: AudienceFacts::default(),
        }
    }

    #[test]
    fn slack_says_who_asks_what_why_how_long_and_links_the_request() {
        let bob = [NamedRef::new(2, "bob")];
        let body: Value = serde_json::from_str(&body(
            SinkKind::Slack,
            &filed(),
            &bob,
            "https://stint.example/",
        ))
        .unwrap();
        assert_eq!(
            body["text"],
            "alice asks for read on orders-db as svc-billing for 1 h"
        );
        let text = body.to_string();
        assert!(text.contains("OPS-12"));
        assert!(
            text.contains("Fix &lt;!channel&gt; &amp; the invoices"),
            "{text}"
        );
        assert!(!text.contains("<!channel>"));
        assert!(text.contains("For bob"));
        let button = &body["blocks"].as_array().unwrap().last().unwrap()["elements"][0];
        assert_eq!(button["url"], "https://stint.example/requests/3");
    }

    #[test]
    fn the_webhook_document_names_the_event_its_request_and_recipients() {
        let bob = [NamedRef::new(2, "bob")];
        let body: Value = serde_json::from_str(&body(
            SinkKind::Webhook,
            &filed(),
            &bob,
            "https://s.example",
        ))
        .unwrap();
        assert_eq!(body["event"], "request.filed");
        assert_eq!(body["seq"], 7);
        assert_eq!(body["request"]["ticket"], "OPS-12");
        assert_eq!(body["request"]["task"], "Fix <!channel> & the invoices");
        assert_eq!(body["recipients"], json!(["bob"]));
        assert_eq!(body["url"], "https://s.example/requests/3");
    }
}
