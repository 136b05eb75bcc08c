//! The sections on judgement after the fact: break-glass reviews, ownership, access reviews.

use super::*;

pub(super) fn break_glass(facts: &Facts, period: &Period) -> Body {
    let taken = &facts.break_glass;
    let now = facts.now;
    let outcome = |o: &str| {
        taken
            .iter()
            .filter(|b| b.outcome.as_deref() == Some(o))
            .count()
    };
    let overdue: Vec<_> = taken
        .iter()
        .filter(|b| b.outcome.is_none() && b.due_at <= now)
        .collect();
    let open = taken.iter().filter(|b| b.outcome.is_none()).count() - overdue.len();
    let late = taken
        .iter()
        .filter(|b| b.decided_at.is_some_and(|d| d > b.due_at))
        .count();
    let (justified, unjustified) = (outcome("justified"), outcome("unjustified"));
    let summary = if taken.is_empty() {
        "Nobody took break-glass access in this period.".into()
    } else {
        format!(
            "{} taken: {justified} judged justified, {unjustified} unjustified, {} overdue, {open} not yet due.",
            plural(taken.len(), "break-glass access", "break-glass accesses"),
            overdue.len()
        )
    };
    let mut items: Vec<Item> = overdue
        .iter()
        .map(|b| Item {
            label: format!(
                "Review #{}: {} for {} on {}",
                b.review_id, b.taker, b.identity, b.resource
            ),
            detail: format!("overdue by {}", format::duration(secs(b.due_at, now))),
            at: Some(b.due_at),
            href: Some(format!("/reviews/{}", b.review_id)),
        })
        .collect();
    items.extend(
        taken
            .iter()
            .filter(|b| b.outcome.as_deref() == Some("unjustified"))
            .map(|b| Item {
                label: format!(
                    "Review #{}: {} for {} on {}",
                    b.review_id, b.taker, b.identity, b.resource
                ),
                detail: "judged unjustified".into(),
                at: b.decided_at,
                href: Some(format!("/reviews/{}", b.review_id)),
            }),
    );
    Body {
        summary,
        attention: !overdue.is_empty() || unjustified > 0,
        figures: vec![
            Figure::new(
                "taken",
                "Break-glass accesses taken",
                count(taken.len()),
                Unit::Count,
            ),
            Figure::new(
                "justified",
                "Judged justified",
                count(justified),
                Unit::Count,
            ),
            Figure::new(
                "unjustified",
                "Judged unjustified",
                count(unjustified),
                Unit::Count,
            ),
            Figure::new(
                "overdue",
                "Reviews overdue",
                count(overdue.len()),
                Unit::Count,
            ),
            Figure::new("open", "Reviews not yet due", count(open), Unit::Count),
            Figure::new(
                "decided_late",
                "Decided after their due time",
                count(late),
                Unit::Count,
            ),
        ],
        chart: None,
        items,
        events_query: period.events_query("review"),
    }
}

