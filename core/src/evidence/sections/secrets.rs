//! The sections on what bypasses JIT: coverage, standing credentials, leaked ones.

use super::*;

pub(super) fn coverage(facts: &Facts, period: &Period) -> Body {
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
                    label: crate::moments::month_day(&(p.at - chrono::Duration::milliseconds(1))),
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

pub(super) fn standing(facts: &Facts, period: &Period) -> Body {
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

pub(super) fn leaks(facts: &Facts, period: &Period) -> Body {
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
