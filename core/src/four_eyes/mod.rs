//! Four eyes on what widens access: a change to a resource's policy or a user's roles that
//! lets more happen (more privileges, fewer approvals, longer access, break-glass or
//! auto-approval, another approver, a role) is a *proposal* until a second admin approves
//! it; a change that only narrows applies at once. The broker decides with these functions
//! inside the change's transaction; the admin screens call them to say, before saving,
//! that a change will wait.

use crate::api::ResourceBody;
use crate::format::duration;
use crate::lifecycle::{start_ahead_limit, total_limit};
use crate::model::{Approvers, AutoApprove, BreakGlassPolicy, Policy, Role};
use crate::rules::RuleError;
use serde::{Deserialize, Serialize};

mod proposal;
pub use proposal::*;

/// One way a change lets more happen than before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Widening {
    /// The field of the change that widens, as the body names it.
    pub field: String,
    /// What it lets happen, for a person.
    pub description: String,
}

fn widening(field: &str, description: impl Into<String>) -> Widening {
    Widening {
        field: field.to_string(),
        description: description.into(),
    }
}

/// How the ways in which `after` widens access compared with `before`; a new resource
/// (`before` `None`) widens only by what lets access happen without a person deciding
/// first: break-glass and auto-approval.
pub fn resource_widenings(before: Option<&ResourceBody>, after: &ResourceBody) -> Vec<Widening> {
    let mut out = Vec::new();
    let Some(before) = before else {
        if let Some(connector) = &after.connector {
            out.push(widening(
                "connector",
                format!("makes its grants real through the connector `{connector}`"),
            ));
        }
        if after.policy.break_glass.is_some() {
            out.push(widening("policy.break_glass", "enables break-glass access"));
        }
        if after.policy.auto_approve.is_some() {
            out.push(widening("policy.auto_approve", "enables auto-approval"));
        }
        return out;
    };
    // Credentials name their resource (`aud`) and connectors act on it by name: a new name
    // can make a loosely governed resource pass for another.
    if after.name != before.name {
        out.push(widening(
            "name",
            format!("renames `{}` to `{}`", before.name, after.name),
        ));
    }
    for p in after
        .privileges
        .iter()
        .filter(|p| !before.privileges.contains(p))
    {
        out.push(widening("privileges", format!("adds the privilege `{p}`")));
    }
    if let Some(connector) = after
        .connector
        .as_ref()
        .filter(|c| Some(*c) != before.connector.as_ref())
    {
        out.push(widening(
            "connector",
            format!("makes its grants real through the connector `{connector}`"),
        ));
    }
    policy_widenings(&before.policy, &after.policy, &mut out);
    out
}

fn policy_widenings(before: &Policy, after: &Policy, out: &mut Vec<Widening>) {
    if after.approvals_required < before.approvals_required {
        out.push(widening(
            "policy.approvals_required",
            format!(
                "requires {} approval{} instead of {}",
                after.approvals_required,
                if after.approvals_required == 1 {
                    ""
                } else {
                    "s"
                },
                before.approvals_required
            ),
        ));
    }
    if after.max_duration_secs > before.max_duration_secs {
        out.push(widening(
            "policy.max_duration_secs",
            format!(
                "allows access of up to {} instead of {}",
                duration(after.max_duration_secs),
                duration(before.max_duration_secs)
            ),
        ));
    }
    let total_before = total_limit(before.max_duration_secs, before.max_total_secs);
    let total_after = total_limit(after.max_duration_secs, after.max_total_secs);
    if total_after > total_before {
        out.push(widening(
            "policy.max_total_secs",
            format!(
                "lets one grant run {} in all, extensions included, instead of {}",
                duration(total_after),
                duration(total_before)
            ),
        ));
    }
    let (ahead_before, ahead_after) = (start_ahead_limit(before), start_ahead_limit(after));
    if ahead_after > ahead_before {
        out.push(widening(
            "policy.max_start_ahead_secs",
            format!(
                "lets a request be scheduled {} ahead instead of {}",
                duration(ahead_after),
                duration(ahead_before)
            ),
        ));
    }
    if before.ticket_required && !after.ticket_required {
        out.push(widening(
            "policy.ticket_required",
            "no longer requires a ticket",
        ));
    }
    match (&before.ticket_pattern, &after.ticket_pattern) {
        (Some(old), None) if after.ticket_required => out.push(widening(
            "policy.ticket_pattern",
            format!("drops the ticket pattern `{old}`"),
        )),
        (Some(old), Some(new)) if old != new => out.push(widening(
            "policy.ticket_pattern",
            format!("changes the ticket pattern from `{old}` to `{new}`"),
        )),
        _ => {}
    }
    break_glass_widenings(before.break_glass.as_ref(), after.break_glass.as_ref(), out);
    auto_approve_widenings(
        before.auto_approve.as_ref(),
        after.auto_approve.as_ref(),
        out,
    );
    approver_widenings(&before.approvers, &after.approvers, out);
}

