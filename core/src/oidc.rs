//! Signing people in with their company's identity provider (OpenID Connect): which Stint
//! roles a person's groups give, and why a sign-in was refused, worded once for the broker's
//! audit trail and the portal's login page.

use crate::Role;
use serde::{Deserialize, Serialize};

/// Which groups give each role: a person holds a role when they are in any of its groups.
pub type RoleMapping = Vec<(Role, Vec<String>)>;

/// The roles `groups` give under `mapping`, without duplicates, in `Role::ALL` order.
pub fn roles_from_groups(mapping: &RoleMapping, groups: &[String]) -> Vec<Role> {
    Role::ALL
        .into_iter()
        .filter(|role| {
            mapping
                .iter()
                .filter(|(mapped, _)| mapped == role)
                .any(|(_, wanted)| wanted.iter().any(|g| groups.contains(g)))
        })
        .collect()
}

/// The identity providers the login page offers (`GET /api/v1/oidc/providers`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignInOptions {
    /// Whether the username and password form is offered (`--no-local-login` turns it off).
    pub local_login: bool,
    pub providers: Vec<ProviderView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderView {
    /// The provider's key in the configuration, as in `/api/v1/oidc/{id}/login`.
    pub id: String,
    pub display_name: String,
}

/// What signing out answers when the session came from a provider that can end its own
/// session too (OpenID Connect RP-Initiated Logout).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedOut {
    pub end_session_url: String,
    pub provider: ProviderView,
}

/// Why a sign-in through a provider was refused. The broker sends the browser back to the
/// login page with `?sso_error=CODE`; only these codes travel, never the provider's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoRefusal {
    /// No provider is configured under that name.
    UnknownProvider,
    /// The provider could not be reached, or answered with something that is not OpenID.
    ProviderUnreachable,
    /// The provider itself sent an error back (the person cancelled, say).
    ProviderError,
    /// The callback came without a sign-in started in this browser, or too late.
    NotStarted,
    /// The callback's `state` is not the one this browser's sign-in sent.
    StateMismatch,
    /// The provider refused to exchange the code (used before, expired, or not ours).
    CodeRefused,
    /// The ID token failed verification: signature, issuer, audience, expiry or nonce.
    IdTokenInvalid,
    /// The provider did not say who the person is in a way Stint can use as a username.
    UsernameUnusable,
    /// The provider did not say which groups the person is in (the claim is missing, or
    /// not a list of names): nothing about their roles can be decided, so nothing changes.
    GroupsUnknown,
    /// The username is already an account that is not linked to this provider's person.
    UsernameTaken,
    /// The account is disabled in Stint.
    Disabled,
    /// None of the person's groups maps to a Stint role.
    NoAccess,
    /// Too many sign-ins from one address in a minute.
    Throttled,
}

impl SsoRefusal {
    pub const ALL: [SsoRefusal; 13] = [
        SsoRefusal::UnknownProvider,
        SsoRefusal::ProviderUnreachable,
        SsoRefusal::ProviderError,
        SsoRefusal::NotStarted,
        SsoRefusal::StateMismatch,
        SsoRefusal::CodeRefused,
        SsoRefusal::IdTokenInvalid,
        SsoRefusal::UsernameUnusable,
        SsoRefusal::GroupsUnknown,
        SsoRefusal::UsernameTaken,
        SsoRefusal::Disabled,
        SsoRefusal::NoAccess,
        SsoRefusal::Throttled,
    ];

