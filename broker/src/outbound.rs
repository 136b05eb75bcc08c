//! Signed JSON POSTs to other systems (webhook connectors, notification sinks): one place
//! for the timeout, the signature scheme and how an answer is read.
//!
//! `Stint-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">` (the scheme of
//! Stripe's and Slack's webhooks: the time inside the signed text lets the receiver refuse
//! replays), and `Idempotency-Key`, the same on every retry of one message, lets it act
//! once.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

/// A POST that did not get a 2xx answer. Its text names what went wrong, never the URL (a
/// Slack webhook's URL is its secret) or the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostError {
    pub response_code: Option<u16>,
    pub message: String,
}

/// One JSON POST to send.
pub struct Post<'a> {
    pub url: &'a str,
    pub body: &'a str,
    /// Signs the body with this key when given.
    pub secret: Option<&'a [u8]>,
    /// Unix seconds, signed with the body.
    pub timestamp: i64,
    pub idempotency_key: &'a str,
    /// Extra headers, e.g. the event's name.
    pub headers: &'a [(&'a str, &'a str)],
}

/// Sends `post`; the status of its 2xx answer, or why there was none (a redirect is not
/// followed and does not confirm).
pub async fn send(post: Post<'_>) -> Result<u16, PostError> {
    let signature = post
        .secret
        .map(|key| signature(key, post.timestamp, post.body));
    let url = post.url.to_string();
    let body = post.body.to_string();
    let key = post.idempotency_key.to_string();
    let headers: Vec<(String, String)> = post
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        // No redirects: following one would turn the POST into a GET to wherever it
        // points (past the URL's checks) and count that GET's 200 as delivered.
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .max_redirects(0)
            .build()
            .into();
        let mut request = agent
            .post(&url)
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", &key);
        if let Some(signature) = &signature {
            request = request.header("Stint-Signature", signature);
        }
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        match request.send(body.as_bytes()) {
            Ok(response) if response.status().is_success() => Ok(response.status().as_u16()),
            Ok(response) => Err(PostError {
                response_code: Some(response.status().as_u16()),
                message: format!(
                    "answered {} (only 2xx confirms)",
                    response.status().as_u16()
                ),
            }),
            Err(ureq::Error::StatusCode(code)) => Err(PostError {
                response_code: Some(code),
                message: format!("answered {code}"),
            }),
            Err(other) => Err(PostError {
                response_code: None,
                message: format!("could not be reached: {}", without_url(&other.to_string())),
            }),
        }
    })
    .await
    .unwrap_or_else(|_| {
        Err(PostError {
            response_code: None,
            message: "the call was interrupted".into(),
        })
    })
}

/// An error's text with anything that looks like a URL cut out: transport errors may
/// quote the address, whose path can be a secret.
fn without_url(text: &str) -> String {
    text.split_whitespace()
        .map(|word| if word.contains("://") { "<url>" } else { word })
        .collect::<Vec<_>>()
        .join(" ")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_cut_out_of_error_texts() {
        assert_eq!(
            without_url("io: connect to https://hooks.example/T0/B0/secret refused"),
            "io: connect to <url> refused"
        );
    }
}
