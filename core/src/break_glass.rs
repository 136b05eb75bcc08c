//! Break-glass: access taken at once by an owner, and the review that judges it afterwards.

use crate::model::{BreakGlassPolicy, Policy, ReviewOutcome, ReviewStatus, Role};
use crate::rules::{
    Justification, RuleError, UserId, check_justification, check_privilege, required_text,
};
use chrono::{DateTime, Utc};

/// Taking access without an approver must be explained more fully than asking for it.
pub const TASK_MIN_CHARS: usize = 30;

/// What a break-glass attempt is, as the broker saw it inside its transaction.
pub struct Attempt<'a> {
    /// Whether the identity has any current accountable owner.
    pub identity_has_owner: bool,
    pub taker_owns_identity: bool,
    /// The taker took the identity over from orphaned and no admin has confirmed it yet
    /// (nor has the policy's waiting period passed).
    pub taker_takeover_unconfirmed: bool,
    pub resource_privileges: &'a [String],
    pub policy: &'a Policy,
    pub privilege: &'a str,
    pub duration_secs: i64,
    pub justification: &'a Justification,
    /// Break-glass uses by this user on this identity within the rate window, and the cap.
    pub recent_uses: u32,
    pub max_uses: u32,
}

/// The justification break-glass needs: a request's, and more of it. Returns what will be
/// stored.
pub fn check_reason(
    justification: &Justification,
    policy: &Policy,
) -> Result<Justification, RuleError> {
    let justification = check_justification(justification, policy)?;
    if justification.task.chars().count() < TASK_MIN_CHARS {
        return Err(RuleError::invalid(
            "justification.task",
            format!(
                "say what is broken and why it cannot wait, in at least {TASK_MIN_CHARS} characters"
            ),
        ));
    }
    Ok(justification)
}

/// Every rule break-glass must pass; returns the justification to store and the policy
/// that bounds it.
pub fn check_attempt(a: &Attempt<'_>) -> Result<(Justification, BreakGlassPolicy), RuleError> {
    if !a.identity_has_owner {
        return Err(RuleError::Forbidden(
            "this identity has no accountable owner; someone must declare ownership of it \
             before anyone can take break-glass access for it"
                .into(),
        ));
    }
    if !a.taker_owns_identity {
        return Err(RuleError::Forbidden(
            "only an owner of this identity may take break-glass access for it".into(),
        ));
    }
    if a.taker_takeover_unconfirmed {
        return Err(RuleError::Forbidden(
            "you took this identity over; until an admin confirms the takeover you may file \
             requests for it, but not take break-glass access"
                .into(),
        ));
    }
    let Some(bounds) = a.policy.break_glass else {
        return Err(RuleError::Forbidden(
            "this resource's policy does not allow break-glass access; file a request instead"
                .into(),
        ));
    };
    check_privilege(a.resource_privileges, a.privilege)?;
    if !(crate::rules::MIN_DURATION_SECS..=bounds.max_duration_secs).contains(&a.duration_secs) {
        return Err(RuleError::invalid(
            "duration_secs",
            format!(
                "break-glass access lasts at most {} on this resource",
                crate::format::duration(bounds.max_duration_secs)
            ),
        ));
    }
    let justification = check_reason(a.justification, a.policy)?;
    if a.recent_uses >= a.max_uses {
        return Err(RuleError::TooMany(format!(
            "you have taken break-glass access for this identity {} times recently, the most \
             allowed; file a normal request or ask another owner",
            a.recent_uses
        )));
    }
    Ok((justification, bounds))
}

/// "Break-glass: at most 1 h · reviewed within 1 d".
pub fn describe(bounds: &BreakGlassPolicy) -> String {
    format!(
        "Break-glass: at most {} · reviewed within {}",
        crate::format::duration(bounds.max_duration_secs),
        crate::format::duration(bounds.review_within_secs)
    )
}