    pub fn code(self) -> &'static str {
        match self {
            SsoRefusal::UnknownProvider => "unknown_provider",
            SsoRefusal::ProviderUnreachable => "provider_unreachable",
            SsoRefusal::ProviderError => "provider_error",
            SsoRefusal::NotStarted => "not_started",
            SsoRefusal::StateMismatch => "state_mismatch",
            SsoRefusal::CodeRefused => "code_refused",
            SsoRefusal::IdTokenInvalid => "id_token_invalid",
            SsoRefusal::UsernameUnusable => "username_unusable",
            SsoRefusal::GroupsUnknown => "groups_unknown",
            SsoRefusal::Throttled => "throttled",
            SsoRefusal::UsernameTaken => "username_taken",
            SsoRefusal::Disabled => "disabled",
            SsoRefusal::NoAccess => "no_access",
        }
    }

    pub fn parse(code: &str) -> Option<SsoRefusal> {
        SsoRefusal::ALL.into_iter().find(|r| r.code() == code)
    }

    /// What the person is told, and what they can do about it.
    pub fn message(self) -> &'static str {
        match self {
            SsoRefusal::UnknownProvider => {
                "That sign-in option does not exist (any more). Choose one below."
            }
            SsoRefusal::ProviderUnreachable => {
                "The identity provider could not be reached. Try again in a moment; if it \
                 persists, tell your Stint administrator."
            }
            SsoRefusal::ProviderError => {
                "The identity provider did not sign you in (it may have been cancelled). Try \
                 again."
            }
            SsoRefusal::NotStarted => {
                "This sign-in was not started in this browser, or took longer than ten \
                 minutes. Start again."
            }
            SsoRefusal::StateMismatch => {
                "This sign-in's answer does not belong to the sign-in this browser started, so \
                 it was refused. Start again."
            }
            SsoRefusal::CodeRefused => {
                "The identity provider refused to complete this sign-in (its code was used \
                 already or has expired). Start again."
            }
            SsoRefusal::IdTokenInvalid => {
                "The identity provider's answer could not be verified, so it was refused. Tell \
                 your Stint administrator if it persists."
            }
            SsoRefusal::UsernameUnusable => {
                "The identity provider did not give a username Stint can use (2 to 64 \
                 lowercase letters, digits, `.`, `_` or `-`). Tell your Stint administrator."
            }
            SsoRefusal::GroupsUnknown => {
                "The identity provider did not say which groups you are in, so Stint cannot \
                 tell which roles you have. Tell your Stint administrator (the provider may need \
                 to release the groups claim)."
            }
            SsoRefusal::Throttled => {
                "Too many sign-in attempts from your address. Wait a minute, then try again."
            }
            SsoRefusal::UsernameTaken => {
                "Your username already belongs to another Stint account that does not sign in \
                 through this provider. Ask a Stint administrator to sort it out."
            }
            SsoRefusal::Disabled => {
                "Your Stint account is disabled. Ask a Stint administrator if you need access."
            }
            SsoRefusal::NoAccess => {
                "You signed in, but none of your groups gives you a role in Stint. Ask whoever \
                 manages your groups for access."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping() -> RoleMapping {
        vec![
            (Role::Requester, vec!["engineering".into()]),
            (
                Role::Approver,
                vec!["stint-approvers".into(), "leads".into()],
            ),
            (Role::Admin, vec!["stint-admins".into()]),
        ]
    }

    fn groups(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn any_mapped_group_gives_its_role_in_canonical_order() {
        assert_eq!(
            roles_from_groups(
                &mapping(),
                &groups(&["stint-admins", "leads", "engineering"])
            ),
            vec![Role::Requester, Role::Approver, Role::Admin]
        );
        assert_eq!(
            roles_from_groups(&mapping(), &groups(&["leads", "stint-approvers"])),
            vec![Role::Approver]
        );
    }

    #[test]
    fn unmapped_groups_give_nothing_and_names_match_exactly() {
        assert!(roles_from_groups(&mapping(), &groups(&["marketing", "Engineering"])).is_empty());
        assert!(roles_from_groups(&mapping(), &[]).is_empty());
    }

    #[test]
    fn every_refusal_code_parses_back_and_nothing_else_does() {
        for refusal in SsoRefusal::ALL {
            assert_eq!(SsoRefusal::parse(refusal.code()), Some(refusal));
            assert!(!refusal.message().is_empty());
        }
        assert_eq!(SsoRefusal::parse("<script>"), None);
    }
}
