//! Each section of the evidence report, computed from the period's facts.

use super::facts::Facts;
use super::frameworks;
use super::{Bar, Chart, Figure, Item, MAX_ITEMS, Period, Section, SectionKey, Unit};
use crate::format;
use crate::ownership::orphaned_stretches;
use crate::standing::share_percent;
use chrono::{DateTime, Utc};

/// What a section's builder fills in; `build` adds its key, title and mapping.
struct Body {
    summary: String,
    attention: bool,
    figures: Vec<Figure>,
    chart: Option<Chart>,
    items: Vec<Item>,
    events_query: String,
}

pub(super) fn build(key: SectionKey, facts: &Facts, period: &Period) -> Section {
    let body = match key {
        SectionKey::Coverage => coverage(facts, period),
        SectionKey::Requests => requests(facts, period),
        SectionKey::Grants => grants(facts, period),
        SectionKey::BreakGlass => break_glass(facts, period),
        SectionKey::Ownership => ownership(facts, period),
        SectionKey::AccessReviews => access_reviews(facts, period),
        SectionKey::Standing => standing(facts, period),
        SectionKey::Leaks => leaks(facts, period),
        SectionKey::Revocations => revocations(facts, period),
        SectionKey::Audit => audit(facts, period),
    };
    let mapping = frameworks::mapping(key);
    let strings = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect();
    let more_items = body.items.len().saturating_sub(MAX_ITEMS) as u32;
    let mut items = body.items;
    items.truncate(MAX_ITEMS);
    Section {
        key,
        title: key.title().into(),
        summary: body.summary,
        attention: body.attention,
        figures: body.figures,
        chart: body.chart,
        items,
        more_items,
        owasp_nhi: strings(mapping.owasp_nhi),
        nist_csf: strings(mapping.nist_csf),
        soc2: strings(mapping.soc2),
        events_query: body.events_query,
    }
}

fn count(n: usize) -> Option<i64> {
    Some(n as i64)
}

/// `part` of `whole` in whole percent, `None` of nothing.
fn percent(part: usize, whole: usize) -> Option<i64> {
    (whole > 0).then(|| (part * 100 / whole) as i64)
}

/// The nearest-rank percentile of `values` (sorted here), `None` of none.
fn percentile(values: &mut [i64], p: usize) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let rank = (p * values.len()).div_ceil(100).max(1);
    Some(values[rank - 1])
}