fn break_glass_widenings(
    before: Option<&BreakGlassPolicy>,
    after: Option<&BreakGlassPolicy>,
    out: &mut Vec<Widening>,
) {
    match (before, after) {
        (None, Some(_)) => out.push(widening("policy.break_glass", "enables break-glass access")),
        (Some(old), Some(new)) => {
            if new.max_duration_secs > old.max_duration_secs {
                out.push(widening(
                    "policy.break_glass.max_duration_secs",
                    format!(
                        "allows break-glass access of up to {} instead of {}",
                        duration(new.max_duration_secs),
                        duration(old.max_duration_secs)
                    ),
                ));
            }
            if new.review_within_secs > old.review_within_secs {
                out.push(widening(
                    "policy.break_glass.review_within_secs",
                    format!(
                        "gives reviewers {} instead of {} to judge break-glass access",
                        duration(new.review_within_secs),
                        duration(old.review_within_secs)
                    ),
                ));
            }
        }
        _ => {}
    }
}

fn auto_approve_widenings(
    before: Option<&AutoApprove>,
    after: Option<&AutoApprove>,
    out: &mut Vec<Widening>,
) {
    match (before, after) {
        (None, Some(_)) => out.push(widening("policy.auto_approve", "enables auto-approval")),
        (Some(old), Some(new)) => {
            for kind in new
                .identity_kinds
                .iter()
                .filter(|k| !old.identity_kinds.contains(k))
            {
                out.push(widening(
                    "policy.auto_approve.identity_kinds",
                    format!("auto-approves requests for {} identities", kind.label()),
                ));
            }
            for p in new
                .privileges
                .iter()
                .filter(|p| !old.privileges.contains(p))
            {
                out.push(widening(
                    "policy.auto_approve.privileges",
                    format!("auto-approves the privilege `{p}`"),
                ));
            }
            if new.max_duration_secs > old.max_duration_secs {
                out.push(widening(
                    "policy.auto_approve.max_duration_secs",
                    format!(
                        "auto-approves access of up to {} instead of {}",
                        duration(new.max_duration_secs),
                        duration(old.max_duration_secs)
                    ),
                ));
            }
        }
        _ => {}
    }
}

fn approver_widenings(before: &Approvers, after: &Approvers, out: &mut Vec<Widening>) {
    match (before, after) {
        (Approvers::Users { .. }, Approvers::Role) => out.push(widening(
            "policy.approvers",
            "lets everyone with the approver role approve instead of the named approvers",
        )),
        (Approvers::Users { users: old }, Approvers::Users { users: new }) => {
            for user in new.iter().filter(|u| !old.iter().any(|o| o.id == u.id)) {
                out.push(widening(
                    "policy.approvers",
                    format!("adds `{}` as an approver", user.name),
                ));
            }
        }
        _ => {}
    }
}

/// Roles that let their holder do more than ask: granting one needs a second admin. The
/// requester role only lets someone file requests, each still decided by its policy.
pub fn role_widens(role: Role) -> bool {
    role != Role::Requester
}

