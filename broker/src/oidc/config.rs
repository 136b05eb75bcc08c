//! The identity providers file (`stint serve --oidc-config FILE`): each provider people may
//! sign in through, and which of its groups give which Stint role.
//!
//! As with the connectors file, client secrets stay out of it (`client_secret_env` names
//! the variable that holds one), and every mistake stops the start with its line.

use crate::connectors::config::{ConfigError, from_toml, line_of, secret, valid_name};
use std::collections::BTreeMap;
use std::ops::Range;
use stint_core::Role;
use stint_core::oidc::RoleMapping;
use toml::Spanned;

/// A providers file, read and checked, in the file's order of names.
#[derive(Debug, Clone, Default)]
pub struct OidcFile {
    pub providers: BTreeMap<String, ProviderSpec>,
}

#[derive(Clone)]
pub struct ProviderSpec {
    pub display_name: String,
    /// Where discovery starts: `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// `None`: a public client, which PKCE alone protects.
    pub client_secret: Option<String>,
    pub scopes: Vec<String>,
    pub username_claim: String,
    pub display_name_claim: String,
    pub groups_claim: String,
    pub roles: RoleMapping,
}

impl std::fmt::Debug for ProviderSpec {
    // Never the client secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSpec")
            .field("display_name", &self.display_name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    providers: BTreeMap<Spanned<String>, Spanned<RawProvider>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    display_name: Option<String>,
    issuer: Spanned<String>,
    client_id: String,
    client_secret_env: Option<Spanned<String>>,
    scopes: Option<Spanned<Vec<String>>>,
    username_claim: Option<String>,
    display_name_claim: Option<String>,
    groups_claim: Option<String>,
    #[serde(default)]
    roles: BTreeMap<Spanned<String>, Vec<String>>,
}

/// Reads and checks the file at `path`, with the secrets it names from the process's
/// environment.
pub fn read(path: &std::path::Path) -> anyhow::Result<OidcFile> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        anyhow::anyhow!(
            "cannot read the identity providers file {}: {e}",
            path.display()
        )
    })?;
    parse(&text, &|var| std::env::var(var).ok())
        .map_err(|e| anyhow::anyhow!("the identity providers file {}: {e}", path.display()))
}

/// Reads and checks `text`, taking the secrets it names from `env`.
pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<OidcFile, ConfigError> {
    let at = |span: Range<usize>, message: String| ConfigError {
        line: line_of(text, span.start),
        message,
    };
    let raw: RawFile = from_toml(text)?;
    let mut out = OidcFile::default();
    for (id, raw) in raw.providers {
        let key = format!("providers.{}", id.get_ref());
        if !valid_name(id.get_ref()) {
            return Err(at(
                id.span(),
                format!(
                    "{key}: a provider's name is 1 to 63 lowercase letters, digits, '-' or '_'"
                ),
            ));
        }
        let span = raw.span();
        let raw = raw.into_inner();
        // Exactly as written: tokens must name their issuer byte for byte, trailing `/` too.
        let issuer = raw.issuer.get_ref().clone();
        if let Err(why) = check_issuer(&issuer) {
            return Err(at(raw.issuer.span(), format!("{key}.issuer: {why}")));
        }
        if raw.client_id.trim().is_empty() {
            return Err(at(span, format!("{key}.client_id: must not be empty")));
        }
        let client_secret = raw
            .client_secret_env
            .as_ref()
            .map(|var| secret(&key, "client_secret_env", var, env, &at))
            .transpose()?;
        let scopes = match raw.scopes {
            None => vec!["openid".into(), "profile".into(), "email".into()],
            Some(scopes) if !scopes.get_ref().iter().any(|s| s == "openid") => {
                return Err(at(
                    scopes.span(),
                    format!("{key}.scopes: must include \"openid\""),
                ));
            }
            Some(scopes) => scopes.into_inner(),
        };
        let mut roles = RoleMapping::new();
        for (name, groups) in raw.roles {
            let Some(role) = Role::ALL.into_iter().find(|r| r.as_str() == name.get_ref()) else {
                return Err(at(
                    name.span(),
                    format!(
                        "{key}.roles.{}: not a Stint role (requester, approver, reviewer, \
                         admin, auditor)",
                        name.get_ref()
                    ),
                ));
            };
            roles.push((role, groups));
        }
        out.providers.insert(
            id.get_ref().clone(),
            ProviderSpec {
                display_name: raw.display_name.unwrap_or_else(|| id.get_ref().clone()),
                issuer,
                client_id: raw.client_id,
                client_secret,
                scopes,
                username_claim: raw
                    .username_claim
                    .unwrap_or_else(|| "preferred_username".into()),
                display_name_claim: raw.display_name_claim.unwrap_or_else(|| "name".into()),
                groups_claim: raw.groups_claim.unwrap_or_else(|| "groups".into()),
                roles,
            },
        );
    }
    Ok(out)
}

