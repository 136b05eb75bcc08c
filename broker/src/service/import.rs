//! Importing a scanner's report without holding the write lock for its length: findings
//! are staged in short batches (a revocation or the sweeper gets its turn between two),
//! then published in one short transaction, so readers see all of an import or none.

use super::grants;
use crate::scan_report::{Finding, Report};
use crate::store::StoreResult;
use crate::store::audit::{self, Actor, Event};
use crate::store::port::{Database, Import, MappingRule, Rows, StagedFinding};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use stint_core::api::UserView;
use stint_core::rules::{self, LiveGrant};
use stint_core::standing::ImportSummary;
use stint_core::{Role, RuleError};

/// Findings staged per write transaction: small enough that nothing queued behind one
/// waits long, large enough that a big report does not take a transaction per finding.
pub const STAGE_BATCH: usize = 500;

/// Staged rows older than this belong to an import that never finished (a crash).
const ABANDONED_AFTER: Duration = Duration::hours(1);

/// Imports a scanner's report: findings recorded or seen again, mapping rules applied,
/// grants of leaked Stint credentials revoked, one event for the whole import.
pub async fn import(
    db: &dyn Database,
    actor: Option<&UserView>,
    report: &Report,
    source: &str,
    full_scan: bool,
    now: DateTime<Utc>,
) -> StoreResult<ImportSummary> {
    let source = check_source(source)?;
    let rules = db.read().await?.active_mapping_rules().await?;
    let key = hex::encode(crate::credential::random_bytes::<16>());
    let import = Import {
        key: &key,
        tool: report.tool,
        source: &source,
        created_by: actor.map(|a| a.id),
        at: now,
    };
    let published = match stage(db, &import, report, &rules).await {
        Ok(()) => publish(db, actor, &import, report, full_scan).await,
        Err(e) => Err(e),
    };
    if published.is_err() {
        // Nothing was published; what was staged goes (best effort: a leftover is
        // purged as abandoned by a later import).
        if let Ok(mut tx) = db.write().await
            && tx.discard_staged(&key).await.is_ok()
        {
            let _ = tx.commit().await;
        }
    }
    published
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

/// Stages every finding with the rule that maps it, `STAGE_BATCH` to a transaction.
async fn stage(
    db: &dyn Database,
    import: &Import<'_>,
    report: &Report,
    rules: &[MappingRule],
) -> StoreResult<()> {
    for (batch_no, batch) in report.findings.chunks(STAGE_BATCH).enumerate() {
        let mut tx = db.write().await?;
        if batch_no == 0 {
            tx.purge_abandoned_staging(import.at - ABANDONED_AFTER)
                .await?;
        }
        for (i, finding) in batch.iter().enumerate() {
            let rule = rules.iter().find(|r| r.matches(report.tool, finding));
            tx.stage_finding(&StagedFinding {
                import_key: import.key,
                idx: batch_no * STAGE_BATCH + i,
                finding,
                rule_id: rule.map(|r| r.id),
                at: import.at,
            })
            .await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

/// Applies the staged findings: leaked Stint credentials one by one (each revokes its
/// grant), the rest set-wise (seen again, new), then a full scan's not-seen marks and the
/// one event.
async fn publish(
    db: &dyn Database,
    actor: Option<&UserView>,
    import: &Import<'_>,
    report: &Report,
    full_scan: bool,
) -> StoreResult<ImportSummary> {
    let mut tx = db.write().await?;
    let mut summary = ImportSummary {
        tool: Some(import.tool),
        source: import.source.to_string(),
        findings: report.findings.len() as u32,
        ..ImportSummary::default()
    };
    let mut new_ids = Vec::new();
    for idx in tx.staged_leaks(import.key).await? {
        let finding = &report.findings[idx];
        import_leak(&mut **tx, import, finding, &mut summary, &mut new_ids).await?;
    }
    summary.seen_again += tx.publish_seen_again(import).await?;
    let inserted = tx.publish_new(import).await?;
    summary.new += inserted.len() as u32;
    summary.mapped_by_rule += inserted.iter().filter(|(_, mapped)| *mapped).count() as u32;
    new_ids.extend(inserted.iter().map(|(id, _)| *id));
    tx.discard_staged(import.key).await?;
    if full_scan {
        summary.not_seen = tx.mark_not_seen(import).await?;
    }
    let actor = actor.map_or(Actor::Broker, Actor::User);
    audit::record(
        &mut **tx,
        import.at,
        Event::new(actor, "standing.imported", "standing_import", None).details(json!({
            "tool": import.tool.as_str(),
            "source": import.source,
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
    tx.commit().await?;
    Ok(summary)
}

/// A finding that is a credential Stint issued: recorded (or seen again) as such, and its
/// grant revoked as the broker's own decision.
async fn import_leak(
    rows: &mut dyn Rows,
    import: &Import<'_>,
    finding: &Finding,
    summary: &mut ImportSummary,
    new_ids: &mut Vec<i64>,
) -> StoreResult<()> {
    let Some(grant) = rows.issued_grant(&finding.fingerprint).await? else {
        return Ok(());
    };
    match rows.known_finding(import, finding).await? {
        Some(id) => {
            rows.mark_seen(id, &finding.secret_type, import.at).await?;
            summary.seen_again += 1;
        }
        None => {
            new_ids.push(rows.insert_leak(import, finding, &grant).await?);
            summary.new += 1;
        }
    }
    let live = LiveGrant {
        state: grant.state,
        secs_left: (grant.expires_at - import.at).num_milliseconds() / 1000,
        break_glass: grant.kind == crate::store::port::RequestKind::BreakGlass,
    };
    let reason = format!(
        "its credential was found by {} in {} at {}",
        import.tool.as_str(),
        import.source,
        finding.location
    );
    // The broker acts with an admin's authority here: a leaked credential must die.
    let Ok((next, reason)) = rules::decide_revoke(&live, false, &[Role::Admin], &reason) else {
        return Ok(());
    };
    let details = json!({
        "tool": import.tool.as_str(),
        "source": import.source,
        "location": finding.location,
        "fingerprint": finding.fingerprint,
    });
    grants::end_early(
        rows,
        Actor::Broker,
        &grant,
        next,
        &reason,
        details,
        import.at,
    )
    .await?;
    summary.revoked_grants.push(grant.id);
    Ok(())
}
