//! The storage port's sign-ins through identity providers (see `crate::oidc`): the
//! sign-ins under way, and which person at which issuer each linked account is.

use crate::store::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A sign-in started at a provider and not yet finished.
#[derive(Debug, Clone)]
pub struct StartedSignIn {
    pub provider: String,
    pub started_at: DateTime<Utc>,
    /// The session the browser had when it started, ended when this one opens.
    pub replaces_hash: Option<String>,
}

/// Sign-ins under way, kept by the hash of the browser's flow secret, so every replica can
/// finish one and none twice; and the links between accounts and their issuer's subject.
#[async_trait]
pub trait OidcRows {
    /// Records a sign-in started at `provider`, forgetting those started before `stale`.
    async fn insert_oidc_login(
        &mut self,
        flow_hash: &str,
        started: &StartedSignIn,
        stale: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The sign-in started under this hash, if any, left in place.
    async fn oidc_login(&mut self, flow_hash: &str) -> StoreResult<Option<StartedSignIn>>;
    /// Takes (deletes) the sign-in started under this hash: whoever gets it finishes it.
    async fn take_oidc_login(&mut self, flow_hash: &str) -> StoreResult<Option<StartedSignIn>>;
    /// The account linked to this issuer's subject, and the provider entry it last came by.
    async fn oidc_linked_user(
        &mut self,
        issuer: &str,
        subject: &str,
    ) -> StoreResult<Option<(i64, String)>>;
    async fn link_oidc_user(&mut self, link: &OidcLink<'_>, at: DateTime<Utc>) -> StoreResult<()>;
    /// Notes the provider entry a linked account signed in through (its name may change).
    async fn set_oidc_provider(&mut self, user_id: i64, provider: &str) -> StoreResult<()>;
    /// The provider entry an account signs in through, if it is linked to one.
    async fn oidc_provider_of(&mut self, user_id: i64) -> StoreResult<Option<String>>;
    /// The account with this username, whatever it is.
    async fn user_id_named(&mut self, username: &str) -> StoreResult<Option<i64>>;
}

/// An account and the person at an issuer it is.
pub struct OidcLink<'a> {
    pub user_id: i64,
    pub issuer: &'a str,
    pub subject: &'a str,
    pub provider: &'a str,
}
