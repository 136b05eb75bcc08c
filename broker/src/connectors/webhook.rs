//! The webhook connector: a system that makes and ends access itself is told, by a signed
//! POST (`crate::outbound`), when a grant becomes active, when its end moves and when it
//! ends. A 2xx answer
//! confirms; `Idempotency-Key`, the same on every retry of one step, lets it do each step
//! once.

use super::config::WebhookSpec;
use super::{Connector, ConnectorError, GrantFacts, Revoked};
use crate::outbound::{self, Post};
use async_trait::async_trait;
use serde_json::json;
use stint_core::connectors::PostgresAccess;

pub use crate::outbound::signature;

/// The event of an extension: the same grant ends later (`expires_at`).
const EXTENDED: &str = "grant.extended";

pub struct Webhook {
    url: String,
    secret: Vec<u8>,
}

impl Webhook {
    pub fn new(spec: &WebhookSpec) -> Webhook {
        Webhook {
            url: spec.url.clone(),
            secret: spec.secret.clone(),
        }
    }

    async fn post(&self, event: &str, grant: &GrantFacts) -> Result<(), ConnectorError> {
        let body = json!({
            "event": event,
            "grant": grant.grant_id,
            "identity": grant.identity,
            "resource": grant.resource,
            "privilege": grant.privilege,
            "holder": grant.holder,
            "expires_at": grant.expires_at,
        })
        .to_string();
        let mut key = format!("stint-grant-{}-{event}", grant.grant_id);
        if event == EXTENDED {
            // Each extension is a step of its own; its retries share the new expiry.
            key.push_str(&format!("-{}", grant.expires_at.timestamp_millis()));
        }
        outbound::send(Post {
            url: &self.url,
            body: &body,
            secret: Some(&self.secret),
            timestamp: grant.at.timestamp(),
            idempotency_key: &key,
            headers: &[],
        })
        .await
        .map(|_| ())
        .map_err(|e| ConnectorError(format!("the webhook {}", e.message)))
    }
}

#[async_trait]
impl Connector for Webhook {
    fn kind(&self) -> &'static str {
        "webhook"
    }

    fn privileges(&self) -> Option<Vec<String>> {
        None
    }

    fn account_name(&self, _grant_id: i64) -> Option<String> {
        None
    }

    async fn provision(&self, grant: &GrantFacts) -> Result<(), ConnectorError> {
        self.post("grant.activated", grant).await
    }

    async fn extend(&self, grant: &GrantFacts) -> Result<(), ConnectorError> {
        self.post(EXTENDED, grant).await
    }

    async fn revoke(&self, grant: &GrantFacts) -> Result<Revoked, ConnectorError> {
        self.post("grant.ended", grant).await?;
        Ok(Revoked::default())
    }

    async fn rotate_login(
        &self,
        _grant: &GrantFacts,
    ) -> Result<Option<PostgresAccess>, ConnectorError> {
        Ok(None)
    }
}
