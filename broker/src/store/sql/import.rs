//! Importing a scanner's report, as statements: staging under an import key, then
//! set-wise publishing (the use case is `crate::service::import`).

use super::Conn;
use super::standing::active_rules;
use super::{load_grant, ms};
use crate::scan_report::Finding;
use crate::store::StoreResult;
use crate::store::port::{GrantRecord, Import, ImportRows, MappingRule, StagedFinding};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use stint_core::standing::StandingStatus;

/// Leaves out staged findings that are credentials Stint issued: they are published one by
/// one, each revoking its grant.
const NOT_LEAKED: &str =
    "NOT EXISTS (SELECT 1 FROM credential_fingerprints f WHERE f.fingerprint = s.fingerprint)";

#[async_trait]
impl ImportRows for Conn {
    async fn active_mapping_rules(&mut self) -> StoreResult<Vec<MappingRule>> {
        Ok(active_rules(self)
            .await?
            .into_iter()
            .map(|r| r.matcher())
            .collect())
    }

    async fn purge_abandoned_staging(&mut self, before: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("DELETE FROM standing_staged WHERE staged_at < $1")
            .bind(ms(before))
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    async fn stage_finding(&mut self, staged: &StagedFinding<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO standing_staged
                (import_key, idx, location, path, secret_type, fingerprint, rule_id, staged_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(staged.import_key)
        .bind(staged.idx as i64)
        .bind(&staged.finding.location)
        .bind(&staged.finding.path)
        .bind(&staged.finding.secret_type)
        .bind(&staged.finding.fingerprint)
        .bind(staged.rule_id)
        .bind(ms(staged.at))
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn discard_staged(&mut self, import_key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM standing_staged WHERE import_key = $1")
            .bind(import_key)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    async fn staged_leaks(&mut self, import_key: &str) -> StoreResult<Vec<usize>> {
        let leaked: Vec<i64> = sqlx::query_scalar(
            "SELECT s.idx FROM standing_staged s
             WHERE s.import_key = $1 AND EXISTS (
               SELECT 1 FROM credential_fingerprints f WHERE f.fingerprint = s.fingerprint)
             ORDER BY s.idx",
        )
        .bind(import_key)
        .fetch_all(&mut *self)
        .await?;
        Ok(leaked.into_iter().map(|i| i as usize).collect())
    }

    async fn publish_seen_again(&mut self, import: &Import<'_>) -> StoreResult<u32> {
        Ok(sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE standing_credentials AS c
             SET last_seen = $1, not_seen_since = NULL, secret_type = s.secret_type
             FROM standing_staged s
             WHERE s.import_key = $2 AND {NOT_LEAKED}
               AND c.tool = $3 AND c.source = $4 AND c.location = s.location
               AND c.fingerprint = s.fingerprint"
        )))
        .bind(ms(import.at))
        .bind(import.key)
        .bind(import.tool.as_str())
        .bind(import.source)
        .execute(&mut *self)
        .await?
        .rows_affected() as u32)
    }

    async fn publish_new(&mut self, import: &Import<'_>) -> StoreResult<Vec<(i64, bool)>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO standing_credentials
                (tool, source, location, path, secret_type, fingerprint, first_seen, last_seen,
                 status, identity_id, resource_id, privilege, mapped_at, mapped_by_rule,
                 created_by)
             SELECT $3, $4, s.location, s.path, s.secret_type, s.fingerprint, $1, $1,
                    CASE WHEN r.id IS NULL THEN 'unmapped' ELSE 'mapped' END,
                    r.identity_id, r.resource_id, r.privilege,
                    CASE WHEN r.id IS NULL THEN NULL ELSE $1 END, r.id, $5
             FROM standing_staged s
             LEFT JOIN standing_rules r ON r.id = s.rule_id AND r.deleted_at IS NULL
             WHERE s.import_key = $2 AND {NOT_LEAKED}
               AND NOT EXISTS (SELECT 1 FROM standing_credentials c
                               WHERE c.tool = $3 AND c.source = $4 AND c.location = s.location
                                 AND c.fingerprint = s.fingerprint)
             ORDER BY s.idx
             RETURNING id, mapped_by_rule IS NOT NULL"
        )))
        .bind(ms(import.at))
        .bind(import.key)
        .bind(import.tool.as_str())
        .bind(import.source)
        .bind(import.created_by)
        .fetch_all(&mut *self)
        .await?)
    }

    async fn mark_not_seen(&mut self, import: &Import<'_>) -> StoreResult<u32> {
        Ok(sqlx::query(
            "UPDATE standing_credentials SET not_seen_since = $1
             WHERE tool = $2 AND source = $3 AND last_seen < $4 AND not_seen_since IS NULL",
        )
        .bind(ms(import.at))
        .bind(import.tool.as_str())
        .bind(import.source)
        .bind(ms(import.at))
        .execute(&mut *self)
        .await?
        .rows_affected() as u32)
    }

    async fn issued_grant(&mut self, fingerprint: &str) -> StoreResult<Option<GrantRecord>> {
        let grant_id: Option<i64> = sqlx::query_scalar(
            "SELECT c.grant_id FROM credential_fingerprints f JOIN credentials c ON c.jti = f.jti
             WHERE f.fingerprint = $1",
        )
        .bind(fingerprint)
        .fetch_optional(&mut *self)
        .await?;
        match grant_id {
            Some(id) => Ok(Some(load_grant(self, id).await?.record()?)),
            None => Ok(None),
        }
    }

    async fn known_finding(
        &mut self,
        import: &Import<'_>,
        finding: &Finding,
    ) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM standing_credentials
             WHERE tool = $1 AND source = $2 AND location = $3 AND fingerprint = $4",
        )
        .bind(import.tool.as_str())
        .bind(import.source)
        .bind(&finding.location)
        .bind(&finding.fingerprint)
        .fetch_optional(&mut *self)
        .await?)
    }

    async fn mark_seen(
        &mut self,
        id: i64,
        secret_type: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE standing_credentials
             SET last_seen = $1, not_seen_since = NULL, secret_type = $2 WHERE id = $3",
        )
        .bind(ms(at))
        .bind(secret_type)
        .bind(id)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn insert_leak(
        &mut self,
        import: &Import<'_>,
        finding: &Finding,
        grant: &GrantRecord,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO standing_credentials
                (tool, source, location, path, secret_type, fingerprint, first_seen,
                 last_seen, status, identity_id, resource_id, privilege, grant_id,
                 resolved_at, resolution_reason, created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
        )
        .bind(import.tool.as_str())
        .bind(import.source)
        .bind(&finding.location)
        .bind(&finding.path)
        .bind(&finding.secret_type)
        .bind(&finding.fingerprint)
        .bind(ms(import.at))
        .bind(ms(import.at))
        .bind(StandingStatus::LeakedStintCredential.as_str())
        .bind(grant.identity.id)
        .bind(grant.resource.id)
        .bind(&grant.privilege)
        .bind(grant.id)
        .bind(ms(import.at))
        .bind("a credential Stint issued; its grant was revoked")
        .bind(import.created_by)
        .fetch_one(&mut *self)
        .await?)
    }
}
