//! Importing a scanner's report without holding the write lock for its length: findings
//! are staged in short batches (a revocation or the sweeper gets its turn between two),
//! then published in one short transaction, so readers see all of an import or none.

use super::audit::{self, Actor, Event};
use super::standing::{RuleRow, active_rules};
use super::{BREAK_GLASS, GrantRow, SqliteStore, end_grant_early, load_grant, ms};
use crate::scan_report::{Finding, Report};
use crate::store::StoreResult;
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::SqliteConnection;
use stint_core::api::UserView;
use stint_core::rules::{self, LiveGrant};
use stint_core::standing::{ImportSummary, SecretSource, StandingStatus};
use stint_core::{Role, RuleError};

/// Findings staged per write transaction: small enough that nothing queued behind one
/// waits long, large enough that a big report does not take a transaction per finding.
pub const STAGE_BATCH: usize = 500;

/// Staged rows older than this belong to an import that never finished (a crash).
const ABANDONED_AFTER_MS: i64 = 3600 * 1000;

impl SqliteStore {
    pub(super) async fn import_batched(
        &self,
        actor: Option<&UserView>,
        report: &Report,
        source: &str,
        full_scan: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<ImportSummary> {
        let source = check_source(source)?;
        let rules = {
            let mut conn = self.pool.acquire().await?;
            active_rules(&mut conn).await?
        };
        let key = hex::encode(crate::credential::random_bytes::<16>());
        let staged = self.stage(&key, report, &rules, now).await;
        let published = match staged {
            Ok(()) => {
                let mut tx = self.write().await?;
                let summary = publish(&mut tx, actor, &key, report, &source, full_scan, now).await;
                match summary {
                    Ok(summary) => tx.commit().await.map(|()| summary).map_err(Into::into),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        if published.is_err() {
            // Nothing was published; what was staged goes (best effort: a leftover is
            // swept as abandoned by the next import).
            if let Ok(mut tx) = self.write().await {
                let _ = discard(&mut tx, &key).await;
                let _ = tx.commit().await;
            }
        }
        published
    }

    async fn stage(
        &self,
        key: &str,
        report: &Report,
        rules: &[RuleRow],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        for (batch_no, batch) in report.findings.chunks(STAGE_BATCH).enumerate() {
            let mut tx = self.write().await?;
            if batch_no == 0 {
                sqlx::query("DELETE FROM standing_staged WHERE staged_at < ?")
                    .bind(ms(now) - ABANDONED_AFTER_MS)
                    .execute(&mut *tx)
                    .await?;
            }
            for (i, finding) in batch.iter().enumerate() {
                let rule = rules.iter().find(|r| r.matches(report.tool, finding));
                sqlx::query(
                    "INSERT INTO standing_staged
                        (import_key, idx, location, path, secret_type, fingerprint, rule_id,
                         staged_at)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(key)
                .bind((batch_no * STAGE_BATCH + i) as i64)
                .bind(&finding.location)
                .bind(&finding.path)
                .bind(&finding.secret_type)
                .bind(&finding.fingerprint)
                .bind(rule.map(|r| r.id))
                .bind(ms(now))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }
}

fn check_source(source: &str) -> Result<String, RuleError> {
    let source = source.trim();
    if source.is_empty() || source.chars().count() > 200 {
        return Err(RuleError::invalid(
            "source",
            "name what was scanned (a repository, a CI system) in 1 to 200 characters",
        ));
    }
    rules::check_plain_text("source", source)?;
    Ok(source.to_string())
}

async fn discard(conn: &mut SqliteConnection, key: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM standing_staged WHERE import_key = ?")
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Applies the staged findings in set-wise statements: found again, new (mapped by the
/// rule found at staging, if it is still active), leaked Stint credentials (one by one:
/// each revokes its grant), then a full scan's not-seen marks and the one event.
async fn publish(
    conn: &mut SqliteConnection,
    actor: Option<&UserView>,
    key: &str,
    report: &Report,
    source: &str,
    full_scan: bool,
    now: DateTime<Utc>,
) -> StoreResult<ImportSummary> {
    let tool = report.tool;
    let mut summary = ImportSummary {
        tool: Some(tool),
        source: source.to_string(),
        findings: report.findings.len() as u32,
        ..ImportSummary::default()
    };
    let mut new_ids = Vec::new();
    // Leaked credentials first, one by one; the set-wise steps below leave them out.
    let leaked: Vec<i64> = sqlx::query_scalar(
        "SELECT s.idx FROM standing_staged s
         WHERE s.import_key = ? AND EXISTS (
           SELECT 1 FROM credential_fingerprints f WHERE f.fingerprint = s.fingerprint)
         ORDER BY s.idx",
    )
    .bind(key)
    .fetch_all(&mut *conn)
    .await?;
    for idx in leaked {
        let finding = &report.findings[idx as usize];
        import_leaked(
            conn,
            actor,
            tool,
            source,
            finding,
            now,
            &mut summary,
            &mut new_ids,
        )
        .await?;
    }
    let not_leaked = "NOT EXISTS (SELECT 1 FROM credential_fingerprints f
                                  WHERE f.fingerprint = s.fingerprint)";
    summary.seen_again += sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE standing_credentials AS c
         SET last_seen = ?1, not_seen_since = NULL, secret_type = s.secret_type
         FROM standing_staged s
         WHERE s.import_key = ?2 AND {not_leaked}
           AND c.tool = ?3 AND c.source = ?4 AND c.location = s.location
           AND c.fingerprint = s.fingerprint"
    )))
    .bind(ms(now))
    .bind(key)
    .bind(tool.as_str())
    .bind(source)
    .execute(&mut *conn)
    .await?
    .rows_affected() as u32;
    let inserted: Vec<(i64, bool)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO standing_credentials
            (tool, source, location, path, secret_type, fingerprint, first_seen, last_seen,
             status, identity_id, resource_id, privilege, mapped_at, mapped_by_rule,
             created_by)
         SELECT ?3, ?4, s.location, s.path, s.secret_type, s.fingerprint, ?1, ?1,
                CASE WHEN r.id IS NULL THEN 'unmapped' ELSE 'mapped' END,
                r.identity_id, r.resource_id, r.privilege,
                CASE WHEN r.id IS NULL THEN NULL ELSE ?1 END, r.id, ?5
         FROM standing_staged s
         LEFT JOIN standing_rules r ON r.id = s.rule_id AND r.deleted_at IS NULL
         WHERE s.import_key = ?2 AND {not_leaked}
           AND NOT EXISTS (SELECT 1 FROM standing_credentials c
                           WHERE c.tool = ?3 AND c.source = ?4 AND c.location = s.location
                             AND c.fingerprint = s.fingerprint)
         ORDER BY s.idx
         RETURNING id, mapped_by_rule IS NOT NULL"
    )))
    .bind(ms(now))
    .bind(key)
    .bind(tool.as_str())
    .bind(source)
    .bind(actor.map(|a| a.id))
    .fetch_all(&mut *conn)
    .await?;
    summary.new += inserted.len() as u32;
    summary.mapped_by_rule += inserted.iter().filter(|(_, mapped)| *mapped).count() as u32;
    new_ids.extend(inserted.iter().map(|(id, _)| *id));
    discard(conn, key).await?;
    if full_scan {
        summary.not_seen = sqlx::query(
            "UPDATE standing_credentials SET not_seen_since = ?
             WHERE tool = ? AND source = ? AND last_seen < ? AND not_seen_since IS NULL",
        )
        .bind(ms(now))
        .bind(tool.as_str())
        .bind(source)
        .bind(ms(now))
        .execute(&mut *conn)
        .await?
        .rows_affected() as u32;
    }
    let actor = actor.map_or(Actor::Broker, Actor::User);
    audit::append(
        conn,
        now,
        Event::new(actor, "standing.imported", "standing_import", None).details(json!({
            "tool": tool.as_str(),
            "source": source,
            "full_scan": full_scan,
            "findings": summary.findings,
            "new": summary.new,
            "new_ids": new_ids,
            "seen_again": summary.seen_again,
            "not_seen": summary.not_seen,
            "mapped_by_rule": summary.mapped_by_rule,
            "revoked_grants": summary.revoked_grants,
        })),
    )
    .await?;
    Ok(summary)
}

/// A finding that is a credential Stint issued: recorded (or seen again) as such, and
/// its grant revoked as the broker's own decision.
#[allow(clippy::too_many_arguments)]
async fn import_leaked(
    conn: &mut SqliteConnection,
    actor: Option<&UserView>,
    tool: SecretSource,
    source: &str,
    finding: &Finding,
    now: DateTime<Utc>,
    summary: &mut ImportSummary,
    new_ids: &mut Vec<i64>,
) -> StoreResult<()> {
    let Some(grant) = issued_grant(conn, &finding.fingerprint).await? else {
        return Ok(());
    };
    let existing: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM standing_credentials
         WHERE tool = ? AND source = ? AND location = ? AND fingerprint = ?",
    )
    .bind(tool.as_str())
    .bind(source)
    .bind(&finding.location)
    .bind(&finding.fingerprint)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = existing {
        sqlx::query(
            "UPDATE standing_credentials
             SET last_seen = ?, not_seen_since = NULL, secret_type = ? WHERE id = ?",
        )
        .bind(ms(now))
        .bind(&finding.secret_type)
        .bind(id)
        .execute(&mut *conn)
        .await?;
        summary.seen_again += 1;
    } else {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO standing_credentials
                (tool, source, location, path, secret_type, fingerprint, first_seen,
                 last_seen, status, identity_id, resource_id, privilege, grant_id,
                 resolved_at, resolution_reason, created_by)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(tool.as_str())
        .bind(source)
        .bind(&finding.location)
        .bind(&finding.path)
        .bind(&finding.secret_type)
        .bind(&finding.fingerprint)
        .bind(ms(now))
        .bind(ms(now))
        .bind(StandingStatus::LeakedStintCredential.as_str())
        .bind(grant.identity_id)
        .bind(grant.resource_id)
        .bind(&grant.privilege)
        .bind(grant.id)
        .bind(ms(now))
        .bind("a credential Stint issued; its grant was revoked")
        .bind(actor.map(|a| a.id))
        .fetch_one(&mut *conn)
        .await?;
        summary.new += 1;
        new_ids.push(id);
    }
    let reason = format!(
        "its credential was found by {} in {source} at {}",
        tool.as_str(),
        finding.location
    );
    let details = json!({
        "tool": tool.as_str(),
        "source": source,
        "location": finding.location,
        "fingerprint": finding.fingerprint,
    });
    if revoke_leaked(conn, &grant, &reason, details, now).await? {
        summary.revoked_grants.push(grant.id);
    }
    Ok(())
}

/// The grant whose issued credential has this fingerprint, if Stint issued it.
async fn issued_grant(
    conn: &mut SqliteConnection,
    fingerprint: &str,
) -> StoreResult<Option<GrantRow>> {
    let grant_id: Option<i64> = sqlx::query_scalar(
        "SELECT c.grant_id FROM credential_fingerprints f JOIN credentials c ON c.jti = f.jti
         WHERE f.fingerprint = ?",
    )
    .bind(fingerprint)
    .fetch_optional(&mut *conn)
    .await?;
    match grant_id {
        Some(id) => Ok(Some(load_grant(conn, id).await?)),
        None => Ok(None),
    }
}

/// Ends a grant whose credential a scanner found, as the broker's own decision; false
/// when it had already ended.
async fn revoke_leaked(
    conn: &mut SqliteConnection,
    grant: &GrantRow,
    reason: &str,
    details: serde_json::Value,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let live = LiveGrant {
        state: grant.state()?,
        secs_left: (grant.expires_at - ms(now)) / 1000,
        break_glass: grant.kind == BREAK_GLASS,
    };
    // The broker acts with an admin's authority here: a leaked credential must die.
    let Ok((next, reason)) = rules::decide_revoke(&live, false, &[Role::Admin], reason) else {
        return Ok(false);
    };
    end_grant_early(conn, Actor::Broker, grant, next, &reason, details, now).await?;
    Ok(true)
}
