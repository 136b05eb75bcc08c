//! How a broker is set up.

use crate::connectors::ConnectorsFile;
use crate::store::{BreakGlassLimit, SessionLimits};
use chrono::Duration;
use std::path::PathBuf;
use stint_core::connectors::RetryPolicy;

#[derive(Debug, Clone)]
pub struct Config {
    /// e.g. `sqlite://data/stint.db`.
    pub database_url: String,
    /// The file whose key seals the signing keys in the database; `stint.key` beside an
    /// SQLite database when not given.
    pub key_file: Option<PathBuf>,
    /// The built portal (Trunk's `dist/`), served with an SPA fallback.
    pub portal_dir: Option<PathBuf>,
    /// The `iss` of issued credentials.
    pub issuer: String,
    pub session_limits: SessionLimits,
    /// How long a request may wait for a decision before it expires.
    pub pending_ttl: Duration,
    /// Where users reach the broker. An `https://` URL (the broker behind a TLS proxy, say)
    /// makes cookies `Secure` and sends HSTS; plain `http://` does neither, since browsers
    /// would then drop the session cookie.
    pub public_url: String,
    /// How often the sweeper looks for expired grants and requests.
    pub sweep_interval: std::time::Duration,
    /// Where to write each audit event as a JSON line once it has committed: a file
    /// (appended to), `-` for stdout, or nowhere.
    pub audit_stream: Option<std::path::PathBuf>,
    /// How often the head of the audit chain is signed into a checkpoint.
    pub checkpoint_interval: std::time::Duration,
    /// How often one user may take break-glass access for one identity.
    pub break_glass_limit: BreakGlassLimit,
    /// The longest an ownership declaration holds before its owner must re-attest.
    pub max_attestation_days: i64,
    /// Token introspections each caller may make per minute.
    pub introspection_per_minute: std::num::NonZeroU32,
    /// Token exchanges (`POST /api/v1/token`) each address may make per minute.
    pub exchanges_per_minute: std::num::NonZeroU32,
    /// Seed the demo users, identities and resources into an empty database.
    pub demo: bool,
    /// The connectors the broker makes grants' access in (`--connectors FILE`), checked.
    pub connectors: ConnectorsFile,
    /// How failed connector steps and notification deliveries are retried, and when a
    /// revocation or a sink is flagged.
    pub connector_retry: RetryPolicy,
    /// Where the variables named by notification sinks (`url_env`, `secret_env`) are read.
    pub variables: Variables,
    /// Where `/metrics` is served, apart from the API (none by default).
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// The identity providers people may sign in through (`--oidc-config FILE`), checked.
    pub oidc: crate::oidc::config::OidcFile,
    /// Whether people may sign in with a username and password (`--no-local-login` not).
    pub local_login: bool,
    /// One admin runs this installation (`--single-admin`): changes that widen access apply
    /// without a second admin's approval.
    pub single_admin: bool,
}

/// The broker's environment variables, read when a sink is added and at each delivery (a
/// variable set or fixed later takes effect without a restart); tests give their own.
#[derive(Clone, Default)]
pub struct Variables {
    given: Option<std::sync::Arc<std::collections::BTreeMap<String, String>>>,
}

impl Variables {
    /// These values instead of the process's environment.
    pub fn given<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Variables {
        let map = pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Variables {
            given: Some(std::sync::Arc::new(map)),
        }
    }

    /// The variable's value, unless it is unset or blank.
    pub fn get(&self, name: &str) -> Option<String> {
        let value = match &self.given {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        };
        value.filter(|v| !v.trim().is_empty())
    }
}

impl std::fmt::Debug for Variables {
    // Never their values: a sink's URL or key may be among them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.given.is_some() {
            "Variables(given)"
        } else {
            "Variables(process)"
        })
    }
}

impl Config {
    /// Whether users reach the broker over TLS.
    pub fn https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The defaults, for a database at `database_url`.
    pub fn new(database_url: impl Into<String>) -> Config {
        Config {
            database_url: database_url.into(),
            key_file: None,
            portal_dir: None,
            issuer: "stint".into(),
            session_limits: SessionLimits {
                idle: Duration::minutes(30),
                absolute: Duration::hours(12),
            },
            pending_ttl: Duration::hours(24),
            public_url: "https://stint.invalid".into(),
            sweep_interval: std::time::Duration::from_millis(250),
            audit_stream: None,
            checkpoint_interval: std::time::Duration::from_secs(60),
            break_glass_limit: BreakGlassLimit {
                max_uses: 3,
                window: Duration::hours(24),
                takeover_wait: None,
            },
            max_attestation_days: stint_core::ownership::DEFAULT_MAX_ATTESTATION_DAYS,
            introspection_per_minute: std::num::NonZeroU32::new(6000).expect("not zero"),
            exchanges_per_minute: std::num::NonZeroU32::new(600).expect("not zero"),
            demo: false,
            connectors: ConnectorsFile::default(),
            connector_retry: RetryPolicy::default(),
            variables: Variables::default(),
            metrics_listen: None,
            oidc: Default::default(),
            local_login: true,
            single_admin: false,
        }
    }
}
