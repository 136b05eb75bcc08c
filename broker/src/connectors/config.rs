//! The connectors file (`stint serve --connectors FILE`): the downstream systems in which
//! the broker makes and ends access, each under a name resources are linked to.
//!
//! Secrets stay out of it: the file names the environment variables that hold them
//! (`admin_url_env`, `secret_env`), which are read once, here, at start-up. Every mistake is
//! refused before the broker serves, with the line it is on, and no message ever quotes a
//! secret.

use std::collections::BTreeMap;
use std::ops::Range;
use toml::Spanned;

/// The placeholder a privilege's statements put where the temporary role's name goes.
pub const ROLE_PLACEHOLDER: &str = "{{role}}";

/// A connectors file, read and checked.
#[derive(Debug, Clone, Default)]
pub struct ConnectorsFile {
    pub connectors: BTreeMap<String, ConnectorSpec>,
}

/// One connector as the file describes it, its secrets read from the environment.
#[derive(Debug, Clone)]
pub enum ConnectorSpec {
    Postgres(PostgresSpec),
    Webhook(WebhookSpec),
}

#[derive(Clone)]
pub struct PostgresSpec {
    /// A role with CREATEROLE on the target: how the broker connects to make roles.
    pub admin_url: String,
    /// Where holders connect, when not where the broker does (a proxy, a public name).
    pub host: Option<String>,
    pub port: Option<u16>,
    pub database: Option<String>,
    /// Per privilege, the statements that give it to `{{role}}`, in order.
    pub privileges: BTreeMap<String, Vec<String>>,
}

impl std::fmt::Debug for PostgresSpec {
    // The admin URL holds a password: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresSpec")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("privileges", &self.privileges)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub struct WebhookSpec {
    pub url: String,
    /// The HMAC-SHA256 key of `Stint-Signature`.
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for WebhookSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSpec")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// What is wrong with a connectors file, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ConfigError {
    pub line: usize,
    pub message: String,
}

/// The file's shape. Unknown keys are refused, so a misspelt key is not silently ignored.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    connectors: BTreeMap<Spanned<String>, Spanned<RawConnector>>,
}

/// Each privilege's statements, as written.
type RawPrivileges = Spanned<BTreeMap<Spanned<String>, Spanned<Vec<Spanned<String>>>>>;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnector {
    kind: Spanned<String>,
    admin_url_env: Option<Spanned<String>>,
    host: Option<Spanned<String>>,
    port: Option<Spanned<u16>>,
    database: Option<Spanned<String>>,
    privileges: Option<RawPrivileges>,
    url: Option<Spanned<String>>,
    secret_env: Option<Spanned<String>>,
}

/// Reads and checks the file at `path`, with the secrets it names from the process's
/// environment.
pub fn read(path: &std::path::Path) -> anyhow::Result<ConnectorsFile> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read the connectors file {}: {e}", path.display()))?;
    parse(&text, &|var| std::env::var(var).ok())
        .map_err(|e| anyhow::anyhow!("the connectors file {}: {e}", path.display()))
}

/// Reads and checks `text`, taking the secrets it names from `env`.
pub fn parse(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ConnectorsFile, ConfigError> {
    let at = |span: Range<usize>, message: String| ConfigError {
        line: line_of(text, span.start),
        message,
    };
    let raw: RawFile = from_toml(text)?;
    let mut out = ConnectorsFile::default();
    for (name, raw) in raw.connectors {
        let key = format!("connectors.{}", name.get_ref());
        if !valid_name(name.get_ref()) {
            return Err(at(
                name.span(),
                format!(
                    "{key}: a connector's name is 1 to 63 lowercase letters, digits, '-' or '_'"
                ),
            ));
        }
        let spec = connector(&key, raw.into_inner(), env, &at)?;
        out.connectors.insert(name.into_inner(), spec);
    }
    Ok(out)
}

/// Makes the error of the line a span is on.
pub(crate) type At<'a> = dyn Fn(Range<usize>, String) -> ConfigError + 'a;

/// `text` read as TOML into `T`; a mistake names its line.
pub(crate) fn from_toml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError {
        line: e.span().map_or(1, |span| line_of(text, span.start)),
        message: e.message().to_string(),
    })
}

