//! A broker's API over HTTP, with an identity's Bearer token.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Why a call to the broker failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The broker answered with an error: its status and message (never a secret).
    #[error("the broker refused ({status}): {message}")]
    Refused { status: u16, message: String },
    #[error("could not reach the broker at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the broker's answer was not what this client expects: {0}")]
    Unexpected(String),
}

/// A broker, called with one identity's token.
pub struct Broker {
    base: String,
    token: String,
    agent: ureq::Agent,
}

impl Broker {
    /// `base` is the broker's URL (`https://stint.example.com`), `token` the identity's.
    pub fn new(base: &str, token: &str) -> Broker {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .user_agent(concat!("stint-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Broker {
            base: base.trim_end_matches('/').to_string(),
            token: token.trim().to_string(),
            agent,
        }
    }

    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let url = self.url(path);
        let answer = self
            .agent
            .get(&url)
            .header("authorization", &format!("Bearer {}", self.token))
            .call();
        read(&url, answer)
    }

    pub fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, ClientError> {
        let url = self.url(path);
        let body =
            serde_json::to_string(body).map_err(|e| ClientError::Unexpected(e.to_string()))?;
        let answer = self
            .agent
            .post(&url)
            .header("authorization", &format!("Bearer {}", self.token))
            .header("content-type", "application/json")
            .send(body);
        read(&url, answer)
    }

    /// Exchanges a workload's OIDC token for an access token (RFC 8693) at `base`; the
    /// broker to call with it.
    pub fn exchanged(base: &str, subject_token: &str) -> Result<Broker, ClientError> {
        let unauthenticated = Broker::new(base, "");
        let url = unauthenticated.url("/token");
        let form = [
            ("grant_type", stint_core::federation::GRANT_TYPE),
            ("subject_token", subject_token.trim()),
            ("subject_token_type", stint_core::federation::JWT_TOKEN_TYPE),
        ];
        let answer = unauthenticated.agent.post(&url).send_form(form);
        let issued: stint_core::federation::ExchangedToken = read(&url, answer)?;
        Ok(Broker::new(base, &issued.access_token))
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }
}

fn read<T: DeserializeOwned>(
    url: &str,
    answer: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<T, ClientError> {
    let mut answer = answer.map_err(|e| ClientError::Unreachable {
        url: url.to_string(),
        reason: e.to_string(),
    })?;
    let status = answer.status().as_u16();
    let text = answer
        .body_mut()
        .read_to_string()
        .map_err(|e| ClientError::Unexpected(e.to_string()))?;
    if !(200..300).contains(&status) {
        // The API's error shape, or OAuth's (RFC 6749 §5.2) from the token endpoint.
        let message = serde_json::from_str::<stint_core::api::ErrorBody>(&text)
            .map(|e| e.error.message)
            .or_else(|_| {
                serde_json::from_str::<serde_json::Value>(&text).map(|v| {
                    v["error_description"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string()
                })
            })
            .ok()
            .filter(|m| !m.is_empty())
            .unwrap_or(text);
        return Err(ClientError::Refused { status, message });
    }
    serde_json::from_str(&text).map_err(|e| ClientError::Unexpected(e.to_string()))
}
