//! The rules of the core loop, as pure functions.
//!
//! The broker loads what a rule needs inside its transaction, asks the rule, and writes
//! the outcome together with its audit event. The portal calls the same functions to
//! preview a form (e.g. the longest duration it can ask for) before anything is sent.

use crate::api::NamedRef;
use crate::model::{Approvers, Policy, Role};
use crate::state::{GrantState, RequestEvent, RequestState, TransitionError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub type UserId = i64;

/// The shortest access anyone can ask for.
pub const MIN_DURATION_SECS: i64 = 1;
/// A task description shorter than this does not explain anything.
pub const TASK_MIN_CHARS: usize = 10;
/// Free text (tasks, comments, reasons) is capped so one request cannot bloat the trail.
pub const TEXT_MAX_CHARS: usize = 2000;
pub const TICKET_MAX_CHARS: usize = 64;

/// Why a rule refused. Each variant maps to one HTTP status at the broker's edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The input is wrong; `field` names it (422).
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// This user may not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// The thing is in a state that does not allow it (409).
    #[error("{0}")]
    Conflict(String),
    /// Allowed, but not this often (429).
    #[error("{0}")]
    TooMany(String),
}

impl RuleError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        RuleError::Invalid {
            field,
            message: message.into(),
        }
    }

    pub fn field(&self) -> Option<&'static str> {
        match self {
            RuleError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl From<TransitionError> for RuleError {
    fn from(e: TransitionError) -> Self {
        RuleError::Conflict(e.to_string())
    }
}

/// Why access is needed: the task, and the ticket that tracks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Justification {
    pub task: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
}

/// Whether `duration_secs` is a duration this policy can grant.
pub fn check_duration(duration_secs: i64, policy: &Policy) -> Result<(), RuleError> {
    let max = policy.max_duration_secs;
    if duration_secs < MIN_DURATION_SECS {
        return Err(RuleError::invalid(
            "duration_secs",
            format!("duration must be at least {MIN_DURATION_SECS} second"),
        ));
    }
    if duration_secs > max {
        return Err(RuleError::invalid(
            "duration_secs",
            format!(
                "duration {} exceeds this resource's maximum of {}",
                crate::format::duration(duration_secs),
                crate::format::duration(max)
            ),
        ));
    }
    Ok(())
}

/// Whether the resource has the privilege asked for.
pub fn check_privilege(privileges: &[String], privilege: &str) -> Result<(), RuleError> {
    if privileges.iter().any(|p| p == privilege) {
        Ok(())
    } else {
        Err(RuleError::invalid(
            "privilege",
            format!(
                "privilege `{privilege}` does not exist on this resource (it has: {})",
                privileges.join(", ")
            ),
        ))
    }
}

/// Characters no text a person typed needs, that can make stored text lie when shown:
/// terminal escapes (ESC and the other controls but newline and tab), bidirectional
/// overrides that reorder what is displayed, and invisible zero-width characters.
pub fn is_deceptive_char(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// Refuses text holding a deceptive character, naming the field and where it is.
pub fn check_plain_text(field: &'static str, text: &str) -> Result<(), RuleError> {
    match text
        .chars()
        .enumerate()
        .find(|(_, c)| is_deceptive_char(*c))
    {
        None => Ok(()),
        Some((at, c)) => Err(RuleError::invalid(
            field,
            format!(
                "{field} holds an invisible or control character (U+{:04X}, character {}); \
                 remove it",
                c as u32,
                at + 1
            ),
        )),
    }
}

/// Trims the justification and checks it says enough; returns what will be stored.
pub fn check_justification(
    justification: &Justification,
    policy: &Policy,
) -> Result<Justification, RuleError> {
    let task = justification.task.trim();
    check_plain_text("justification.task", task)?;
    let task_chars = task.chars().count();
    if task_chars < TASK_MIN_CHARS {
        return Err(RuleError::invalid(
            "justification.task",
            format!("describe the task in at least {TASK_MIN_CHARS} characters"),
        ));
    }
    if task_chars > TEXT_MAX_CHARS {
        return Err(RuleError::invalid(
            "justification.task",
            format!("the task must be at most {TEXT_MAX_CHARS} characters"),
        ));
    }
    let ticket = justification
        .ticket
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if let Some(t) = ticket {
        check_plain_text("justification.ticket", t)?;
    }
    match ticket {
        None if policy.ticket_required => {
            return Err(RuleError::invalid(
                "justification.ticket",
                "this resource requires a ticket reference",
            ));
        }
        Some(t) if t.chars().count() > TICKET_MAX_CHARS => {
            return Err(RuleError::invalid(
                "justification.ticket",
                format!("the ticket reference must be at most {TICKET_MAX_CHARS} characters"),
            ));
        }
        Some(t) => {
            if let Some(pattern) = policy.ticket_pattern.as_deref() {
                // A pattern that no longer compiles matches nothing: refuse, never wave through.
                if crate::admin::ticket_matches(pattern, t) != Ok(true) {
                    return Err(RuleError::invalid(
                        "justification.ticket",
                        format!("`{t}` does not match this resource's ticket format `{pattern}`"),
                    ));
                }
            }
        }
        None => {}
    }
    Ok(Justification {
        task: task.to_string(),
        ticket: ticket.map(str::to_string),
    })
}

/// What a new request asks for, as the broker received it.
pub struct NewRequest<'a> {
    /// Whether the identity has any current accountable owner.
    pub identity_has_owner: bool,
    /// Whether the requester has a current ownership declaration for the identity.
    pub requester_owns_identity: bool,
    /// When an identity files for itself (with its own token): whether it is this one.
    /// `None` for a person.
    pub requester_is_identity: Option<bool>,
    pub resource_privileges: &'a [String],
    pub policy: &'a Policy,
    pub privilege: &'a str,
    pub duration_secs: i64,
    pub justification: &'a Justification,
}