fn connector(
    key: &str,
    raw: RawConnector,
    env: &dyn Fn(&str) -> Option<String>,
    at: &At<'_>,
) -> Result<ConnectorSpec, ConfigError> {
    // Keys another kind takes are refused by name, so a webhook's `url` on a PostgreSQL
    // connector is not silently ignored.
    let not_for = |kind: &str, present: &[(&str, Option<Range<usize>>)]| match present
        .iter()
        .find_map(|(k, s)| s.clone().map(|s| (k, s)))
    {
        Some((k, span)) => Err(at(
            span,
            format!("{key}.{k}: not a key of a {kind} connector"),
        )),
        None => Ok(()),
    };
    let span_of = |v: &Option<Spanned<String>>| v.as_ref().map(Spanned::span);
    match raw.kind.get_ref().as_str() {
        "postgres" => {
            not_for(
                "postgres",
                &[
                    ("url", span_of(&raw.url)),
                    ("secret_env", span_of(&raw.secret_env)),
                ],
            )?;
            let Some(var) = raw.admin_url_env else {
                return Err(at(
                    raw.kind.span(),
                    format!("{key}: a postgres connector needs admin_url_env"),
                ));
            };
            let admin_url = secret(key, "admin_url_env", &var, env, at)?;
            // Parsed now, so a typo stops the start rather than the first grant; the
            // message never quotes the URL, which holds a password.
            if admin_url
                .parse::<sqlx::postgres::PgConnectOptions>()
                .is_err()
            {
                return Err(at(
                    var.span(),
                    format!(
                        "{key}.admin_url_env: the variable {} does not hold a postgres:// URL",
                        var.get_ref()
                    ),
                ));
            }
            let Some(privileges) = raw.privileges else {
                return Err(at(
                    raw.kind.span(),
                    format!("{key}: a postgres connector needs [{key}.privileges]"),
                ));
            };
            let privileges = statements(key, privileges, at)?;
            Ok(ConnectorSpec::Postgres(PostgresSpec {
                admin_url,
                host: raw.host.map(Spanned::into_inner),
                port: raw.port.map(Spanned::into_inner),
                database: raw.database.map(Spanned::into_inner),
                privileges,
            }))
        }
        "webhook" => {
            not_for(
                "webhook",
                &[
                    ("admin_url_env", span_of(&raw.admin_url_env)),
                    ("host", span_of(&raw.host)),
                    ("port", raw.port.as_ref().map(Spanned::span)),
                    ("database", span_of(&raw.database)),
                    ("privileges", raw.privileges.as_ref().map(Spanned::span)),
                ],
            )?;
            let Some(url) = raw.url else {
                return Err(at(
                    raw.kind.span(),
                    format!("{key}: a webhook connector needs url"),
                ));
            };
            if !(url.get_ref().starts_with("https://") || url.get_ref().starts_with("http://")) {
                return Err(at(
                    url.span(),
                    format!("{key}.url: an http:// or https:// URL"),
                ));
            }
            let Some(var) = raw.secret_env else {
                return Err(at(
                    raw.kind.span(),
                    format!("{key}: a webhook connector needs secret_env (its HMAC key)"),
                ));
            };
            let secret = secret(key, "secret_env", &var, env, at)?;
            Ok(ConnectorSpec::Webhook(WebhookSpec {
                url: url.into_inner(),
                secret: secret.into_bytes(),
            }))
        }
        other => Err(at(
            raw.kind.span(),
            format!("{key}.kind: unknown kind \"{other}\" (expected postgres or webhook)"),
        )),
    }
}

/// The value of the variable `var` names, which must be set and not empty.
/// The value of the variable `var` names, which must be set.
pub(crate) fn secret(
    key: &str,
    field: &str,
    var: &Spanned<String>,
    env: &dyn Fn(&str) -> Option<String>,
    at: &At<'_>,
) -> Result<String, ConfigError> {
    match env(var.get_ref()) {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(at(
            var.span(),
            format!("{key}.{field}: the variable {} is not set", var.get_ref()),
        )),
    }
}

/// Each privilege's statements: at least one, each naming `{{role}}`, and no other
/// placeholder (a misspelt `{{ role }}` would otherwise reach the database as text).
fn statements(
    key: &str,
    raw: RawPrivileges,
    at: &At<'_>,
) -> Result<BTreeMap<String, Vec<String>>, ConfigError> {
    let span = raw.span();
    let raw = raw.into_inner();
    if raw.is_empty() {
        return Err(at(
            span,
            format!("{key}.privileges: name at least one privilege"),
        ));
    }
    let mut out = BTreeMap::new();
    for (privilege, list) in raw {
        let field = format!("{key}.privileges.{}", privilege.get_ref());
        if list.get_ref().is_empty() {
            return Err(at(list.span(), format!("{field}: at least one statement")));
        }
        let mut statements = Vec::new();
        for statement in list.into_inner() {
            let text = statement.get_ref();
            if !text.contains(ROLE_PLACEHOLDER) {
                return Err(at(
                    statement.span(),
                    format!("{field}: a statement without {ROLE_PLACEHOLDER}"),
                ));
            }
            if text.replace(ROLE_PLACEHOLDER, "").contains("{{") {
                return Err(at(
                    statement.span(),
                    format!("{field}: the only placeholder is {ROLE_PLACEHOLDER}"),
                ));
            }
            statements.push(statement.into_inner());
        }
        out.insert(privilege.into_inner(), statements);
    }
    Ok(out)
}

