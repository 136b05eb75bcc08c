//! An OpenID provider for the broker's tests, on 127.0.0.1: discovery, a JWK Set with a
//! fresh RSA key, a token endpoint that checks the client, the redirect URI and PKCE and
//! answers each code once, user info, and an end-session endpoint. Its authorization step
//! is a function the test calls (the browser tests use a real provider's pages), and it
//! can be told to misbehave in the ways a provider, or someone in the middle, might.

use super::helpers::{StopOnDrop, serve_router};
use super::issuer::rsa_key;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const CLIENT_ID: &str = "stint";
pub const CLIENT_SECRET: &str = "op-test-secret";

/// What the provider does wrong when it answers a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    None,
    /// The ID token carries another sign-in's nonce.
    Nonce,
    /// The ID token is for another client.
    Audience,
    /// The ID token expired before the broker's clock.
    Expired,
    /// The ID token is signed by a key the provider does not publish.
    Signature,
    /// The ID token's `at_hash` is not the access token's (another's token swapped in).
    AccessTokenHash,
}

/// The person who signs in at the provider.
#[derive(Debug, Clone)]
pub struct Who {
    pub subject: String,
    pub username: String,
    pub name: String,
    /// `None`: the provider leaves the groups claim out.
    pub groups: Option<Vec<String>>,
    /// Whether the username and groups are in the ID token or only in user info.
    pub claims_in_id_token: bool,
}

impl Who {
    pub fn new(subject: &str, username: &str, groups: &[&str]) -> Who {
        Who {
            subject: subject.into(),
            username: username.into(),
            name: format!("{username} (SSO)"),
            groups: Some(groups.iter().map(|g| g.to_string()).collect()),
            claims_in_id_token: true,
        }
    }
}

struct Pending {
    redirect_uri: String,
    challenge: String,
    id_token: Value,
    tamper: Tamper,
    userinfo: Value,
}

struct Inner {
    url: String,
    key: (EncodingKey, Jwk),
    rogue: EncodingKey,
    codes: Mutex<HashMap<String, Pending>>,
    access_tokens: Mutex<HashMap<String, Value>>,
    next: Mutex<u64>,
}

pub struct FakeProvider {
    pub url: String,
    inner: Arc<Inner>,
    _stop: StopOnDrop,
}

impl FakeProvider {
    pub async fn start() -> FakeProvider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let inner = Arc::new(Inner {
            url: url.clone(),
            key: rsa_key("op-1"),
            rogue: rsa_key("op-1").0,
            codes: Mutex::default(),
            access_tokens: Mutex::default(),
            next: Mutex::new(0),
        });
        let app = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                axum::routing::get(discovery),
            )
            .route("/jwks", axum::routing::get(jwks))
            .route("/token", axum::routing::post(token))
            .route("/userinfo", axum::routing::get(userinfo))
            .with_state(inner.clone());
        FakeProvider {
            url,
            inner,
            _stop: serve_router(listener, app),
        }
    }

    /// The provider's side of signing in: `who` signs in at the authorization URL the
    /// broker sent the browser to. Returns the `code` and `state` of the redirect back.
    pub fn authorize(
        &self,
        authorization_url: &str,
        who: &Who,
        tamper: Tamper,
        now: DateTime<Utc>,
    ) -> (String, String) {
        let url = url::Url::parse(authorization_url).unwrap();
        assert!(authorization_url.starts_with(&format!("{}/auth?", self.url)));
        let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(query["response_type"], "code");
        assert_eq!(query["client_id"], CLIENT_ID);
        assert_eq!(query["code_challenge_method"], "S256");
        assert!(
            query["scope"].split(' ').any(|s| s == "openid"),
            "{query:?}"
        );
        let nonce = match tamper {
            Tamper::Nonce => "another sign-in's nonce".to_string(),
            _ => query["nonce"].clone(),
        };
        let audience = match tamper {
            Tamper::Audience => "another-client",
            _ => CLIENT_ID,
        };
        let expires = match tamper {
            Tamper::Expired => now - Duration::minutes(1),
            _ => now + Duration::minutes(5),
        };
        let mut person = json!({
            "sub": who.subject,
            "preferred_username": who.username,
            "name": who.name,
        });
        if let Some(groups) = &who.groups {
            person["groups"] = json!(groups);
        }
        let mut id_token = json!({
            "iss": self.url,
            "aud": audience,
            "sub": who.subject,
            "nonce": nonce,
            "iat": (now - Duration::seconds(1)).timestamp(),
            "exp": expires.timestamp(),
        });
        if who.claims_in_id_token {
            for claim in ["preferred_username", "name", "groups"] {
                if let Some(value) = person.get(claim) {
                    id_token[claim] = value.clone();
                }
            }
        }
        let code = self.inner.fresh("code");
        self.inner.codes.lock().unwrap().insert(
            code.clone(),
            Pending {
                redirect_uri: query["redirect_uri"].clone(),
                challenge: query["code_challenge"].clone(),
                id_token,
                tamper,
                userinfo: person,
            },
        );
        (code, query["state"].clone())
    }
}

impl Inner {
    fn fresh(&self, what: &str) -> String {
        let mut next = self.next.lock().unwrap();
        *next += 1;
        format!("{what}-{next}-{}", hex::encode(rand::random::<[u8; 8]>()))
    }
}

async fn discovery(State(op): State<Arc<Inner>>) -> Json<Value> {
    let url = &op.url;
    Json(json!({
        "issuer": url,
        "authorization_endpoint": format!("{url}/auth"),
        "token_endpoint": format!("{url}/token"),
        "userinfo_endpoint": format!("{url}/userinfo"),
        "jwks_uri": format!("{url}/jwks"),
        "end_session_endpoint": format!("{url}/logout"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn jwks(State(op): State<Arc<Inner>>) -> Json<Value> {
    Json(json!({ "keys": [op.key.1] }))
}

fn token_error(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response()
}

async fn token(State(op): State<Arc<Inner>>, headers: HeaderMap, body: String) -> Response {
    let form: HashMap<String, String> = serde_urlencoded::from_str(&body).unwrap_or_default();
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(basic.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "invalid_client" })),
        )
            .into_response();
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return token_error("unsupported_grant_type");
    }
    // Each code is answered once: a replayed one finds nothing.
    let Some(pending) = form
        .get("code")
        .and_then(|code| op.codes.lock().unwrap().remove(code))
    else {
        return token_error("invalid_grant");
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if challenge != pending.challenge || form.get("redirect_uri") != Some(&pending.redirect_uri) {
        return token_error("invalid_grant");
    }
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("op-1".into());
    let key = match pending.tamper {
        Tamper::Signature => &op.rogue,
        _ => &op.key.0,
    };
    let access_token = op.fresh("access");
    // OpenID Connect Core 3.1.3.6: the left half of the access token's SHA-256.
    let mut claims = pending.id_token;
    let hashed = match pending.tamper {
        Tamper::AccessTokenHash => Sha256::digest(b"someone else's access token"),
        _ => Sha256::digest(access_token.as_bytes()),
    };
    claims["at_hash"] = json!(URL_SAFE_NO_PAD.encode(&hashed[..16]));
    let id_token = jsonwebtoken::encode(&header, &claims, key).unwrap();
    op.access_tokens
        .lock()
        .unwrap()
        .insert(access_token.clone(), pending.userinfo);
    Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    }))
    .into_response()
}

async fn userinfo(State(op): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    match op.access_tokens.lock().unwrap().get(token) {
        Some(claims) => Json(claims.clone()).into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}