/// Every rule a new request must pass; returns the justification to store.
pub fn check_new_request(new: &NewRequest<'_>) -> Result<Justification, RuleError> {
    if !new.identity_has_owner {
        return Err(RuleError::Conflict(ORPHANED.into()));
    }
    if !may_ask_for(new.requester_owns_identity, new.requester_is_identity) {
        return Err(RuleError::Forbidden(
            match new.requester_is_identity {
                Some(_) => "an identity may request access only for itself",
                None => "only an owner of this identity may request access for it",
            }
            .into(),
        ));
    }
    check_privilege(new.resource_privileges, new.privilege)?;
    check_duration(new.duration_secs, new.policy)?;
    check_justification(new.justification, new.policy)
}

/// Why nothing may be asked for an orphaned identity, and the fix.
pub const ORPHANED: &str = "this identity is orphaned: nobody has declared accountability for \
     it. Declare it on the identity's page (Identities), then ask again";

/// One approver's approval, with the duration they agreed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Approval {
    pub approver_id: UserId,
    pub duration_secs: i64,
}

/// A request as a decision needs to see it.
pub struct Decidable<'a> {
    pub state: RequestState,
    pub requester_id: UserId,
    /// The duration the requester asked for.
    pub duration_secs: i64,
    /// The policy's approval count and approvers when the request was filed.
    pub approvals_required: u32,
    pub approvers: &'a Approvers,
    pub approvals: &'a [Approval],
    /// The identity's current owners: none of them may decide a request for it.
    pub owners: &'a [UserId],
    /// Who vouched for the requester, and so may not decide their requests: the admin who
    /// created a person's account, or whoever minted the token (or registered the issuer)
    /// an identity filed with.
    pub requester_created_by: Option<UserId>,
    /// When the request expires undecided, and the moment of the decision.
    pub pending_expires_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// What an approval leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalOutcome {
    /// Recorded; the request still waits for `remaining` more approvers.
    AwaitingMore { remaining: u32 },
    /// The last approval: a grant of `duration_secs` must be created now.
    Granted { duration_secs: i64 },
}

impl Decidable<'_> {
    /// A request past its deadline is expired even before the sweeper records it.
    fn check_open(&self) -> Result<(), RuleError> {
        if self.state == RequestState::Pending && self.now >= self.pending_expires_at {
            return Err(RuleError::Conflict(
                "this request expired undecided; the requester must file a new one".into(),
            ));
        }
        Ok(())
    }

    fn check_decider(&self, actor_id: UserId, actor_roles: &[Role]) -> Result<(), RuleError> {
        if !actor_roles.contains(&Role::Approver) {
            return Err(RuleError::Forbidden(
                "only users with the approver role may decide requests".into(),
            ));
        }
        if actor_id == self.requester_id {
            return Err(RuleError::Forbidden(
                "you filed this request; another approver must decide it".into(),
            ));
        }
        if self.owners.contains(&actor_id) {
            return Err(RuleError::Forbidden(
                "you own this identity; an approver who does not must decide requests for it"
                    .into(),
            ));
        }
        if self.requester_created_by == Some(actor_id) {
            return Err(RuleError::Forbidden(
                "you created the requester's account or the credential it filed with; another \
                 approver must decide its requests"
                    .into(),
            ));
        }
        if let Approvers::Users { users } = self.approvers
            && !self.approvers.includes(actor_id)
        {
            return Err(RuleError::Forbidden(format!(
                "this resource's policy names its approvers: {}",
                names(users)
            )));
        }
        Ok(())
    }
}

