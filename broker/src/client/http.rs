//! A broker's API over HTTP, with an identity's Bearer token.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// Why a call to the broker failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The broker answered with an error: its status, code and message (never a secret).
    #[error("the broker refused ({status}): {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    #[error("could not reach the broker at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the broker's answer was not what this client expects: {0}")]
    Unexpected(String),
}

/// A broker, called with one identity's token.
pub struct Broker {
    base: String,
    token: Mutex<String>,
    /// Where a workload token comes from, when the access token is an exchanged one: it
    /// lives 15 minutes at most, so it is exchanged again when the broker stops taking it.
    subject: Option<Subject>,
    agent: ureq::Agent,
}

/// A workload's OIDC token: a file its platform keeps fresh (Kubernetes rotates projected
/// tokens), or a value given once.
#[derive(Debug, Clone)]
pub enum Subject {
    File(PathBuf),
    Value(String),
}

impl Subject {
    fn read(&self) -> Result<String, ClientError> {
        match self {
            Subject::Value(token) => Ok(token.trim().to_string()),
            Subject::File(path) => std::fs::read_to_string(path)
                .map(|t| t.trim().to_string())
                .map_err(|e| {
                    ClientError::Unexpected(format!("cannot read {}: {e}", path.display()))
                }),
        }
    }
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
            token: Mutex::new(token.trim().to_string()),
            subject: None,
            agent,
        }
    }

    /// Exchanges a workload's OIDC token for an access token (RFC 8693) at `base`; the
    /// broker to call with it, which exchanges again once that access token has lapsed.
    pub fn exchanged(base: &str, subject: Subject) -> Result<Broker, ClientError> {
        let mut broker = Broker::new(base, "");
        broker.subject = Some(subject);
        broker.exchange()?;
        Ok(broker)
    }

    fn exchange(&self) -> Result<(), ClientError> {
        let subject = self
            .subject
            .as_ref()
            .ok_or_else(|| ClientError::Unexpected("no workload token to exchange".into()))?
            .read()?;
        let url = self.url("/token");
        let form = [
            ("grant_type", stint_core::federation::GRANT_TYPE),
            ("subject_token", subject.as_str()),
            ("subject_token_type", stint_core::federation::JWT_TOKEN_TYPE),
        ];
        let answer = self.agent.post(&url).send_form(form);
        let issued: stint_core::federation::ExchangedToken = read(&url, answer)?;
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = issued.access_token;
        Ok(())
    }

    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let url = self.url(path);
        self.authorized(&url, |bearer| {
            self.agent.get(&url).header("authorization", bearer).call()
        })
    }

    pub fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, ClientError> {
        let url = self.url(path);
        let body =
            serde_json::to_string(body).map_err(|e| ClientError::Unexpected(e.to_string()))?;
        self.authorized(&url, |bearer| {
            self.agent
                .post(&url)
                .header("authorization", bearer)
                .header("content-type", "application/json")
                .send(body.as_str())
        })
    }

    /// Sends with the current token; an exchanged token the broker no longer takes is
    /// exchanged afresh and the call made once more.
    fn authorized<T: DeserializeOwned>(
        &self,
        url: &str,
        send: impl Fn(&str) -> Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T, ClientError> {
        let bearer = || {
            let token = self.token.lock().unwrap_or_else(|p| p.into_inner());
            format!("Bearer {token}")
        };
        match read(url, send(&bearer())) {
            Err(ClientError::Refused { status: 401, .. }) if self.subject.is_some() => {
                self.exchange()?;
                read(url, send(&bearer()))
            }
            other => other,
        }
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
        let (code, message) = match serde_json::from_str::<stint_core::api::ErrorBody>(&text) {
            Ok(body) => (body.error.code, body.error.message),
            Err(_) => {
                let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                let field = |key: &str| body[key].as_str().unwrap_or_default().to_string();
                (field("error"), field("error_description"))
            }
        };
        let message = if message.is_empty() { text } else { message };
        return Err(ClientError::Refused {
            status,
            code,
            message,
        });
    }
    serde_json::from_str(&text).map_err(|e| ClientError::Unexpected(e.to_string()))
}
