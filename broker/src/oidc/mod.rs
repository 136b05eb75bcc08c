//! Signing people in with their company's identity provider: OpenID Connect's
//! authorization code flow with PKCE, `state` and `nonce`, through the `openidconnect`
//! crate. This module speaks to providers and verifies what they say; who that makes the
//! person in Stint is decided in `service::oidc`.
//!
//! A sign-in's secrets live in the browser that started it: one random flow secret in a
//! short-lived cookie, from which `state`, `nonce` and the PKCE verifier are derived. The
//! database keeps only the secret's hash (so any replica can finish the sign-in, and only
//! once), and a callback carried to another browser finds no secret there to match.

pub mod config;

use crate::credential::{random_bytes, token_hash};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use config::{OidcFile, ProviderSpec};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient,
    CoreClientAuthMethod, CoreGenderClaim, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreResponseMode,
    CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AdditionalProviderMetadata, AuthorizationCode,
    ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, EndSessionUrl, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, LogoutRequest, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadata, RedirectUrl,
    RequestTokenError, Scope, SignatureVerificationError, TokenResponse, UserInfoClaims,
};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use stint_core::oidc::{ProviderView, RoleMapping, SsoRefusal};

/// How long a provider's discovered metadata and keys are used before they are fetched
/// again (keys rotate; a provider's answer should not be asked for at every sign-in).
const DISCOVERY_TTL: Duration = Duration::from_secs(300);
/// How long a failed discovery is remembered: a provider that is down is not asked again
/// by every sign-in that comes meanwhile.
const FAILURE_TTL: Duration = Duration::from_secs(10);
/// The youngest metadata fetched again when an ID token names a key it lacks (the
/// provider rotated its keys), so a stream of such tokens cannot make the broker fetch
/// at every one.
const REFETCH_AFTER: Duration = Duration::from_secs(10);
/// How long any call to a provider may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read from a provider.
const MAX_ANSWER_BYTES: u64 = 1 << 20;

/// The name of the cookie that holds a sign-in's flow secret.
pub const FLOW_COOKIE: &str = "stint_sso";

/// The configured providers, and what discovery found out about each.
pub struct Providers {
    file: OidcFile,
    public_url: String,
    local_login: bool,
    /// Per provider, its last discovery: one provider slow or down holds up only its own
    /// sign-ins.
    discovered: HashMap<String, tokio::sync::Mutex<Option<Discovery>>>,
}

/// A discovery's outcome and when it was had.
struct Discovery {
    at: Instant,
    found: Result<Arc<Discovered>, String>,
}

/// What discovery reads beyond OpenID Connect Discovery's core: RP-Initiated Logout's
/// end-session endpoint, and RFC 9207's promise to name the issuer in every answer.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
struct MoreMetadata {
    end_session_endpoint: Option<EndSessionUrl>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

impl AdditionalProviderMetadata for MoreMetadata {}

type Metadata = ProviderMetadata<
    MoreMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

struct Discovered {
    client: Client,
    end_session: Option<EndSessionUrl>,
    /// The provider names itself in every callback (RFC 9207): one without `iss` is not its.
    names_issuer: bool,
}

/// A refusal, and what exactly failed (for the audit trail and the log; never a secret).
#[derive(Debug)]
pub struct Refused {
    pub refusal: SsoRefusal,
    pub detail: String,
}

impl Refused {
    pub fn new(refusal: SsoRefusal, detail: impl Into<String>) -> Refused {
        Refused {
            refusal,
            detail: detail.into(),
        }
    }
}

/// One sign-in's secret: random, kept in the browser's cookie.
pub struct Flow(String);

impl Flow {
    pub fn new() -> Flow {
        Flow(URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
    }

    /// The flow whose secret a cookie carried.
    pub fn from_cookie(value: &str) -> Flow {
        Flow(value.to_string())
    }

    pub fn secret(&self) -> &str {
        &self.0
    }

    /// What the database keeps of it.
    pub fn hash(&self) -> String {
        token_hash(&self.0)
    }

    fn derive(&self, label: &str) -> String {
        let mut hash = Sha256::new();
        hash.update(b"stint-sso:");
        hash.update(label.as_bytes());
        hash.update(b":");
        hash.update(self.0.as_bytes());
        URL_SAFE_NO_PAD.encode(hash.finalize())
    }

    /// The `state` the provider must send back.
    pub fn state(&self) -> String {
        self.derive("state")
    }

    fn nonce(&self) -> Nonce {
        Nonce::new(self.derive("nonce"))
    }

    /// PKCE's verifier: 43 characters of base64url, as RFC 7636 asks.
    fn pkce_verifier(&self) -> PkceCodeVerifier {
        PkceCodeVerifier::new(self.derive("pkce"))
    }

    /// Whether `state` is this flow's, compared by hash so the time taken tells nothing.
    pub fn state_matches(&self, state: &str) -> bool {
        Sha256::digest(state.as_bytes()) == Sha256::digest(self.state().as_bytes())
    }
}

impl Default for Flow {
    fn default() -> Flow {
        Flow::new()
    }
}

/// Who the provider says signed in, read from a verified ID token (and its user info).
#[derive(Debug, Clone)]
pub struct Verified {
    /// The ID token's `iss`: subjects are unique only within it.
    pub issuer: String,
    pub subject: String,
    /// The username claim's value, lowercased; `None` when it was missing or not text.
    pub username: Option<String>,
    pub display_name: Option<String>,
    /// `None` when the groups claim is missing or not a list of names.
    pub groups: Option<Vec<String>>,
}

impl Providers {
    pub fn new(file: OidcFile, public_url: &str, local_login: bool) -> Providers {
        let discovered = file
            .providers
            .keys()
            .map(|id| (id.clone(), tokio::sync::Mutex::new(None)))
            .collect();
        Providers {
            file,
            public_url: public_url.trim_end_matches('/').to_string(),
            local_login,
            discovered,
        }
    }

