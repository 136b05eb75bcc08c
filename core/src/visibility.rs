//! Who may see what: the role sets the broker enforces and the portal shows, in one place
//! so the two cannot drift apart.

use crate::model::Role;

/// See every request, grant and review, whoever owns the identity: those who decide,
/// judge or oversee access. Anyone else sees what they filed and what their identities got.
pub const SEES_ALL_ACCESS: &[Role] = &[Role::Approver, Role::Reviewer, Role::Admin, Role::Auditor];

/// Read the whole audit trail, every standing credential and the coverage figures, and
/// export them.
pub const READS_EVERYTHING: &[Role] = &[Role::Auditor, Role::Admin];

/// Work the queue of break-glass reviews (the Reviews page).
pub const WORKS_REVIEWS: &[Role] = &[Role::Reviewer, Role::Auditor, Role::Admin];

/// Get a pending request's approver context (its identity's history, other requests and
/// live access): those who see all access anyway. Its requester, an owner or an identity
/// filing for itself does not: the history may hold others' requests.
pub const SEES_APPROVER_CONTEXT: &[Role] = SEES_ALL_ACCESS;

/// See where a grant was last used from (a server's address), as the trail's addresses.
pub const SEES_CALLER_ADDRESSES: &[Role] = READS_EVERYTHING;

/// Open Live access (every live grant, filtered): admins and auditors, who answer for all
/// access in an incident.
pub const SEES_LIVE_ACCESS: &[Role] = READS_EVERYTHING;

/// End every live grant a filter matches in one call: admins. Anyone may still name grants
/// by id, each then decided as a single revocation would be.
pub const REVOKES_BY_FILTER: &[Role] = &[Role::Admin];

/// Whether someone holding `held` holds one of `set`.
pub fn any_of(held: &[Role], set: &[Role]) -> bool {
    set.iter().any(|r| held.contains(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_requester_alone_sees_only_their_own() {
        let requester = [Role::Requester];
        assert!(!any_of(&requester, SEES_ALL_ACCESS));
        assert!(!any_of(&requester, READS_EVERYTHING));
        assert!(!any_of(&requester, WORKS_REVIEWS));
        // Whoever reads everything also sees all access: the sets nest.
        for role in READS_EVERYTHING {
            assert!(SEES_ALL_ACCESS.contains(role));
        }
        assert!(any_of(&[Role::Requester, Role::Auditor], READS_EVERYTHING));
    }
}
