//! Access review campaigns: a snapshot of everything that gives access in a scope, each
//! item put to the person who must answer for it, who keeps it, changes it or revokes it.
//!
//! The broker reads what gives access now ([`Subjects`]) in the transaction that starts
//! the campaign; [`plan`] turns it into items and assigns each; [`decide`] says whether a
//! decision may be recorded. A closed campaign is a record: nothing in it changes.

use crate::api::NamedRef;
use crate::model::IdentityKind;
use crate::rules::{self, RuleError};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The longest a campaign may run before it is due.
pub const MAX_DUE_DAYS: i64 = 180;
/// A comment shorter than this does not say why.
pub const COMMENT_MIN_CHARS: usize = 10;
/// At most this long: a revocation's reason quotes it with the campaign's name.
pub const COMMENT_MAX_CHARS: usize = 1000;
pub const LINK_MAX_CHARS: usize = 500;

/// What a campaign covers: resources and identity kinds (empty: all of them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignScope {
    #[serde(default)]
    pub resource_ids: Vec<i64>,
    #[serde(default)]
    pub identity_kinds: Vec<IdentityKind>,
}

impl CampaignScope {
    pub fn has_resource(&self, id: i64) -> bool {
        self.resource_ids.is_empty() || self.resource_ids.contains(&id)
    }

    pub fn has_kind(&self, kind: IdentityKind) -> bool {
        self.identity_kinds.is_empty() || self.identity_kinds.contains(&kind)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewCampaignBody {
    pub name: String,
    #[serde(default)]
    pub scope: CampaignScope,
    pub due_at: DateTime<Utc>,
}

/// The campaign as filed: its name trimmed and checked, its due time ahead but not far.
pub fn check_new(body: &NewCampaignBody, now: DateTime<Utc>) -> Result<NewCampaignBody, RuleError> {
    let name = body.name.trim().to_string();
    rules::check_plain_text("name", &name)?;
    if name.chars().count() < 3 {
        return Err(RuleError::invalid(
            "name",
            "name the campaign (at least 3 characters)",
        ));
    }
    if name.chars().count() > 120 {
        return Err(RuleError::invalid("name", "at most 120 characters"));
    }
    if body.due_at <= now {
        return Err(RuleError::invalid("due_at", "the due time must be ahead"));
    }
    if body.due_at > now + Duration::days(MAX_DUE_DAYS) {
        return Err(RuleError::invalid(
            "due_at",
            format!("a campaign is due within {MAX_DUE_DAYS} days"),
        ));
    }
    Ok(NewCampaignBody {
        name,
        scope: body.scope.clone(),
        due_at: body.due_at,
    })
}

/// What one item puts to its reviewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A resource's policy: approvals, maximum, break-glass (admins answer).
    Policy,
    /// A person named as an approver of a resource (they answer).
    Approver,
    /// A rule that approves requests without people (admins answer).
    AutoApproval,
    /// An owner's declaration for an identity (the owner answers).
    Ownership,
    /// An identity nobody answers for (admins answer).
    Orphan,
    /// A live or scheduled grant (an owner of its identity answers).
    Grant,
    /// A standing credential mapped to an identity (an owner of it answers).
    Standing,
}

impl ItemKind {
    pub const ALL: [ItemKind; 7] = [
        ItemKind::Policy,
        ItemKind::Approver,
        ItemKind::AutoApproval,
        ItemKind::Ownership,
        ItemKind::Orphan,
        ItemKind::Grant,
        ItemKind::Standing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Policy => "policy",
            ItemKind::Approver => "approver",
            ItemKind::AutoApproval => "auto_approval",
            ItemKind::Ownership => "ownership",
            ItemKind::Orphan => "orphan",
            ItemKind::Grant => "grant",
            ItemKind::Standing => "standing",
        }
    }