/// How a change to a user (`before` `None`: a new user, enabled) widens: the roles it
/// grants beyond asking, and enabling a disabled account.
pub fn user_widenings(
    before_roles: &[Role],
    before_disabled: bool,
    after_roles: &[Role],
    after_disabled: bool,
) -> Vec<Widening> {
    let mut out: Vec<Widening> = after_roles
        .iter()
        .filter(|r| role_widens(**r) && !before_roles.contains(r))
        .map(|r| widening("roles", format!("grants the {} role", r.as_str())))
        .collect();
    if before_disabled && !after_disabled {
        out.push(widening("disabled", "enables the account again"));
    }
    out
}

/// Said of a change that makes someone an admin whose password the proposer set (made
/// the account, or reset its password): the proposer could sign in as them, and the second
/// admin should know.
pub fn password_known_to(proposer: &str) -> Widening {
    widening(
        "roles",
        format!("{proposer} set this account's password, so could sign in as it"),
    )
}

/// Whether `actor` (with `actor_roles`) may approve `proposal`: an admin who neither
/// proposed it nor is concerned by it, while it is pending.
pub fn check_approver(
    proposal: &ProposalView,
    actor_id: i64,
    actor_roles: &[Role],
) -> Result<(), RuleError> {
    if !actor_roles.contains(&Role::Admin) {
        return Err(RuleError::Forbidden(
            "only admins decide proposed changes".into(),
        ));
    }
    check_pending(proposal)?;
    if proposal.proposed_by.id == actor_id {
        return Err(RuleError::Forbidden(
            "you proposed this change: a second admin must approve it".into(),
        ));
    }
    if proposal.change.concerns(actor_id, actor_roles) {
        return Err(RuleError::Forbidden(
            "this change is about you or makes you an approver: another admin must approve it"
                .into(),
        ));
    }
    Ok(())
}

/// Whether `actor` may turn `proposal` down: any admin while it is pending (its proposer
/// by withdrawing it).
pub fn check_rejecter(proposal: &ProposalView, actor_is_admin: bool) -> Result<(), RuleError> {
    if !actor_is_admin {
        return Err(RuleError::Forbidden(
            "only admins decide proposed changes".into(),
        ));
    }
    check_pending(proposal)
}

fn check_pending(proposal: &ProposalView) -> Result<(), RuleError> {
    if proposal.state != ProposalState::Pending {
        return Err(RuleError::Conflict(format!(
            "proposal {} is {} already",
            proposal.id,
            proposal.state.as_str()
        )));
    }
    Ok(())
}

