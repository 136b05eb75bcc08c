//! The live feed (`GET /api/v1/events`): which changes of the audit trail are news for
//! someone's page, who may hear of each, and when the sweeper adds the timed notices
//! (a grant about to expire, a review coming due or overdue) to the trail.
//!
//! A message names what changed and the ids to refetch, never its contents: whoever
//! hears of it reads the thing itself through the API, under the API's rules.

use crate::api::UserView;
#[cfg(test)]
use crate::model::Role;
use crate::visibility::{READS_EVERYTHING, SEES_ALL_ACCESS, any_of};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// One change, as the feed sends it (the SSE `data`; its `event` is `kind`, its `id` is
/// `seq`, the audit trail's sequence number, which `Last-Event-ID` resumes after).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LiveEvent {
    pub seq: i64,
    /// The audit action: `request.filed`, `grant.expiring`, `review.overdue`, …
    pub kind: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_id: Option<i64>,
}

/// The feed's own messages, beside the changes: the reader is too far behind to be
/// caught up and should reread what it shows (`resync`), or its session or token no
/// longer lets it in (`signed_out`, after which the stream ends).
pub const RESYNC: &str = "resync";
pub const SIGNED_OUT: &str = "signed_out";

/// The audit actions the feed streams: what moves a request, a grant (a credential
/// fetched for it included), a review or a standing finding, and who owns an identity.
/// Proposals waiting for a second admin are news to admins and auditors. Sign-ins,
/// refusals and administration applied are in the trail but are nobody's live news.
pub const LIVE_ACTIONS: &[&str] = &[
    "request.filed",
    "request.approved",
    "request.auto_approved",
    "request.denied",
    "request.cancelled",
    "request.expired",
    "grant.scheduled",
    "grant.activated",
    "grant.extended",
    "grant.expiring",
    "grant.expired",
    "grant.revoked",
    "grant.released",
    "grant.revocation_failing",
    "credential.issued",
    "connector.provisioned",
    "connector.provision_failed",
    "connector.extended",
    "connector.extend_failed",
    "connector.revoked",
    "connector.revoke_failed",
    "break_glass.taken",
    "review.opened",
    "review.due_soon",
    "review.overdue",
    "review.decided",
    "campaign.started",
    "campaign.overdue",
    "campaign.item_decided",
    "campaign.closed",
    "standing.recorded",
    "standing.mapped",
    "standing.rotated",
    "standing.false_positive",
    "standing.imported",
    "ownership.declared",
    "ownership.renewed",
    "ownership.takeover_confirmed",
    "ownership.stepped_down",
    "ownership.lapsed",
    "proposal.filed",
    "proposal.approved",
    "proposal.rejected",
    "proposal.withdrawn",
];

/// Whether the feed streams events of `action`.
pub fn is_live(action: &str) -> bool {
    LIVE_ACTIONS.contains(&action)
}

/// Who may hear of one change: the facts its visibility rule needs, read with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveScope {
    /// A request or its grant: those who oversee access, its requester, and the current
    /// owners of its identity (as the request and grant pages allow).
    Access { requester: i64, owners: Vec<i64> },
    /// A break-glass review: those who oversee access and whoever took the access.
    Review { taker: i64 },
    /// A standing finding: admins and auditors, everyone while it is unmapped (an owner
    /// may claim it), and the current owners of the identity it is mapped to.
    Finding { unmapped: bool, owners: Vec<i64> },
    /// An access review: admins and auditors, and whoever has an item in it.
    Campaign { assignees: Vec<i64> },
    /// Who owns an identity, or a batch of findings imported: the catalog everyone
    /// signed in reads.
    Everyone,
    /// A change to who may do what, proposed for a second admin: admins and auditors.
    Oversight,
}