    pub fn parse(s: &str) -> Option<ItemKind> {
        ItemKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            ItemKind::Policy => "Policy",
            ItemKind::Approver => "Approver",
            ItemKind::AutoApproval => "Auto-approval rule",
            ItemKind::Ownership => "Ownership",
            ItemKind::Orphan => "Orphaned identity",
            ItemKind::Grant => "Live grant",
            ItemKind::Standing => "Standing credential",
        }
    }

    /// The decisions an item of this kind takes: revoking is offered only where Stint can
    /// carry it out itself (end a grant, end a declaration, mark a secret rotated).
    pub fn decisions(self) -> &'static [Decision] {
        match self {
            ItemKind::Ownership | ItemKind::Grant | ItemKind::Standing => {
                &[Decision::Keep, Decision::Change, Decision::Revoke]
            }
            _ => &[Decision::Keep, Decision::Change],
        }
    }

    /// What revoking this kind does, in the reviewer's words.
    pub fn revoke_means(self) -> Option<&'static str> {
        match self {
            ItemKind::Ownership => Some("step down, no longer answering for this identity"),
            ItemKind::Grant => Some("end the grant now"),
            ItemKind::Standing => Some("mark the secret rotated and resolved"),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// It is right as it is.
    Keep,
    /// It must change; the change is made elsewhere and linked.
    Change,
    /// It must end now; Stint ends it.
    Revoke,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Keep => "keep",
            Decision::Change => "change",
            Decision::Revoke => "revoke",
        }
    }

    pub fn parse(s: &str) -> Option<Decision> {
        [Decision::Keep, Decision::Change, Decision::Revoke]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionBody {
    pub decision: Decision,
    #[serde(default)]
    pub comment: String,
    /// Where the change is made (a ticket, a pull request): required to change.
    #[serde(default)]
    pub link: Option<String>,
}

/// Who answers an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Assignee {
    User {
        user: NamedRef,
    },
    /// Any admin.
    Admins,
}

/// What gives access in a campaign's scope now, as the broker reads it.
#[derive(Debug, Clone, Default)]
pub struct Subjects {
    pub resources: Vec<ResourceSubject>,
    pub identities: Vec<IdentitySubject>,
    pub grants: Vec<GrantSubject>,
    pub standing: Vec<StandingSubject>,
}

#[derive(Debug, Clone)]
pub struct ResourceSubject {
    pub resource: NamedRef,
    /// The policy in words (`rules::describe_policy`).
    pub policy: String,
    /// Named approvers (none: everyone with the approver role).
    pub approvers: Vec<NamedRef>,
    /// The auto-approval rule in words, if it has one.
    pub auto_approval: Option<String>,
}

#[derive(Debug, Clone)]
pub struct IdentitySubject {
    pub identity: NamedRef,
    /// Current declarations, oldest first.
    pub owners: Vec<Owner>,
}

#[derive(Debug, Clone)]
pub struct Owner {
    pub declaration: i64,
    pub user: NamedRef,
    pub attest_until: DateTime<Utc>,
    /// The account is disabled: it can answer nothing.
    pub disabled: bool,
}

#[derive(Debug, Clone)]
pub struct GrantSubject {
    pub grant_id: i64,
    pub identity: NamedRef,
    pub resource: NamedRef,
    pub privilege: String,
    pub holder: NamedRef,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct StandingSubject {
    pub standing_id: i64,
    pub identity: NamedRef,
    pub resource: NamedRef,
    pub location: String,
}

/// One item as the campaign starts it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedItem {
    pub kind: ItemKind,
    pub subject: String,
    pub detail: String,
    pub assignee: Assignee,
    pub resource_id: Option<i64>,
    pub identity_id: Option<i64>,
    pub grant_id: Option<i64>,
    pub ownership_id: Option<i64>,
    pub standing_id: Option<i64>,
    /// Whose access it is (a grant's holder, a named approver, an owner).
    pub subject_user_id: Option<i64>,
}

impl PlannedItem {
    fn new(kind: ItemKind, subject: String, detail: String, assignee: Assignee) -> PlannedItem {
        PlannedItem {
            kind,
            subject,
            detail,
            assignee,
            resource_id: None,
            identity_id: None,
            grant_id: None,
            ownership_id: None,
            standing_id: None,
            subject_user_id: None,
        }
    }
}

/// Who answers for what an identity holds: its longest-standing owner who can answer and
/// is not the one holding it (nobody certifies their own access), else the admins.
fn answerer(identity: Option<&IdentitySubject>, holder: Option<&NamedRef>) -> Assignee {
    identity
        .and_then(|i| {
            i.owners
                .iter()
                .find(|o| !o.disabled && holder.is_none_or(|h| h.id != o.user.id))
        })
        .map(|o| Assignee::User {
            user: o.user.clone(),
        })
        .unwrap_or(Assignee::Admins)
}

