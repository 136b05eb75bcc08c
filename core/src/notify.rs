//! Notifications: the sinks admins add (a Slack incoming webhook, a signed JSON webhook),
//! which events of the audit trail each hears, who each event is for, and how a sink's
//! deliveries stand. The broker fans events out to sinks and delivers them
//! (`stint_broker::notify`); the portal shows the same views.

use crate::api::NamedRef;
use crate::model::Role;
use crate::rules::{RuleError, check_plain_text};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Who an event is for: the people a sink's message names as the ones to act or to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Those who may still approve the request.
    Approvers,
    /// Who asked, and the identity's owners.
    RequesterAndOwners,
    /// Reviewers (other than whoever took the access), and the identity's owners.
    ReviewersAndOwners,
    /// Reviewers other than whoever took the access.
    Reviewers,
    /// Who holds the grant, and the identity's owners.
    HolderAndOwners,
    /// Admins, and the identity's owners.
    AdminsAndOwners,
    /// Everyone with an item to answer in an access review.
    CampaignAssignees,
    /// The admins who may approve a proposed change: not its proposer, nor anyone it is
    /// about.
    SecondAdmins,
}

/// An event a sink may hear: the audit action, what it means to people, and who it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotifyEvent {
    pub action: &'static str,
    pub label: &'static str,
    pub audience: Audience,
}

const fn event(action: &'static str, label: &'static str, audience: Audience) -> NotifyEvent {
    NotifyEvent {
        action,
        label,
        audience,
    }
}

/// The events sinks may hear, named as the audit trail names them. `grant.revoked` covers
/// a grant ended early by a person and one the broker ended because its credential leaked.
pub const NOTIFY_EVENTS: &[NotifyEvent] = &[
    event(
        "request.filed",
        "A request waits for approval",
        Audience::Approvers,
    ),
    event(
        "request.approved",
        "A request was approved",
        Audience::RequesterAndOwners,
    ),
    event(
        "request.auto_approved",
        "A request was approved by its policy's rule",
        Audience::RequesterAndOwners,
    ),
    event(
        "request.denied",
        "A request was denied",
        Audience::RequesterAndOwners,
    ),
    event(
        "request.expired",
        "A request expired undecided",
        Audience::RequesterAndOwners,
    ),
    event(
        "break_glass.taken",
        "Break-glass access was taken",
        Audience::ReviewersAndOwners,
    ),
    event(
        "review.due_soon",
        "A break-glass review is due in 2 h",
        Audience::Reviewers,
    ),
    event(
        "review.overdue",
        "A break-glass review is overdue",
        Audience::Reviewers,
    ),
    event(
        "grant.expiring",
        "A grant ends in 10 min",
        Audience::HolderAndOwners,
    ),
    event(
        "grant.revoked",
        "A grant was revoked (by a person, or because its credential leaked)",
        Audience::HolderAndOwners,
    ),
    event(
        "grant.revocation_failing",
        "Taking a grant's access away keeps failing",
        Audience::AdminsAndOwners,
    ),
    event(
        "campaign.started",
        "An access review started: items wait for their answers",
        Audience::CampaignAssignees,
    ),
    event(
        "campaign.overdue",
        "An access review is overdue: items still wait for their answers",
        Audience::CampaignAssignees,
    ),
    event(
        "proposal.filed",
        "A change that widens access waits for a second admin",
        Audience::SecondAdmins,
    ),
];

/// The event sinks may hear as `action`, if any.
pub fn notify_event(action: &str) -> Option<&'static NotifyEvent> {
    NOTIFY_EVENTS.iter().find(|e| e.action == action)
}

/// The kinds of sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SinkKind {
    /// A Slack-compatible incoming webhook: Block Kit messages.
    Slack,
    /// Any HTTPS endpoint: a JSON body, signed when the sink has a secret.
    Webhook,
}

impl SinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SinkKind::Slack => "slack",
            SinkKind::Webhook => "webhook",
        }
    }

    pub fn parse(text: &str) -> Option<SinkKind> {
        match text {
            "slack" => Some(SinkKind::Slack),
            "webhook" => Some(SinkKind::Webhook),
            _ => None,
        }
    }
}

