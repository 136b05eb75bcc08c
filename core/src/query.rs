//! The list endpoints' queries as types: the portal writes them with `to_query` and the
//! broker reads them with `parse`, so both spell every parameter the same way and a bad
//! value is refused naming its parameter, wherever it was written.
//!
//! A parameter absent, empty or `all` (for a choice) is no filter. `limit` is read as a
//! number here; the range each endpoint allows is the broker's to check.

use crate::connectors::AccessFilter;
use crate::model::{ReviewOutcome, ReviewStatus};
use crate::rules::RuleError;
use crate::state::{GrantState, RequestState};
use chrono::{DateTime, Utc};

/// A query's parameters by name, as a URL carries them (`None`: absent).
pub trait Lookup {
    fn value(&self, name: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> Lookup for F {
    fn value(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// A query string's pairs, decoded, as a server reads them.
impl Lookup for std::collections::HashMap<String, String> {
    fn value(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// The search every list of requests (and of what they made) takes: `q` (words in the task
/// or ticket), `ticket`, `identity_id`, `resource_id`, `requester_id`, `since`, `until`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Search {
    pub q: Option<String>,
    pub ticket: Option<String>,
    pub identity_id: Option<i64>,
    pub resource_id: Option<i64>,
    pub requester_id: Option<i64>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// `GET /api/v1/requests`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestQuery {
    pub state: Option<RequestState>,
    /// Only the caller's own requests.
    pub mine: bool,
    /// Only requests the caller may approve now.
    pub awaiting_me: bool,
    pub search: Search,
    /// The page after this request id (`next_cursor` of the page before).
    pub cursor: Option<i64>,
    pub limit: Option<u32>,
}

/// `GET /api/v1/grants`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GrantQuery {
    pub state: Option<GrantState>,
    /// Where the grant's account downstream stands.
    pub access: Option<AccessFilter>,
    /// Only grants the caller holds.
    pub mine: bool,
    pub search: Search,
    pub cursor: Option<GrantCursor>,
    pub limit: Option<u32>,
}

/// `GET /api/v1/reviews`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReviewQuery {
    /// `state=`: open, overdue or decided.
    pub status: Option<ReviewStatus>,
    pub outcome: Option<ReviewOutcome>,
    pub search: Search,
    pub limit: Option<u32>,
}

/// `GET /api/v1/audit` (and its export): events newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditQuery {
    /// The actor's name.
    pub actor: Option<String>,
    /// The event's action, e.g. `request.approved`.
    pub action: Option<String>,
    pub request_id: Option<i64>,
    pub grant_id: Option<i64>,
    /// The identity's name.
    pub identity: Option<String>,
    /// The resource's name.
    pub resource: Option<String>,
    /// Words in the event.
    pub q: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// The page before this sequence number (`next_cursor` of the page before).
    pub cursor: Option<i64>,
    /// Only events after this sequence number (0: all).
    pub after_seq: Option<i64>,
    pub limit: Option<u32>,
}

/// Where the next page of grants starts: after the grant that ends at `ends_at_ms` and has
/// `id`, in the list's order (`<end in ms>.<id>`, the `stint-next-cursor` header).
/// It carries its own place, so reading the next page reads no grant (nor tells of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantCursor {
    pub ends_at_ms: i64,
    pub id: i64,
}

impl std::fmt::Display for GrantCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.ends_at_ms, self.id)
    }
}

impl std::str::FromStr for GrantCursor {
    type Err = RuleError;
    fn from_str(s: &str) -> Result<GrantCursor, RuleError> {
        s.split_once('.')
            .and_then(|(ms, id)| {
                Some(GrantCursor {
                    ends_at_ms: ms.parse().ok()?,
                    id: id.parse().ok()?,
                })
            })
            .ok_or_else(|| {
                RuleError::invalid(
                    "cursor",
                    "the cursor is the stint-next-cursor header of the page before",
                )
            })
    }
}