impl LiveScope {
    /// Whether `viewer` may hear of the change: the same rule as reading the thing itself,
    /// so a message never tells of what its reader could not open. An identity (speaking
    /// with its token) reads only what it filed and what came of it: the catalog and the
    /// findings are for people.
    pub fn admits(&self, viewer: &UserView) -> bool {
        if viewer.identity_id.is_some() {
            return matches!(self, LiveScope::Access { requester, .. } if *requester == viewer.id);
        }
        let (viewer, roles) = (viewer.id, viewer.roles.as_slice());
        match self {
            LiveScope::Access { requester, owners } => {
                any_of(roles, SEES_ALL_ACCESS) || *requester == viewer || owners.contains(&viewer)
            }
            LiveScope::Review { taker } => any_of(roles, SEES_ALL_ACCESS) || *taker == viewer,
            LiveScope::Finding { unmapped, owners } => {
                any_of(roles, READS_EVERYTHING) || *unmapped || owners.contains(&viewer)
            }
            LiveScope::Campaign { assignees } => {
                any_of(roles, READS_EVERYTHING) || assignees.contains(&viewer)
            }
            LiveScope::Everyone => true,
            LiveScope::Oversight => any_of(roles, READS_EVERYTHING),
        }
    }
}

/// How long before a grant's expiry its holder and owners hear `grant.expiring`.
pub const EXPIRY_NOTICE_SECS: i64 = 10 * 60;

/// How long before a review is due its reviewers hear `review.due_soon`.
pub const REVIEW_DUE_SOON_SECS: i64 = 2 * 60 * 60;

/// When a grant from `starts_at` to `expires_at` is announced as expiring: never for a
/// grant shorter than the notice itself, whose holder knew its end from the start.
pub fn expiry_notice_at(
    starts_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let at = expires_at - Duration::seconds(EXPIRY_NOTICE_SECS);
    (at > starts_at).then_some(at)
}

/// When a review opened at `opened_at` and due at `due_at` is announced as due soon:
/// never for a review given less time than the notice.
pub fn due_soon_notice_at(
    opened_at: DateTime<Utc>,
    due_at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let at = due_at - Duration::seconds(REVIEW_DUE_SOON_SECS);
    (at > opened_at).then_some(at)
}

/// A timed notice the sweeper adds to the trail when its time comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// A grant's end is `EXPIRY_NOTICE_SECS` away.
    GrantExpiring,
    /// A review's due time is `REVIEW_DUE_SOON_SECS` away.
    ReviewDueSoon,
    /// A review's due time has passed undecided.
    ReviewOverdue,
}