/// `POST /api/v1/notifications/sinks`. The URL (a Slack webhook URL is itself a secret) is
/// best given as `url_env`, the name of a variable every broker replica has; `url` stores it
/// in the database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewSinkBody {
    pub name: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The variable holding the key webhooks are signed with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
    pub events: Vec<String>,
    /// Names of resources: the sink hears only of access to these. Absent: of all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<String>>,
}

/// Where a sink posts: a variable's value, or a URL given outright.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkTarget {
    Env(String),
    Url(String),
}

/// A sink body that passed `check_sink`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedSink {
    pub name: String,
    pub kind: SinkKind,
    pub target: SinkTarget,
    pub secret_env: Option<String>,
    pub events: Vec<String>,
    pub resources: Option<Vec<String>>,
}

pub const SINK_NAME_MAX_CHARS: usize = 64;

/// Checks a new sink's body: a name, a known kind, exactly one of `url_env` and `url`,
/// events sinks may hear, and resources named at most once each. Whether the variables are
/// set and the resources exist is the broker's to check.
pub fn check_sink(body: &NewSinkBody) -> Result<CheckedSink, RuleError> {
    let name = body.name.trim();
    check_plain_text("name", name)?;
    if name.is_empty() || name.chars().count() > SINK_NAME_MAX_CHARS {
        return Err(RuleError::invalid(
            "name",
            format!("name is required, at most {SINK_NAME_MAX_CHARS} characters"),
        ));
    }
    let kind = SinkKind::parse(body.kind.trim())
        .ok_or_else(|| RuleError::invalid("kind", "kind must be slack or webhook"))?;
    let target = match (body.url_env.as_deref(), body.url.as_deref()) {
        (Some(var), None) => SinkTarget::Env(check_var_name("url_env", var)?),
        (None, Some(url)) => {
            let url = url.trim();
            check_sink_url("url", url)?;
            SinkTarget::Url(url.to_string())
        }
        _ => {
            return Err(RuleError::invalid(
                "url_env",
                "give exactly one of url_env (the variable holding the URL) and url",
            ));
        }
    };
    let secret_env = match body.secret_env.as_deref() {
        None => None,
        Some(_) if kind == SinkKind::Slack => {
            return Err(RuleError::invalid(
                "secret_env",
                "Slack incoming webhooks do not check signatures: only webhook sinks take a secret",
            ));
        }
        Some(var) => Some(check_var_name("secret_env", var)?),
    };
    let mut events: Vec<String> = Vec::new();
    for action in &body.events {
        let action = action.trim();
        if notify_event(action).is_none() {
            return Err(RuleError::invalid(
                "events",
                format!(
                    "{action:?} is not an event sinks hear (they hear {})",
                    NOTIFY_EVENTS
                        .iter()
                        .map(|e| e.action)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if !events.iter().any(|e| e == action) {
            events.push(action.to_string());
        }
    }
    if events.is_empty() {
        return Err(RuleError::invalid(
            "events",
            "name at least one event for the sink to hear",
        ));
    }
    let resources = match &body.resources {
        None => None,
        Some(names) => {
            let mut unique: Vec<String> = Vec::new();
            for name in names {
                let name = name.trim();
                if name.is_empty() {
                    return Err(RuleError::invalid("resources", "a resource name is empty"));
                }
                if !unique.iter().any(|n| n == name) {
                    unique.push(name.to_string());
                }
            }
            if unique.is_empty() {
                return Err(RuleError::invalid(
                    "resources",
                    "name at least one resource, or leave resources out to hear of all",
                ));
            }
            Some(unique)
        }
    };
    Ok(CheckedSink {
        name: name.to_string(),
        kind,
        target,
        secret_env,
        events,
        resources,
    })
}

/// The prefix of the variables sinks may name. The broker's environment also holds its
/// database URL and connectors' keys: only what the operator named for notifications may
/// become a sink's URL or signing key.
pub const SINK_VARIABLE_PREFIX: &str = "STINT_NOTIFY_";

/// A variable sinks may name: `STINT_NOTIFY_` then letters, digits and `_`.
fn check_var_name(field: &'static str, name: &str) -> Result<String, RuleError> {
    let name = name.trim();
    let valid = name.len() > SINK_VARIABLE_PREFIX.len()
        && name.len() <= 128
        && name.starts_with(SINK_VARIABLE_PREFIX)
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(name.to_string())
    } else {
        Err(RuleError::invalid(
            field,
            format!(
                "{field} must name an environment variable {SINK_VARIABLE_PREFIX}… (letters, digits and _)"
            ),
        ))
    }
}

/// A URL a sink may post to: HTTPS, or plain HTTP to this machine only (a receiver beside
/// the broker), so a notification never crosses a network in the clear.
pub fn check_sink_url(field: &'static str, url: &str) -> Result<(), RuleError> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| RuleError::invalid(field, format!("{field} must be an https:// URL")))?;
    let host = rest
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .rsplit('@')
        .next()
        .unwrap_or_default();
    let hostname = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    if hostname.is_empty() || url.chars().any(char::is_whitespace) {
        return Err(RuleError::invalid(
            field,
            format!("{field} must be an https:// URL with a host"),
        ));
    }
    let loopback = hostname == "localhost"
        || hostname
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(RuleError::invalid(
            field,
            format!("{field} must be an https:// URL (plain http only to this machine)"),
        )),
    }
}

/// A URL as it may be shown: its scheme and host, never its path (a Slack webhook's path
/// is its secret).
pub fn redacted_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            let host = host.rsplit('@').next().unwrap_or_default();
            format!("{scheme}://{host}/…")
        }
        None => "…".into(),
    }
}