impl Search {
    /// The words of `q`, each to appear (in any case) in the task or the ticket; `parse`
    /// has refused a `q` of too many.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.q.as_deref().unwrap_or_default().split_whitespace()
    }

    pub fn parse(params: &impl Lookup) -> Result<Search, RuleError> {
        let q = text(params, "q");
        // Refused here, before the other filters, as the store would refuse it.
        crate::search::words(q.as_deref().unwrap_or_default())?;
        Ok(Search {
            q,
            ticket: text(params, "ticket"),
            identity_id: id(params, "identity_id")?,
            resource_id: id(params, "resource_id")?,
            requester_id: id(params, "requester_id")?,
            since: time(params, "since")?,
            until: time(params, "until")?,
        })
    }

    fn write(&self, out: &mut Query) {
        out.text("q", self.q.as_deref());
        out.text("ticket", self.ticket.as_deref());
        out.number("identity_id", self.identity_id);
        out.number("resource_id", self.resource_id);
        out.number("requester_id", self.requester_id);
        out.time("since", self.since);
        out.time("until", self.until);
    }
}

impl RequestQuery {
    /// The caller's own requests in `state`.
    pub fn mine(state: RequestState) -> RequestQuery {
        RequestQuery {
            state: Some(state),
            mine: true,
            ..RequestQuery::default()
        }
    }

    /// The requests the caller may approve now.
    pub fn awaiting_me() -> RequestQuery {
        RequestQuery {
            awaiting_me: true,
            ..RequestQuery::default()
        }
    }

    pub fn parse(params: &impl Lookup) -> Result<RequestQuery, RuleError> {
        Ok(RequestQuery {
            state: choice(
                params,
                "state",
                RequestState::parse,
                "pending, approved, denied, cancelled or expired",
            )?,
            mine: flag(params, "mine")?,
            awaiting_me: flag(params, "awaiting_me")?,
            search: Search::parse(params)?,
            cursor: id(params, "cursor")?,
            limit: limit(params)?,
        })
    }

    /// The query string, without `?`; empty when nothing is asked.
    pub fn to_query(&self) -> String {
        let mut out = Query::default();
        out.text("state", self.state.map(RequestState::as_str));
        out.flag("mine", self.mine);
        out.flag("awaiting_me", self.awaiting_me);
        self.search.write(&mut out);
        out.number("cursor", self.cursor);
        out.number("limit", self.limit);
        out.0
    }
}

impl GrantQuery {
    /// The grants the caller holds in `state`.
    pub fn mine(state: GrantState) -> GrantQuery {
        GrantQuery {
            mine: true,
            ..GrantQuery::in_state(state)
        }
    }

    /// Every grant in `state` the caller may see.
    pub fn in_state(state: GrantState) -> GrantQuery {
        GrantQuery {
            state: Some(state),
            ..GrantQuery::default()
        }
    }

    /// The grants whose access downstream stands as `access` says.
    pub fn access(access: AccessFilter) -> GrantQuery {
        GrantQuery {
            access: Some(access),
            ..GrantQuery::default()
        }
    }

    pub fn parse(params: &impl Lookup) -> Result<GrantQuery, RuleError> {
        Ok(GrantQuery {
            state: choice(
                params,
                "state",
                GrantState::parse,
                "scheduled, active, expired or revoked",
            )?,
            access: choice(params, "access", AccessFilter::parse, AccessFilter::CHOICES)?,
            mine: flag(params, "mine")?,
            search: Search::parse(params)?,
            limit: limit(params)?,
            cursor: text(params, "cursor").map(|c| c.parse()).transpose()?,
        })
    }

    /// The query string, without `?`; empty when nothing is asked.
    pub fn to_query(&self) -> String {
        let mut out = Query::default();
        out.text("state", self.state.map(GrantState::as_str));
        out.text("access", self.access.map(AccessFilter::as_str));
        out.flag("mine", self.mine);
        self.search.write(&mut out);
        out.text("cursor", self.cursor.map(|c| c.to_string()).as_deref());
        out.number("limit", self.limit);
        out.0
    }
}

impl ReviewQuery {
    /// The reviews decided `outcome`.
    pub fn outcome(outcome: ReviewOutcome) -> ReviewQuery {
        ReviewQuery {
            outcome: Some(outcome),
            ..ReviewQuery::default()
        }
    }

