//! The storage port's sign-ins through identity providers (see `crate::oidc`): the
//! sign-ins under way, and which person at which provider each linked account is.

use crate::store::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Sign-ins started and not yet finished, kept by the hash of the browser's flow secret,
/// so every replica can finish one and none twice; and the links between accounts and
/// their provider's subject.
#[async_trait]
pub trait OidcRows {
    /// Records a sign-in started at `provider`, forgetting those started before `stale`.
    async fn insert_oidc_login(
        &mut self,
        flow_hash: &str,
        provider: &str,
        at: DateTime<Utc>,
        stale: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Takes (deletes) a started sign-in: its provider and when it started; `None` when
    /// there is none under that hash, so a callback is answered once at most.
    async fn take_oidc_login(
        &mut self,
        flow_hash: &str,
    ) -> StoreResult<Option<(String, DateTime<Utc>)>>;
    /// The account linked to this provider's subject.
    async fn oidc_linked_user(&mut self, provider: &str, subject: &str)
    -> StoreResult<Option<i64>>;
    async fn link_oidc_user(
        &mut self,
        user_id: i64,
        provider: &str,
        subject: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The provider an account signs in through, if it is linked to one.
    async fn oidc_provider_of(&mut self, user_id: i64) -> StoreResult<Option<String>>;
    /// The account with this username, whatever it is.
    async fn user_id_named(&mut self, username: &str) -> StoreResult<Option<i64>>;
}