/// A sink, as admins see it (`GET /api/v1/notifications/sinks`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SinkView {
    pub id: i64,
    pub name: String,
    pub kind: SinkKind,
    /// Where it posts: `$VARIABLE`, or the URL's scheme and host.
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
    pub events: Vec<String>,
    /// The resources it hears of; absent: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<NamedRef>>,
    pub created_at: DateTime<Utc>,
    pub created_by: NamedRef,
    /// Its deliveries have failed this many attempts in a row.
    pub failures_in_a_row: i64,
    /// Flagged: it kept failing (`failures_in_a_row` reached the retry policy's alert
    /// count) and has not delivered since.
    pub failing: bool,
    pub last_delivered_at: Option<DateTime<Utc>>,
    /// Deliveries not yet delivered nor given up.
    pub pending: i64,
}

/// Where one message to one sink stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not attempted yet.
    Queued,
    /// Attempted and failed; tried again at `next_attempt_at`.
    Retrying,
    /// The sink answered 2xx.
    Delivered,
    /// Not delivered within `GIVE_UP_AFTER_SECS`, or the sink was removed.
    GaveUp,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Retrying => "retrying",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::GaveUp => "gave_up",
        }
    }
}

/// How long a message is retried: news a day old is no longer worth a ping.
pub const GIVE_UP_AFTER_SECS: i64 = 24 * 60 * 60;

/// Whether a sink whose deliveries failed `failures_in_a_row` attempts in a row is
/// flagged, after `alert_after` of them (the connectors' retry policy's count).
pub fn sink_failing(failures_in_a_row: i64, alert_after: i64) -> bool {
    failures_in_a_row >= alert_after.max(1)
}

/// One attempt to deliver a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttemptView {
    pub at: DateTime<Utc>,
    /// The HTTP status the sink answered, if it answered.
    pub response_code: Option<u16>,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

/// One message to one sink (`GET /api/v1/notifications/sinks/{id}/deliveries`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryView {
    pub id: i64,
    /// The audit action it tells of, and that event's sequence number.
    pub event: String,
    pub seq: i64,
    pub status: DeliveryStatus,
    pub queued_at: DateTime<Utc>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// Oldest first.
    pub attempts: Vec<AttemptView>,
}

/// What a notification tells of the request behind its event: enough to decide whether to
/// open it, never a credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoticeRequest {
    pub id: i64,
    pub identity: String,
    pub resource: String,
    pub privilege: String,
    pub duration_secs: i64,
    pub task: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    pub requester: String,
    pub break_glass: bool,
    /// Approved by its policy's rule as it was filed: nobody is to approve it.
    #[serde(default)]
    pub auto_approved: bool,
}