/// Issuers are reached over TLS; plain `http://` only on loopback, where tests run theirs.
fn check_issuer(issuer: &str) -> Result<(), &'static str> {
    let url = url::Url::parse(issuer).map_err(|_| "not a URL")?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err("an issuer has no query or fragment");
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&url) => Ok(()),
        "http" => Err("must be https:// (plain http:// only on loopback)"),
        _ => Err("must be an https:// URL"),
    }
}

/// Whether a provider's endpoint may be called: over TLS, or plain HTTP on loopback.
pub fn secure_endpoint(url: &url::Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => is_loopback(url),
        _ => false,
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[providers.corp]
display_name = "Corp SSO"
issuer = "https://sso.example.com/"
client_id = "stint"
client_secret_env = "STINT_OIDC_CORP_SECRET"
scopes = ["openid", "profile", "email", "groups"]
username_claim = "preferred_username"
groups_claim = "groups"
[providers.corp.roles]
requester = ["engineering"]
approver = ["stint-approvers"]
"#;

    fn env(var: &str) -> Option<String> {
        (var == "STINT_OIDC_CORP_SECRET").then(|| "s3cret".to_string())
    }

    #[test]
    fn a_good_file_reads_with_its_secret_from_the_environment() {
        let file = parse(GOOD, &env).unwrap();
        let corp = &file.providers["corp"];
        assert_eq!(corp.display_name, "Corp SSO");
        assert_eq!(corp.issuer, "https://sso.example.com/");
        assert_eq!(corp.client_secret.as_deref(), Some("s3cret"));
        assert_eq!(
            corp.roles,
            vec![
                (Role::Approver, vec!["stint-approvers".to_string()]),
                (Role::Requester, vec!["engineering".to_string()]),
            ]
        );
        assert!(!format!("{corp:?}").contains("s3cret"));
    }

    #[test]
    fn mistakes_stop_the_start_with_their_line() {
        let cases = [
            (GOOD.replace("https://sso", "http://sso"), 4, "https://"),
            (GOOD.replace("\"openid\", ", ""), 7, "openid"),
            (GOOD.replace("approver =", "boss ="), 12, "not a Stint role"),
            (
                GOOD.replace("CORP_SECRET\"", "OTHER\""),
                6,
                "STINT_OIDC_OTHER is not set",
            ),
            (
                GOOD.replace("groups_claim", "group_claim"),
                9,
                "unknown field",
            ),
            (
                GOOD.replace("providers.corp", "providers.Corp"),
                2,
                "provider's name",
            ),
        ];
        for (text, line, says) in cases {
            let err = parse(&text, &env).unwrap_err();
            assert!(err.message.contains(says), "{err}");
            assert_eq!(err.line, line, "{err}");
        }
    }

    #[test]
    fn plain_http_issuers_are_for_loopback_only() {
        assert!(check_issuer("http://127.0.0.1:9000").is_ok());
        assert!(check_issuer("http://localhost:9000/realms/x").is_ok());
        assert!(check_issuer("http://[::1]:9000").is_ok());
        assert!(check_issuer("http://10.0.0.1").is_err());
        assert!(check_issuer("ftp://sso.example.com").is_err());
    }
}
