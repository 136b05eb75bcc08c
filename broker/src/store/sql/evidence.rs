//! The evidence report's facts: the period's records as plain rows, read in one snapshot
//! with the chain's verification, so every figure describes the same moment.

use super::standing::coverage_at;
use super::{Conn, ms, time};
use crate::credential::TrustedKeys;
use crate::store::{StoreResult, audit};
use chrono::{DateTime, Duration, DurationRound, Utc};
use std::collections::HashMap;
use stint_core::api::AuditCheckpoint;
use stint_core::evidence::facts::*;

pub(super) async fn facts(
    conn: &mut Conn,
    trusted: &TrustedKeys,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<Facts> {
    let verification = audit::verify(&mut *conn, trusted, &[]).await?;
    let checkpoint = checkpoint_at_or_before(conn, verification.head_seq).await?;
    Ok(Facts {
        now,
        coverage_start: coverage_at(conn, since).await?,
        coverage: coverage(conn, since, until).await?,
        exposed: exposed(conn, until).await?,
        requests: requests(conn, since, until).await?,
        grants: grants(conn, since, until).await?,
        live_at_end: live_at(conn, until).await?,
        credentials_issued: count_events(conn, Some("credential.issued"), since, until).await?,
        break_glass: break_glass(conn, since, until).await?,
        identities: identities(conn, until).await?,
        standing: standing(conn, since, until).await?,
        revocations: revocations(conn, since, until).await?,
        campaigns: campaigns(conn, since, until).await?,
        events: count_events(conn, None, since, until).await?,
        verification,
        checkpoint,
    })
}

/// Coverage at the end of each UTC day of the period, the last point at its end.
async fn coverage(
    conn: &mut Conn,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> StoreResult<Vec<stint_core::standing::CoveragePoint>> {
    let mut at = since.duration_trunc(Duration::days(1)).unwrap_or(since) + Duration::days(1);
    let mut points = Vec::new();
    while at < until {
        points.push(coverage_at(conn, at).await?);
        at += Duration::days(1);
    }
    points.push(coverage_at(conn, until).await?);
    Ok(points)
}

async fn exposed(conn: &mut Conn, at: DateTime<Utc>) -> StoreResult<Vec<Exposed>> {
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT res.id, res.name, COUNT(*) FROM standing_credentials s
         JOIN resources res ON res.id = s.resource_id AND res.created_at <= $1
         WHERE s.mapped_at <= $1 AND (s.resolved_at IS NULL OR s.resolved_at > $1)
         GROUP BY res.id, res.name ORDER BY res.name",
    )
    .bind(ms(at))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(resource_id, resource, n)| Exposed {
            resource_id,
            resource,
            standing_paths: n as u32,
        })
        .collect())
}

async fn requests(
    conn: &mut Conn,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> StoreResult<Vec<RequestFact>> {
    let rows: Vec<(i64, i64, bool, String, Option<i64>, bool)> = sqlx::query_as(
        "SELECT r.id, r.created_at, r.ticket IS NOT NULL AND r.ticket <> '', r.state,
                r.decided_at, r.kind = 'auto_approved'
         FROM requests r
         WHERE r.kind <> 'break_glass' AND r.created_at >= $1 AND r.created_at < $2
         ORDER BY r.id",
    )
    .bind(ms(since))
    .bind(ms(until))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, filed_at, with_ticket, state, decided_at, auto_approved)| RequestFact {
                id,
                filed_at: time(filed_at),
                with_ticket,
                state,
                decided_at: decided_at.map(time),
                auto_approved,
            },
        )
        .collect())
}

type GrantRow = (
    i64,
    i64,
    bool,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    String,
);

async fn grants(
    conn: &mut Conn,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> StoreResult<Vec<GrantFact>> {
    let rows: Vec<GrantRow> = sqlx::query_as(
        "SELECT g.id, g.request_id, g.kind = 'break_glass', i.name, res.name, g.starts_at,
                g.expires_at, g.ended_at, g.state
         FROM grants g
         JOIN identities i ON i.id = g.identity_id
         JOIN resources res ON res.id = g.resource_id
         WHERE g.starts_at >= $1 AND g.starts_at < $2
         ORDER BY g.id",
    )
    .bind(ms(since))
    .bind(ms(until))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, request_id, break_glass, identity, resource, starts, expires, ended, state)| {
                GrantFact {
                    id,
                    request_id,
                    break_glass,
                    identity,
                    resource,
                    starts_at: time(starts),
                    expires_at: time(expires),
                    ended_at: ended.map(time),
                    state,
                }
            },
        )
        .collect())
}

