//! Workload federation: which outside issuers' tokens a workload may exchange for a short
//! Stint access token, and which identity a token's claims make it. The broker verifies
//! signatures and fetches keys; what a registration may say and which rule a set of claims
//! matches are decided here.

use crate::admin::check_name;
use crate::rules::{RuleError, check_plain_text};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The longest a Stint access token from an exchange lives (and never past the subject
/// token's own expiry).
pub const MAX_ACCESS_TOKEN_SECS: i64 = 15 * 60;

/// How far clocks may disagree when `exp`, `nbf` and `iat` are checked.
pub const LEEWAY_SECS: i64 = 60;

/// RFC 8693's grant type and the token type of an OIDC-issued workload token.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

const MAX_RULES: usize = 50;
const MAX_CLAIMS_PER_RULE: usize = 16;
const MAX_VALUE_CHARS: usize = 256;

/// `POST /api/v1/federation/issuers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssuerBody {
    pub name: String,
    /// The tokens' `iss`, exactly.
    pub issuer: String,
    /// The `aud` the tokens must carry for Stint.
    pub audience: String,
    /// Where the issuer publishes its keys; or
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// its keys, given inline (a JWK Set).
    #[serde(default)]
    pub jwks: Option<serde_json::Value>,
    pub rules: Vec<RuleBody>,
}

/// Tokens whose claims all match `claims` act as the identity `identity_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleBody {
    /// Claim name → the value it must have; `*` in a value matches any run of characters.
    pub claims: BTreeMap<String, String>,
    pub identity_id: i64,
}

/// A registered issuer as admins see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssuerView {
    pub id: i64,
    pub name: String,
    pub issuer: String,
    pub audience: String,
    pub jwks_url: Option<String>,
    /// Whether its keys were given inline rather than fetched.
    pub inline_jwks: bool,
    pub rules: Vec<RuleView>,
    pub created_by: crate::api::NamedRef,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleView {
    pub claims: BTreeMap<String, String>,
    pub identity: crate::api::NamedRef,
}

/// A rule that makes a platform's tokens act as one identity, as its page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityRuleView {
    pub issuer: crate::api::NamedRef,
    /// The issuer's `iss`.
    pub issuer_url: String,
    pub claims: BTreeMap<String, String>,
}

/// RFC 8693's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExchangedToken {
    pub access_token: String,
    pub issued_token_type: String,
    pub token_type: String,
    pub expires_in: i64,
}

/// Checks a registration: returns it trimmed. Keys must come from exactly one place, and
/// over HTTPS unless the issuer is on this machine (a test or a sidecar).
pub fn check_issuer(body: &IssuerBody) -> Result<IssuerBody, RuleError> {
    let name = check_name("name", &body.name)?;
    let issuer = check_url("issuer", &body.issuer)?;
    let audience = body.audience.trim().to_string();
    check_plain_text("audience", &audience)?;
    if audience.is_empty() || audience.chars().count() > MAX_VALUE_CHARS {
        return Err(RuleError::invalid(
            "audience",
            format!(
                "the audience is the `aud` the tokens carry for Stint: 1 to {MAX_VALUE_CHARS} characters"
            ),
        ));
    }
    let jwks_url = match (&body.jwks_url, &body.jwks) {
        (Some(url), None) => Some(check_url("jwks_url", url)?),
        (None, Some(jwks)) => {
            let keys = jwks.get("keys").and_then(|k| k.as_array());
            if keys.is_none_or(|k| k.is_empty()) {
                return Err(RuleError::invalid(
                    "jwks",
                    "a JWK Set is an object with a non-empty `keys` array",
                ));
            }
            None
        }
        _ => {
            return Err(RuleError::invalid(
                "jwks_url",
                "give the issuer's keys either as jwks_url or inline as jwks, not both or neither",
            ));
        }
    };
    if body.rules.is_empty() || body.rules.len() > MAX_RULES {
        return Err(RuleError::invalid(
            "rules",
            format!("1 to {MAX_RULES} rules map tokens' claims to identities"),
        ));
    }
    let mut rules = Vec::with_capacity(body.rules.len());
    for rule in &body.rules {
        rules.push(check_rule(rule)?);
    }
    Ok(IssuerBody {
        name,
        issuer,
        audience,
        jwks_url,
        jwks: body.jwks.clone(),
        rules,
    })
}

