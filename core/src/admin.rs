//! What an admin may save: identities, resources with their policies, and users.
//!
//! The broker checks every admin write with these functions inside its transaction; the
//! admin screens call them to point at a wrong field before anything is sent.

use crate::api::{IdentityBody, NamedRef, NewUserBody, ResourceBody};
use crate::connectors::{self, ConnectorView};
use crate::model::{Approvers, AutoApprove, Policy, Role};
use crate::rules::{RuleError, check_plain_text};

/// Names of identities, resources, privileges and users: short, lowercase, URL- and
/// log-safe.
pub const NAME_MAX_CHARS: usize = 64;
/// The longest access any policy may allow: a month. Longer is standing access.
pub const POLICY_MAX_DURATION_SECS: i64 = 30 * 24 * 3600;
pub const TICKET_PATTERN_MAX_CHARS: usize = 200;
pub const PASSWORD_MIN_CHARS: usize = 12;
pub const DISPLAY_NAME_MAX_CHARS: usize = 100;

/// Checks a name: 2–64 of `a-z 0-9 . _ -`, starting with a letter or digit.
pub fn check_name(field: &'static str, name: &str) -> Result<String, RuleError> {
    let name = name.trim();
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    let starts_well = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !(2..=NAME_MAX_CHARS).contains(&name.len()) || !valid_chars || !starts_well {
        return Err(RuleError::invalid(
            field,
            format!(
                "`{name}` is not a valid name: 2 to {NAME_MAX_CHARS} lowercase letters, digits, \
                 `.`, `_` or `-`, starting with a letter or digit"
            ),
        ));
    }
    Ok(name.to_string())
}

fn check_optional_text(field: &'static str, text: &str) -> Result<String, RuleError> {
    crate::rules::bounded_text(field, text, 0, "")
}

/// Checks an identity; returns it trimmed.
pub fn check_identity(body: &IdentityBody) -> Result<IdentityBody, RuleError> {
    Ok(IdentityBody {
        name: check_name("name", &body.name)?,
        kind: body.kind,
        description: check_optional_text("description", &body.description)?,
        environment: check_optional_text("environment", &body.environment)?,
    })
}

/// Whether the whole `ticket` matches `pattern`; an invalid pattern is an error message.
pub fn ticket_matches(pattern: &str, ticket: &str) -> Result<bool, String> {
    let anchored = format!("^(?:{pattern})$");
    regex_lite::Regex::new(&anchored)
        .map(|re| re.is_match(ticket))
        .map_err(|e| e.to_string())
}

/// What a saved, valid policy still cannot do: with exactly as many approvers as approvals
/// required, a request one of them files, or one for an identity one of them owns, can
/// never pass (they may not decide it) and expires undecided. `pool` is how many users
/// the policy lets approve.
pub fn policy_warning(policy: &Policy, pool: usize) -> Option<String> {
    let required = policy.approvals_required as usize;
    (required > 0 && pool <= required).then(|| {
        let who = match pool {
            1 => "the only approver".to_string(),
            n => format!("one of its {n} approvers"),
        };
        format!(
            "A request filed by {who}, or for an identity {} owns, can never be approved: \
             {required} approval{} required and the requester and owners may not decide. \
             Add an approver or require fewer approvals.",
            if pool == 1 { "they" } else { "one of them" },
            if required == 1 { " is" } else { "s are" },
        )
    })
}

/// Checks a resource and its policy against `approver_role_holders`, the enabled users
/// who hold the approver role, and its connector against the `connectors` the broker
/// loaded. Returns the resource to store: trimmed, and with named approvers carrying
/// their current names.
pub fn check_resource(
    body: &ResourceBody,
    approver_role_holders: &[NamedRef],
    connectors: &[ConnectorView],
) -> Result<ResourceBody, RuleError> {
    let name = check_name("name", &body.name)?;
    let description = check_optional_text("description", &body.description)?;
    let privileges = check_privileges(&body.privileges)?;
    let policy = check_policy(&body.policy, &privileges, approver_role_holders)?;
    let connector = body
        .connector
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    connectors::check_link(connector, &privileges, connectors)?;
    Ok(ResourceBody {
        name,
        description,
        privileges,
        policy,
        connector: connector.map(str::to_string),
    })
}