/// Grants giving access at `at`, whenever they began.
async fn live_at(conn: &mut Conn, at: DateTime<Utc>) -> StoreResult<u32> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM grants
         WHERE starts_at <= $1 AND expires_at > $1 AND (ended_at IS NULL OR ended_at > $1)
           AND state <> 'scheduled'",
    )
    .bind(ms(at))
    .fetch_one(&mut *conn)
    .await?;
    Ok(n as u32)
}

type BreakGlassRow = (
    i64,
    i64,
    String,
    String,
    String,
    i64,
    i64,
    Option<String>,
    Option<i64>,
);

async fn break_glass(
    conn: &mut Conn,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> StoreResult<Vec<BreakGlassFact>> {
    let rows: Vec<BreakGlassRow> = sqlx::query_as(
        "SELECT r.id, v.id, u.username, i.name, res.name, r.created_at, v.due_at, v.outcome,
                v.decided_at
         FROM reviews v
         JOIN requests r ON r.id = v.request_id
         JOIN users u ON u.id = v.taker_id
         JOIN identities i ON i.id = r.identity_id
         JOIN resources res ON res.id = r.resource_id
         WHERE r.created_at >= $1 AND r.created_at < $2
         ORDER BY v.id",
    )
    .bind(ms(since))
    .bind(ms(until))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(request_id, review_id, taker, identity, resource, taken, due, outcome, decided)| {
                BreakGlassFact {
                    request_id,
                    review_id,
                    taker,
                    identity,
                    resource,
                    taken_at: time(taken),
                    due_at: time(due),
                    outcome,
                    decided_at: decided.map(time),
                }
            },
        )
        .collect())
}

/// A declaration's span: declared, and when it stopped being current.
type Span = (DateTime<Utc>, DateTime<Utc>);

async fn identities(conn: &mut Conn, until: DateTime<Utc>) -> StoreResult<Vec<IdentityFact>> {
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT id, name, created_at FROM identities WHERE created_at < $1 ORDER BY id",
    )
    .bind(ms(until))
    .fetch_all(&mut *conn)
    .await?;
    let declarations: Vec<(i64, i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT identity_id, declared_at, attest_until, ended_at FROM ownerships
         WHERE declared_at < $1",
    )
    .bind(ms(until))
    .fetch_all(&mut *conn)
    .await?;
    let mut spans: HashMap<i64, Vec<Span>> = HashMap::new();
    for (identity, declared, attest_until, ended) in declarations {
        // Current until it lapses or ends, whichever comes first.
        let end = ended.map_or(attest_until, |e| e.min(attest_until));
        spans
            .entry(identity)
            .or_default()
            .push((time(declared), time(end)));
    }
    Ok(rows
        .into_iter()
        .map(|(id, name, created_at)| IdentityFact {
            id,
            name,
            created_at: time(created_at),
            declarations: spans.remove(&id).unwrap_or_default(),
        })
        .collect())
}

type StandingRow = (
    i64,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
    bool,
);

async fn standing(
    conn: &mut Conn,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> StoreResult<Vec<StandingFact>> {
    // A leaked Stint credential's grant was revoked by the finding when the broker ended
    // it at the very moment the finding was recorded.
    let rows: Vec<StandingRow> = sqlx::query_as(
        "SELECT s.id, s.tool, s.source, s.location, s.first_seen, s.mapped_at, s.resolved_at,
                s.status, s.grant_id, i.name, res.name,
                COALESCE(g.state = 'revoked' AND g.revoked_by IS NULL
                         AND g.ended_at = s.first_seen, FALSE)
         FROM standing_credentials s
         LEFT JOIN identities i ON i.id = s.identity_id
         LEFT JOIN resources res ON res.id = s.resource_id
         LEFT JOIN grants g ON g.id = s.grant_id
         WHERE s.first_seen < $2 AND (s.resolved_at IS NULL OR s.resolved_at >= $1)
         ORDER BY s.id",
    )
    .bind(ms(since))
    .bind(ms(until))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                tool,
                source,
                location,
                first_seen,
                mapped_at,
                resolved_at,
                status,
                grant_id,
                identity,
                resource,
                revoked,
            )| {
                let leaked_grant = grant_id
                    .filter(|_| status == "leaked_stint_credential")
                    .map(|grant_id| LeakedGrant {
                        grant_id,
                        identity: identity.unwrap_or_default(),
                        resource: resource.unwrap_or_default(),
                        revoked_by_finding: revoked,
                    });
                StandingFact {
                    id,
                    tool,
                    source,
                    location,
                    first_seen: time(first_seen),
                    mapped_at: mapped_at.map(time),
                    resolved_at: resolved_at.map(time),
                    status,
                    leaked_grant,
                }
            },
        )
        .collect())
}