impl Notice {
    /// Its audit action (and live event kind).
    pub fn action(self) -> &'static str {
        match self {
            Notice::GrantExpiring => "grant.expiring",
            Notice::ReviewDueSoon => "review.due_soon",
            Notice::ReviewOverdue => "review.overdue",
        }
    }

    /// Whether the notice still tells anything at `now`, about a `deadline` (the grant's
    /// expiry, the review's due time): a warning whose deadline has passed (a broker that
    /// was down then) is dropped, not given late; that a review is overdue stays true.
    pub fn is_news(self, deadline: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        match self {
            Notice::GrantExpiring | Notice::ReviewDueSoon => deadline > now,
            Notice::ReviewOverdue => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: i64, roles: &[Role]) -> UserView {
        UserView {
            id,
            username: format!("user{id}"),
            display_name: format!("User {id}"),
            roles: roles.to_vec(),
            identity_id: None,
            via: None,
            vouched_by: None,
        }
    }

    fn identity(principal: i64) -> UserView {
        UserView {
            identity_id: Some(7),
            ..person(principal, &[])
        }
    }

    #[test]
    fn an_identity_hears_only_of_what_it_filed_not_of_the_catalog_or_findings() {
        let own = LiveScope::Access {
            requester: 9,
            owners: vec![],
        };
        assert!(own.admits(&identity(9)));
        assert!(!own.admits(&identity(8)));
        assert!(!LiveScope::Everyone.admits(&identity(9)));
        let unmapped = LiveScope::Finding {
            unmapped: true,
            owners: vec![9],
        };
        assert!(!unmapped.admits(&identity(9)));
        assert!(!LiveScope::Review { taker: 9 }.admits(&identity(9)));
    }

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn a_request_is_heard_of_by_its_requester_its_owners_and_overseers_only() {
        let scope = LiveScope::Access {
            requester: 1,
            owners: vec![2],
        };
        assert!(scope.admits(&person(1, &[Role::Requester])));
        assert!(scope.admits(&person(2, &[Role::Requester])));
        assert!(scope.admits(&person(3, &[Role::Approver])));
        assert!(scope.admits(&person(4, &[Role::Auditor])));
        assert!(!scope.admits(&person(5, &[Role::Requester])));
        assert!(!scope.admits(&person(5, &[])), "someone with no role");
    }

    #[test]
    fn a_review_is_heard_of_by_its_taker_and_overseers_but_not_by_owners() {
        let scope = LiveScope::Review { taker: 1 };
        assert!(scope.admits(&person(1, &[Role::Requester])));
        assert!(scope.admits(&person(3, &[Role::Reviewer])));
        assert!(!scope.admits(&person(2, &[Role::Requester])));
    }

    #[test]
    fn a_proposal_is_heard_of_by_admins_and_auditors_only() {
        let scope = LiveScope::Oversight;
        assert!(scope.admits(&person(1, &[Role::Admin])));
        assert!(scope.admits(&person(2, &[Role::Auditor])));
        assert!(!scope.admits(&person(3, &[Role::Approver, Role::Requester])));
        assert!(!scope.admits(&identity(4)));
    }

    #[test]
    fn a_mapped_finding_is_heard_of_by_its_identitys_owners_and_auditors_only() {
        let mapped = LiveScope::Finding {
            unmapped: false,
            owners: vec![2],
        };
        assert!(mapped.admits(&person(2, &[Role::Requester])));
        assert!(mapped.admits(&person(4, &[Role::Auditor])));
        assert!(
            !mapped.admits(&person(3, &[Role::Approver])),
            "approvers read grants, not findings"
        );
        let unmapped = LiveScope::Finding {
            unmapped: true,
            owners: vec![],
        };
        assert!(unmapped.admits(&person(5, &[Role::Requester])));
    }

    #[test]
    fn only_grants_and_reviews_longer_than_their_notice_get_one() {
        assert_eq!(expiry_notice_at(t(0), t(3600)), Some(t(3000)));
        assert_eq!(expiry_notice_at(t(0), t(600)), None);
        assert_eq!(expiry_notice_at(t(0), t(300)), None);
        assert_eq!(due_soon_notice_at(t(0), t(86_400)), Some(t(79_200)));
        assert_eq!(due_soon_notice_at(t(0), t(3600)), None);
    }

    #[test]
    fn a_warning_whose_deadline_passed_is_dropped_but_overdue_stays_news() {
        assert!(Notice::GrantExpiring.is_news(t(10), t(0)));
        assert!(!Notice::GrantExpiring.is_news(t(10), t(10)));
        assert!(!Notice::ReviewDueSoon.is_news(t(10), t(11)));
        assert!(Notice::ReviewOverdue.is_news(t(10), t(5000)));
        for notice in [
            Notice::GrantExpiring,
            Notice::ReviewDueSoon,
            Notice::ReviewOverdue,
        ] {
            assert!(is_live(notice.action()), "{notice:?}");
        }
    }

    #[test]
    fn the_feed_streams_access_news_and_not_sign_ins_or_administration() {
        for action in [
            "request.filed",
            "grant.expiring",
            "review.overdue",
            "break_glass.taken",
        ] {
            assert!(is_live(action), "{action}");
        }
        for action in [
            "session.login",
            "authz.refused",
            "resource.updated",
            "user.created",
        ] {
            assert!(!is_live(action), "{action}");
        }
    }
}