/// The campaign's items: every resource's policy and named approvers, auto-approval
/// rules, every identity's owners (or its orphaning), live grants and mapped standing
/// credentials, each assigned to whoever must answer for it.
pub fn plan(subjects: &Subjects) -> Vec<PlannedItem> {
    let mut items = Vec::new();
    for r in &subjects.resources {
        let mut policy = PlannedItem::new(
            ItemKind::Policy,
            r.resource.name.clone(),
            r.policy.clone(),
            Assignee::Admins,
        );
        policy.resource_id = Some(r.resource.id);
        items.push(policy);
        // Admins answer whether someone should approve: nobody certifies their own right.
        for approver in &r.approvers {
            let mut item = PlannedItem::new(
                ItemKind::Approver,
                format!("{} approves for {}", approver.name, r.resource.name),
                "Named as an approver of this resource's requests".into(),
                Assignee::Admins,
            );
            item.resource_id = Some(r.resource.id);
            item.subject_user_id = Some(approver.id);
            items.push(item);
        }
        if let Some(rule) = &r.auto_approval {
            let mut item = PlannedItem::new(
                ItemKind::AutoApproval,
                r.resource.name.clone(),
                rule.clone(),
                Assignee::Admins,
            );
            item.resource_id = Some(r.resource.id);
            items.push(item);
        }
    }
    for i in &subjects.identities {
        if i.owners.is_empty() {
            let mut item = PlannedItem::new(
                ItemKind::Orphan,
                i.identity.name.clone(),
                "Nobody answers for this identity: nobody may ask for access for it".into(),
                Assignee::Admins,
            );
            item.identity_id = Some(i.identity.id);
            items.push(item);
        }
        for owner in &i.owners {
            // A disabled account's declaration still counts; the admins answer for it.
            let (assignee, note) = if owner.disabled {
                (Assignee::Admins, " (the owner's account is disabled)")
            } else {
                (
                    Assignee::User {
                        user: owner.user.clone(),
                    },
                    "",
                )
            };
            let mut item = PlannedItem::new(
                ItemKind::Ownership,
                format!("{} answers for {}", owner.user.name, i.identity.name),
                format!(
                    "Declared until {}{note}",
                    crate::moments::date(&owner.attest_until)
                ),
                assignee,
            );
            item.identity_id = Some(i.identity.id);
            item.ownership_id = Some(owner.declaration);
            item.subject_user_id = Some(owner.user.id);
            items.push(item);
        }
    }
    let identity = |id: i64| subjects.identities.iter().find(|i| i.identity.id == id);
    for g in &subjects.grants {
        let mut item = PlannedItem::new(
            ItemKind::Grant,
            format!(
                "{} on {} ({})",
                g.identity.name, g.resource.name, g.privilege
            ),
            format!(
                "Held by {} until {}",
                g.holder.name,
                crate::moments::utc_minute(&g.expires_at)
            ),
            answerer(identity(g.identity.id), Some(&g.holder)),
        );
        item.identity_id = Some(g.identity.id);
        item.resource_id = Some(g.resource.id);
        item.grant_id = Some(g.grant_id);
        item.subject_user_id = Some(g.holder.id);
        items.push(item);
    }
    for s in &subjects.standing {
        let mut item = PlannedItem::new(
            ItemKind::Standing,
            format!(
                "{} reaches {} outside JIT",
                s.identity.name, s.resource.name
            ),
            format!("A standing credential at {}", s.location),
            answerer(identity(s.identity.id), None),
        );
        item.identity_id = Some(s.identity.id);
        item.resource_id = Some(s.resource.id);
        item.standing_id = Some(s.standing_id);
        items.push(item);
    }
    items
}

/// The facts a decision is checked against.
pub struct Decidable<'a> {
    pub campaign_closed: bool,
    pub kind: ItemKind,
    pub already_decided: bool,
    pub assignee: &'a Assignee,
    pub actor_id: i64,
    pub actor_is_admin: bool,
    /// Whose access the item is, when answering it oneself would be certifying one's own
    /// (a grant's holder, a named approver).
    pub conflicted: Option<i64>,
}