/// Refuses to file a proposal nobody could approve: without another enabled admin it
/// would wait for ever.
pub fn check_second_admin(other_admins: usize) -> Result<(), RuleError> {
    if other_admins == 0 {
        return Err(RuleError::Conflict(
            "this change widens access and needs a second admin's approval, but no other \
             enabled admin may give it (nobody approves a change about themselves or one that \
             makes them an approver); a single-admin installation says so by starting the \
             broker with --single-admin"
                .into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{NamedRef, UserUpdateBody};
    use crate::model::IdentityKind;
    use chrono::{DateTime, Utc};

    fn resource() -> ResourceBody {
        ResourceBody {
            name: "payments-db".into(),
            description: String::new(),
            privileges: vec!["read".into(), "write".into()],
            policy: Policy {
                approvals_required: 2,
                max_duration_secs: 7200,
                ticket_required: true,
                break_glass: Some(BreakGlassPolicy::default()),
                approvers: Approvers::Users {
                    users: vec![NamedRef::new(2, "bob"), NamedRef::new(3, "erin")],
                },
                ticket_pattern: Some("OPS-[0-9]+".into()),
                auto_approve: Some(AutoApprove {
                    identity_kinds: vec![IdentityKind::CiPipeline],
                    privileges: vec!["read".into()],
                    max_duration_secs: 600,
                }),
                max_start_ahead_secs: Some(3_600),
                max_total_secs: Some(14_400),
            },
            connector: None,
        }
    }

    fn fields(before: &ResourceBody, after: &ResourceBody) -> Vec<String> {
        resource_widenings(Some(before), after)
            .into_iter()
            .map(|w| w.field)
            .collect()
    }

    #[test]
    fn an_unchanged_resource_or_a_narrower_one_widens_nothing() {
        let before = resource();
        assert!(fields(&before, &before).is_empty());
        let mut narrower = before.clone();
        narrower.privileges.pop();
        narrower.policy.approvals_required = 2;
        narrower.policy.max_duration_secs = 3600;
        narrower.policy.break_glass = None;
        narrower.policy.auto_approve = None;
        narrower.policy.approvers = Approvers::Users {
            users: vec![NamedRef::new(2, "bob")],
        };
        narrower.description = "what it is".into();
        assert!(fields(&before, &narrower).is_empty());
    }

    #[test]
    fn each_way_of_widening_a_policy_is_named() {
        let before = resource();
        type Case = (fn(&mut ResourceBody), &'static str);
        let cases: Vec<Case> = vec![
            (|r| r.privileges.push("admin".into()), "privileges"),
            (
                |r| r.policy.approvals_required = 1,
                "policy.approvals_required",
            ),
            (
                |r| r.policy.max_duration_secs = 7201,
                "policy.max_duration_secs",
            ),
            (
                |r| r.policy.max_total_secs = Some(20_000),
                "policy.max_total_secs",
            ),
            (
                |r| r.policy.ticket_required = false,
                "policy.ticket_required",
            ),
            (|r| r.policy.ticket_pattern = None, "policy.ticket_pattern"),
            (
                |r| r.policy.ticket_pattern = Some(".*".into()),
                "policy.ticket_pattern",
            ),
            (
                |r| r.policy.break_glass.as_mut().unwrap().max_duration_secs += 1,
                "policy.break_glass.max_duration_secs",
            ),
            (
                |r| r.policy.break_glass.as_mut().unwrap().review_within_secs += 1,
                "policy.break_glass.review_within_secs",
            ),
            (
                |r| {
                    r.policy
                        .auto_approve
                        .as_mut()
                        .unwrap()
                        .identity_kinds
                        .push(IdentityKind::AiAgent)
                },
                "policy.auto_approve.identity_kinds",
            ),
            (
                |r| {
                    r.policy
                        .auto_approve
                        .as_mut()
                        .unwrap()
                        .privileges
                        .push("write".into())
                },
                "policy.auto_approve.privileges",
            ),
            (
                |r| r.policy.auto_approve.as_mut().unwrap().max_duration_secs = 900,
                "policy.auto_approve.max_duration_secs",
            ),
            (|r| r.policy.approvers = Approvers::Role, "policy.approvers"),
            (|r| r.name = "ledger-db".into(), "name"),
            (|r| r.connector = Some("payments-pg".into()), "connector"),
            (
                |r| r.policy.max_start_ahead_secs = Some(86_400),
                "policy.max_start_ahead_secs",
            ),
            (
                |r| {
                    if let Approvers::Users { users } = &mut r.policy.approvers {
                        users.push(NamedRef::new(9, "mallory"));
                    }
                },
                "policy.approvers",
            ),
        ];
        for (change, field) in cases {
            let mut after = before.clone();
            change(&mut after);
            assert_eq!(fields(&before, &after), vec![field.to_string()], "{field}");
        }
        let mut closed = before.clone();
        closed.policy.break_glass = None;
        closed.policy.auto_approve = None;
        assert_eq!(
            fields(&closed, &before),
            vec!["policy.break_glass", "policy.auto_approve"]
        );
    }

    #[test]
    fn a_new_resource_widens_only_by_what_needs_no_decision_first() {
        let mut plain = resource();
        plain.policy.break_glass = None;
        plain.policy.auto_approve = None;
        assert!(resource_widenings(None, &plain).is_empty());
        let fields: Vec<String> = resource_widenings(None, &resource())
            .into_iter()
            .map(|w| w.field)
            .collect();
        assert_eq!(fields, vec!["policy.break_glass", "policy.auto_approve"]);
    }

    #[test]
    fn a_change_reads_as_the_fields_it_sets() {
        let before = resource();
        let mut after = before.clone();
        after.policy.approvals_required = 1;
        after.policy.approvers = Approvers::Users {
            users: vec![NamedRef::new(2, "bob")],
        };
        let change = Change::ResourceUpdate {
            resource_id: 1,
            before: Box::new(before),
            after: Box::new(after.clone()),
        };
        let text = |d: &Difference| {
            (
                d.field.clone(),
                d.before.clone().unwrap_or_default(),
                d.after.clone().unwrap_or_default(),
            )
        };
        let diffs: Vec<_> = change.differences().iter().map(text).collect();
        assert_eq!(
            diffs,
            [
                ("policy.approvals_required".into(), "2".into(), "1".into()),
                (
                    "policy.approvers.users".into(),
                    "bob, erin".into(),
                    "bob".into()
                ),
            ]
        );
        let created = Change::ResourceCreate { resource: after };
        let fields: Vec<String> = created
            .differences()
            .into_iter()
            .filter(|d| d.before.is_none())
            .map(|d| d.field)
            .collect();
        assert!(fields.contains(&"name".to_string()), "{fields:?}");
        assert!(
            !fields.contains(&"description".to_string()),
            "empty is nothing"
        );
    }

    #[test]
    fn granting_a_role_beyond_asking_or_enabling_an_account_widens() {
        use Role::*;
        assert!(user_widenings(&[], false, &[Requester], false).is_empty());
        assert!(user_widenings(&[Approver, Admin], false, &[Approver], true).is_empty());
        let descriptions: Vec<String> =
            user_widenings(&[Requester], true, &[Requester, Approver, Auditor], false)
                .into_iter()
                .map(|w| w.description)
                .collect();
        assert_eq!(
            descriptions,
            vec![
                "grants the approver role",
                "grants the auditor role",
                "enables the account again"
            ]
        );
    }

    fn proposal(by: i64, change: Change) -> ProposalView {
        ProposalView {
            id: 7,
            change,
            widenings: vec![],
            state: ProposalState::Pending,
            proposed_by: NamedRef::new(by, "dave"),
            proposed_at: DateTime::<Utc>::UNIX_EPOCH,
            decided_by: None,
            decided_at: None,
            reason: None,
            created_id: None,
        }
    }

    #[test]
    fn a_second_admin_approves_and_never_the_proposer_nor_the_subject() {
        let resource_change = Change::ResourceCreate {
            resource: resource(),
        };
        let p = proposal(4, resource_change);
        let admin = [Role::Admin];
        assert!(matches!(
            check_approver(&p, 4, &admin),
            Err(RuleError::Forbidden(_))
        ));
        assert!(matches!(
            check_approver(&p, 6, &[Role::Approver]),
            Err(RuleError::Forbidden(_))
        ));
        assert_eq!(check_approver(&p, 6, &admin), Ok(()));
        // The new resource names bob (2) an approver: bob, were he an admin, may not approve.
        assert!(matches!(
            check_approver(&p, 2, &admin),
            Err(RuleError::Forbidden(_))
        ));
        let about_grace = proposal(
            4,
            Change::UserUpdate {
                user: NamedRef::new(6, "grace"),
                before: UserUpdateBody {
                    display_name: "Grace".into(),
                    roles: vec![],
                    disabled: false,
                },
                after: UserUpdateBody {
                    display_name: "Grace".into(),
                    roles: vec![Role::Approver],
                    disabled: false,
                },
            },
        );
        assert!(matches!(
            check_approver(&about_grace, 6, &admin),
            Err(RuleError::Forbidden(_))
        ));
        let mut decided = p.clone();
        decided.state = ProposalState::Rejected;
        assert!(matches!(
            check_approver(&decided, 6, &admin),
            Err(RuleError::Conflict(_))
        ));
        assert!(matches!(
            check_rejecter(&decided, true),
            Err(RuleError::Conflict(_))
        ));
        assert!(check_second_admin(0).is_err());
        assert!(check_second_admin(1).is_ok());
    }
}