/// The policy a break-glass form previews with: the resource's, capped by its break-glass
/// maximum. `None` when the resource does not allow break-glass.
pub fn form_policy(policy: &Policy) -> Option<Policy> {
    policy.break_glass.map(|bounds| Policy {
        max_duration_secs: bounds.max_duration_secs,
        ..policy.clone()
    })
}

/// Where a review stands at `now`.
pub fn status(
    outcome: Option<ReviewOutcome>,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> ReviewStatus {
    match outcome {
        Some(_) => ReviewStatus::Decided,
        None if now >= due_at => ReviewStatus::Overdue,
        None => ReviewStatus::Open,
    }
}

/// Whether this user may judge the review now.
pub fn may_review(
    actor_id: UserId,
    actor_roles: &[Role],
    taker_id: UserId,
    outcome: Option<ReviewOutcome>,
) -> bool {
    check_reviewer(actor_id, actor_roles, taker_id, outcome).is_ok()
}

fn check_reviewer(
    actor_id: UserId,
    actor_roles: &[Role],
    taker_id: UserId,
    outcome: Option<ReviewOutcome>,
) -> Result<(), RuleError> {
    if !actor_roles.contains(&Role::Reviewer) {
        return Err(RuleError::Forbidden(
            "only reviewers may judge break-glass access".into(),
        ));
    }
    if actor_id == taker_id {
        return Err(RuleError::Forbidden(
            "you took this break-glass access; another reviewer must judge it".into(),
        ));
    }
    if let Some(decided) = outcome {
        return Err(RuleError::Conflict(format!(
            "this review is already decided: {}",
            decided.as_str()
        )));
    }
    Ok(())
}

/// Ending the access with the verdict goes only with `unjustified`: a justified taking
/// keeps its time.
pub fn check_end_access(outcome: ReviewOutcome, end_access: bool) -> Result<(), RuleError> {
    if end_access && outcome != ReviewOutcome::Unjustified {
        return Err(RuleError::invalid(
            "end_access",
            "only an unjustified verdict ends the access with it",
        ));
    }
    Ok(())
}

/// Records a reviewer's judgement; notes are required when it is `unjustified`.
pub fn decide(
    actor_id: UserId,
    actor_roles: &[Role],
    taker_id: UserId,
    outcome_so_far: Option<ReviewOutcome>,
    outcome: ReviewOutcome,
    notes: &str,
) -> Result<Option<String>, RuleError> {
    check_reviewer(actor_id, actor_roles, taker_id, outcome_so_far)?;
    match outcome {
        ReviewOutcome::Unjustified => {
            required_text("notes", notes, "say what was wrong with taking this access").map(Some)
        }
        ReviewOutcome::Justified => {
            let notes = notes.trim();
            if notes.is_empty() {
                Ok(None)
            } else {
                required_text("notes", notes, "").map(Some)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(break_glass: Option<BreakGlassPolicy>) -> Policy {
        Policy {
            approvals_required: 2,
            max_duration_secs: 7200,
            ticket_required: false,
            break_glass,
            approvers: crate::model::Approvers::Role,
            ticket_pattern: None,
            auto_approve: None,
            max_start_ahead_secs: None,
            max_total_secs: None,
        }
    }

    fn attempt<'a>(
        policy: &'a Policy,
        privileges: &'a [String],
        j: &'a Justification,
    ) -> Attempt<'a> {
        Attempt {
            identity_has_owner: true,
            taker_owns_identity: true,
            taker_takeover_unconfirmed: false,
            resource_privileges: privileges,
            policy,
            privilege: "write",
            duration_secs: 1800,
            justification: j,
            recent_uses: 0,
            max_uses: 3,
        }
    }

    fn justification(task: &str) -> Justification {
        Justification {
            task: task.into(),
            ticket: None,
        }
    }

    #[test]
    fn each_refusal_says_why() {
        let allowed = policy(Some(BreakGlassPolicy::default()));
        let forbidden = policy(None);
        let privileges = vec!["read".to_string(), "write".to_string()];
        let good = justification(
            "Checkout is failing: the payments ledger is locked by a stuck migration",
        );
        let short = justification("prod down, need write");
        assert!(check_attempt(&attempt(&allowed, &privileges, &good)).is_ok());

        let orphaned = Attempt {
            identity_has_owner: false,
            taker_owns_identity: false,
            ..attempt(&allowed, &privileges, &good)
        };
        assert!(
            matches!(check_attempt(&orphaned), Err(RuleError::Forbidden(m)) if m.contains("declare ownership"))
        );
        let not_owner = Attempt {
            taker_owns_identity: false,
            ..attempt(&allowed, &privileges, &good)
        };
        assert!(matches!(
            check_attempt(&not_owner),
            Err(RuleError::Forbidden(_))
        ));
        let unconfirmed_takeover = Attempt {
            taker_takeover_unconfirmed: true,
            ..attempt(&allowed, &privileges, &good)
        };
        assert!(
            matches!(check_attempt(&unconfirmed_takeover), Err(RuleError::Forbidden(m)) if m.contains("confirms the takeover"))
        );
        assert!(
            matches!(check_attempt(&attempt(&forbidden, &privileges, &good)), Err(RuleError::Forbidden(m)) if m.contains("does not allow"))
        );
        let too_long = Attempt {
            duration_secs: 3601,
            ..attempt(&allowed, &privileges, &good)
        };
        assert_eq!(
            check_attempt(&too_long).unwrap_err().field(),
            Some("duration_secs")
        );
        assert_eq!(
            check_attempt(&attempt(&allowed, &privileges, &short))
                .unwrap_err()
                .field(),
            Some("justification.task")
        );
        let spent = Attempt {
            recent_uses: 3,
            ..attempt(&allowed, &privileges, &good)
        };
        assert!(matches!(check_attempt(&spent), Err(RuleError::TooMany(_))));
    }

    #[test]
    fn the_taker_never_reviews_and_nobody_reviews_twice() {
        let reviewer = &[Role::Reviewer];
        assert!(matches!(
            decide(1, reviewer, 1, None, ReviewOutcome::Justified, ""),
            Err(RuleError::Forbidden(_))
        ));
        assert!(matches!(
            decide(2, &[Role::Approver], 1, None, ReviewOutcome::Justified, ""),
            Err(RuleError::Forbidden(_))
        ));
        assert!(matches!(
            decide(
                2,
                reviewer,
                1,
                Some(ReviewOutcome::Justified),
                ReviewOutcome::Unjustified,
                "no"
            ),
            Err(RuleError::Conflict(_))
        ));
        assert_eq!(
            decide(2, reviewer, 1, None, ReviewOutcome::Justified, "  "),
            Ok(None)
        );
        assert!(!may_review(1, reviewer, 1, None));
        assert!(may_review(2, reviewer, 1, None));
    }

    #[test]
    fn unjustified_needs_notes() {
        let err = decide(
            2,
            &[Role::Reviewer],
            1,
            None,
            ReviewOutcome::Unjustified,
            " ",
        )
        .unwrap_err();
        assert_eq!(err.field(), Some("notes"));
        assert_eq!(
            decide(
                2,
                &[Role::Reviewer],
                1,
                None,
                ReviewOutcome::Unjustified,
                " no incident "
            ),
            Ok(Some("no incident".into()))
        );
    }

    #[test]
    fn open_reviews_turn_overdue_at_their_due_time() {
        let due = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let before = due - chrono::Duration::seconds(1);
        assert_eq!(status(None, due, before), ReviewStatus::Open);
        assert_eq!(status(None, due, due), ReviewStatus::Overdue);
        assert_eq!(
            status(Some(ReviewOutcome::Justified), due, due),
            ReviewStatus::Decided
        );
    }
}