pub(super) fn ownership(facts: &Facts, period: &Period) -> Body {
    struct Orphan<'a> {
        identity: &'a crate::evidence::facts::IdentityFact,
        orphaned_secs: i64,
        /// Where the stretch that reaches the period's end began, if one does.
        still_since: Option<DateTime<Utc>>,
        first: DateTime<Utc>,
    }
    let orphans: Vec<Orphan> = facts
        .identities
        .iter()
        .filter_map(|identity| {
            let from = period.since.max(identity.created_at);
            if from >= period.until {
                return None;
            }
            let stretches = orphaned_stretches(&identity.declarations, from, period.until);
            let first = stretches.first()?.0;
            Some(Orphan {
                identity,
                orphaned_secs: stretches.iter().map(|(a, b)| secs(*a, *b)).sum(),
                still_since: stretches
                    .last()
                    .filter(|(_, b)| *b == period.until)
                    .map(|(a, _)| {
                        // The stretch began before the period when nothing held it then.
                        orphaned_stretches(
                            &identity.declarations,
                            identity.created_at,
                            *a + chrono::Duration::seconds(1),
                        )
                        .last()
                        .map(|(s, _)| *s)
                        .unwrap_or(*a)
                    }),
                first,
            })
        })
        .collect();
    let still = orphans.iter().filter(|o| o.still_since.is_some()).count();
    let total: i64 = orphans.iter().map(|o| o.orphaned_secs).sum();
    let longest = orphans.iter().map(|o| o.orphaned_secs).max();
    let identities = facts
        .identities
        .iter()
        .filter(|i| i.created_at < period.until)
        .count();
    let summary = if orphans.is_empty() {
        format!(
            "Someone answered for each of the {} throughout the period.",
            plural(identities, "identity", "identities")
        )
    } else {
        format!(
            "{} of {identities} had nobody answering for them at some time in the period ({still} still at its end); the longest for {}.",
            plural(orphans.len(), "identity", "identities"),
            format::duration(longest.unwrap_or(0))
        )
    };
    let mut sorted: Vec<&Orphan> = orphans.iter().collect();
    sorted.sort_by_key(|o| {
        (
            o.still_since.is_none(),
            std::cmp::Reverse(o.orphaned_secs),
            o.identity.id,
        )
    });
    Body {
        summary,
        attention: still > 0,
        figures: vec![
            Figure::new("identities", "Identities", count(identities), Unit::Count),
            Figure::new(
                "orphaned_in_period",
                "Orphaned at some time",
                count(orphans.len()),
                Unit::Count,
            ),
            Figure::new(
                "orphaned_at_end",
                "Orphaned at the period's end",
                count(still),
                Unit::Count,
            ),
            Figure::new(
                "orphaned_secs_total",
                "Time orphaned, all identities",
                Some(total),
                Unit::Seconds,
            ),
            Figure::new(
                "orphaned_secs_longest",
                "Time orphaned, longest",
                longest,
                Unit::Seconds,
            ),
        ],
        chart: None,
        items: sorted
            .iter()
            .map(|o| Item {
                label: o.identity.name.clone(),
                detail: match o.still_since {
                    Some(_) => format!(
                        "orphaned for {} of the period, and still",
                        format::duration(o.orphaned_secs)
                    ),
                    None => format!(
                        "orphaned for {} of the period, owned again since",
                        format::duration(o.orphaned_secs)
                    ),
                },
                at: o.still_since.or(Some(o.first)),
                href: Some(format!("/identities/{}", o.identity.id)),
            })
            .collect(),
        events_query: period.events_query("ownership"),
    }
}

pub(super) fn access_reviews(facts: &Facts, period: &Period) -> Body {
    let campaigns = &facts.campaigns;
    let items: u32 = campaigns.iter().map(|c| c.items).sum();
    let decided: u32 = campaigns.iter().map(|c| c.decided).sum();
    let revoked: u32 = campaigns.iter().map(|c| c.revoked).sum();
    let changed: u32 = campaigns.iter().map(|c| c.changed).sum();
    let overdue: Vec<_> = campaigns
        .iter()
        .filter(|c| c.closed_at.is_none() && c.decided < c.items && c.due_at <= facts.now)
        .collect();
    let closed = campaigns.iter().filter(|c| c.closed_at.is_some()).count();
    let share = percent(decided as usize, items as usize);
    let summary = if campaigns.is_empty() {
        "No access review was started in this period.".into()
    } else {
        format!(
            "{} started ({closed} closed): {decided} of {items} items answered ({}), {revoked} access revoked and {changed} changes asked for; {} overdue.",
            plural(campaigns.len(), "access review", "access reviews"),
            share.map(|p| format!("{p} %")).unwrap_or_default(),
            overdue.len()
        )
    };
    Body {
        summary,
        // A period without a review is itself a finding for a periodic control.
        attention: campaigns.is_empty() || !overdue.is_empty(),
        figures: vec![
            Figure::new(
                "campaigns",
                "Reviews started",
                count(campaigns.len()),
                Unit::Count,
            ),
            Figure::new("closed", "Closed", count(closed), Unit::Count),
            Figure::new(
                "items",
                "Items reviewed",
                Some(i64::from(items)),
                Unit::Count,
            ),
            Figure::new(
                "decided",
                "Items answered",
                Some(i64::from(decided)),
                Unit::Count,
            ),
            Figure::new("decided_percent", "Share answered", share, Unit::Percent),
            Figure::new(
                "revoked",
                "Access revoked",
                Some(i64::from(revoked)),
                Unit::Count,
            ),
            Figure::new(
                "changed",
                "Changes asked for",
                Some(i64::from(changed)),
                Unit::Count,
            ),
            Figure::new(
                "overdue",
                "Overdue reviews",
                count(overdue.len()),
                Unit::Count,
            ),
        ],
        chart: None,
        items: campaigns
            .iter()
            .map(|c| Item {
                label: c.name.clone(),
                detail: format!(
                    "{} of {} answered, {} revoked; {}",
                    c.decided,
                    c.items,
                    c.revoked,
                    match c.closed_at {
                        Some(_) => "closed".to_string(),
                        None if c.due_at <= facts.now && c.decided < c.items =>
                            "overdue".to_string(),
                        None => "open".to_string(),
                    }
                ),
                at: Some(c.started_at),
                href: Some(format!("/campaigns/{}", c.id)),
            })
            .collect(),
        events_query: period.events_query("campaign"),
    }
}