/// Whether an event is news for a sink: a request approved by its policy's rule as it was
/// filed waits for nobody, so its `request.filed` is not sent (its `request.auto_approved`
/// is).
pub fn is_news(action: &str, request: Option<&NoticeRequest>) -> bool {
    !(action == "request.filed" && request.is_some_and(|r| r.auto_approved))
}

/// The facts the recipients of an event are drawn from.
#[derive(Debug, Clone, Default)]
pub struct AudienceFacts {
    pub eligible_approvers: Vec<NamedRef>,
    pub requester: Option<NamedRef>,
    pub holder: Option<NamedRef>,
    pub owners: Vec<NamedRef>,
    /// The enabled reviewers, and the enabled admins.
    pub reviewers: Vec<NamedRef>,
    pub admins: Vec<NamedRef>,
    /// Whoever took break-glass access: not their own reviewer.
    pub taker: Option<i64>,
    /// Those with an item to answer in the access review (admins, for the admins' items).
    pub assignees: Vec<NamedRef>,
    /// The admins who may approve the proposed change.
    pub second_admins: Vec<NamedRef>,
}

/// What a notification tells of a proposed change: what it changes and how it widens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoticeProposal {
    pub id: i64,
    /// "resource prod-cluster".
    pub subject: String,
    pub widenings: Vec<String>,
}

/// What a notification tells of the access review behind its event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoticeCampaign {
    pub id: i64,
    pub name: String,
    pub due_at: DateTime<Utc>,
}

/// Who an event of `audience` is for, each once, in the order the audience names them.
pub fn recipients(audience: Audience, facts: &AudienceFacts) -> Vec<NamedRef> {
    let not_taker = |u: &&NamedRef| Some(u.id) != facts.taker;
    let mut people: Vec<NamedRef> = match audience {
        Audience::Approvers => facts.eligible_approvers.clone(),
        Audience::RequesterAndOwners => facts
            .requester
            .iter()
            .chain(&facts.owners)
            .cloned()
            .collect(),
        Audience::ReviewersAndOwners => facts
            .reviewers
            .iter()
            .filter(not_taker)
            .chain(&facts.owners)
            .cloned()
            .collect(),
        Audience::Reviewers => facts.reviewers.iter().filter(not_taker).cloned().collect(),
        Audience::HolderAndOwners => facts.holder.iter().chain(&facts.owners).cloned().collect(),
        Audience::AdminsAndOwners => facts.admins.iter().chain(&facts.owners).cloned().collect(),
        Audience::CampaignAssignees => facts.assignees.clone(),
        Audience::SecondAdmins => facts.second_admins.clone(),
    };
    let mut seen = std::collections::HashSet::new();
    people.retain(|u| seen.insert(u.id));
    people
}

/// Whether someone of `roles` may be named in messages of `event` at all: only approvers
/// approve and only reviewers review; anyone may ask, hold or own.
pub fn may_be_named(event: &NotifyEvent, roles: &[Role]) -> bool {
    match event.audience {
        Audience::Approvers => roles.contains(&Role::Approver),
        Audience::Reviewers => roles.contains(&Role::Reviewer),
        Audience::SecondAdmins => roles.contains(&Role::Admin),
        _ => true,
    }
}

/// Whether someone of `roles` must hear of `action` whatever they chose: break-glass taken
/// and a revocation failing, for reviewers and admins, whose job is to act on them.
pub fn is_required(action: &str, roles: &[Role]) -> bool {
    matches!(action, "break_glass.taken" | "grant.revocation_failing")
        && (roles.contains(&Role::Reviewer) || roles.contains(&Role::Admin))
}

/// Whether a recipient of `roles` who muted `muted` is named in a message of `action`.
pub fn wants(action: &str, roles: &[Role], muted: &[String]) -> bool {
    is_required(action, roles) || !muted.iter().any(|m| m == action)
}