/// The decision as recorded (comment trimmed, link checked), or why it may not be.
pub fn decide(d: &Decidable, body: &DecisionBody) -> Result<(String, Option<String>), RuleError> {
    if d.campaign_closed {
        return Err(RuleError::Conflict(
            "the campaign is closed: its decisions are final".into(),
        ));
    }
    if d.already_decided {
        return Err(RuleError::Conflict("this item has been decided".into()));
    }
    let mine = match d.assignee {
        Assignee::User { user } => user.id == d.actor_id,
        Assignee::Admins => d.actor_is_admin,
    };
    if !mine {
        return Err(RuleError::Forbidden(
            "this item is for someone else to answer".into(),
        ));
    }
    if d.conflicted == Some(d.actor_id) {
        return Err(RuleError::Forbidden(
            "this is your own access: another admin must answer for it".into(),
        ));
    }
    if !d.kind.decisions().contains(&body.decision) {
        return Err(RuleError::invalid(
            "decision",
            format!(
                "an item of this kind can only be kept or changed, not {}d",
                body.decision.as_str()
            ),
        ));
    }
    let min = if body.decision == Decision::Keep {
        0
    } else {
        COMMENT_MIN_CHARS
    };
    let comment = rules::bounded_text(
        "comment",
        &body.comment,
        min,
        &format!("say why (at least {COMMENT_MIN_CHARS} characters)"),
    )?;
    if comment.chars().count() > COMMENT_MAX_CHARS {
        return Err(RuleError::invalid(
            "comment",
            format!("at most {COMMENT_MAX_CHARS} characters"),
        ));
    }
    let link = match body
        .link
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        Some(link) if link.chars().count() > LINK_MAX_CHARS => {
            return Err(RuleError::invalid(
                "link",
                format!("at most {LINK_MAX_CHARS} characters"),
            ));
        }
        Some(link) if link.starts_with("https://") || link.starts_with("http://") => {
            rules::check_plain_text("link", link)?;
            Some(link.to_string())
        }
        Some(_) => {
            return Err(RuleError::invalid(
                "link",
                "a link starts with https:// or http://",
            ));
        }
        None if body.decision == Decision::Change => {
            return Err(RuleError::invalid(
                "link",
                "link the change (a ticket, a pull request)",
            ));
        }
        None => None,
    };
    Ok((comment, link))
}

/// A campaign as listed and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignView {
    pub id: i64,
    pub name: String,
    pub scope: CampaignScope,
    pub created_by: NamedRef,
    pub created_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<NamedRef>,
    /// Items in the campaign, and how many are decided.
    pub items: u32,
    pub decided: u32,
    /// Items the viewer must answer and has not yet.
    pub mine_open: u32,
}

impl CampaignView {
    /// Open with undecided items after its due time.
    pub fn overdue(&self, now: DateTime<Utc>) -> bool {
        self.closed_at.is_none() && self.decided < self.items && self.due_at <= now
    }

