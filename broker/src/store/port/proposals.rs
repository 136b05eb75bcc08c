//! The storage port's four eyes (`stint_core::four_eyes`): changes that widen access,
//! kept until a second admin decides them.

use crate::store::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use stint_core::api::UserView;
use stint_core::four_eyes::{Change, ProposalState, ProposalView, Widening};

/// A proposal as deciding it needs it.
#[derive(Debug, Clone)]
pub struct ProposalRecord {
    pub view: ProposalView,
    /// A proposed account's first password, hashed, while undecided.
    pub password_hash: Option<String>,
}

/// A proposal's decision as it is recorded.
#[derive(Debug, Clone)]
pub struct Decision<'a> {
    pub state: ProposalState,
    pub by: i64,
    pub at: DateTime<Utc>,
    /// Why it was turned down.
    pub reason: Option<&'a str>,
    /// What an approved creation made.
    pub created_id: Option<i64>,
}

#[async_trait]
pub trait ProposalRows {
    async fn insert_proposal(
        &mut self,
        change: &Change,
        widenings: &[Widening],
        password_hash: Option<&str>,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<i64>;
    /// The proposal, or `NotFound`.
    async fn proposal(&mut self, id: i64) -> StoreResult<ProposalRecord>;
    /// Records a pending proposal's decision (and forgets a proposed password); one decided
    /// already is a conflict.
    async fn decide_proposal(&mut self, id: i64, decision: &Decision<'_>) -> StoreResult<()>;
    /// Proposals newest first, of one state or all, at most `limit`.
    async fn proposals(
        &mut self,
        state: Option<ProposalState>,
        limit: u32,
    ) -> StoreResult<Vec<ProposalView>>;
    /// Who set `user_id`'s password and so could sign in as them: the admin who made the
    /// account, and every admin who reset its password.
    async fn password_setters(&mut self, user_id: i64) -> StoreResult<Vec<i64>>;
    /// Pending proposals `viewer` may approve: not their own, nor about them.
    async fn proposals_awaiting(&mut self, viewer: &UserView) -> StoreResult<u32>;
}
