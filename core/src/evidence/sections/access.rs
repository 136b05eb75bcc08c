//! The sections on the core loop: requests and their approval, grants and their length.

use super::*;

/// How long people took to approve, in the chart's buckets.
const APPROVAL_BUCKETS: [(i64, &str); 5] = [
    (5 * 60, "under 5 min"),
    (3600, "5 min – 1 h"),
    (4 * 3600, "1 – 4 h"),
    (24 * 3600, "4 – 24 h"),
    (i64::MAX, "a day or more"),
];

pub(super) fn requests(facts: &Facts, period: &Period) -> Body {
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

pub(super) fn grants(facts: &Facts, period: &Period) -> Body {
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
