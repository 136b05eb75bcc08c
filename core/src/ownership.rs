//! Ownership: a user's living, dated declaration of accountability for an identity.
//!
//! A declaration is current until its owner steps down or its attestation date passes.
//! An identity without a current declaration is orphaned: nobody may ask for access for it
//! until someone declares accountability again.

use crate::rules::RuleError;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// A statement shorter than this does not say what the identity does.
pub const STATEMENT_MIN_CHARS: usize = 20;
/// How far ahead an identity's last attestation lapsing counts as "due soon".
pub const DUE_SOON_DAYS: i64 = 14;
/// The default longest time a declaration holds before it must be renewed.
pub const DEFAULT_MAX_ATTESTATION_DAYS: i64 = 90;

/// Where an identity's accountability stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OwnershipStatus {
    Owned,
    /// Every current declaration lapses within `DUE_SOON_DAYS`.
    AttestationDueSoon,
    Orphaned,
}

impl OwnershipStatus {
    pub const ALL: [OwnershipStatus; 3] = [
        OwnershipStatus::Owned,
        OwnershipStatus::AttestationDueSoon,
        OwnershipStatus::Orphaned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OwnershipStatus::Owned => "owned",
            OwnershipStatus::AttestationDueSoon => "attestation_due_soon",
            OwnershipStatus::Orphaned => "orphaned",
        }
    }

    pub fn parse(s: &str) -> Option<OwnershipStatus> {
        OwnershipStatus::ALL.into_iter().find(|o| o.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            OwnershipStatus::Owned => "owned",
            OwnershipStatus::AttestationDueSoon => "attestation due soon",
            OwnershipStatus::Orphaned => "orphaned",
        }
    }
}

/// The status of an identity whose current declarations must be re-attested by these dates.
pub fn status(
    attest_until: impl IntoIterator<Item = DateTime<Utc>>,
    now: DateTime<Utc>,
) -> OwnershipStatus {
    match attest_until.into_iter().filter(|t| *t > now).max() {
        None => OwnershipStatus::Orphaned,
        Some(last) if last - now <= Duration::days(DUE_SOON_DAYS) => {
            OwnershipStatus::AttestationDueSoon
        }
        Some(_) => OwnershipStatus::Owned,
    }
}

/// How a declaration ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeclarationEnd {
    /// Replaced by its owner's newer declaration.
    Renewed,
    SteppedDown,
    /// Its attestation date passed.
    Lapsed,
}

impl DeclarationEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            DeclarationEnd::Renewed => "renewed",
            DeclarationEnd::SteppedDown => "stepped_down",
            DeclarationEnd::Lapsed => "lapsed",
        }
    }

    pub fn parse(s: &str) -> Option<DeclarationEnd> {
        [
            DeclarationEnd::Renewed,
            DeclarationEnd::SteppedDown,
            DeclarationEnd::Lapsed,
        ]
        .into_iter()
        .find(|e| e.as_str() == s)
    }
}

/// What a new declaration is, given who makes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Declaration {
    /// A current owner re-attests: their previous declaration ends as renewed.
    Renewal,
    /// A user takes over an orphaned identity.
    TakeOver,
}

impl Declaration {
    /// The audit action that records it.
    pub fn action(self) -> &'static str {
        match self {
            Declaration::Renewal => "ownership.renewed",
            Declaration::TakeOver => "ownership.declared",
        }
    }
}

/// The facts a declaration is decided on, read inside the broker's transaction.
pub struct DeclarationAttempt<'a> {
    pub declarer_is_owner: bool,
    /// The identity's current owners' names.
    pub current_owners: &'a [String],
    pub statement: &'a str,
    pub attest_until: DateTime<Utc>,
    pub now: DateTime<Utc>,
    pub max_attestation_days: i64,
}

/// Checks a declaration of accountability; returns its kind and the statement to store.
/// Owners renew; anyone may take over an orphaned identity; nobody joins the owners of an
/// identity without them, or requests could be filed by whoever declares.
pub fn check_declaration(a: &DeclarationAttempt<'_>) -> Result<(Declaration, String), RuleError> {
    let kind = if a.declarer_is_owner {
        Declaration::Renewal
    } else if a.current_owners.is_empty() {
        Declaration::TakeOver
    } else {
        return Err(RuleError::Forbidden(format!(
            "this identity is owned by {}; only its owners renew their declarations, and \
             anyone may take it over once it is orphaned",
            a.current_owners.join(", ")
        )));
    };
    let statement = crate::rules::bounded_text(
        "statement",
        a.statement,
        STATEMENT_MIN_CHARS,
        &format!(
            "say what the identity does and why you answer for it, in at least \
             {STATEMENT_MIN_CHARS} characters"
        ),
    )?;
    let latest = latest_attestation(a.now, a.max_attestation_days);
    if a.attest_until <= a.now {
        return Err(RuleError::invalid(
            "attest_until",
            "the re-attestation date must be in the future",
        ));
    }
    if a.attest_until > latest {
        return Err(RuleError::invalid(
            "attest_until",
            format!(
                "re-attest within {} days at most (by {})",
                a.max_attestation_days,
                crate::moments::date(&latest)
            ),
        ));
    }
    Ok((kind, statement.to_string()))
}