/// Who of `pool` (the approver role's holders, by name) may still give one of the
/// approvals a pending request needs: named by its policy, not its requester, not an owner
/// of the identity, not the creator of the requester's account, not yet approved. Fewer of
/// them than the approvals still missing means the request can never pass.
pub fn eligible_approvers(req: &Decidable<'_>, pool: &[NamedRef]) -> Vec<NamedRef> {
    pool.iter()
        .filter(|u| req.check_decider(u.id, &[Role::Approver]).is_ok())
        .filter(|u| !req.approvals.iter().any(|a| a.approver_id == u.id))
        .cloned()
        .collect()
}

/// Whether this user could approve the request now (used to list "waiting for me").
pub fn may_approve(req: &Decidable<'_>, actor_id: UserId, actor_roles: &[Role]) -> bool {
    req.state == RequestState::Pending
        && req.check_open().is_ok()
        && req.check_decider(actor_id, actor_roles).is_ok()
        && !req.approvals.iter().any(|a| a.approver_id == actor_id)
}

/// Records an approval. Approvers may only shorten the duration; the grant gets the
/// shortest duration any approver agreed to.
pub fn decide_approval(
    req: &Decidable<'_>,
    actor_id: UserId,
    actor_roles: &[Role],
    shorten_to: Option<i64>,
) -> Result<(Approval, RequestState, ApprovalOutcome), RuleError> {
    req.state
        .apply(RequestEvent::Approval { complete: false })?;
    req.check_open()?;
    req.check_decider(actor_id, actor_roles)?;
    if req.approvals.iter().any(|a| a.approver_id == actor_id) {
        return Err(RuleError::Conflict(
            "you have already approved this request".into(),
        ));
    }
    let duration_secs = match shorten_to {
        None => req.duration_secs,
        Some(d) if (MIN_DURATION_SECS..=req.duration_secs).contains(&d) => d,
        Some(_) => {
            return Err(RuleError::invalid(
                "duration_secs",
                format!(
                    "an approver may only shorten the duration: between 1 s and {}",
                    crate::format::duration(req.duration_secs)
                ),
            ));
        }
    };
    let approval = Approval {
        approver_id: actor_id,
        duration_secs,
    };
    let count = req.approvals.len() as u32 + 1;
    let complete = count >= req.approvals_required;
    let state = req.state.apply(RequestEvent::Approval { complete })?;
    let outcome = if complete {
        let shortest = req
            .approvals
            .iter()
            .map(|a| a.duration_secs)
            .chain([duration_secs])
            .min()
            .unwrap_or(duration_secs);
        ApprovalOutcome::Granted {
            duration_secs: shortest,
        }
    } else {
        ApprovalOutcome::AwaitingMore {
            remaining: req.approvals_required - count,
        }
    };
    Ok((approval, state, outcome))
}

/// Denies a request; returns the trimmed comment, which is required.
pub fn decide_denial(
    req: &Decidable<'_>,
    actor_id: UserId,
    actor_roles: &[Role],
    comment: &str,
) -> Result<(RequestState, String), RuleError> {
    let state = req.state.apply(RequestEvent::Deny)?;
    req.check_open()?;
    req.check_decider(actor_id, actor_roles)?;
    let comment = required_text("comment", comment, "say why the request is denied")?;
    Ok((state, comment))
}

/// Only the requester may withdraw their own pending request.
pub fn decide_cancel(
    state: RequestState,
    requester_id: UserId,
    actor_id: UserId,
) -> Result<RequestState, RuleError> {
    let next = state.apply(RequestEvent::Cancel)?;
    if actor_id != requester_id {
        return Err(RuleError::Forbidden(
            "only the requester may cancel a request".into(),
        ));
    }
    Ok(next)
}