    /// Whether the username and password form is offered.
    pub fn local_login(&self) -> bool {
        self.local_login
    }

    pub fn views(&self) -> Vec<ProviderView> {
        self.file
            .providers
            .iter()
            .map(|(id, spec)| ProviderView {
                id: id.clone(),
                display_name: spec.display_name.clone(),
            })
            .collect()
    }

    pub fn view(&self, id: &str) -> Option<ProviderView> {
        self.views().into_iter().find(|p| p.id == id)
    }

    fn spec(&self, id: &str) -> Result<&ProviderSpec, Refused> {
        self.file
            .providers
            .get(id)
            .ok_or_else(|| Refused::new(SsoRefusal::UnknownProvider, "no such provider"))
    }

    /// The provider's issuer, exactly as configured (as its tokens must name it).
    pub fn issuer(&self, id: &str) -> Option<&str> {
        self.file.providers.get(id).map(|spec| spec.issuer.as_str())
    }

    /// Which of provider `id`'s groups give which role.
    pub fn mapping(&self, id: &str) -> Option<&RoleMapping> {
        self.file.providers.get(id).map(|spec| &spec.roles)
    }

    /// Whether provider `id` promised to name itself in callbacks (RFC 9207), as far as
    /// its last discovery said.
    pub async fn names_issuer(&self, id: &str) -> bool {
        self.cached(id).await.is_some_and(|d| d.names_issuer)
    }

    /// Where the provider sends people back: `{public_url}/api/v1/oidc/{id}/callback`.
    pub fn redirect_uri(&self, id: &str) -> String {
        format!("{}/api/v1/oidc/{id}/callback", self.public_url)
    }

    /// The provider's metadata and keys, discovered at most `DISCOVERY_TTL` ago (or
    /// `younger_than`, when given); a failure is remembered for `FAILURE_TTL`.
    async fn discovered(
        &self,
        id: &str,
        younger_than: Option<Duration>,
    ) -> Result<Arc<Discovered>, Refused> {
        let spec = self.spec(id)?;
        let mut slot = self
            .discovered
            .get(id)
            .expect("a slot per configured provider")
            .lock()
            .await;
        if let Some(last) = slot.as_ref() {
            let age = last.at.elapsed();
            match &last.found {
                Ok(found) if age < younger_than.unwrap_or(DISCOVERY_TTL) => {
                    return Ok(found.clone());
                }
                Err(e) if age < FAILURE_TTL => {
                    return Err(Refused::new(SsoRefusal::ProviderUnreachable, e.clone()));
                }
                _ => {}
            }
        }
        let found = self.discover(id, spec).await.map(Arc::new);
        *slot = Some(Discovery {
            at: Instant::now(),
            found: found.clone(),
        });
        found.map_err(|e| Refused::new(SsoRefusal::ProviderUnreachable, e))
    }

    /// The last discovery that succeeded, however old, without asking the provider.
    async fn cached(&self, id: &str) -> Option<Arc<Discovered>> {
        let slot = self.discovered.get(id)?.lock().await;
        slot.as_ref().and_then(|d| d.found.as_ref().ok().cloned())
    }