fn check_rule(rule: &RuleBody) -> Result<RuleBody, RuleError> {
    if rule.claims.is_empty() || rule.claims.len() > MAX_CLAIMS_PER_RULE {
        return Err(RuleError::invalid(
            "rules.claims",
            format!(
                "a rule names 1 to {MAX_CLAIMS_PER_RULE} claims; one with none would let every token of the issuer in"
            ),
        ));
    }
    let mut claims = BTreeMap::new();
    for (claim, value) in &rule.claims {
        let (claim, value) = (claim.trim(), value.trim());
        check_plain_text("rules.claims", claim)?;
        check_plain_text("rules.claims", value)?;
        if claim.is_empty() || value.is_empty() || value.chars().count() > MAX_VALUE_CHARS {
            return Err(RuleError::invalid(
                "rules.claims",
                format!("each claim needs a name and a value of 1 to {MAX_VALUE_CHARS} characters"),
            ));
        }
        if value.chars().all(|c| c == '*') {
            return Err(RuleError::invalid(
                "rules.claims",
                format!("`{claim}: {value}` matches anything; name what the token must say"),
            ));
        }
        claims.insert(claim.to_string(), value.to_string());
    }
    Ok(RuleBody {
        claims,
        identity_id: rule.identity_id,
    })
}

/// An `https://` URL, or `http://` to this machine.
fn check_url(field: &'static str, url: &str) -> Result<String, RuleError> {
    let url = url.trim();
    check_plain_text(field, url)?;
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|prefix| {
            url.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        });
    let https = url.strip_prefix("https://").is_some_and(|rest| {
        rest.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
    });
    if !(https || loopback) || url.chars().count() > 500 || url.contains(char::is_whitespace) {
        return Err(RuleError::invalid(
            field,
            format!("`{url}` must be an https:// URL (http:// only to this machine)"),
        ));
    }
    Ok(url.to_string())
}

/// Whether `value` matches `pattern`, where `*` stands for any run of characters and
/// everything else is literal.
pub fn glob_matches(pattern: &str, value: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = value.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty(); // no `*` at all: the whole value was the literal
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Why an exchange was refused, in words the workload's operator can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not a signed JWT Stint can read, or one lacking `iss`, `aud` or `exp`.
    Malformed(String),
    NoIssuer,
    BadSignature(String),
    Expired,
    NotYetValid,
    WrongAudience,
    NoRuleMatched,
    TwoRulesMatched,
    IdentityOrphaned,
}

impl Refusal {
    /// A short, stable name for the trail and the Federation page.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Malformed(_) => "malformed",
            Refusal::NoIssuer => "no_issuer",
            Refusal::BadSignature(_) => "bad_signature",
            Refusal::Expired => "expired",
            Refusal::NotYetValid => "not_yet_valid",
            Refusal::WrongAudience => "wrong_audience",
            Refusal::NoRuleMatched => "no_rule_matched",
            Refusal::TwoRulesMatched => "two_rules_matched",
            Refusal::IdentityOrphaned => "identity_orphaned",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Refusal::Malformed(why) => format!("the token cannot be read: {why}"),
            Refusal::NoIssuer => "no issuer is registered for this token's `iss`".into(),
            Refusal::BadSignature(why) => format!("the token's signature does not verify: {why}"),
            Refusal::Expired => "the token has expired".into(),
            Refusal::NotYetValid => {
                "the token is not valid yet (`nbf` or `iat` is in the future)".into()
            }
            Refusal::WrongAudience => {
                "the token's `aud` is not the audience registered for Stint".into()
            }
            Refusal::NoRuleMatched => "no rule of the issuer matches the token's claims".into(),
            Refusal::TwoRulesMatched => {
                "more than one rule matches the token's claims; rules must single out one identity"
                    .into()
            }
            Refusal::IdentityOrphaned => {
                "the identity this token maps to has no owner right now".into()
            }
        }
    }
}

/// The one rule whose every claim the token's matches: its index. Claims are compared as
/// strings (a number or boolean claim as it is written in JSON).
pub fn matching_rule(
    rules: &[BTreeMap<String, String>],
    claims: &BTreeMap<String, String>,
) -> Result<usize, Refusal> {
    let mut matched = rules.iter().enumerate().filter(|(_, rule)| {
        rule.iter().all(|(claim, pattern)| {
            claims
                .get(claim)
                .is_some_and(|value| glob_matches(pattern, value))
        })
    });
    match (matched.next(), matched.next()) {
        (Some((index, _)), None) => Ok(index),
        (None, _) => Err(Refusal::NoRuleMatched),
        (Some(_), Some(_)) => Err(Refusal::TwoRulesMatched),
    }
}