fn check_privileges(privileges: &[String]) -> Result<Vec<String>, RuleError> {
    if privileges.is_empty() {
        return Err(RuleError::invalid(
            "privileges",
            "a resource needs at least one privilege",
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(privileges.len());
    for p in privileges {
        let p = check_name("privileges", p)?;
        if out.contains(&p) {
            return Err(RuleError::invalid(
                "privileges",
                format!("privilege `{p}` is listed twice"),
            ));
        }
        out.push(p);
    }
    Ok(out)
}

fn check_duration_bound(field: &'static str, secs: i64, max: i64) -> Result<(), RuleError> {
    if !(1..=max).contains(&secs) {
        return Err(RuleError::invalid(
            field,
            format!("must be between 1 s and {}", crate::format::duration(max)),
        ));
    }
    Ok(())
}

fn check_policy(
    policy: &Policy,
    privileges: &[String],
    approver_role_holders: &[NamedRef],
) -> Result<Policy, RuleError> {
    let approvers = check_approvers(&policy.approvers, approver_role_holders)?;
    let pool = match &approvers {
        Approvers::Role => approver_role_holders.len(),
        Approvers::Users { users } => users.len(),
    };
    if policy.approvals_required == 0 {
        return Err(RuleError::invalid(
            "policy.approvals_required",
            "at least 1 approval is required; use auto-approval for requests nobody needs to see",
        ));
    }
    if policy.approvals_required as usize > pool {
        return Err(RuleError::invalid(
            "policy.approvals_required",
            format!(
                "{} approvals required but only {pool} user{} may approve",
                policy.approvals_required,
                if pool == 1 { "" } else { "s" }
            ),
        ));
    }
    check_duration_bound(
        "policy.max_duration_secs",
        policy.max_duration_secs,
        POLICY_MAX_DURATION_SECS,
    )?;
    let ticket_pattern = match policy.ticket_pattern.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(p) if p.chars().count() > TICKET_PATTERN_MAX_CHARS => {
            return Err(RuleError::invalid(
                "policy.ticket_pattern",
                format!("the pattern must be at most {TICKET_PATTERN_MAX_CHARS} characters"),
            ));
        }
        Some(p) => {
            ticket_matches(p, "").map_err(|e| {
                RuleError::invalid(
                    "policy.ticket_pattern",
                    format!("`{p}` is not a valid pattern: {e}"),
                )
            })?;
            Some(p.to_string())
        }
    };
    if let Some(bg) = policy.break_glass {
        check_duration_bound(
            "policy.break_glass.max_duration_secs",
            bg.max_duration_secs,
            policy.max_duration_secs,
        )?;
        check_duration_bound(
            "policy.break_glass.review_within_secs",
            bg.review_within_secs,
            POLICY_MAX_DURATION_SECS,
        )?;
    }
    let auto_approve = match &policy.auto_approve {
        None => None,
        Some(rule) => Some(check_auto_approve(rule, privileges, policy)?),
    };
    if let Some(ahead) = policy.max_start_ahead_secs {
        check_duration_bound(
            "policy.max_start_ahead_secs",
            ahead,
            crate::lifecycle::MAX_START_AHEAD_SECS,
        )?;
    }
    if let Some(total) = policy.max_total_secs
        && !(policy.max_duration_secs..=POLICY_MAX_DURATION_SECS).contains(&total)
    {
        return Err(RuleError::invalid(
            "policy.max_total_secs",
            format!(
                "must be between the longest grant ({}) and {}",
                crate::format::duration(policy.max_duration_secs),
                crate::format::duration(POLICY_MAX_DURATION_SECS)
            ),
        ));
    }
    Ok(Policy {
        approvals_required: policy.approvals_required,
        max_duration_secs: policy.max_duration_secs,
        ticket_required: policy.ticket_required,
        break_glass: policy.break_glass,
        approvers,
        ticket_pattern,
        auto_approve,
        max_start_ahead_secs: policy.max_start_ahead_secs,
        max_total_secs: policy.max_total_secs,
    })
}

fn check_approvers(
    approvers: &Approvers,
    approver_role_holders: &[NamedRef],
) -> Result<Approvers, RuleError> {
    let Approvers::Users { users } = approvers else {
        return Ok(Approvers::Role);
    };
    if users.is_empty() {
        return Err(RuleError::invalid(
            "policy.approvers",
            "name at least one approver, or let everyone with the approver role approve",
        ));
    }
    let mut named: Vec<NamedRef> = Vec::with_capacity(users.len());
    for user in users {
        let Some(holder) = approver_role_holders.iter().find(|h| h.id == user.id) else {
            return Err(RuleError::invalid(
                "policy.approvers",
                format!(
                    "user {} is not an enabled user with the approver role",
                    if user.name.is_empty() {
                        user.id.to_string()
                    } else {
                        user.name.clone()
                    }
                ),
            ));
        };
        if !named.iter().any(|n| n.id == holder.id) {
            named.push(holder.clone());
        }
    }
    Ok(Approvers::Users { users: named })
}

fn check_auto_approve(
    rule: &AutoApprove,
    privileges: &[String],
    policy: &Policy,
) -> Result<AutoApprove, RuleError> {
    if rule.identity_kinds.is_empty() {
        return Err(RuleError::invalid(
            "policy.auto_approve.identity_kinds",
            "name the identity kinds the rule approves",
        ));
    }
    if rule.privileges.is_empty() {
        return Err(RuleError::invalid(
            "policy.auto_approve.privileges",
            "name the privileges the rule approves",
        ));
    }
    if let Some(p) = rule.privileges.iter().find(|p| !privileges.contains(p)) {
        return Err(RuleError::invalid(
            "policy.auto_approve.privileges",
            format!("`{p}` is not a privilege of this resource"),
        ));
    }
    check_duration_bound(
        "policy.auto_approve.max_duration_secs",
        rule.max_duration_secs,
        policy.max_duration_secs,
    )?;
    let mut kinds = rule.identity_kinds.clone();
    kinds.dedup();
    Ok(AutoApprove {
        identity_kinds: kinds,
        privileges: rule.privileges.clone(),
        max_duration_secs: rule.max_duration_secs,
    })
}

/// Names the broker's own audit events use for their actor: no user may pass as them.
pub const RESERVED_USERNAMES: &[&str] = &["stint", "anonymous", "system", "broker"];

/// Checks a new user; returns it trimmed with roles in canonical order.
pub fn check_new_user(body: &NewUserBody) -> Result<NewUserBody, RuleError> {
    let username = check_name("username", &body.username)?;
    if RESERVED_USERNAMES.contains(&username.as_str()) {
        return Err(RuleError::invalid(
            "username",
            format!("`{username}` is reserved: the broker's own events use it"),
        ));
    }
    let password = &body.password;
    check_password("password", password)?;
    Ok(NewUserBody {
        username,
        display_name: check_display_name(&body.display_name)?,
        password: password.clone(),
        roles: canonical_roles(&body.roles),
    })
}

/// A password someone chose: long enough to resist guessing.
pub fn check_password(field: &'static str, password: &str) -> Result<(), RuleError> {
    if password.chars().count() < PASSWORD_MIN_CHARS {
        return Err(RuleError::invalid(
            field,
            format!("the password must be at least {PASSWORD_MIN_CHARS} characters"),
        ));
    }
    Ok(())
}

/// An admin resets someone else's password (their own they change, knowing the old one).
pub fn check_password_reset(
    actor_is_admin: bool,
    actor_id: i64,
    user_id: i64,
) -> Result<(), RuleError> {
    if !actor_is_admin {
        return Err(RuleError::Forbidden("only admins reset passwords".into()));
    }
    if actor_id == user_id {
        return Err(RuleError::Forbidden(
            "change your own password with your current one (PUT /api/v1/me/password)".into(),
        ));
    }
    Ok(())
}

pub fn check_display_name(name: &str) -> Result<String, RuleError> {
    let name = name.trim();
    check_plain_text("display_name", name)?;
    if name.is_empty() || name.chars().count() > DISPLAY_NAME_MAX_CHARS {
        return Err(RuleError::invalid(
            "display_name",
            format!("the display name must be 1 to {DISPLAY_NAME_MAX_CHARS} characters"),
        ));
    }
    Ok(name.to_string())
}

/// Roles without duplicates, in `Role::ALL` order.
pub fn canonical_roles(roles: &[Role]) -> Vec<Role> {
    Role::ALL
        .into_iter()
        .filter(|r| roles.contains(r))
        .collect()
}

/// Checks an admin's change to a user: nobody disables themselves (an organisation is
/// never locked out by one click) or changes their own roles (nobody makes themselves an
/// approver, nor drops a role to dodge a duty): another admin must.
pub fn check_user_update(
    actor_id: i64,
    user_id: i64,
    roles_before: &[Role],
    roles: &[Role],
    disabled: bool,
) -> Result<(), RuleError> {
    if actor_id == user_id && disabled {
        return Err(RuleError::invalid(
            "disabled",
            "you cannot disable yourself",
        ));
    }
    if actor_id == user_id && canonical_roles(roles_before) != canonical_roles(roles) {
        return Err(RuleError::Forbidden(
            "nobody changes their own roles; ask another admin".into(),
        ));
    }
    Ok(())
}

/// The roles that let their holder give access (approver) or change who may (admin):
/// granting one is recorded on its own and shown on the admin dashboard.
pub fn privileged_roles_granted(before: &[Role], after: &[Role]) -> Vec<Role> {
    [Role::Admin, Role::Approver]
        .into_iter()
        .filter(|r| after.contains(r) && !before.contains(r))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BreakGlassPolicy, IdentityKind};

    fn approvers() -> Vec<NamedRef> {
        vec![NamedRef::new(2, "bob"), NamedRef::new(3, "erin")]
    }

    fn resource(policy: Policy) -> ResourceBody {
        ResourceBody {
            name: " payments-db ".into(),
            description: "Payments".into(),
            privileges: vec!["read".into(), "write".into()],
            policy,
            connector: None,
        }
    }

    fn policy() -> Policy {
        Policy {
            approvals_required: 1,
            max_duration_secs: 4 * 3600,
            ticket_required: false,
            break_glass: Some(BreakGlassPolicy::default()),
            approvers: Approvers::Role,
            ticket_pattern: None,
            auto_approve: None,
            max_start_ahead_secs: None,
            max_total_secs: None,
        }
    }

    fn field_of(policy: Policy) -> Option<&'static str> {
        check_resource(&resource(policy), &approvers(), &[])
            .unwrap_err()
            .field()
    }

    #[test]
    fn a_policy_without_a_spare_approver_is_flagged() {
        let requiring = |n| Policy {
            approvals_required: n,
            ..policy()
        };
        let two_of_two = policy_warning(&requiring(2), 2).unwrap();
        assert!(
            two_of_two.contains("one of its 2 approvers"),
            "{two_of_two}"
        );
        assert!(
            policy_warning(&requiring(1), 1)
                .unwrap()
                .contains("the only approver")
        );
        assert_eq!(policy_warning(&requiring(2), 3), None);
        assert_eq!(policy_warning(&requiring(1), 2), None);
    }

    #[test]
    fn a_valid_resource_is_trimmed_and_named_approvers_get_their_names() {
        let mut p = policy();
        p.approvers = Approvers::Users {
            users: vec![NamedRef::new(3, ""), NamedRef::new(3, "x")],
        };
        p.ticket_pattern = Some(" OPS-[0-9]+ ".into());
        let checked = check_resource(&resource(p), &approvers(), &[]).unwrap();
        assert_eq!(checked.name, "payments-db");
        assert_eq!(
            checked.policy.approvers,
            Approvers::Users {
                users: vec![NamedRef::new(3, "erin")]
            }
        );
        assert_eq!(checked.policy.ticket_pattern.as_deref(), Some("OPS-[0-9]+"));
    }

    #[test]
    fn invalid_policies_name_their_field() {
        let mut p = policy();
        p.approvals_required = 0;
        assert_eq!(field_of(p), Some("policy.approvals_required"));
        let mut p = policy();
        p.approvals_required = 3;
        assert_eq!(field_of(p), Some("policy.approvals_required"));
        let mut p = policy();
        p.approvals_required = 2;
        p.approvers = Approvers::Users {
            users: vec![NamedRef::new(2, "bob")],
        };
        assert_eq!(field_of(p), Some("policy.approvals_required"));
        let mut p = policy();
        p.approvers = Approvers::Users {
            users: vec![NamedRef::new(9, "mallory")],
        };
        assert_eq!(field_of(p), Some("policy.approvers"));
        let mut p = policy();
        p.max_duration_secs = 0;
        assert_eq!(field_of(p), Some("policy.max_duration_secs"));
        let mut p = policy();
        p.ticket_pattern = Some("OPS-[0-9".into());
        assert_eq!(field_of(p), Some("policy.ticket_pattern"));
        let mut p = policy();
        p.break_glass = Some(BreakGlassPolicy {
            max_duration_secs: 5 * 3600,
            review_within_secs: 3600,
        });
        assert_eq!(field_of(p), Some("policy.break_glass.max_duration_secs"));
        let mut p = policy();
        p.auto_approve = Some(AutoApprove {
            identity_kinds: vec![IdentityKind::Workload],
            privileges: vec!["admin".into()],
            max_duration_secs: 600,
        });
        assert_eq!(field_of(p), Some("policy.auto_approve.privileges"));
        let mut bad_name = resource(policy());
        bad_name.name = "Payments DB".into();
        assert_eq!(
            check_resource(&bad_name, &approvers(), &[])
                .unwrap_err()
                .field(),
            Some("name")
        );
        let mut dup = resource(policy());
        dup.privileges = vec!["read".into(), "read".into()];
        assert_eq!(
            check_resource(&dup, &approvers(), &[]).unwrap_err().field(),
            Some("privileges")
        );
    }

    #[test]
    fn ticket_patterns_match_the_whole_ticket() {
        assert_eq!(ticket_matches("OPS-[0-9]+", "OPS-42"), Ok(true));
        assert_eq!(ticket_matches("OPS-[0-9]+", "xOPS-42"), Ok(false));
        assert_eq!(ticket_matches("OPS-[0-9]+", "OPS-42x"), Ok(false));
        assert_eq!(ticket_matches("a|b", "ab"), Ok(false));
        assert!(ticket_matches("(", "x").is_err());
    }

    #[test]
    fn admins_cannot_lock_themselves_out_nor_change_their_own_roles() {
        let admin = [Role::Admin];
        assert_eq!(
            check_user_update(1, 1, &admin, &admin, true)
                .unwrap_err()
                .field(),
            Some("disabled")
        );
        for roles in [&[Role::Auditor][..], &[Role::Admin, Role::Approver]] {
            assert!(matches!(
                check_user_update(1, 1, &admin, roles, false),
                Err(RuleError::Forbidden(_))
            ));
        }
        assert!(check_user_update(1, 1, &admin, &admin, false).is_ok());
        assert!(check_user_update(1, 2, &[], &[Role::Approver], true).is_ok());
    }

    #[test]
    fn nobody_is_named_like_the_broker() {
        for name in ["stint", " Stint", "anonymous"] {
            let body = NewUserBody {
                username: name.to_lowercase(),
                display_name: "Mallory".into(),
                password: "correct horse battery".into(),
                roles: vec![],
            };
            assert_eq!(check_new_user(&body).unwrap_err().field(), Some("username"));
        }
    }

    #[test]
    fn display_names_hold_no_invisible_or_control_characters() {
        for bad in [
            "Bob\u{202E}nimda",
            "\u{1b}[31mroot",
            "Eve\u{200B}",
            "a\u{0}b",
        ] {
            assert_eq!(
                check_display_name(bad).unwrap_err().field(),
                Some("display_name")
            );
        }
        assert_eq!(check_display_name(" Zoë O'Brien ").unwrap(), "Zoë O'Brien");
    }

    #[test]
    fn granting_admin_or_approver_is_privileged() {
        assert_eq!(
            privileged_roles_granted(&[Role::Requester], &[Role::Approver, Role::Auditor]),
            [Role::Approver]
        );
        assert!(privileged_roles_granted(&[Role::Admin], &[Role::Admin]).is_empty());
    }
}