/// A name in such a file: 1 to 63 lowercase letters, digits, `-` or `_`.
pub(crate) fn valid_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The 1-based line holding byte `offset` of `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(var: &str) -> Option<String> {
        match var {
            "PG_ADMIN" => Some("postgres://admin:s3cret@db.internal:5432/payments".into()),
            "HOOK_KEY" => Some("k".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn error(text: &str) -> ConfigError {
        parse(text, &env).unwrap_err()
    }

    const GOOD: &str = r#"
[connectors.payments-pg]
kind = "postgres"
admin_url_env = "PG_ADMIN"
[connectors.payments-pg.privileges]
read = ["GRANT SELECT ON ALL TABLES IN SCHEMA public TO {{role}}"]

[connectors.deploy-hook]
kind = "webhook"
url = "https://deploy.internal/stint"
secret_env = "HOOK_KEY"
"#;

    #[test]
    fn reads_both_kinds_and_keeps_the_secrets_out_of_debug_output() {
        let file = parse(GOOD, &env).unwrap();
        assert_eq!(file.connectors.len(), 2);
        let ConnectorSpec::Postgres(pg) = &file.connectors["payments-pg"] else {
            panic!("a postgres connector");
        };
        assert_eq!(pg.privileges["read"].len(), 1);
        let printed = format!("{file:?}");
        assert!(!printed.contains("s3cret"), "{printed}");
        assert!(matches!(
            file.connectors["deploy-hook"],
            ConnectorSpec::Webhook(_)
        ));
    }

    #[test]
    fn every_mistake_is_refused_with_its_line_and_no_secret() {
        let unknown_kind = error("\n[connectors.x]\nkind = \"mysql\"\n");
        assert_eq!(unknown_kind.line, 3);
        assert!(
            unknown_kind.message.contains("unknown kind \"mysql\""),
            "{unknown_kind}"
        );

        let missing_var = error(&GOOD.replace("\"PG_ADMIN\"", "\"NOT_SET\""));
        assert_eq!(missing_var.line, 4);
        assert!(
            missing_var
                .message
                .contains("the variable NOT_SET is not set"),
            "{missing_var}"
        );
        assert!(
            error(&GOOD.replace("\"PG_ADMIN\"", "\"EMPTY\""))
                .message
                .contains("not set")
        );

        let no_role = error(&GOOD.replace("TO {{role}}", "TO app"));
        assert_eq!(no_role.line, 6);
        assert!(no_role.message.contains("without {{role}}"), "{no_role}");
        let misspelt = error(&GOOD.replace("TO {{role}}", "TO {{role}} IN ROLE {{ role }}"));
        assert!(misspelt.message.contains("only placeholder"), "{misspelt}");

        let stray_key =
            error(&GOOD.replace("kind = \"webhook\"", "kind = \"webhook\"\nhost = \"x\""));
        assert_eq!(stray_key.line, 10);
        assert!(
            stray_key
                .message
                .contains("not a key of a webhook connector"),
            "{stray_key}"
        );

        let unknown_key = error(&GOOD.replace("admin_url_env", "admin_url"));
        assert_eq!(unknown_key.line, 4);
        assert!(unknown_key.message.contains("admin_url"), "{unknown_key}");

        let bad_toml = error("[connectors.x\nkind = 1");
        assert_eq!(bad_toml.line, 1);

        let bad_url = parse(&GOOD.replace("PG_ADMIN", "HOOK_KEY"), &env).unwrap_err();
        assert!(
            bad_url.message.contains("does not hold a postgres:// URL"),
            "{bad_url}"
        );
        assert!(
            !bad_url.to_string().contains("k\""),
            "never quotes the value"
        );
        let bad_name = error("[connectors.Payments]\nkind = \"webhook\"\n");
        assert_eq!(bad_name.line, 1);
        assert!(bad_name.message.contains("lowercase"), "{bad_name}");
        let no_privileges =
            error("[connectors.pg]\nkind = \"postgres\"\nadmin_url_env = \"PG_ADMIN\"\n");
        assert!(
            no_privileges.message.contains("privileges"),
            "{no_privileges}"
        );
    }
}
