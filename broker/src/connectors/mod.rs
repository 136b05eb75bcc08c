//! Connectors: the broker makes the access a grant gives in a real system when the grant
//! becomes active, and takes it away again when it ends — a temporary PostgreSQL role, or
//! a signed webhook to a system that does it itself.
//!
//! What to do is queued in the grant's own transaction (`connector_jobs`, an outbox, see
//! `crate::service::connectors`); `worker` runs the queue, and a failed attempt is retried
//! until the downstream confirms. A connector's operations are therefore idempotent: an
//! attempt may be repeated after a crash, or after a timeout that in fact succeeded.

pub mod config;
pub mod postgres;
mod scram;
pub mod webhook;
pub mod worker;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;
use stint_core::connectors::{ConnectorView, PostgresAccess};

pub use config::{ConfigError, ConnectorSpec, ConnectorsFile};

/// What a connector is told about the grant it works for.
#[derive(Debug, Clone)]
pub struct GrantFacts {
    pub grant_id: i64,
    pub identity: String,
    pub resource: String,
    pub privilege: String,
    pub holder: String,
    pub expires_at: DateTime<Utc>,
    /// The account made in the downstream (a PostgreSQL role), named before the first
    /// attempt so that every attempt works on the same one.
    pub account: Option<String>,
    /// When the attempt is made (a webhook signs it).
    pub at: DateTime<Utc>,
}

/// What a revocation found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revoked {
    /// Open sessions of the account that were ended.
    pub sessions_ended: i64,
}

/// A failed attempt. Its text is recorded and shown to admins, so it never holds a secret
/// (an admin URL, a password): connectors build it from what the downstream said.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ConnectorError(pub String);

/// A downstream system the broker makes access in.
#[async_trait]
pub trait Connector: Send + Sync {
    fn kind(&self) -> &'static str;
    /// The privileges it knows how to give; `None` when it takes any.
    fn privileges(&self) -> Option<Vec<String>>;
    /// The name of the account to make for grant `grant_id`, if it makes one.
    fn account_name(&self, grant_id: i64) -> Option<String>;
    /// Makes the access (again, if an earlier attempt got part of the way).
    async fn provision(&self, grant: &GrantFacts) -> Result<(), ConnectorError>;
    /// Moves the end of the access to the grant's (later) expiry; never earlier, so an
    /// attempt that lost the race to a newer one cannot shorten it.
    async fn extend(&self, grant: &GrantFacts) -> Result<(), ConnectorError>;
    /// Takes the access away (nothing to do if it is gone already).
    async fn revoke(&self, grant: &GrantFacts) -> Result<Revoked, ConnectorError>;
    /// Sets fresh login details for the holder, if the connector has any: the previous
    /// ones stop working.
    async fn rotate_login(
        &self,
        grant: &GrantFacts,
    ) -> Result<Option<PostgresAccess>, ConnectorError>;
}

/// The connectors the broker loaded, by name.
#[derive(Clone, Default)]
pub struct Connectors {
    by_name: BTreeMap<String, Arc<dyn Connector>>,
}

impl Connectors {
    /// Builds the connectors a checked file describes. Nothing connects yet: a downstream
    /// that is down must not keep the broker from starting (its revocations are retried).
    pub fn from_file(file: &ConnectorsFile) -> anyhow::Result<Connectors> {
        let mut by_name: BTreeMap<String, Arc<dyn Connector>> = BTreeMap::new();
        for (name, spec) in &file.connectors {
            let connector: Arc<dyn Connector> = match spec {
                ConnectorSpec::Postgres(spec) => Arc::new(postgres::Postgres::new(spec)?),
                ConnectorSpec::Webhook(spec) => Arc::new(webhook::Webhook::new(spec)),
            };
            by_name.insert(name.clone(), connector);
        }
        Ok(Connectors { by_name })
    }

    pub fn with(mut self, name: &str, connector: Arc<dyn Connector>) -> Connectors {
        self.by_name.insert(name.to_string(), connector);
        self
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Connector>> {
        self.by_name.get(name)
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// What admins choose from when they link a resource.
    pub fn views(&self) -> Vec<ConnectorView> {
        self.by_name
            .iter()
            .map(|(name, c)| ConnectorView {
                name: name.clone(),
                kind: c.kind().to_string(),
                privileges: c.privileges(),
            })
            .collect()
    }
}