/// Who may end a grant early: the identity's owners, approvers and admins, and for
/// break-glass access also reviewers.
pub fn may_revoke(actor_is_owner: bool, actor_roles: &[Role], break_glass: bool) -> bool {
    actor_is_owner
        || actor_roles.contains(&Role::Approver)
        || actor_roles.contains(&Role::Admin)
        || (break_glass && actor_roles.contains(&Role::Reviewer))
}

/// Whether a grant can still be ended early: live (not past its expiry), or scheduled to
/// start (called off before it does).
pub fn revocable(state: GrantState, secs_left: i64) -> bool {
    match state {
        GrantState::Scheduled => true,
        GrantState::Active => secs_left > 0,
        GrantState::Expired | GrantState::Revoked => false,
    }
}

/// Whether one may ask for access for an identity: as its current owner, or as the
/// identity itself (`requester_is_identity`, `None` for a person).
pub fn may_ask_for(requester_owns_identity: bool, requester_is_identity: Option<bool>) -> bool {
    match requester_is_identity {
        Some(itself) => itself,
        None => requester_owns_identity,
    }
}

/// Revokes a live grant; returns the new state and the trimmed reason, which is required.
pub fn decide_revoke(
    grant: &LiveGrant,
    actor_is_owner: bool,
    actor_roles: &[Role],
    reason: &str,
) -> Result<(GrantState, String), RuleError> {
    let LiveGrant {
        state,
        secs_left,
        break_glass,
    } = *grant;
    if !may_revoke(actor_is_owner, actor_roles, break_glass) {
        return Err(RuleError::Forbidden(
            "only an owner of the identity, an approver or an admin may revoke a grant".into(),
        ));
    }
    if state == GrantState::Active && secs_left <= 0 {
        return Err(RuleError::Conflict("this grant has already expired".into()));
    }
    let next = state.apply(crate::state::GrantEvent::Revoke)?;
    let reason = required_text("reason", reason, "say why access ends early")?;
    Ok((next, reason))
}

/// A grant as a revocation needs to see it.
#[derive(Debug, Clone, Copy)]
pub struct LiveGrant {
    pub state: GrantState,
    /// Seconds until its expiry (zero or less: already over).
    pub secs_left: i64,
    pub break_glass: bool,
}

/// A credential is issued only to the grant's holder (who requested it), for a grant live
/// right now: not to any other owner of the identity, nor to an approver of it.
pub fn check_credential_issue(
    state: GrantState,
    actor_is_holder: bool,
    secs_left: i64,
) -> Result<(), RuleError> {
    if !actor_is_holder {
        return Err(RuleError::Forbidden(
            "only the grant's holder, who requested it, may fetch its credential".into(),
        ));
    }
    if state != GrantState::Active || secs_left <= 0 {
        return Err(RuleError::Conflict(format!(
            "credentials are issued only for active grants; this grant is {}",
            if state == GrantState::Active {
                "past its expiry"
            } else {
                state.as_str()
            }
        )));
    }
    Ok(())
}

/// The one check of free text people type: trimmed, plain (no control or deceptive
/// characters), at least `min_chars` (else `too_short` says what is wanted) and at most
/// `TEXT_MAX_CHARS`. Returns the text to store.
pub fn bounded_text(
    field: &'static str,
    text: &str,
    min_chars: usize,
    too_short: &str,
) -> Result<String, RuleError> {
    let text = text.trim();
    check_plain_text(field, text)?;
    let chars = text.chars().count();
    if chars < min_chars {
        return Err(RuleError::invalid(field, too_short));
    }
    if chars > TEXT_MAX_CHARS {
        return Err(RuleError::invalid(
            field,
            format!("{field} must be at most {TEXT_MAX_CHARS} characters"),
        ));
    }
    Ok(text.to_string())
}

pub(crate) fn required_text(
    field: &'static str,
    text: &str,
    hint: &str,
) -> Result<String, RuleError> {
    bounded_text(field, text, 1, &format!("{field} is required: {hint}"))
}

/// Optional text, trimmed and bounded: `None` when absent or blank.
pub fn optional_text(field: &'static str, text: Option<&str>) -> Result<Option<String>, RuleError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) => required_text(field, text, "").map(Some),
    }
}

/// Durations offered as one-click presets in the request form: those the policy allows,
/// then the maximum itself.
pub fn duration_presets(policy: &Policy) -> Vec<i64> {
    let mut presets: Vec<i64> = [15 * 60, 3600, 4 * 3600]
        .into_iter()
        .filter(|d| *d < policy.max_duration_secs)
        .collect();
    presets.push(policy.max_duration_secs);
    presets
}