/// Checks that an admin may confirm a takeover: one still current and unconfirmed, made by
/// someone else (nobody vouches for their own takeover).
pub fn check_takeover_confirmation(
    actor_is_admin: bool,
    actor_is_declarer: bool,
    declaration_current: bool,
    awaiting_confirmation: bool,
) -> Result<(), RuleError> {
    if !actor_is_admin {
        return Err(RuleError::Forbidden(
            "only an admin confirms a takeover".into(),
        ));
    }
    if actor_is_declarer {
        return Err(RuleError::Forbidden(
            "you took this identity over; another admin must confirm it".into(),
        ));
    }
    if !declaration_current {
        return Err(RuleError::Conflict(
            "this declaration has ended; there is nothing to confirm".into(),
        ));
    }
    if !awaiting_confirmation {
        return Err(RuleError::Conflict(
            "this declaration is not a takeover awaiting confirmation".into(),
        ));
    }
    Ok(())
}

/// The furthest re-attestation date a declaration made at `now` may carry.
pub fn latest_attestation(now: DateTime<Utc>, max_attestation_days: i64) -> DateTime<Utc> {
    now + Duration::days(max_attestation_days)
}

/// Why the last owner of an identity with live access may not step down (the portal says
/// so before anyone tries); `None` when stepping down is allowed.
pub fn step_down_refusal(other_owners: usize, active_grants: usize) -> Option<RuleError> {
    (other_owners == 0 && active_grants > 0).then(|| {
        RuleError::Conflict(format!(
            "you are the last owner and the identity has {active_grants} active grant{}; \
             revoke {} or let another owner declare first",
            if active_grants == 1 { "" } else { "s" },
            if active_grants == 1 { "it" } else { "them" },
        ))
    })
}