fn secs(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_seconds().max(0)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn coverage(facts: &Facts, period: &Period) -> Body {
    let known: Vec<_> = facts.coverage.iter().filter(|p| p.resources > 0).collect();
    let share =
        |p: &crate::standing::CoveragePoint| i64::from(share_percent(p.jit_only, p.resources));
    let start = &facts.coverage_start;
    let first = (start.resources > 0)
        .then(|| share(start))
        .or_else(|| known.first().map(|p| share(p)));
    let last = known.last().map(|p| share(p));
    let end = facts.coverage.last();
    let resources = end.map(|p| p.resources as usize).unwrap_or(0);
    let jit_only = end.map(|p| p.jit_only as usize).unwrap_or(0);
    let paths: u32 = facts.exposed.iter().map(|e| e.standing_paths).sum();
    let summary = match (first, last) {
        (Some(first), Some(last)) => format!(
            "{jit_only} of {} reachable only through JIT at the period's end ({last} %; {first} % at its start); {} known to bypass it.",
            plural(resources, "resource", "resources"),
            plural(
                paths as usize,
                "standing credential",
                "standing credentials"
            ),
        ),
        _ => "No resource was protected by Stint in this period.".into(),
    };
    Body {
        summary,
        attention: !facts.exposed.is_empty(),
        figures: vec![
            Figure::new("resources", "Resources", count(resources), Unit::Count),
            Figure::new(
                "jit_only",
                "Reachable only through JIT",
                count(jit_only),
                Unit::Count,
            ),
            Figure::new(
                "jit_share_start_percent",
                "JIT-only share at the start",
                first,
                Unit::Percent,
            ),
            Figure::new(
                "jit_share_end_percent",
                "JIT-only share at the end",
                last,
                Unit::Percent,
            ),
            Figure::new(
                "standing_paths",
                "Standing credentials bypassing JIT",
                Some(i64::from(paths)),
                Unit::Count,
            ),
        ],
        chart: Some(Chart {
            caption: "JIT-only share of resources at the end of each day (UTC)".into(),
            unit: Unit::Percent,
            bars: known
                .iter()
                .map(|p| Bar {
                    // A point at midnight closes the day before it.
                    label: (p.at - chrono::Duration::milliseconds(1))
                        .format("%b %-d")
                        .to_string(),
                    value: share(p),
                })
                .collect(),
        }),
        items: facts
            .exposed
            .iter()
            .map(|e| Item {
                label: e.resource.clone(),
                detail: format!(
                    "reachable outside JIT through {}",
                    plural(
                        e.standing_paths as usize,
                        "standing credential",
                        "standing credentials"
                    )
                ),
                at: None,
                href: Some("/secrets".into()),
            })
            .collect(),
        events_query: period.events_query("standing"),
    }
}

/// How long people took to approve, in the chart's buckets.
const APPROVAL_BUCKETS: [(i64, &str); 5] = [
    (5 * 60, "under 5 min"),
    (3600, "5 min – 1 h"),
    (4 * 3600, "1 – 4 h"),
    (24 * 3600, "4 – 24 h"),
    (i64::MAX, "a day or more"),
];

fn requests(facts: &Facts, period: &Period) -> Body {
    let filed = &facts.requests;
    let with_ticket = filed.iter().filter(|r| r.with_ticket).count();
    let in_state = |s: &str| filed.iter().filter(|r| r.state == s).count();
    let approved: Vec<_> = filed
        .iter()
        .filter(|r| r.state == "approved" && !r.auto_approved)
        .filter_map(|r| r.decided_at.map(|d| (r, secs(r.filed_at, d))))
        .collect();
    let auto = filed.iter().filter(|r| r.auto_approved).count();
    let mut waits: Vec<i64> = approved.iter().map(|(_, s)| *s).collect();
    let p50 = percentile(&mut waits, 50);
    let p90 = percentile(&mut waits, 90);
    let max = waits.last().copied();
    let share = percent(with_ticket, filed.len());
    let summary = if filed.is_empty() {
        "No request was filed in this period.".into()
    } else {
        let mut s = format!(
            "{} filed; {with_ticket} ({}) named a ticket.",
            plural(filed.len(), "request", "requests"),
            share.map(|p| format!("{p} %")).unwrap_or_default()
        );
        if let (Some(p50), Some(p90)) = (p50, p90) {
            s.push_str(&format!(
                " People approved {} in {} at the median ({} at the 90th percentile).",
                approved.len(),
                format::duration(p50),
                format::duration(p90)
            ));
        }
        s
    };
    let mut slowest = approved.clone();
    slowest.sort_by_key(|(r, s)| (std::cmp::Reverse(*s), r.id));
    Body {
        summary,
        attention: false,
        figures: vec![
            Figure::new("filed", "Requests filed", count(filed.len()), Unit::Count),
            Figure::new(
                "with_ticket",
                "Named a ticket",
                count(with_ticket),
                Unit::Count,
            ),
            Figure::new(
                "ticket_share_percent",
                "Share with a ticket",
                share,
                Unit::Percent,
            ),
            Figure::new(
                "approved_by_people",
                "Approved by people",
                count(approved.len()),
                Unit::Count,
            ),
            Figure::new(
                "auto_approved",
                "Approved by a policy rule",
                count(auto),
                Unit::Count,
            ),
            Figure::new("denied", "Denied", count(in_state("denied")), Unit::Count),
            Figure::new(
                "expired_undecided",
                "Expired undecided",
                count(in_state("expired")),
                Unit::Count,
            ),
            Figure::new(
                "cancelled",
                "Withdrawn",
                count(in_state("cancelled")),
                Unit::Count,
            ),
            Figure::new(
                "pending",
                "Still waiting",
                count(in_state("pending")),
                Unit::Count,
            ),
            Figure::new(
                "approval_p50_secs",
                "Time to approval, median",
                p50,
                Unit::Seconds,
            ),
            Figure::new(
                "approval_p90_secs",
                "Time to approval, 90th percentile",
                p90,
                Unit::Seconds,
            ),
            Figure::new(
                "approval_max_secs",
                "Time to approval, longest",
                max,
                Unit::Seconds,
            ),
        ],
        chart: Some(Chart {
            caption: "Requests approved by people, by time to approval".into(),
            unit: Unit::Count,
            bars: APPROVAL_BUCKETS
                .iter()
                .enumerate()
                .map(|(i, (below, label))| {
                    let above = if i == 0 { 0 } else { APPROVAL_BUCKETS[i - 1].0 };
                    Bar {
                        label: (*label).into(),
                        value: waits
                            .iter()
                            .filter(|w| **w >= above && **w < *below)
                            .count() as i64,
                    }
                })
                .collect(),
        }),
        items: slowest
            .iter()
            .take(5)
            .map(|(r, s)| Item {
                label: format!("Request #{}", r.id),
                detail: format!("approved {} after it was filed", format::duration(*s)),
                at: r.decided_at,
                href: Some(format!("/requests/{}", r.id)),
            })
            .collect(),
        events_query: period.events_query("request"),
    }
}

fn grants(facts: &Facts, period: &Period) -> Body {
    // A grant called off before its window opened never gave access.
    let started: Vec<_> = facts
        .grants
        .iter()
        .filter(|g| g.state != "scheduled" && g.ended_at.is_none_or(|e| e >= g.starts_at))
        .collect();
    let break_glass = started.iter().filter(|g| g.break_glass).count();
    let mut lifetimes: Vec<i64> = started
        .iter()
        .map(|g| secs(g.starts_at, g.expires_at))
        .collect();
    let p50 = percentile(&mut lifetimes, 50);
    let longest = lifetimes.last().copied();
    let ended_early = started
        .iter()
        .filter(|g| matches!(g.state.as_str(), "revoked" | "released"))
        .count();
    let expired: Vec<_> = started.iter().filter(|g| g.state == "expired").collect();
    let lag = expired
        .iter()
        .filter_map(|g| g.ended_at.map(|e| secs(g.expires_at, e)))
        .max();
    let live = facts.live_at_end as usize;
    let summary = match (p50, longest) {
        (Some(p50), Some(longest)) => format!(
            "{} began ({break_glass} break-glass), lasting {} at the median and {} at the longest; {} ended early, {} expired on time{}.",
            plural(started.len(), "grant", "grants"),
            format::duration(p50),
            format::duration(longest),
            ended_early,
            expired.len(),
            lag.filter(|l| *l > 0)
                .map(|l| format!(" (ended at most {} after expiry)", format::duration(l)))
                .unwrap_or_default()
        ),
        _ => "No grant began in this period.".into(),
    };
    let mut longest_grants = started.clone();
    longest_grants.sort_by_key(|g| (std::cmp::Reverse(secs(g.starts_at, g.expires_at)), g.id));
    Body {
        summary,
        // The sweeper ends a grant within a second; a minute late means it was not running.
        attention: lag.is_some_and(|l| l > 60),
        figures: vec![
            Figure::new(
                "started",
                "Grants that began",
                count(started.len()),
                Unit::Count,
            ),
            Figure::new(
                "break_glass",
                "Of them break-glass",
                count(break_glass),
                Unit::Count,
            ),
            Figure::new(
                "credentials_issued",
                "Credentials issued",
                Some(i64::from(facts.credentials_issued)),
                Unit::Count,
            ),
            Figure::new(
                "lifetime_p50_secs",
                "Grant length, median",
                p50,
                Unit::Seconds,
            ),
            Figure::new(
                "lifetime_max_secs",
                "Grant length, longest",
                longest,
                Unit::Seconds,
            ),
            Figure::new(
                "ended_early",
                "Ended early (revoked, released)",
                count(ended_early),
                Unit::Count,
            ),
            Figure::new("expired", "Expired", count(expired.len()), Unit::Count),
            Figure::new(
                "expiry_lag_max_secs",
                "Latest end after expiry",
                lag,
                Unit::Seconds,
            ),
            Figure::new(
                "live_at_end",
                "Still live at the period's end",
                count(live),
                Unit::Count,
            ),
        ],
        chart: None,
        items: longest_grants
            .iter()
            .take(5)
            .map(|g| Item {
                label: format!("Grant #{}: {} on {}", g.id, g.identity, g.resource),
                detail: format!("{} long", format::duration(secs(g.starts_at, g.expires_at))),
                at: Some(g.starts_at),
                href: Some(format!("/requests/{}", g.request_id)),
            })
            .collect(),
        events_query: period.events_query("grant"),
    }
}

fn break_glass(facts: &Facts, period: &Period) -> Body {
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

fn ownership(facts: &Facts, period: &Period) -> Body {
    struct Orphan<'a> {
        identity: &'a super::facts::IdentityFact,
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

fn access_reviews(facts: &Facts, period: &Period) -> Body {
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

fn standing(facts: &Facts, period: &Period) -> Body {
    // Leaked Stint credentials are the next section's: they never bypassed JIT.
    let findings: Vec<_> = facts
        .standing
        .iter()
        .filter(|s| s.leaked_grant.is_none())
        .collect();
    let found = findings
        .iter()
        .filter(|s| period.holds(s.first_seen))
        .count();
    let resolved: Vec<_> = findings
        .iter()
        .filter(|s| s.resolved_at.is_some_and(|r| period.holds(r)))
        .collect();
    let rotated = resolved.iter().filter(|s| s.status == "rotated").count();
    let open: Vec<_> = findings
        .iter()
        .filter(|s| s.first_seen < period.until && s.resolved_at.is_none_or(|r| r >= period.until))
        .collect();
    let mapped = open
        .iter()
        .filter(|s| s.mapped_at.is_some_and(|m| m < period.until))
        .count();
    let summary = format!(
        "{} found and {} resolved ({rotated} by rotating the secret) in the period; {} open at its end, {mapped} of them mapped to what they reach.",
        plural(found, "standing credential", "standing credentials"),
        resolved.len(),
        open.len()
    );
    let mut oldest = open.clone();
    oldest.sort_by_key(|s| (s.first_seen, s.id));
    Body {
        summary,
        attention: !open.is_empty(),
        figures: vec![
            Figure::new("found", "Found", count(found), Unit::Count),
            Figure::new("resolved", "Resolved", count(resolved.len()), Unit::Count),
            Figure::new(
                "rotated",
                "Resolved by rotation",
                count(rotated),
                Unit::Count,
            ),
            Figure::new(
                "open_at_end",
                "Open at the period's end",
                count(open.len()),
                Unit::Count,
            ),
            Figure::new(
                "mapped_at_end",
                "Of them mapped (standing paths)",
                count(mapped),
                Unit::Count,
            ),
        ],
        chart: None,
        items: oldest
            .iter()
            .map(|s| Item {
                label: format!("{} in {} at {}", s.tool, s.source, s.location),
                detail: format!(
                    "open for {}",
                    format::duration(secs(s.first_seen, period.until))
                ),
                at: Some(s.first_seen),
                href: Some("/secrets".into()),
            })
            .collect(),
        events_query: period.events_query("standing"),
    }
}

fn leaks(facts: &Facts, period: &Period) -> Body {
    let leaked: Vec<_> = facts
        .standing
        .iter()
        .filter(|s| period.holds(s.first_seen))
        .filter_map(|s| s.leaked_grant.as_ref().map(|g| (s, g)))
        .collect();
    let revoked = leaked.iter().filter(|(_, g)| g.revoked_by_finding).count();
    let summary = if leaked.is_empty() {
        "No credential Stint issued was found in a scanner's report in this period.".into()
    } else {
        format!(
            "{} issued by Stint found where it should not be; {revoked} revoked at once, the others' grants had already ended.",
            plural(leaked.len(), "credential", "credentials")
        )
    };
    Body {
        summary,
        attention: !leaked.is_empty(),
        figures: vec![
            Figure::new(
                "found",
                "Stint credentials found leaked",
                count(leaked.len()),
                Unit::Count,
            ),
            Figure::new(
                "revoked",
                "Revoked on discovery",
                count(revoked),
                Unit::Count,
            ),
        ],
        chart: None,
        items: leaked
            .iter()
            .map(|(s, g)| Item {
                label: format!("Grant #{}: {} on {}", g.grant_id, g.identity, g.resource),
                detail: format!(
                    "found by {} in {} at {}; {}",
                    s.tool,
                    s.source,
                    s.location,
                    if g.revoked_by_finding {
                        "revoked at once"
                    } else {
                        "its grant had already ended"
                    }
                ),
                at: Some(s.first_seen),
                href: Some(format!("/audit?grant_id={}", g.grant_id)),
            })
            .collect(),
        events_query: period.events_query("standing.imported"),
    }
}

fn revocations(facts: &Facts, period: &Period) -> Body {
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

fn audit(facts: &Facts, period: &Period) -> Body {
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

#[cfg(test)]
mod tests {
    use super::super::facts::*;
    use super::super::{SectionKey, report};
    use crate::api::AuditVerification;
    use chrono::{DateTime, Duration, TimeZone, Utc};

    fn t(hours: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap() + Duration::hours(hours)
    }

    fn facts() -> Facts {
        Facts {
            now: t(100),
            coverage_start: crate::standing::CoveragePoint {
                at: t(0),
                jit_only: 0,
                resources: 0,
            },
            coverage: Vec::new(),
            exposed: Vec::new(),
            requests: Vec::new(),
            grants: Vec::new(),
            live_at_end: 0,
            credentials_issued: 0,
            break_glass: Vec::new(),
            identities: Vec::new(),
            standing: Vec::new(),
            revocations: Vec::new(),
            campaigns: Vec::new(),
            events: 0,
            verification: AuditVerification {
                ok: true,
                count: 10,
                head_seq: 10,
                head_hash: "h".into(),
                first_bad_seq: None,
                reason: None,
            },
            checkpoint: None,
        }
    }

    fn request(id: i64, ticket: bool, wait_hours: Option<i64>) -> RequestFact {
        RequestFact {
            id,
            filed_at: t(10),
            with_ticket: ticket,
            state: if wait_hours.is_some() {
                "approved"
            } else {
                "pending"
            }
            .into(),
            decided_at: wait_hours.map(|h| t(10 + h)),
            auto_approved: false,
        }
    }

    #[test]
    fn ticket_share_and_approval_times() {
        let mut f = facts();
        f.requests = vec![
            request(1, true, Some(1)),
            request(2, false, Some(3)),
            request(3, true, Some(2)),
            request(4, true, None),
        ];
        let r = report(&f, t(0), t(100));
        let s = r.section(SectionKey::Requests).unwrap();
        assert_eq!(s.figure("filed"), Some(4));
        assert_eq!(s.figure("ticket_share_percent"), Some(75));
        assert_eq!(s.figure("approval_p50_secs"), Some(2 * 3600));
        assert_eq!(s.figure("approval_max_secs"), Some(3 * 3600));
        assert_eq!(
            s.items[0].href.as_deref(),
            Some("/requests/2"),
            "slowest first"
        );
        let bars = &s.chart.as_ref().unwrap().bars;
        assert_eq!(bars.iter().map(|b| b.value).sum::<i64>(), 3);
    }

    #[test]
    fn an_undecided_review_past_its_due_time_is_named_overdue() {
        let mut f = facts();
        let taken = |review_id, due, outcome: Option<&str>| BreakGlassFact {
            request_id: review_id,
            review_id,
            taker: "alice".into(),
            identity: "ci".into(),
            resource: "db".into(),
            taken_at: t(1),
            due_at: t(due),
            outcome: outcome.map(str::to_string),
            decided_at: outcome.map(|_| t(due + 1)),
        };
        f.break_glass = vec![
            taken(1, 50, None),
            taken(2, 150, None),
            taken(3, 20, Some("justified")),
        ];
        let r = report(&f, t(0), t(100));
        let s = r.section(SectionKey::BreakGlass).unwrap();
        assert_eq!(s.figure("overdue"), Some(1));
        assert_eq!(s.figure("open"), Some(1));
        assert_eq!(s.figure("decided_late"), Some(1));
        assert!(s.attention);
        assert_eq!(s.items[0].href.as_deref(), Some("/reviews/1"));
    }

    #[test]
    fn an_identity_orphaned_before_the_period_is_named_from_when_it_was() {
        let mut f = facts();
        f.identities = vec![
            IdentityFact {
                id: 7,
                name: "report-cron".into(),
                created_at: t(0),
                declarations: vec![(t(0), t(5))],
            },
            IdentityFact {
                id: 8,
                name: "ci".into(),
                created_at: t(0),
                declarations: vec![(t(0), t(30)), (t(40), t(200))],
            },
        ];
        let r = report(&f, t(20), t(100));
        let s = r.section(SectionKey::Ownership).unwrap();
        assert_eq!(s.figure("orphaned_in_period"), Some(2));
        assert_eq!(s.figure("orphaned_at_end"), Some(1));
        assert_eq!(s.figure("orphaned_secs_longest"), Some(80 * 3600));
        assert_eq!(s.figure("orphaned_secs_total"), Some(90 * 3600));
        assert_eq!(s.items[0].label, "report-cron");
        assert_eq!(
            s.items[0].at,
            Some(t(5)),
            "orphaned since before the period"
        );
        assert_eq!(s.items[1].at, Some(t(30)));
    }
}