fn names(users: &[NamedRef]) -> String {
    users
        .iter()
        .map(|u| u.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// "Needs 2 approvals from: bob, erin · at most 2 h · ticket required", where
/// `approver_pool` is who may approve now.
pub fn describe_policy(policy: &Policy, approver_pool: &[NamedRef]) -> String {
    let mut approvals = match policy.approvals_required {
        1 => "Needs 1 approval".to_string(),
        n => format!("Needs {n} approvals"),
    };
    if !approver_pool.is_empty() {
        approvals.push_str(&format!(" from: {}", names(approver_pool)));
    }
    let mut parts = vec![
        approvals,
        format!(
            "at most {}",
            crate::format::duration(policy.max_duration_secs)
        ),
    ];
    match (policy.ticket_required, policy.ticket_pattern.as_deref()) {
        (true, Some(p)) => parts.push(format!("ticket required ({p})")),
        (true, None) => parts.push("ticket required".into()),
        _ => {}
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn policy(approvals_required: u32, max: i64) -> Policy {
        Policy {
            approvals_required,
            max_duration_secs: max,
            ticket_required: false,
            break_glass: None,
            approvers: Approvers::Role,
            ticket_pattern: None,
            auto_approve: None,
            max_start_ahead_secs: None,
            max_total_secs: None,
        }
    }

    fn justification(task: &str) -> Justification {
        Justification {
            task: task.into(),
            ticket: None,
        }
    }

    const REQUESTER: UserId = 1;
    const APPROVER: &[Role] = &[Role::Approver];

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn pending(approvals: &[Approval], required: u32) -> Decidable<'_> {
        Decidable {
            state: RequestState::Pending,
            requester_id: REQUESTER,
            duration_secs: 3600,
            approvals_required: required,
            approvers: &Approvers::Role,
            approvals,
            owners: &[],
            requester_created_by: None,
            pending_expires_at: at(86_400),
            now: at(0),
        }
    }

    #[test]
    fn text_with_escapes_overrides_or_invisible_characters_is_refused_naming_the_field() {
        let policy = policy(1, 3600);
        for bad in [
            "Rotate keys \u{202E}gnp.exe",
            "Rotate keys \u{1b}[2J now please",
            "Rotate\u{200B} the ledger keys",
            "Rotate the ledger keys\u{0}",
            "Rotate the ledger keys\r\nforged line",
        ] {
            let j = Justification {
                task: bad.into(),
                ticket: None,
            };
            let err = check_justification(&j, &policy).unwrap_err();
            assert_eq!(err.field(), Some("justification.task"), "{bad:?}");
        }
        let j = Justification {
            task: "Rotate the ledger keys\n\tthen verify – naïve café ✓".into(),
            ticket: Some("OPS-1\u{2066}".into()),
        };
        assert_eq!(
            check_justification(&j, &policy).unwrap_err().field(),
            Some("justification.ticket")
        );
        assert!(required_text("reason", "line one\nline two", "").is_ok());
        assert_eq!(
            optional_text("comment", Some("ok\u{FEFF}"))
                .unwrap_err()
                .field(),
            Some("comment")
        );
    }

    #[test]
    fn eligible_approvers_leave_out_the_conflicted_and_those_who_approved() {
        let owners = [3];
        let approvals = [Approval {
            approver_id: 4,
            duration_secs: 3600,
        }];
        let mut req = pending(&approvals, 2);
        req.owners = &owners;
        let pool = [
            NamedRef::new(REQUESTER, "alice"),
            NamedRef::new(2, "bob"),
            NamedRef::new(3, "erin"),
            NamedRef::new(4, "frank"),
        ];
        let names: Vec<String> = eligible_approvers(&req, &pool)
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert_eq!(names, ["bob"]);
    }

    #[test]
    fn an_owner_of_the_identity_or_the_requesters_creator_may_not_decide() {
        let owners = [7];
        let mut req = pending(&[], 1);
        req.owners = &owners;
        req.requester_created_by = Some(8);
        for actor in [7, 8] {
            let err = decide_approval(&req, actor, APPROVER, None).unwrap_err();
            assert!(matches!(err, RuleError::Forbidden(_)), "{actor}: {err}");
            assert!(decide_denial(&req, actor, APPROVER, "no").is_err());
            assert!(!may_approve(&req, actor, APPROVER));
        }
        assert!(decide_approval(&req, 9, APPROVER, None).is_ok());
    }

    #[test]
    fn non_owner_cannot_request() {
        let p = policy(1, 3600);
        let privileges = vec!["read".to_string()];
        let j = justification("rotate the reporting schema");
        let mut new = NewRequest {
            identity_has_owner: true,
            requester_owns_identity: false,
            requester_is_identity: None,
            resource_privileges: &privileges,
            policy: &p,
            privilege: "read",
            duration_secs: 60,
            justification: &j,
        };
        assert!(matches!(
            check_new_request(&new),
            Err(RuleError::Forbidden(_))
        ));
        // An identity files for itself, never for another; orphaned, it files nothing.
        new.requester_is_identity = Some(true);
        assert!(check_new_request(&new).is_ok());
        new.requester_is_identity = Some(false);
        assert!(matches!(
            check_new_request(&new),
            Err(RuleError::Forbidden(m)) if m.contains("only for itself")
        ));
        new.requester_is_identity = Some(true);
        new.identity_has_owner = false;
        assert!(matches!(
            check_new_request(&new),
            Err(RuleError::Conflict(m)) if m.contains("Declare")
        ));
    }

    #[test]
    fn a_ticket_must_match_the_policy_pattern() {
        let p = Policy {
            ticket_required: true,
            ticket_pattern: Some("OPS-[0-9]+".into()),
            ..policy(1, 60)
        };
        let with = |ticket: &str| Justification {
            task: "migrate the ledger".into(),
            ticket: Some(ticket.into()),
        };
        assert!(check_justification(&with(" OPS-12 "), &p).is_ok());
        let err = check_justification(&with("JIRA-12"), &p).unwrap_err();
        assert_eq!(err.field(), Some("justification.ticket"));
        assert!(err.to_string().contains("OPS-[0-9]+"));
    }

    #[test]
    fn named_approvers_alone_may_decide() {
        let approvers = Approvers::Users {
            users: vec![NamedRef::new(3, "erin")],
        };
        let req = Decidable {
            approvers: &approvers,
            ..pending(&[], 1)
        };
        assert!(!may_approve(&req, 2, APPROVER));
        assert!(matches!(
            decide_approval(&req, 2, APPROVER, None),
            Err(RuleError::Forbidden(m)) if m.contains("erin")
        ));
        assert!(may_approve(&req, 3, APPROVER));
        assert!(
            !may_approve(&req, 3, &[Role::Requester]),
            "being named does not replace the approver role"
        );
    }

    #[test]
    fn durations_outside_policy_name_the_field() {
        let p = policy(1, 3600);
        for d in [0, -5, 3601, i64::MAX] {
            assert_eq!(
                check_duration(d, &p).unwrap_err().field(),
                Some("duration_secs")
            );
        }
        assert!(check_duration(1, &p).is_ok());
        assert!(check_duration(3600, &p).is_ok());
    }

    #[test]
    fn unknown_privilege_is_refused() {
        let privileges = vec!["read".to_string(), "write".to_string()];
        let err = check_privilege(&privileges, "admin").unwrap_err();
        assert_eq!(err.field(), Some("privilege"));
        assert!(err.to_string().contains("read, write"));
    }

    #[test]
    fn justification_is_trimmed_and_must_say_enough() {
        let p = policy(1, 60);
        let err = check_justification(&justification("   fix   "), &p).unwrap_err();
        assert_eq!(err.field(), Some("justification.task"));
        let ok = check_justification(
            &Justification {
                task: "  migrate the ledger table  ".into(),
                ticket: Some("  ".into()),
            },
            &p,
        )
        .unwrap();
        assert_eq!(ok.task, "migrate the ledger table");
        assert_eq!(ok.ticket, None, "a blank ticket is no ticket");
    }

    #[test]
    fn ticket_required_by_policy() {
        let p = Policy {
            ticket_required: true,
            ..policy(1, 60)
        };
        let err = check_justification(&justification("migrate the ledger"), &p).unwrap_err();
        assert_eq!(err.field(), Some("justification.ticket"));
    }

    #[test]
    fn approver_cannot_approve_own_request() {
        let req = pending(&[], 1);
        let err = decide_approval(&req, REQUESTER, APPROVER, None).unwrap_err();
        assert!(matches!(err, RuleError::Forbidden(_)));
    }

    #[test]
    fn non_approver_cannot_decide() {
        let req = pending(&[], 1);
        assert!(matches!(
            decide_approval(&req, 2, &[Role::Requester], None),
            Err(RuleError::Forbidden(_))
        ));
        assert!(matches!(
            decide_denial(&req, 2, &[Role::Reviewer], "no"),
            Err(RuleError::Forbidden(_))
        ));
    }

    #[test]
    fn approver_may_only_shorten() {
        let req = pending(&[], 1);
        for d in [0, 3601, -1] {
            let err = decide_approval(&req, 2, APPROVER, Some(d)).unwrap_err();
            assert_eq!(err.field(), Some("duration_secs"));
        }
        let (_, state, outcome) = decide_approval(&req, 2, APPROVER, Some(600)).unwrap();
        assert_eq!(state, RequestState::Approved);
        assert_eq!(outcome, ApprovalOutcome::Granted { duration_secs: 600 });
    }

    #[test]
    fn two_approvals_needed_and_shortest_wins() {
        let first = Approval {
            approver_id: 2,
            duration_secs: 900,
        };
        let req = pending(std::slice::from_ref(&first), 2);
        let err = decide_approval(&req, 2, APPROVER, None).unwrap_err();
        assert!(matches!(err, RuleError::Conflict(_)), "same approver twice");
        let (_, state, outcome) = decide_approval(&req, 3, APPROVER, None).unwrap();
        assert_eq!(state, RequestState::Approved);
        assert_eq!(outcome, ApprovalOutcome::Granted { duration_secs: 900 });

        let (_, state, outcome) = decide_approval(&pending(&[], 2), 3, APPROVER, None).unwrap();
        assert_eq!(state, RequestState::Pending);
        assert_eq!(outcome, ApprovalOutcome::AwaitingMore { remaining: 1 });
    }

    #[test]
    fn a_request_past_its_deadline_takes_no_decision() {
        let req = Decidable {
            now: at(86_400),
            ..pending(&[], 1)
        };
        assert!(matches!(
            decide_approval(&req, 2, APPROVER, None),
            Err(RuleError::Conflict(_))
        ));
        assert!(matches!(
            decide_denial(&req, 2, APPROVER, "late"),
            Err(RuleError::Conflict(_))
        ));
        assert!(!may_approve(&req, 2, APPROVER));
    }

    #[test]
    fn denial_needs_a_comment() {
        let req = pending(&[], 1);
        let err = decide_denial(&req, 2, APPROVER, "  ").unwrap_err();
        assert_eq!(err.field(), Some("comment"));
        let (state, comment) = decide_denial(&req, 2, APPROVER, " not this week ").unwrap();
        assert_eq!(state, RequestState::Denied);
        assert_eq!(comment, "not this week");
    }

    #[test]
    fn only_requester_cancels() {
        assert!(decide_cancel(RequestState::Pending, REQUESTER, 2).is_err());
        assert_eq!(
            decide_cancel(RequestState::Pending, REQUESTER, REQUESTER),
            Ok(RequestState::Cancelled)
        );
        assert!(matches!(
            decide_cancel(RequestState::Denied, REQUESTER, REQUESTER),
            Err(RuleError::Conflict(_))
        ));
    }

    fn live(state: GrantState, secs_left: i64) -> LiveGrant {
        LiveGrant {
            state,
            secs_left,
            break_glass: false,
        }
    }

    #[test]
    fn revoke_needs_permission_reason_and_live_grant() {
        assert!(matches!(
            decide_revoke(
                &live(GrantState::Active, 60),
                false,
                &[Role::Requester],
                "leak"
            ),
            Err(RuleError::Forbidden(_))
        ));
        assert_eq!(
            decide_revoke(&live(GrantState::Active, 60), true, &[], " ")
                .unwrap_err()
                .field(),
            Some("reason")
        );
        assert!(matches!(
            decide_revoke(&live(GrantState::Expired, 0), true, &[], "done"),
            Err(RuleError::Conflict(_))
        ));
        assert_eq!(
            decide_revoke(
                &live(GrantState::Active, 60),
                false,
                APPROVER,
                " done early "
            ),
            Ok((GrantState::Revoked, "done early".into()))
        );
        assert!(matches!(
            decide_revoke(&live(GrantState::Active, 0), true, &[], "too late"),
            Err(RuleError::Conflict(_))
        ));
    }

    #[test]
    fn credentials_only_for_live_grants_and_owners() {
        assert!(check_credential_issue(GrantState::Active, true, 10).is_ok());
        assert!(check_credential_issue(GrantState::Active, false, 10).is_err());
        assert!(check_credential_issue(GrantState::Active, true, 0).is_err());
        assert!(check_credential_issue(GrantState::Revoked, true, 10).is_err());
    }

    #[test]
    fn presets_never_exceed_the_maximum() {
        assert_eq!(duration_presets(&policy(1, 7200)), vec![900, 3600, 7200]);
        assert_eq!(duration_presets(&policy(1, 600)), vec![600]);
        assert_eq!(
            describe_policy(&policy(2, 7200), &[]),
            "Needs 2 approvals · at most 2 h"
        );
        assert_eq!(
            describe_policy(
                &policy(2, 7200),
                &[NamedRef::new(2, "bob"), NamedRef::new(3, "erin")]
            ),
            "Needs 2 approvals from: bob, erin · at most 2 h"
        );
    }

    /// One thing that can happen to a pending request in the property test below.
    #[derive(Debug, Clone)]
    enum Op {
        Approve {
            actor: UserId,
            shorten_to: Option<i64>,
        },
        Deny {
            actor: UserId,
        },
        Cancel {
            actor: UserId,
        },
        Expire,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..5i64, proptest::option::of(-10..5000i64))
                .prop_map(|(actor, shorten_to)| Op::Approve { actor, shorten_to }),
            1 => (0..5i64).prop_map(|actor| Op::Deny { actor }),
            1 => (0..5i64).prop_map(|actor| Op::Cancel { actor }),
            1 => Just(Op::Expire),
        ]
    }

    /// Users 0..4 all hold the approver role except user 4; user 1 filed the request.
    fn roles_of(user: UserId) -> &'static [Role] {
        if user == 4 {
            &[Role::Requester]
        } else {
            APPROVER
        }
    }

    proptest! {
        #[test]
        fn no_event_sequence_reaches_an_illegal_state(
            required in 1u32..4,
            max in 1i64..4000,
            asked in 1i64..4000,
            ops in proptest::collection::vec(op(), 0..12),
        ) {
            let p = policy(required, max);
            prop_assume!(check_duration(asked, &p).is_ok());
            let mut state = RequestState::Pending;
            let mut approvals: Vec<Approval> = Vec::new();
            let mut granted: Option<i64> = None;
            for op in ops {
                let before = state;
                let req = Decidable {
                    state,
                    requester_id: REQUESTER,
                    duration_secs: asked,
                    approvals_required: required,
            approvers: &Approvers::Role,
                    approvals: &approvals,
                    owners: &[],
                    requester_created_by: None,
                    pending_expires_at: at(86_400),
                    now: at(0),
                };
                let result = match op {
                    Op::Approve { actor, shorten_to } => {
                        decide_approval(&req, actor, roles_of(actor), shorten_to).map(
                            |(approval, next, outcome)| {
                                approvals.push(approval);
                                if let ApprovalOutcome::Granted { duration_secs } = outcome {
                                    granted = Some(duration_secs);
                                }
                                next
                            },
                        )
                    }
                    Op::Deny { actor } => {
                        decide_denial(&req, actor, roles_of(actor), "no").map(|(s, _)| s)
                    }
                    Op::Cancel { actor } => decide_cancel(state, REQUESTER, actor),
                    Op::Expire => state.apply(RequestEvent::Expire).map_err(Into::into),
                };
                match result {
                    Ok(next) => state = next,
                    Err(_) => prop_assert_eq!(state, before, "a refused event changed state"),
                }
                if before.is_final() {
                    prop_assert_eq!(state, before, "a final state moved");
                }
            }
            // Nobody approved their own request, and nobody approved twice.
            prop_assert!(approvals.iter().all(|a| a.approver_id != REQUESTER));
            let mut ids: Vec<_> = approvals.iter().map(|a| a.approver_id).collect();
            ids.sort();
            ids.dedup();
            prop_assert_eq!(ids.len(), approvals.len());
            // Approved exactly when enough distinct approvers agreed, for no longer than asked.
            prop_assert_eq!(state == RequestState::Approved, granted.is_some());
            if let Some(d) = granted {
                prop_assert_eq!(approvals.len() as u32, required);
                prop_assert!((1..=asked).contains(&d) && d <= max);
            } else {
                prop_assert!((approvals.len() as u32) < required);
            }
        }

        #[test]
        fn accepted_durations_never_exceed_policy(max in 1i64..1_000_000, d in any::<i64>()) {
            let ok = check_duration(d, &policy(1, max)).is_ok();
            prop_assert_eq!(ok, (1..=max).contains(&d));
        }
    }
}
