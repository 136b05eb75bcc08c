//! Each section of the evidence report, computed from the period's facts.

mod access;
mod oversight;
mod secrets;
mod trail;

pub(super) use super::facts::Facts;
use super::frameworks;
pub(super) use super::{Bar, Chart, Figure, Item, MAX_ITEMS, Period, Section, SectionKey, Unit};
pub(super) use crate::format;
pub(super) use crate::ownership::orphaned_stretches;
pub(super) use crate::standing::share_percent;
pub(super) use chrono::{DateTime, Utc};

/// What a section's builder fills in; `build` adds its key, title and mapping.
pub(super) struct Body {
    pub summary: String,
    pub attention: bool,
    pub figures: Vec<Figure>,
    pub chart: Option<Chart>,
    pub items: Vec<Item>,
    pub events_query: String,
}

pub(super) fn build(key: SectionKey, facts: &Facts, period: &Period) -> Section {
    let body = match key {
        SectionKey::Coverage => secrets::coverage(facts, period),
        SectionKey::Requests => access::requests(facts, period),
        SectionKey::Grants => access::grants(facts, period),
        SectionKey::BreakGlass => oversight::break_glass(facts, period),
        SectionKey::Ownership => oversight::ownership(facts, period),
        SectionKey::AccessReviews => oversight::access_reviews(facts, period),
        SectionKey::Standing => secrets::standing(facts, period),
        SectionKey::Leaks => secrets::leaks(facts, period),
        SectionKey::Revocations => trail::revocations(facts, period),
        SectionKey::Audit => trail::audit(facts, period),
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

pub(super) fn count(n: usize) -> Option<i64> {
    Some(n as i64)
}

/// `part` of `whole` in whole percent, `None` of nothing.
pub(super) fn percent(part: usize, whole: usize) -> Option<i64> {
    (whole > 0).then(|| (part * 100 / whole) as i64)
}

/// The nearest-rank percentile of `values` (sorted here), `None` of none.
pub(super) fn percentile(values: &mut [i64], p: usize) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let rank = (p * values.len()).div_ceil(100).max(1);
    Some(values[rank - 1])
}

pub(super) fn secs(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_seconds().max(0)
}

pub(super) fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
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
