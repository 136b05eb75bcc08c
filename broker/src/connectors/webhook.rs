//! The webhook connector: a system that makes and ends access itself is told, by a signed
//! POST, when a grant becomes active and when it ends. A 2xx answer confirms.
//!
//! `Stint-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">` (the scheme of
//! Stripe's and Slack's webhooks: the time inside the signed text lets the receiver refuse
//! replays), and `Idempotency-Key`, the same on every retry of one step, lets it do each
//! step once.

use super::config::WebhookSpec;
use super::{Connector, ConnectorError, GrantFacts, Revoked};
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use std::time::Duration;
use stint_core::connectors::PostgresAccess;

const TIMEOUT: Duration = Duration::from_secs(10);

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
        let timestamp = grant.at.timestamp();
        let signature = signature(&self.secret, timestamp, &body);
        let key = format!("stint-grant-{}-{event}", grant.grant_id);
        let url = self.url.clone();
        tokio::task::spawn_blocking(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(TIMEOUT))
                .build()
                .into();
            agent
                .post(&url)
                .header("Content-Type", "application/json")
                .header("Stint-Signature", &signature)
                .header("Idempotency-Key", &key)
                .send(body.as_bytes())
                .map(|_| ())
                .map_err(|e| match e {
                    ureq::Error::StatusCode(code) => {
                        ConnectorError(format!("the webhook answered {code}"))
                    }
                    other => ConnectorError(format!("cannot reach the webhook: {other}")),
                })
        })
        .await
        .map_err(|_| ConnectorError("the webhook call was interrupted".into()))?
    }
}

/// The `Stint-Signature` header of `body` sent at `timestamp`.
pub fn signature(secret: &[u8], timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
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
