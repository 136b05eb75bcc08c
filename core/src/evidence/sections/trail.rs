//! The sections on enforcement's record: revocations downstream and the audit trail.

use super::*;

pub(super) fn revocations(facts: &Facts, period: &Period) -> Body {
    let steps = &facts.revocations;
    let confirmed: Vec<_> = steps.iter().filter(|r| r.done_at.is_some()).collect();
    let failed_attempts: u32 = steps
        .iter()
        .map(|r| r.attempts.saturating_sub(u32::from(r.done_at.is_some())))
        .sum();
    let unconfirmed: Vec<_> = steps.iter().filter(|r| r.done_at.is_none()).collect();
    let flagged = steps.iter().filter(|r| r.flagged_at.is_some()).count();
    let mut waits: Vec<i64> = confirmed
        .iter()
        .filter_map(|r| r.done_at.map(|d| secs(r.queued_at, d)))
        .collect();
    let p50 = percentile(&mut waits, 50);
    let max = waits.last().copied();
    let summary = if steps.is_empty() {
        "No grant's access was made in a downstream system in this period, so none had to be taken away there.".into()
    } else {
        format!(
            "{} of {} confirmed by the downstream system ({} at the median); {failed_attempts} failed attempts, {flagged} flagged as failing, {} not confirmed yet.",
            confirmed.len(),
            plural(steps.len(), "revocation", "revocations"),
            p50.map(format::duration).unwrap_or_else(|| "—".into()),
            unconfirmed.len()
        )
    };
    Body {
        summary,
        attention: !unconfirmed.is_empty(),
        figures: vec![
            Figure::new(
                "queued",
                "Revocations to make",
                count(steps.len()),
                Unit::Count,
            ),
            Figure::new(
                "confirmed",
                "Confirmed",
                count(confirmed.len()),
                Unit::Count,
            ),
            Figure::new(
                "failed_attempts",
                "Failed attempts",
                Some(i64::from(failed_attempts)),
                Unit::Count,
            ),
            Figure::new("flagged", "Flagged as failing", count(flagged), Unit::Count),
            Figure::new(
                "unconfirmed",
                "Not confirmed yet",
                count(unconfirmed.len()),
                Unit::Count,
            ),
            Figure::new(
                "confirm_p50_secs",
                "Time to confirmation, median",
                p50,
                Unit::Seconds,
            ),
            Figure::new(
                "confirm_max_secs",
                "Time to confirmation, longest",
                max,
                Unit::Seconds,
            ),
        ],
        chart: None,
        items: steps
            .iter()
            .filter(|r| r.done_at.is_none() || r.flagged_at.is_some())
            .map(|r| Item {
                label: format!("Grant #{}: {} on {}", r.grant_id, r.identity, r.resource),
                detail: match r.done_at {
                    None => format!(
                        "not confirmed after {}",
                        plural(r.attempts as usize, "attempt", "attempts")
                    ),
                    Some(_) => format!(
                        "confirmed after {}",
                        plural(r.attempts as usize, "attempt", "attempts")
                    ),
                },
                at: Some(r.queued_at),
                href: Some(format!("/audit?grant_id={}", r.grant_id)),
            })
            .collect(),
        events_query: period.events_query("connector.revoke"),
    }
}

pub(super) fn audit(facts: &Facts, period: &Period) -> Body {
    let v = &facts.verification;
    let checkpoint = facts.checkpoint.as_ref();
    let summary = if v.ok {
        match checkpoint {
            Some(c) => format!(
                "{} in the period; all {} of the trail verify, up to event {}, and the chain ends on a checkpoint signed at event {} (key {}).",
                plural(facts.events as usize, "event", "events"),
                v.count,
                v.head_seq,
                c.head_seq,
                c.kid
            ),
            None => format!(
                "{} in the period; all {} of the trail verify, but no signed checkpoint holds them yet.",
                plural(facts.events as usize, "event", "events"),
                v.count
            ),
        }
    } else {
        format!(
            "The trail does NOT verify: event {} {}. The {} events before it do.",
            v.first_bad_seq.unwrap_or_default(),
            v.reason.as_deref().unwrap_or("does not match its hash"),
            v.count
        )
    };
    let items = match v.first_bad_seq {
        Some(seq) => vec![Item {
            label: format!("Event {seq}"),
            detail: v.reason.clone().unwrap_or_default(),
            at: None,
            href: None,
        }],
        None => Vec::new(),
    };
    Body {
        summary,
        attention: !v.ok || checkpoint.is_none(),
        figures: vec![
            Figure::new(
                "events",
                "Events in the period",
                Some(i64::from(facts.events)),
                Unit::Count,
            ),
            Figure::new("verified", "Events that verify", Some(v.count), Unit::Count),
            Figure::new(
                "first_bad_seq",
                "First event that does not verify",
                v.first_bad_seq,
                Unit::Count,
            ),
            Figure::new(
                "checkpoint_seq",
                "Last signed checkpoint, at event",
                checkpoint.map(|c| c.head_seq),
                Unit::Count,
            ),
            Figure::new(
                "after_checkpoint",
                "Events after that checkpoint",
                checkpoint.map(|c| (v.head_seq - c.head_seq).max(0)),
                Unit::Count,
            ),
        ],
        chart: None,
        items,
        events_query: period.events_query(""),
    }
}