    /// Decided share in whole percent (100 of nothing).
    pub fn progress_percent(&self) -> u32 {
        (self.decided * 100).checked_div(self.items).unwrap_or(100)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignItemView {
    pub id: i64,
    pub campaign_id: i64,
    pub kind: ItemKind,
    pub subject: String,
    pub detail: String,
    pub assignee: Assignee,
    pub resource_id: Option<i64>,
    pub identity_id: Option<i64>,
    pub grant_id: Option<i64>,
    pub decision: Option<Decision>,
    pub comment: Option<String>,
    pub link: Option<String>,
    pub decided_by: Option<NamedRef>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Whether the viewer may answer it now.
    pub can_decide: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignDetail {
    #[serde(flatten)]
    pub campaign: CampaignView,
    /// All items for admins and auditors; the viewer's own for anyone else.
    pub item_list: Vec<CampaignItemView>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn named(id: i64, name: &str) -> NamedRef {
        NamedRef::new(id, name)
    }

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, day, 0, 0, 0).unwrap()
    }

    fn owner(declaration: i64, user: NamedRef, disabled: bool) -> Owner {
        Owner {
            declaration,
            user,
            attest_until: at(30),
            disabled,
        }
    }

    fn subjects() -> Subjects {
        Subjects {
            resources: vec![ResourceSubject {
                resource: named(1, "payments-db"),
                policy: "1 approval".into(),
                approvers: vec![named(2, "bob")],
                auto_approval: Some("read for 15 min".into()),
            }],
            identities: vec![
                IdentitySubject {
                    identity: named(10, "ci-deployer"),
                    owners: vec![
                        owner(100, named(1, "alice"), false),
                        owner(101, named(3, "erin"), false),
                        owner(102, named(4, "frank"), true),
                    ],
                },
                IdentitySubject {
                    identity: named(11, "report-cron"),
                    owners: vec![],
                },
            ],
            grants: vec![GrantSubject {
                grant_id: 7,
                identity: named(10, "ci-deployer"),
                resource: named(1, "payments-db"),
                privilege: "read".into(),
                holder: named(3, "erin"),
                expires_at: at(7),
            }],
            standing: vec![StandingSubject {
                standing_id: 5,
                identity: named(10, "ci-deployer"),
                resource: named(1, "payments-db"),
                location: "deploy/.env:1".into(),
            }],
        }
    }

    #[test]
    fn each_item_goes_to_who_must_answer_for_it() {
        let items = plan(&subjects());
        let who = |kind: ItemKind| -> Vec<Assignee> {
            items
                .iter()
                .filter(|i| i.kind == kind)
                .map(|i| i.assignee.clone())
                .collect()
        };
        let user = |id, name| Assignee::User {
            user: named(id, name),
        };
        assert_eq!(who(ItemKind::Policy), vec![Assignee::Admins]);
        assert_eq!(
            who(ItemKind::Approver),
            vec![Assignee::Admins],
            "not bob: nobody certifies their own right"
        );
        assert_eq!(who(ItemKind::AutoApproval), vec![Assignee::Admins]);
        assert_eq!(
            who(ItemKind::Ownership),
            vec![user(1, "alice"), user(3, "erin"), Assignee::Admins],
            "a disabled owner's declaration is the admins' to answer"
        );
        assert_eq!(who(ItemKind::Orphan), vec![Assignee::Admins]);
        assert_eq!(
            who(ItemKind::Grant),
            vec![user(1, "alice")],
            "an owner other than erin, who holds it"
        );
        assert_eq!(
            who(ItemKind::Standing),
            vec![user(1, "alice")],
            "the first owner"
        );
    }

    #[test]
    fn decisions_are_the_assignees_once_with_reasons() {
        let alice = Assignee::User {
            user: named(1, "alice"),
        };
        let d = |closed, decided, actor| Decidable {
            campaign_closed: closed,
            kind: ItemKind::Grant,
            already_decided: decided,
            assignee: &alice,
            actor_id: actor,
            actor_is_admin: false,
            conflicted: None,
        };
        let body = |decision, comment: &str, link: Option<&str>| DecisionBody {
            decision,
            comment: comment.into(),
            link: link.map(str::to_string),
        };
        assert!(decide(&d(false, false, 1), &body(Decision::Keep, "", None)).is_ok());
        assert!(matches!(
            decide(&d(true, false, 1), &body(Decision::Keep, "", None)),
            Err(RuleError::Conflict(_))
        ));
        assert!(matches!(
            decide(&d(false, true, 1), &body(Decision::Keep, "", None)),
            Err(RuleError::Conflict(_))
        ));
        assert!(matches!(
            decide(&d(false, false, 2), &body(Decision::Keep, "", None)),
            Err(RuleError::Forbidden(_))
        ));
        assert!(matches!(
            decide(&d(false, false, 1), &body(Decision::Revoke, "no", None)),
            Err(RuleError::Invalid {
                field: "comment",
                ..
            })
        ));
        assert!(matches!(
            decide(
                &d(false, false, 1),
                &body(Decision::Change, "narrow it to read", None)
            ),
            Err(RuleError::Invalid { field: "link", .. })
        ));
        assert!(matches!(
            decide(
                &d(false, false, 1),
                &body(Decision::Change, "narrow it to read", Some("javascript:x"))
            ),
            Err(RuleError::Invalid { field: "link", .. })
        ));
        let own_grant = Decidable {
            assignee: &Assignee::Admins,
            actor_is_admin: true,
            conflicted: Some(9),
            ..d(false, false, 9)
        };
        assert!(
            matches!(
                decide(&own_grant, &body(Decision::Keep, "", None)),
                Err(RuleError::Forbidden(_))
            ),
            "an admin does not keep their own grant"
        );
        let policy = Decidable {
            kind: ItemKind::Policy,
            assignee: &Assignee::Admins,
            actor_is_admin: true,
            ..d(false, false, 9)
        };
        assert!(matches!(
            decide(&policy, &body(Decision::Revoke, "drop this policy", None)),
            Err(RuleError::Invalid {
                field: "decision",
                ..
            })
        ));
    }
}