    pub fn parse(params: &impl Lookup) -> Result<ReviewQuery, RuleError> {
        Ok(ReviewQuery {
            status: choice(
                params,
                "state",
                ReviewStatus::parse,
                "open, overdue or decided",
            )?,
            outcome: choice(
                params,
                "outcome",
                ReviewOutcome::parse,
                "justified or unjustified",
            )?,
            search: Search::parse(params)?,
            limit: limit(params)?,
        })
    }

    /// The query string, without `?`; empty when nothing is asked.
    pub fn to_query(&self) -> String {
        let mut out = Query::default();
        out.text("state", self.status.map(ReviewStatus::as_str));
        out.text("outcome", self.outcome.map(ReviewOutcome::as_str));
        self.search.write(&mut out);
        out.number("limit", self.limit);
        out.0
    }
}

impl AuditQuery {
    /// The latest `limit` events of `action`.
    pub fn latest(action: &str, limit: u32) -> AuditQuery {
        AuditQuery {
            action: Some(action.to_string()),
            limit: Some(limit),
            ..AuditQuery::default()
        }
    }

    pub fn parse(params: &impl Lookup) -> Result<AuditQuery, RuleError> {
        // Read first, as the broker always has.
        let after_seq = text(params, "after_seq")
            .map(|v| {
                v.parse::<i64>().ok().filter(|s| *s >= 0).ok_or_else(|| {
                    RuleError::invalid("after_seq", format!("`{v}` is not a sequence number"))
                })
            })
            .transpose()?;
        Ok(AuditQuery {
            actor: text(params, "actor"),
            action: text(params, "action"),
            request_id: id(params, "request_id")?,
            grant_id: id(params, "grant_id")?,
            identity: text(params, "identity"),
            resource: text(params, "resource"),
            q: text(params, "q"),
            since: time(params, "since")?,
            until: time(params, "until")?,
            cursor: id(params, "cursor")?,
            after_seq,
            limit: limit(params)?,
        })
    }

    /// The query string, without `?`; empty when nothing is asked.
    pub fn to_query(&self) -> String {
        let mut out = Query::default();
        out.text("actor", self.actor.as_deref());
        out.text("action", self.action.as_deref());
        out.number("request_id", self.request_id);
        out.number("grant_id", self.grant_id);
        out.text("identity", self.identity.as_deref());
        out.text("resource", self.resource.as_deref());
        out.text("q", self.q.as_deref());
        out.time("since", self.since);
        out.time("until", self.until);
        out.number("cursor", self.cursor);
        out.number("after_seq", self.after_seq);
        out.number("limit", self.limit);
        out.0
    }
}

/// A query string being written: `name=value` pairs, values percent-encoded.
#[derive(Default)]
struct Query(String);

impl Query {
    fn text(&mut self, name: &str, value: Option<&str>) {
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            return;
        };
        if !self.0.is_empty() {
            self.0.push('&');
        }
        self.0.push_str(name);
        self.0.push('=');
        encode_into(&mut self.0, value);
    }

    fn number(&mut self, name: &str, value: Option<impl std::fmt::Display>) {
        self.text(name, value.map(|v| v.to_string()).as_deref());
    }

    fn flag(&mut self, name: &str, on: bool) {
        self.text(name, on.then_some("true"));
    }

    fn time(&mut self, name: &str, at: Option<DateTime<Utc>>) {
        self.text(name, at.map(|t| t.to_rfc3339()).as_deref());
    }
}

/// Percent-encodes all but RFC 3986's unreserved characters (`+` too, which a form
/// decoder would read as a space).
fn encode_into(out: &mut String, value: &str) {
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
}

// What every parameter is read as; the broker reads the other endpoints' parameters
// through these too.