/// Checks a token's times against `now` (seconds since the epoch) with `LEEWAY_SECS`, and
/// returns how long the access token may live: at most 15 minutes and never past `exp`.
pub fn access_token_secs(
    now: i64,
    exp: i64,
    nbf: Option<i64>,
    iat: Option<i64>,
) -> Result<i64, Refusal> {
    if exp + LEEWAY_SECS <= now {
        return Err(Refusal::Expired);
    }
    if nbf.is_some_and(|nbf| nbf > now + LEEWAY_SECS)
        || iat.is_some_and(|iat| iat > now + LEEWAY_SECS)
    {
        return Err(Refusal::NotYetValid);
    }
    let left = exp - now;
    if left < 1 {
        // Within the leeway, yet with nothing left to give.
        return Err(Refusal::Expired);
    }
    Ok(left.min(MAX_ACCESS_TOKEN_SECS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn globs_match_any_run_of_characters_and_nothing_else() {
        assert!(glob_matches("acme/payments", "acme/payments"));
        assert!(!glob_matches("acme/payments", "acme/payments-x"));
        assert!(glob_matches("refs/heads/*", "refs/heads/main"));
        assert!(glob_matches(
            "repo:acme/*:ref:refs/heads/main",
            "repo:acme/api:ref:refs/heads/main"
        ));
        assert!(!glob_matches(
            "repo:acme/*:ref:refs/heads/main",
            "repo:acme/api:ref:refs/heads/dev"
        ));
        assert!(glob_matches("*-prod", "payments-prod"));
        assert!(!glob_matches("a*a", "a"));
        assert!(glob_matches("a*a", "aa"));
        assert!(glob_matches(
            "system:serviceaccount:ci:*",
            "system:serviceaccount:ci:deployer"
        ));
        assert!(!glob_matches(
            "system:serviceaccount:ci:*",
            "system:serviceaccount:other:ci:x"
        ));
    }

    #[test]
    fn exactly_one_rule_must_match() {
        let claims = rule(&[("repository", "acme/payments"), ("ref", "refs/heads/main")]);
        let main = rule(&[("repository", "acme/payments"), ("ref", "refs/heads/main")]);
        let any_ref = rule(&[("repository", "acme/*")]);
        let other = rule(&[("repository", "acme/ledger")]);
        assert_eq!(
            matching_rule(&[other.clone(), main.clone()], &claims),
            Ok(1)
        );
        assert_eq!(
            matching_rule(std::slice::from_ref(&other), &claims),
            Err(Refusal::NoRuleMatched)
        );
        assert_eq!(
            matching_rule(&[main, any_ref], &claims),
            Err(Refusal::TwoRulesMatched)
        );
        // A claim the token lacks never matches.
        let env = rule(&[("environment", "production")]);
        assert_eq!(matching_rule(&[env], &claims), Err(Refusal::NoRuleMatched));
    }

    #[test]
    fn an_access_token_lives_at_most_fifteen_minutes_and_never_past_the_subjects_expiry() {
        assert_eq!(
            access_token_secs(1000, 1000 + 3600, None, Some(990)),
            Ok(900)
        );
        assert_eq!(access_token_secs(1000, 1300, Some(1000), None), Ok(300));
        assert_eq!(
            access_token_secs(1000, 940, None, None),
            Err(Refusal::Expired)
        );
        assert_eq!(
            access_token_secs(1000, 1000, None, None),
            Err(Refusal::Expired)
        );
        assert_eq!(
            access_token_secs(1000, 2000, Some(1100), None),
            Err(Refusal::NotYetValid)
        );
        assert_eq!(
            access_token_secs(1000, 2000, Some(1060), Some(1059)),
            Ok(900)
        );
        assert_eq!(
            access_token_secs(1000, 2000, None, Some(1200)),
            Err(Refusal::NotYetValid)
        );
    }

    fn github() -> IssuerBody {
        IssuerBody {
            name: "github-actions".into(),
            issuer: "https://token.actions.githubusercontent.com".into(),
            audience: "https://stint.example.com".into(),
            jwks_url: Some("https://token.actions.githubusercontent.com/.well-known/jwks".into()),
            jwks: None,
            rules: vec![RuleBody {
                claims: rule(&[("repository", "acme/payments"), ("ref", "refs/heads/main")]),
                identity_id: 1,
            }],
        }
    }

    #[test]
    fn a_registration_names_its_keys_once_over_https_and_rules_that_single_out_tokens() {
        assert!(check_issuer(&github()).is_ok());
        let field = |change: fn(&mut IssuerBody)| {
            let mut body = github();
            change(&mut body);
            check_issuer(&body).unwrap_err().field()
        };
        assert_eq!(
            field(|b| b.issuer = "http://evil.example".into()),
            Some("issuer")
        );
        assert_eq!(
            field(|b| b.jwks = Some(json!({ "keys": [{}] }))),
            Some("jwks_url")
        );
        assert_eq!(field(|b| b.jwks_url = None), Some("jwks_url"));
        assert_eq!(
            field(|b| {
                b.jwks_url = None;
                b.jwks = Some(json!({ "keys": [] }));
            }),
            Some("jwks")
        );
        assert_eq!(field(|b| b.rules.clear()), Some("rules"));
        assert_eq!(field(|b| b.rules[0].claims.clear()), Some("rules.claims"));
        assert_eq!(
            field(|b| {
                b.rules[0].claims = rule(&[("repository", "*")]);
            }),
            Some("rules.claims")
        );
        assert_eq!(field(|b| b.audience = " ".into()), Some("audience"));
        let mut local = github();
        local.issuer = "http://127.0.0.1:8123".into();
        local.jwks_url = Some("http://127.0.0.1:8123/jwks".into());
        assert!(check_issuer(&local).is_ok());
        local.issuer = "http://127.0.0.1.evil.example".into();
        assert!(check_issuer(&local).is_err());
    }
}
