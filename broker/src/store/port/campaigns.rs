//! The storage port's access review campaigns (`stint_core::campaigns`): what gives
//! access in a scope, the campaign and its items, and decisions recorded once.

use crate::store::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use stint_core::campaigns::{
    Assignee, CampaignScope, Decision, ItemKind, NewCampaignBody, PlannedItem, Subjects,
};

/// A campaign as a decision needs it.
#[derive(Debug, Clone)]
pub struct CampaignRecord {
    pub id: i64,
    pub name: String,
    pub closed: bool,
    pub items: u32,
    pub decided: u32,
}

/// An item as a decision needs it.
#[derive(Debug, Clone)]
pub struct CampaignItemRecord {
    pub id: i64,
    pub kind: ItemKind,
    pub subject: String,
    pub assignee: Assignee,
    pub decision: Option<Decision>,
    pub identity_id: Option<i64>,
    pub grant_id: Option<i64>,
    pub standing_id: Option<i64>,
    pub ownership_id: Option<i64>,
    pub subject_user_id: Option<i64>,
}

#[async_trait]
pub trait CampaignRows {
    /// What gives access in `scope` at `now`: resources' policies, identities' current
    /// owners, live and scheduled grants, mapped standing credentials.
    async fn campaign_subjects(
        &mut self,
        scope: &CampaignScope,
        now: DateTime<Utc>,
    ) -> StoreResult<Subjects>;
    async fn insert_campaign(
        &mut self,
        body: &NewCampaignBody,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<i64>;
    async fn insert_campaign_item(
        &mut self,
        campaign_id: i64,
        item: &PlannedItem,
    ) -> StoreResult<i64>;
    /// The campaign, or `NotFound`.
    async fn campaign(&mut self, id: i64) -> StoreResult<CampaignRecord>;
    /// The campaign's item, or `NotFound`.
    async fn campaign_item(&mut self, campaign_id: i64, id: i64)
    -> StoreResult<CampaignItemRecord>;
    /// Records an undecided item's decision (one already decided is a conflict).
    async fn record_decision(
        &mut self,
        id: i64,
        decision: Decision,
        comment: &str,
        link: Option<&str>,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Open campaigns whose due time has come and whose overdue notice was not given yet,
    /// at most `limit`, claimed for this transaction.
    async fn due_campaign_notices(
        &mut self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<CampaignRecord>>;
    async fn campaign_notice_given(&mut self, id: i64) -> StoreResult<()>;
    /// The owner of a declaration that is still current at `now` (id, username).
    async fn declaration_owner(
        &mut self,
        ownership_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<(i64, String)>>;
    /// Closes an open campaign (a closed one is a conflict).
    async fn close_campaign(&mut self, id: i64, by: i64, at: DateTime<Utc>) -> StoreResult<()>;
}