/// The value, trimmed; `None` when absent or blank.
pub fn text(params: &impl Lookup, name: &str) -> Option<String> {
    params
        .value(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A positive id.
pub fn id(params: &impl Lookup, name: &'static str) -> Result<Option<i64>, RuleError> {
    text(params, name)
        .map(|v| {
            v.parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| RuleError::invalid(name, format!("`{v}` is not an id")))
        })
        .transpose()
}

/// An RFC 3339 time.
pub fn time(params: &impl Lookup, name: &'static str) -> Result<Option<DateTime<Utc>>, RuleError> {
    text(params, name)
        .map(|v| {
            DateTime::parse_from_rfc3339(&v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| RuleError::invalid(name, format!("`{v}` is not an RFC 3339 time")))
        })
        .transpose()
}

/// `true`/`1` (or the bare name) and `false`/`0`; absent is false.
pub fn flag(params: &impl Lookup, name: &'static str) -> Result<bool, RuleError> {
    match params.value(name).as_deref() {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") | Some("") => Ok(true),
        Some(other) => Err(RuleError::invalid(
            name,
            format!("`{other}` is not true or false"),
        )),
    }
}

/// A page size as asked; whether the endpoint allows it is the broker's to say.
pub fn limit(params: &impl Lookup) -> Result<Option<u32>, RuleError> {
    text(params, "limit")
        .map(|v| {
            v.parse::<u32>()
                .map_err(|_| RuleError::invalid("limit", format!("`{v}` is not a page size")))
        })
        .transpose()
}

/// One of a fixed set of words, read by `parse`; absent or `all` is none. `allowed` lists
/// the words for the refusal.
pub fn choice<T>(
    params: &impl Lookup,
    name: &'static str,
    parse: fn(&str) -> Option<T>,
    allowed: &str,
) -> Result<Option<T>, RuleError> {
    match text(params, name).as_deref() {
        None | Some("all") => Ok(None),
        Some(v) => parse(v).map(Some).ok_or_else(|| {
            RuleError::invalid(name, format!("unknown {name} `{v}`: use {allowed}"))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::AccessPhase;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// The pairs of a query string, decoded as a server decodes them.
    fn decoded(query: &str) -> HashMap<String, String> {
        query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap();
                (name.to_string(), percent_decode(value))
            })
            .collect()
    }

    fn percent_decode(value: &str) -> String {
        let bytes = value.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&value[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    fn requests(query: &str) -> Result<RequestQuery, RuleError> {
        RequestQuery::parse(&decoded(query))
    }

    fn grants(query: &str) -> Result<GrantQuery, RuleError> {
        GrantQuery::parse(&decoded(query))
    }

    fn reviews(query: &str) -> Result<ReviewQuery, RuleError> {
        ReviewQuery::parse(&decoded(query))
    }

    fn audit(query: &str) -> Result<AuditQuery, RuleError> {
        AuditQuery::parse(&decoded(query))
    }

    fn field(e: RuleError) -> &'static str {
        match e {
            RuleError::Invalid { field, .. } => field,
            other => panic!("not a refused field: {other:?}"),
        }
    }

    #[test]
    fn the_portal_writes_what_the_dashboard_has_always_asked() {
        assert_eq!(
            RequestQuery::mine(RequestState::Pending).to_query(),
            "state=pending&mine=true"
        );
        assert_eq!(RequestQuery::awaiting_me().to_query(), "awaiting_me=true");
        assert_eq!(
            GrantQuery::mine(GrantState::Scheduled).to_query(),
            "state=scheduled&mine=true"
        );
        assert_eq!(
            GrantQuery::access(AccessFilter::Failing).to_query(),
            "access=failing"
        );
        assert_eq!(
            ReviewQuery::outcome(ReviewOutcome::Unjustified).to_query(),
            "outcome=unjustified"
        );
        assert_eq!(
            AuditQuery::latest("federation.refused", 10).to_query(),
            "action=federation.refused&limit=10"
        );
        assert_eq!(RequestQuery::default().to_query(), "");
    }

    #[test]
    fn a_bad_value_is_refused_naming_its_parameter() {
        assert_eq!(field(requests("state=lost").unwrap_err()), "state");
        assert_eq!(field(requests("mine=maybe").unwrap_err()), "mine");
        assert_eq!(field(requests("cursor=x").unwrap_err()), "cursor");
        assert_eq!(
            field(requests("identity_id=-3").unwrap_err()),
            "identity_id"
        );
        assert_eq!(field(requests("since=yesterday").unwrap_err()), "since");
        assert_eq!(field(requests("limit=ten").unwrap_err()), "limit");
        assert_eq!(field(grants("cursor=12").unwrap_err()), "cursor");
        assert_eq!(field(grants("access=broken").unwrap_err()), "access");
        assert_eq!(field(reviews("outcome=fine").unwrap_err()), "outcome");
        assert_eq!(field(audit("after_seq=-1").unwrap_err()), "after_seq");
        assert_eq!(field(audit("grant_id=0").unwrap_err()), "grant_id");
        let too_many_words = vec!["w"; 40].join("%20");
        assert_eq!(
            field(requests(&format!("q={too_many_words}&cursor=x")).unwrap_err()),
            "q"
        );
    }

    #[test]
    fn absent_empty_and_all_ask_for_nothing() {
        assert_eq!(requests("").unwrap(), RequestQuery::default());
        assert_eq!(
            requests("state=all&q=&mine=false&ticket=%20").unwrap(),
            RequestQuery::default()
        );
        // The bare name of a flag turns it on, as a checkbox in a form sends it.
        assert!(requests("awaiting_me=").unwrap().awaiting_me);
    }

    fn text() -> impl Strategy<Value = Option<String>> {
        // Anything a person types, spaces, `&`, `=`, `%`, `+` and non-ASCII included, but
        // not only blanks (which ask for nothing) nor with blanks at its ends (trimmed).
        proptest::option::of("[a-zA-Z0-9 &=%+#?é-]{0,12}[a-z&=%+é]")
            .prop_map(|t| t.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()))
    }

    fn id() -> impl Strategy<Value = Option<i64>> {
        proptest::option::of(1..i64::MAX)
    }

    fn at() -> impl Strategy<Value = Option<DateTime<Utc>>> {
        proptest::option::of(
            (0i64..4_000_000_000_000).prop_map(|ms| DateTime::from_timestamp_millis(ms).unwrap()),
        )
    }

    fn search() -> impl Strategy<Value = Search> {
        (text(), text(), id(), id(), id(), at(), at()).prop_map(
            |(q, ticket, identity_id, resource_id, requester_id, since, until)| Search {
                q,
                ticket,
                identity_id,
                resource_id,
                requester_id,
                since,
                until,
            },
        )
    }

    fn request_state() -> impl Strategy<Value = Option<RequestState>> {
        proptest::option::of(prop_oneof![
            Just(RequestState::Pending),
            Just(RequestState::Approved),
            Just(RequestState::Denied),
            Just(RequestState::Cancelled),
            Just(RequestState::Expired),
        ])
    }

    proptest! {
        #[test]
        fn what_the_portal_writes_the_broker_reads_back(
            state in request_state(),
            mine: bool,
            awaiting_me: bool,
            search in search(),
            cursor in id(),
            limit in proptest::option::of(any::<u32>()),
        ) {
            let asked = RequestQuery { state, mine, awaiting_me, search, cursor, limit };
            prop_assert_eq!(requests(&asked.to_query()).unwrap(), asked);
        }

        #[test]
        fn a_grant_query_reads_back_too(
            mine: bool,
            search in search(),
            cursor in proptest::option::of((any::<i64>(), 1..i64::MAX)),
        ) {
            let asked = GrantQuery {
                state: Some(GrantState::Active),
                access: Some(AccessFilter::Phase(AccessPhase::Ready)),
                mine,
                search,
                cursor: cursor.map(|(ends_at_ms, id)| GrantCursor { ends_at_ms, id }),
                limit: Some(20),
            };
            prop_assert_eq!(grants(&asked.to_query()).unwrap(), asked);
        }

        #[test]
        fn an_audit_query_reads_back_too(
            (actor, action, identity, resource, q) in (text(), text(), text(), text(), text()),
            (request_id, grant_id, cursor) in (id(), id(), id()),
            (since, until) in (at(), at()),
            after_seq in proptest::option::of(0..i64::MAX),
            limit in proptest::option::of(any::<u32>()),
        ) {
            let asked = AuditQuery {
                actor, action, request_id, grant_id, identity, resource, q, since, until,
                cursor, after_seq, limit,
            };
            prop_assert_eq!(audit(&asked.to_query()).unwrap(), asked);
        }
    }
}