type CampaignRow = (i64, String, i64, i64, Option<i64>, i64, i64, i64, i64);

async fn campaigns(
    conn: &mut Conn,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> StoreResult<Vec<CampaignFact>> {
    let rows: Vec<CampaignRow> = sqlx::query_as(
        "SELECT c.id, c.name, c.created_at, c.due_at, c.closed_at,
                (SELECT COUNT(*) FROM campaign_items i WHERE i.campaign_id = c.id),
                (SELECT COUNT(*) FROM campaign_items i
                 WHERE i.campaign_id = c.id AND i.decision IS NOT NULL),
                (SELECT COUNT(*) FROM campaign_items i
                 WHERE i.campaign_id = c.id AND i.decision = 'revoke'),
                (SELECT COUNT(*) FROM campaign_items i
                 WHERE i.campaign_id = c.id AND i.decision = 'change')
         FROM campaigns c WHERE c.created_at >= $1 AND c.created_at < $2 ORDER BY c.id",
    )
    .bind(ms(since))
    .bind(ms(until))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, name, started, due, closed, items, decided, revoked, changed)| CampaignFact {
                id,
                name,
                started_at: time(started),
                due_at: time(due),
                closed_at: closed.map(time),
                items: items as u32,
                decided: decided as u32,
                revoked: revoked as u32,
                changed: changed as u32,
            },
        )
        .collect())
}

type RevocationRow = (i64, String, String, i64, i64, Option<i64>, Option<i64>);

async fn revocations(
    conn: &mut Conn,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> StoreResult<Vec<RevocationFact>> {
    let rows: Vec<RevocationRow> = sqlx::query_as(
        "SELECT j.grant_id, i.name, res.name, j.queued_at, CAST(j.attempts AS BIGINT),
                j.done_at, j.flagged_at
         FROM connector_jobs j
         JOIN grants g ON g.id = j.grant_id
         JOIN identities i ON i.id = g.identity_id
         JOIN resources res ON res.id = g.resource_id
         WHERE j.action = 'revoke' AND j.queued_at >= $1 AND j.queued_at < $2
         ORDER BY j.id",
    )
    .bind(ms(since))
    .bind(ms(until))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(grant_id, identity, resource, queued, attempts, done, flagged)| RevocationFact {
                grant_id,
                identity,
                resource,
                queued_at: time(queued),
                attempts: attempts.max(0) as u32,
                done_at: done.map(time),
                flagged_at: flagged.map(time),
            },
        )
        .collect())
}

/// Events of the period (with this action, when given).
async fn count_events(
    conn: &mut Conn,
    action: Option<&str>,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> StoreResult<u32> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events
         WHERE at >= $1 AND at < $2 AND ($3 IS NULL OR action = $3)",
    )
    .bind(ms(since))
    .bind(ms(until))
    .bind(action)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n as u32)
}

/// The newest stored checkpoint of a head at or before `seq`.
async fn checkpoint_at_or_before(
    conn: &mut Conn,
    seq: i64,
) -> StoreResult<Option<AuditCheckpoint>> {
    let row: Option<(i64, i64, String, String, String)> = sqlx::query_as(
        "SELECT at, head_seq, head_hash, kid, signature FROM audit_checkpoints
         WHERE head_seq <= $1 ORDER BY head_seq DESC LIMIT 1",
    )
    .bind(seq)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(
        |(at, head_seq, head_hash, kid, signature)| AuditCheckpoint {
            at: time(at),
            head_seq,
            head_hash,
            kid,
            signature,
        },
    ))
}
