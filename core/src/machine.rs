//! Identities that speak for themselves: their API tokens, and a grant's holder ending it
//! the moment its task is done.

use crate::admin::check_name;
use crate::model::Role;
use crate::rules::{RuleError, optional_text};
use crate::state::{GrantEvent, GrantState};
use serde::{Deserialize, Serialize};

/// Every identity token starts with this, so secret scanners and people recognise one.
pub const TOKEN_PREFIX: &str = "stint_";

/// The longest an identity token may live: a token is a standing secret, so it expires.
pub const MAX_TOKEN_SECS: i64 = 90 * 86_400;

/// The shortest an identity token may live.
pub const MIN_TOKEN_SECS: i64 = 60;

/// Checks a new token's name and lifetime; returns the name to store.
pub fn check_new_token(name: &str, expires_in_secs: i64) -> Result<String, RuleError> {
    let name = check_name("name", name)?;
    if !(MIN_TOKEN_SECS..=MAX_TOKEN_SECS).contains(&expires_in_secs) {
        return Err(RuleError::invalid(
            "expires_in_secs",
            format!(
                "a token lives from {MIN_TOKEN_SECS} seconds to 90 days ({MAX_TOKEN_SECS} \
                 seconds); mint a new one before it expires"
            ),
        ));
    }
    Ok(name)
}

/// Who mints and revokes an identity's tokens: its current owners, who answer for what it
/// does, and admins.
pub fn may_manage_tokens(actor_is_owner: bool, actor_roles: &[Role]) -> bool {
    actor_is_owner || actor_roles.contains(&Role::Admin)
}

/// Who sees an identity's tokens (never their secrets): whoever manages them, and auditors.
pub fn may_see_tokens(actor_is_owner: bool, actor_roles: &[Role]) -> bool {
    may_manage_tokens(actor_is_owner, actor_roles) || actor_roles.contains(&Role::Auditor)
}

/// How the holder's task went, as they report it when they release a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReleaseOutcome {
    Completed,
    Failed,
}

impl ReleaseOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseOutcome::Completed => "completed",
            ReleaseOutcome::Failed => "failed",
        }
    }
}

/// The holder of a live grant ends it because the task is over: the grant ends as if
/// revoked. Returns the new state and the trimmed note, if any.
pub fn decide_release(
    state: GrantState,
    secs_left: i64,
    actor_is_holder: bool,
    note: Option<&str>,
) -> Result<(GrantState, Option<String>), RuleError> {
    if !actor_is_holder {
        return Err(RuleError::Forbidden(
            "only the grant's holder may release it; owners and approvers revoke".into(),
        ));
    }
    if state == GrantState::Active && secs_left <= 0 {
        return Err(RuleError::Conflict("this grant has already expired".into()));
    }
    let next = state.apply(GrantEvent::Revoke)?;
    Ok((next, optional_text("note", note)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_lives_at_most_ninety_days_and_has_a_name() {
        assert_eq!(check_new_token(" ci-deploy ", 3600).unwrap(), "ci-deploy");
        assert!(check_new_token("ci", MAX_TOKEN_SECS).is_ok());
        for secs in [MAX_TOKEN_SECS + 1, MIN_TOKEN_SECS - 1, 0, -5] {
            let err = check_new_token("ci", secs).unwrap_err();
            assert_eq!(err.field(), Some("expires_in_secs"), "{secs}");
        }
        assert_eq!(check_new_token("", 3600).unwrap_err().field(), Some("name"));
        assert_eq!(
            check_new_token("Bad Name", 3600).unwrap_err().field(),
            Some("name")
        );
    }

    #[test]
    fn owners_and_admins_manage_tokens_auditors_only_see_them() {
        assert!(may_manage_tokens(true, &[]));
        assert!(may_manage_tokens(false, &[Role::Admin]));
        assert!(!may_manage_tokens(false, &[Role::Approver, Role::Auditor]));
        assert!(may_see_tokens(false, &[Role::Auditor]));
        assert!(!may_see_tokens(false, &[Role::Requester, Role::Approver]));
    }

    #[test]
    fn only_the_holder_releases_a_live_grant() {
        assert_eq!(
            decide_release(GrantState::Active, 60, true, Some("  done  ")).unwrap(),
            (GrantState::Revoked, Some("done".to_string()))
        );
        assert!(matches!(
            decide_release(GrantState::Active, 60, false, None),
            Err(RuleError::Forbidden(_))
        ));
        assert!(matches!(
            decide_release(GrantState::Active, 0, true, None),
            Err(RuleError::Conflict(_))
        ));
        assert!(decide_release(GrantState::Expired, 0, true, None).is_err());
        assert!(decide_release(GrantState::Revoked, 10, true, None).is_err());
    }
}