    async fn discover(&self, id: &str, spec: &ProviderSpec) -> Result<Discovered, String> {
        let issuer = IssuerUrl::new(spec.issuer.clone()).map_err(|e| format!("discovery: {e}"))?;
        let metadata = Metadata::discover_async(issuer, &fetch)
            .await
            .map_err(|e| format!("discovery: {}", error_chain(&e)))?;
        // Every endpoint over TLS, as the issuer is: a provider's document must not send the
        // client secret, or a person's tokens, over plain HTTP.
        let more = metadata.additional_metadata().clone();
        let endpoints = [
            Some(metadata.authorization_endpoint().url()),
            metadata.token_endpoint().map(|u| u.url()),
            metadata.userinfo_endpoint().map(|u| u.url()),
            Some(metadata.jwks_uri().url()),
            more.end_session_endpoint.as_ref().map(|u| u.url()),
        ];
        if let Some(plain) = endpoints
            .into_iter()
            .flatten()
            .find(|url| !config::secure_endpoint(url))
        {
            return Err(format!(
                "discovery: the endpoint {plain} is not https:// (plain http:// only on loopback)"
            ));
        }
        let redirect = RedirectUrl::new(self.redirect_uri(id)).map_err(|e| e.to_string())?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(spec.client_id.clone()),
            spec.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect);
        Ok(Discovered {
            client,
            end_session: more.end_session_endpoint,
            names_issuer: more.authorization_response_iss_parameter_supported,
        })
    }

    /// Where to send the browser to sign in at provider `id` for `flow`.
    pub async fn authorization_url(&self, id: &str, flow: &Flow) -> Result<String, Refused> {
        let spec = self.spec(id)?;
        let discovered = self.discovered(id, None).await?;
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&flow.pkce_verifier());
        let state = flow.state();
        let nonce = flow.nonce();
        let mut request = discovered.client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(state),
            move || nonce,
        );
        for scope in spec.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, _, _) = request.set_pkce_challenge(challenge).url();
        Ok(url.to_string())
    }

    /// Exchanges `code` for tokens, verifies the ID token (signature by the provider's
    /// published keys, `iss`, `aud`, `exp` against `now`, `flow`'s nonce and `at_hash`) and
    /// reads who signed in.
    pub async fn verify(
        &self,
        id: &str,
        flow: &Flow,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<Verified, Refused> {
        let spec = self.spec(id)?;
        let mut discovered = self.discovered(id, None).await?;
        let request = discovered
            .client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| Refused::new(SsoRefusal::ProviderUnreachable, e.to_string()))?
            .set_pkce_verifier(flow.pkce_verifier());
        let tokens = request.request_async(&fetch).await.map_err(|e| match e {
            RequestTokenError::ServerResponse(answer) => Refused::new(
                SsoRefusal::CodeRefused,
                format!("token endpoint: {}", answer.error()),
            ),
            RequestTokenError::Request(e) => Refused::new(
                SsoRefusal::ProviderUnreachable,
                format!("token endpoint: {e}"),
            ),
            // Only where it failed: the parser's words may quote the answer, tokens and all.
            RequestTokenError::Parse(e, _) => Refused::new(
                SsoRefusal::CodeRefused,
                format!("token endpoint: an unreadable answer (at `{}`)", e.path()),
            ),
            other => Refused::new(
                SsoRefusal::CodeRefused,
                format!("token endpoint: {}", error_chain(&other)),
            ),
        })?;
        let invalid = |e: &dyn std::fmt::Display| {
            Refused::new(SsoRefusal::IdTokenInvalid, format!("ID token: {e}"))
        };
        let id_token = tokens
            .id_token()
            .ok_or_else(|| invalid(&"the provider sent none"))?;
        let nonce = flow.nonce();
        let mut checked = {
            let verifier = discovered
                .client
                .id_token_verifier()
                .set_time_fn(move || now);
            id_token.claims(&verifier, &nonce).cloned()
        };
        // A key the provider's set lacked: it may have rotated since it was fetched.
        if let Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) = &checked
        {
            discovered = self.discovered(id, Some(REFETCH_AFTER)).await?;
            let verifier = discovered
                .client
                .id_token_verifier()
                .set_time_fn(move || now);
            checked = id_token.claims(&verifier, &nonce).cloned();
        }
        let claims = checked.map_err(|e| invalid(&error_chain(&e)))?;
        let verifier = discovered
            .client
            .id_token_verifier()
            .set_time_fn(move || now);
        // The access token must be the one issued with this ID token, if it says which.
        if let Some(expected) = claims.access_token_hash() {
            let signing_alg = id_token.signing_alg().map_err(|e| invalid(&e))?;
            let key = id_token
                .signing_key(&verifier)
                .map_err(|e| invalid(&error_chain(&e)))?;
            let actual = AccessTokenHash::from_token(tokens.access_token(), signing_alg, key)
                .map_err(|e| invalid(&e))?;
            if actual != *expected {
                return Err(invalid(&"its at_hash is not the access token's"));
            }
        }
        // Verified above: the payload is what the provider signed. Read whole, so the
        // claims named in the configuration can be any claim.
        let mut all = payload(&id_token.to_string()).map_err(|e| invalid(&e))?;
        let wanted = [&spec.username_claim, &spec.groups_claim];
        if wanted.iter().any(|claim| !all.contains_key(*claim))
            && let Ok(request) = discovered.client.user_info(
                tokens.access_token().clone(),
                Some(claims.subject().clone()),
            )
        {
            let info: UserInfoClaims<OtherClaims, CoreGenderClaim> =
                request.request_async(&fetch).await.map_err(|e| {
                    Refused::new(
                        SsoRefusal::ProviderUnreachable,
                        format!("user info: {}", error_chain(&e)),
                    )
                })?;
            if let Ok(Value::Object(more)) = serde_json::to_value(&info) {
                for (claim, value) in more {
                    all.entry(claim).or_insert(value);
                }
            }
        }
        let text = |claim: &str| all.get(claim).and_then(Value::as_str).map(str::to_string);
        let groups = match all.get(&spec.groups_claim) {
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>(),
            Some(Value::String(one)) => Some(vec![one.clone()]),
            _ => None,
        };
        Ok(Verified {
            issuer: claims.issuer().to_string(),
            subject: claims.subject().to_string(),
            username: text(&spec.username_claim).map(|u| u.trim().to_lowercase()),
            display_name: text(&spec.display_name_claim),
            groups,
        })
    }

    /// Where to end the person's session at provider `id` too, if it offers that
    /// (OpenID Connect RP-Initiated Logout), coming back to the login page.
    /// Read from the last discovery, however old: signing out never waits on a provider.
    pub async fn end_session_url(&self, id: &str) -> Option<String> {
        let spec = self.spec(id).ok()?;
        let discovered = self.cached(id).await?;
        let endpoint = discovered.end_session.clone()?;
        let back = PostLogoutRedirectUrl::new(format!("{}/login", self.public_url)).ok()?;
        Some(
            LogoutRequest::from(endpoint)
                .set_client_id(ClientId::new(spec.client_id.clone()))
                .set_post_logout_redirect_uri(back)
                .http_get_url()
                .to_string(),
        )
    }
}