/// Checks that an owner may step down; returns the reason to store. The last owner of an
/// identity with live access may not: that access would be left with nobody answering for it.
pub fn check_step_down(
    is_owner: bool,
    other_owners: usize,
    active_grants: usize,
    reason: &str,
) -> Result<String, RuleError> {
    if !is_owner {
        return Err(RuleError::Conflict(
            "you have no current declaration for this identity".into(),
        ));
    }
    let reason = crate::rules::required_text("reason", reason, "say why you step down")?;
    if let Some(refusal) = step_down_refusal(other_owners, active_grants) {
        return Err(refusal);
    }
    Ok(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_another_admin_confirms_a_current_takeover() {
        assert!(check_takeover_confirmation(true, false, true, true).is_ok());
        assert!(matches!(
            check_takeover_confirmation(false, false, true, true),
            Err(RuleError::Forbidden(_))
        ));
        assert!(matches!(
            check_takeover_confirmation(true, true, true, true),
            Err(RuleError::Forbidden(_))
        ));
        assert!(check_takeover_confirmation(true, false, false, true).is_err());
        assert!(check_takeover_confirmation(true, false, true, false).is_err());
    }

    fn at(day: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::days(day)
    }

    fn attempt<'a>(
        owner: bool,
        owners: &'a [String],
        until: DateTime<Utc>,
    ) -> DeclarationAttempt<'a> {
        DeclarationAttempt {
            declarer_is_owner: owner,
            current_owners: owners,
            statement: "  I run the nightly revenue report and answer for it.  ",
            attest_until: until,
            now: at(0),
            max_attestation_days: 90,
        }
    }

    #[test]
    fn status_follows_the_latest_current_attestation() {
        assert_eq!(status([], at(0)), OwnershipStatus::Orphaned);
        assert_eq!(status([at(-1)], at(0)), OwnershipStatus::Orphaned);
        assert_eq!(status([at(0)], at(0)), OwnershipStatus::Orphaned);
        assert_eq!(status([at(10)], at(0)), OwnershipStatus::AttestationDueSoon);
        assert_eq!(status([at(10), at(60)], at(0)), OwnershipStatus::Owned);
        assert_eq!(
            status([at(60)], at(59)),
            OwnershipStatus::AttestationDueSoon
        );
    }

    #[test]
    fn owners_renew_and_anyone_takes_over_an_orphan() {
        let alice = vec!["alice".to_string()];
        let (kind, statement) = check_declaration(&attempt(true, &alice, at(30))).unwrap();
        assert_eq!(kind, Declaration::Renewal);
        assert_eq!(
            statement,
            "I run the nightly revenue report and answer for it."
        );
        assert_eq!(
            check_declaration(&attempt(false, &[], at(30))).unwrap().0,
            Declaration::TakeOver
        );
        let err = check_declaration(&attempt(false, &alice, at(30))).unwrap_err();
        assert!(matches!(err, RuleError::Forbidden(m) if m.contains("alice")));
    }

    #[test]
    fn attestation_dates_are_bounded() {
        assert_eq!(
            check_declaration(&attempt(false, &[], at(91)))
                .unwrap_err()
                .field(),
            Some("attest_until")
        );
        assert_eq!(
            check_declaration(&attempt(false, &[], at(0)))
                .unwrap_err()
                .field(),
            Some("attest_until")
        );
        assert!(check_declaration(&attempt(false, &[], at(90))).is_ok());
        let mut short = attempt(false, &[], at(30));
        short.statement = "mine";
        assert_eq!(
            check_declaration(&short).unwrap_err().field(),
            Some("statement")
        );
    }

    #[test]
    fn the_last_owner_of_live_access_cannot_step_down() {
        assert!(matches!(
            check_step_down(true, 0, 2, "moving teams"),
            Err(RuleError::Conflict(m)) if m.contains("2 active grants")
        ));
        assert_eq!(
            check_step_down(true, 1, 2, " moving teams ").unwrap(),
            "moving teams"
        );
        assert!(check_step_down(true, 0, 0, "moving teams").is_ok());
        assert_eq!(
            check_step_down(true, 0, 0, " ").unwrap_err().field(),
            Some("reason")
        );
        assert!(matches!(
            check_step_down(false, 1, 0, "x"),
            Err(RuleError::Conflict(_))
        ));
    }
}

/// The stretches of `[from, to)` in which an identity had no current declaration, given
/// each declaration's span (declared, and when it stopped being current), oldest first.
pub fn orphaned_stretches(
    spans: &[(DateTime<Utc>, DateTime<Utc>)],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut spans: Vec<_> = spans.iter().filter(|(a, b)| a < b).copied().collect();
    spans.sort();
    let mut stretches = Vec::new();
    // The first moment not yet known to be owned.
    let mut cursor = from;
    for (start, end) in spans {
        if cursor >= to {
            break;
        }
        if start > cursor {
            stretches.push((cursor, start.min(to)));
        }
        cursor = cursor.max(end);
    }
    if cursor < to {
        stretches.push((cursor, to));
    }
    stretches
}

#[cfg(test)]
mod orphaned_stretches_tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn gaps_between_declarations_are_orphaned() {
        let spans = [(t(10), t(20)), (t(15), t(30)), (t(40), t(50))];
        assert_eq!(
            orphaned_stretches(&spans, t(0), t(60)),
            vec![(t(0), t(10)), (t(30), t(40)), (t(50), t(60))]
        );
        assert_eq!(orphaned_stretches(&spans, t(12), t(28)), vec![]);
        assert_eq!(orphaned_stretches(&[], t(0), t(5)), vec![(t(0), t(5))]);
    }

    proptest! {
        /// Every moment of the period is in a stretch exactly when no span holds it.
        #[test]
        fn a_moment_is_orphaned_exactly_when_no_declaration_holds_it(
            raw in proptest::collection::vec((0i64..100, 0i64..40), 0..6),
            from in 0i64..60,
            len in 1i64..80,
        ) {
            let spans: Vec<_> = raw.iter().map(|(a, l)| (t(*a), t(a + l))).collect();
            let stretches = orphaned_stretches(&spans, t(from), t(from + len));
            for w in stretches.windows(2) {
                prop_assert!(w[0].1 < w[1].0, "stretches are apart and in order");
            }
            for s in from..from + len {
                let owned = spans.iter().any(|(a, b)| *a <= t(s) && t(s) < *b);
                let orphaned = stretches.iter().any(|(a, b)| *a <= t(s) && t(s) < *b);
                prop_assert_eq!(owned, !orphaned, "at {}", s);
            }
        }
    }
}