/// One line of a person's notification choices (`GET /api/v1/me/notifications`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationChoice {
    pub event: String,
    pub label: String,
    pub wanted: bool,
    /// Their roles do not let them mute it.
    pub required: bool,
}

/// The choices of someone of `roles` who muted `muted`: every event they may be named in.
pub fn choices(roles: &[Role], muted: &[String]) -> Vec<NotificationChoice> {
    NOTIFY_EVENTS
        .iter()
        .filter(|e| may_be_named(e, roles))
        .map(|e| NotificationChoice {
            event: e.action.to_string(),
            label: e.label.to_string(),
            wanted: wants(e.action, roles, muted),
            required: is_required(e.action, roles),
        })
        .collect()
}

/// `PUT /api/v1/me/notifications`: the events to be left out of.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MutesBody {
    pub muted: Vec<String>,
}

/// Checks what someone of `roles` asks to mute: events there are, none they must hear.
pub fn check_mutes(body: &MutesBody, roles: &[Role]) -> Result<Vec<String>, RuleError> {
    let mut muted: Vec<String> = Vec::new();
    for action in &body.muted {
        let action = action.trim();
        if notify_event(action).is_none() {
            return Err(RuleError::invalid(
                "muted",
                format!("{action:?} is not an event notifications tell of"),
            ));
        }
        if is_required(action, roles) {
            return Err(RuleError::invalid(
                "muted",
                format!("reviewers and admins cannot mute {action}: acting on it is their job"),
            ));
        }
        if !muted.iter().any(|m| m == action) {
            muted.push(action.to_string());
        }
    }
    Ok(muted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> NewSinkBody {
        NewSinkBody {
            name: "ops".into(),
            kind: "slack".into(),
            url_env: Some("STINT_NOTIFY_SLACK_URL".into()),
            events: vec!["request.filed".into()],
            ..NewSinkBody::default()
        }
    }

    fn field(body: &NewSinkBody) -> Option<&'static str> {
        check_sink(body).err().and_then(|e| e.field())
    }

    #[test]
    fn a_sink_needs_exactly_one_target_known_events_and_a_kind() {
        assert!(check_sink(&body()).is_ok());
        let both = NewSinkBody {
            url: Some("https://hooks.example/x".into()),
            ..body()
        };
        assert_eq!(field(&both), Some("url_env"));
        let neither = NewSinkBody {
            url_env: None,
            ..body()
        };
        assert_eq!(field(&neither), Some("url_env"));
        let unknown = NewSinkBody {
            events: vec!["request.filed".into(), "user.created".into()],
            ..body()
        };
        assert_eq!(field(&unknown), Some("events"));
        let none = NewSinkBody {
            events: vec![],
            ..body()
        };
        assert_eq!(field(&none), Some("events"));
        let kind = NewSinkBody {
            kind: "email".into(),
            ..body()
        };
        assert_eq!(field(&kind), Some("kind"));
        for var in [
            "1BAD-NAME",
            "STINT_DATABASE_URL",
            "STINT_NOTIFY_",
            "STINT_NOTIFY_X-Y",
        ] {
            let var = NewSinkBody {
                url_env: Some(var.into()),
                ..body()
            };
            assert_eq!(field(&var), Some("url_env"), "{var:?}");
        }
        let slack_secret = NewSinkBody {
            secret_env: Some("STINT_NOTIFY_KEY".into()),
            ..body()
        };
        assert_eq!(field(&slack_secret), Some("secret_env"));
        let webhook_secret = NewSinkBody {
            kind: "webhook".into(),
            ..slack_secret
        };
        assert!(check_sink(&webhook_secret).is_ok());
    }

    #[test]
    fn events_and_resources_are_kept_once_each() {
        let twice = NewSinkBody {
            events: vec!["request.filed".into(), " request.filed ".into()],
            resources: Some(vec!["db".into(), "db".into()]),
            ..body()
        };
        let sink = check_sink(&twice).unwrap();
        assert_eq!(sink.events, vec!["request.filed"]);
        assert_eq!(sink.resources, Some(vec!["db".to_string()]));
        let empty = NewSinkBody {
            resources: Some(vec![]),
            ..body()
        };
        assert_eq!(field(&empty), Some("resources"));
    }

    #[test]
    fn urls_are_https_or_loopback_http_and_shown_without_their_path() {
        for ok in [
            "https://hooks.slack.com/services/T0/B0/secret",
            "http://127.0.0.1:9000/hook",
            "http://localhost/hook",
            "http://[::1]:8080/",
        ] {
            assert!(check_sink_url("url", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://hooks.example.com/x",
            "http://127.0.0.1.evil.example/x",
            "ftp://example.com/",
            "hooks.example.com",
            "https:///nohost",
            "https://a b/",
        ] {
            assert!(check_sink_url("url", bad).is_err(), "{bad}");
        }
        assert_eq!(
            redacted_url("https://hooks.slack.com/services/T0/B0/secret"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            redacted_url("https://user:pw@example.com/x"),
            "https://example.com/…"
        );
    }

    #[test]
    fn recipients_follow_the_audience_once_each_and_never_the_taker_as_reviewer() {
        let (alice, bob, carol, dave) = (
            NamedRef::new(1, "alice"),
            NamedRef::new(2, "bob"),
            NamedRef::new(3, "carol"),
            NamedRef::new(4, "dave"),
        );
        let facts = AudienceFacts {
            eligible_approvers: vec![bob.clone()],
            requester: Some(alice.clone()),
            holder: Some(alice.clone()),
            owners: vec![alice.clone(), carol.clone()],
            reviewers: vec![alice.clone(), dave.clone()],
            admins: vec![dave.clone(), bob.clone()],
            taker: Some(1),
            assignees: vec![carol.clone(), carol.clone()],
            second_admins: vec![bob.clone()],
        };
        let names =
            |a| -> Vec<String> { recipients(a, &facts).into_iter().map(|u| u.name).collect() };
        assert_eq!(names(Audience::Approvers), ["bob"]);
        assert_eq!(names(Audience::RequesterAndOwners), ["alice", "carol"]);
        assert_eq!(
            names(Audience::ReviewersAndOwners),
            ["dave", "alice", "carol"]
        );
        assert_eq!(names(Audience::Reviewers), ["dave"]);
        assert_eq!(names(Audience::HolderAndOwners), ["alice", "carol"]);
        assert_eq!(
            names(Audience::AdminsAndOwners),
            ["dave", "bob", "alice", "carol"]
        );
        assert_eq!(names(Audience::CampaignAssignees), ["carol"], "once each");
        assert_eq!(names(Audience::SecondAdmins), ["bob"]);
    }

    #[test]
    fn reviewers_and_admins_cannot_mute_break_glass_or_failing_revocations() {
        let mute = |events: &[&str], roles: &[Role]| {
            check_mutes(
                &MutesBody {
                    muted: events.iter().map(|e| e.to_string()).collect(),
                },
                roles,
            )
        };
        assert_eq!(
            mute(&["break_glass.taken"], &[Role::Reviewer])
                .unwrap_err()
                .field(),
            Some("muted")
        );
        assert!(mute(&["grant.revocation_failing"], &[Role::Admin]).is_err());
        assert_eq!(
            mute(
                &["break_glass.taken", "break_glass.taken"],
                &[Role::Requester]
            )
            .unwrap(),
            ["break_glass.taken"],
            "an owner who is no reviewer may"
        );
        assert!(mute(&["user.created"], &[Role::Requester]).is_err());
        let muted = vec!["request.filed".to_string(), "break_glass.taken".to_string()];
        assert!(!wants(
            "request.filed",
            &[Role::Approver, Role::Reviewer],
            &muted
        ));
        assert!(wants("break_glass.taken", &[Role::Reviewer], &muted));
        let mine = choices(&[Role::Requester], &[]);
        assert!(
            mine.iter()
                .all(|c| c.event != "request.filed" && c.event != "review.overdue")
        );
        assert!(mine.iter().all(|c| c.wanted && !c.required));
    }

    #[test]
    fn a_sink_is_flagged_after_the_alert_count_of_failures_in_a_row() {
        assert!(!sink_failing(4, 5));
        assert!(sink_failing(5, 5));
        assert!(sink_failing(1, 0));
    }
}