/// Every claim a provider's user info carries beyond the standard ones (groups, say).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
struct OtherClaims(Map<String, Value>);

impl AdditionalClaims for OtherClaims {}

/// The claims of a compact JWT, whose signature was verified before.
fn payload(jwt: &str) -> Result<Map<String, Value>, String> {
    let part = jwt.split('.').nth(1).ok_or("not a compact JWT")?;
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}

/// An error with its causes, which `openidconnect` keeps apart.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Why a call to a provider got no answer.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FetchError(String);

/// The HTTP client `openidconnect` calls providers through: ureq on a blocking thread,
/// with a timeout, a bounded answer and no redirects (following one would let a provider's
/// answer send the broker anywhere).
async fn fetch(
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, FetchError> {
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .max_redirects(0)
            .http_status_as_error(false)
            .build()
            .into();
        let response = agent.run(request).map_err(|e| FetchError(e.to_string()))?;
        let (parts, body) = response.into_parts();
        let bytes = body
            .into_with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_vec()
            .map_err(|e| FetchError(e.to_string()))?;
        Ok(openidconnect::HttpResponse::from_parts(parts, bytes))
    })
    .await
    .map_err(|e| FetchError(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flow_derives_distinct_values_only_its_secret_gives() {
        let flow = Flow::new();
        let again = Flow::from_cookie(flow.secret());
        assert_eq!(flow.state(), again.state());
        assert!(again.state_matches(&flow.state()));
        assert_ne!(flow.state(), flow.nonce().secret().to_string());
        assert_eq!(flow.pkce_verifier().secret().len(), 43);
        let other = Flow::new();
        assert!(!other.state_matches(&flow.state()));
        assert_ne!(flow.hash(), other.hash());
        assert!(!flow.hash().contains(flow.secret()));
    }

    #[test]
    fn a_payload_reads_whatever_claims_it_has() {
        let claims = URL_SAFE_NO_PAD.encode(br#"{"sub":"42","groups":["a"],"x":{"y":1}}"#);
        let map = payload(&format!("e30.{claims}.sig")).unwrap();
        assert_eq!(map["groups"], serde_json::json!(["a"]));
        assert!(payload("nodots").is_err());
    }
}
