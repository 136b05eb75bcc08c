//! The PostgreSQL connector: one temporary role per grant, `LOGIN` until the grant's expiry,
//! given the privilege's statements; dropped, its sessions ended, when the grant ends.
//!
//! The role's name is the broker's own (`stint_<grant>_<random>`), quoted as an identifier
//! wherever it goes; the operator's statements come from the connectors file. The holder's
//! password is drawn at each credential fetch and sent to the server only as its SCRAM
//! verifier, so it is never stored, logged, or seen by the server in the clear.

use super::config::{PostgresSpec, ROLE_PLACEHOLDER};
use super::{Connector, ConnectorError, GrantFacts, Revoked, scram};
use crate::credential::random_bytes;
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection};
use std::time::Duration;
use stint_core::connectors::PostgresAccess;

/// How long an attempt may wait for a connection, or a statement run: a downstream that
/// hangs fails the attempt, which is retried, rather than holding the queue.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const STATEMENT_TIMEOUT: &str = "10s";
/// How long revocation waits for each session it ends to be gone.
const TERMINATE_WAIT_MS: i64 = 5_000;
/// The transaction-scoped advisory lock every change of privileges takes: PostgreSQL
/// refuses two transactions granting on one object at once ("tuple concurrently
/// updated"), so grants and drops of several roles — from this broker or a replica —
/// take turns.
const DDL_LOCK: i64 = 0x5354_494e_545f_4444; // "STINT_DD"

async fn take_turn(conn: &mut sqlx::PgConnection) -> Result<(), ConnectorError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(DDL_LOCK)
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(|e| describe(&e))
}

pub struct Postgres {
    pool: PgPool,
    privileges: std::collections::BTreeMap<String, Vec<String>>,
    /// Where holders connect.
    host: String,
    port: u16,
    database: String,
}

impl Postgres {
    pub fn new(spec: &PostgresSpec) -> anyhow::Result<Postgres> {
        let options: PgConnectOptions = spec
            .admin_url
            .parse()
            .map_err(|_| anyhow::anyhow!("the admin URL is not a postgres:// URL"))?;
        // Statements are not logged: `ALTER ROLE … PASSWORD` carries a SCRAM verifier.
        let options = options
            .options([("statement_timeout", STATEMENT_TIMEOUT)])
            .application_name("stint-connector")
            .disable_statement_logging();
        let host = spec
            .host
            .clone()
            .unwrap_or_else(|| options.get_host().to_string());
        let port = spec.port.unwrap_or_else(|| options.get_port());
        let database = spec
            .database
            .clone()
            .or_else(|| options.get_database().map(str::to_string))
            .unwrap_or_else(|| options.get_username().to_string());
        // Lazy: the downstream may be down when the broker starts.
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_lazy_with(options);
        Ok(Postgres {
            pool,
            privileges: spec.privileges.clone(),
            host,
            port,
            database,
        })
    }

    fn url(&self, username: &str, password: &str) -> String {
        let mut url = url::Url::parse("postgres://localhost").expect("a valid URL");
        // The host as given (a name, an IPv4 address, or an IPv6 one in brackets).
        let host = if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let _ = url.set_host(Some(&host));
        let _ = url.set_port(Some(self.port));
        let _ = url.set_username(username);
        let _ = url.set_password(Some(password));
        url.set_path(&self.database);
        url.to_string()
    }
}

/// `name` as a PostgreSQL identifier: in double quotes, any inside doubled.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// What the downstream said, without anything that could hold a secret.
fn describe(e: &sqlx::Error) -> ConnectorError {
    ConnectorError(match e {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("PostgreSQL said: {} ({code})", db.message()),
            None => format!("PostgreSQL said: {}", db.message()),
        },
        sqlx::Error::Io(io) => format!("cannot reach PostgreSQL: {io}"),
        sqlx::Error::PoolTimedOut => format!(
            "cannot reach PostgreSQL: no connection within {} s",
            CONNECT_TIMEOUT.as_secs()
        ),
        sqlx::Error::Tls(_) => "cannot reach PostgreSQL: the TLS handshake failed".into(),
        sqlx::Error::Protocol(_) => "PostgreSQL answered out of protocol".into(),
        _ => "the PostgreSQL connection failed".into(),
    })
}

fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    random_bytes::<8>()
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

async fn role_exists(conn: &mut sqlx::PgConnection, role: &str) -> Result<bool, ConnectorError> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
        .bind(role)
        .fetch_one(conn)
        .await
        .map_err(|e| describe(&e))
}

fn account(grant: &GrantFacts) -> Result<&str, ConnectorError> {
    grant
        .account
        .as_deref()
        .ok_or_else(|| ConnectorError("no role was named for the grant".into()))
}

#[async_trait]
impl Connector for Postgres {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn privileges(&self) -> Option<Vec<String>> {
        Some(self.privileges.keys().cloned().collect())
    }

    fn account_name(&self, grant_id: i64) -> Option<String> {
        Some(format!("stint_{grant_id}_{}", random_suffix()))
    }

    async fn provision(&self, grant: &GrantFacts) -> Result<(), ConnectorError> {
        let role = account(grant)?;
        let statements = self.privileges.get(&grant.privilege).ok_or_else(|| {
            ConnectorError(format!(
                "the connector has no statements for privilege {}",
                grant.privilege
            ))
        })?;
        let quoted = quote_ident(role);
        // `VALID UNTIL` ends logins at the grant's expiry even if the broker is down then.
        let until = grant.expires_at.to_rfc3339();
        let mut conn = self.pool.acquire().await.map_err(|e| describe(&e))?;
        // One transaction: the role exists with all its privileges or not at all.
        let mut tx = conn.begin().await.map_err(|e| describe(&e))?;
        take_turn(&mut tx).await?;
        let create = if role_exists(&mut tx, role).await? {
            // An earlier attempt committed and then lost its answer.
            format!("ALTER ROLE {quoted} LOGIN VALID UNTIL '{until}'")
        } else {
            // No password yet: nobody can log in until the holder fetches a credential.
            format!("CREATE ROLE {quoted} LOGIN VALID UNTIL '{until}'")
        };
        sqlx::query(AssertSqlSafe(create))
            .execute(&mut *tx)
            .await
            .map_err(|e| describe(&e))?;
        // Ending its sessions and dropping what it owns needs the privileges of the role,
        // which an administrator with only CREATEROLE has by membership (PostgreSQL 16 no
        // longer grants it to the creator by itself). Harmless for a superuser.
        sqlx::query(AssertSqlSafe(format!("GRANT {quoted} TO CURRENT_USER")))
            .execute(&mut *tx)
            .await
            .map_err(|e| describe(&e))?;
        for statement in statements {
            sqlx::query(AssertSqlSafe(statement.replace(ROLE_PLACEHOLDER, &quoted)))
                .execute(&mut *tx)
                .await
                .map_err(|e| describe(&e))?;
        }
        tx.commit().await.map_err(|e| describe(&e))
    }

    async fn extend(&self, grant: &GrantFacts) -> Result<(), ConnectorError> {
        let Some(role) = grant.account.as_deref() else {
            // Never provisioned: its provisioning reads the new expiry.
            return Ok(());
        };
        let until = grant.expires_at.to_rfc3339();
        let mut conn = self.pool.acquire().await.map_err(|e| describe(&e))?;
        let mut tx = conn.begin().await.map_err(|e| describe(&e))?;
        take_turn(&mut tx).await?;
        // Only later: a slower attempt for an earlier extension must not shorten it, and a
        // role already dropped stays dropped.
        let earlier: Option<bool> = sqlx::query_scalar(
            "SELECT rolvaliduntil IS NULL OR rolvaliduntil < $2::timestamptz
             FROM pg_roles WHERE rolname = $1",
        )
        .bind(role)
        .bind(&until)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| describe(&e))?;
        if earlier == Some(true) {
            sqlx::query(AssertSqlSafe(format!(
                "ALTER ROLE {} VALID UNTIL '{until}'",
                quote_ident(role)
            )))
            .execute(&mut *tx)
            .await
            .map_err(|e| describe(&e))?;
        }
        tx.commit().await.map_err(|e| describe(&e))
    }

    async fn revoke(&self, grant: &GrantFacts) -> Result<Revoked, ConnectorError> {
        let Some(role) = grant.account.as_deref() else {
            // Never provisioned: nothing was made.
            return Ok(Revoked::default());
        };
        let quoted = quote_ident(role);
        let mut conn = self.pool.acquire().await.map_err(|e| describe(&e))?;
        // First no new logins, committed on its own, so no session can start after the
        // ones ended below. Taking the turn first waits for a provisioning of this role
        // that is still committing (an attempt whose lease ran out), so its role is seen.
        let mut tx = conn.begin().await.map_err(|e| describe(&e))?;
        take_turn(&mut tx).await?;
        if !role_exists(&mut tx, role).await? {
            return Ok(Revoked::default());
        }
        sqlx::query(AssertSqlSafe(format!("ALTER ROLE {quoted} NOLOGIN")))
            .execute(&mut *tx)
            .await
            .map_err(|e| describe(&e))?;
        tx.commit().await.map_err(|e| describe(&e))?;
        let sessions_ended: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (
                 SELECT pg_terminate_backend(pid, $2) AS ended
                 FROM pg_stat_activity WHERE usename = $1
             ) t WHERE ended",
        )
        .bind(role)
        .bind(TERMINATE_WAIT_MS)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| describe(&e))?;
        // A session that outlived the wait would outlive its role too: fail, and retry.
        let surviving: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE usename = $1")
                .bind(role)
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| describe(&e))?;
        if surviving > 0 {
            return Err(ConnectorError(format!(
                "{surviving} session(s) of the role did not end within {} s",
                TERMINATE_WAIT_MS / 1000
            )));
        }
        let mut tx = conn.begin().await.map_err(|e| describe(&e))?;
        take_turn(&mut tx).await?;
        for statement in [
            format!("REASSIGN OWNED BY {quoted} TO CURRENT_USER"),
            format!("DROP OWNED BY {quoted}"),
            format!("DROP ROLE {quoted}"),
        ] {
            sqlx::query(AssertSqlSafe(statement))
                .execute(&mut *tx)
                .await
                .map_err(|e| describe(&e))?;
        }
        tx.commit().await.map_err(|e| describe(&e))?;
        Ok(Revoked { sessions_ended })
    }

    async fn rotate_login(
        &self,
        grant: &GrantFacts,
    ) -> Result<Option<PostgresAccess>, ConnectorError> {
        let role = account(grant)?;
        let password = URL_SAFE_NO_PAD.encode(random_bytes::<32>());
        let salt = random_bytes::<16>();
        // The verifier is base64 and punctuation of its own: no quote can occur in it.
        let verifier = scram::verifier(&password, &salt);
        sqlx::query(AssertSqlSafe(format!(
            "ALTER ROLE {} PASSWORD '{verifier}'",
            quote_ident(role)
        )))
        .execute(&self.pool)
        .await
        .map_err(|e| describe(&e))?;
        Ok(Some(PostgresAccess {
            url: self.url(role, &password),
            host: self.host.clone(),
            port: self.port,
            database: self.database.clone(),
            username: role.to_string(),
            password,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_whatever_they_hold() {
        assert_eq!(quote_ident("stint_1_ab"), "\"stint_1_ab\"");
        assert_eq!(
            quote_ident("a\"; DROP ROLE x; --"),
            "\"a\"\"; DROP ROLE x; --\""
        );
    }

    // A Tokio context: the pool is made (lazily) with the connector.
    #[tokio::test]
    async fn role_names_are_the_brokers_own_and_fit_postgresql() {
        let spec = PostgresSpec {
            admin_url: "postgres://admin:pw@db.internal:6432/payments".into(),
            host: None,
            port: None,
            database: None,
            privileges: [("read".to_string(), vec!["GRANT x TO {{role}}".to_string()])].into(),
        };
        let pg = Postgres::new(&spec).unwrap();
        let a = pg.account_name(42).unwrap();
        let b = pg.account_name(42).unwrap();
        assert_ne!(a, b, "two roles for one grant id never collide");
        assert!(a.starts_with("stint_42_") && a.len() <= 63, "{a}");
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
        );
        assert_eq!(
            pg.url("stint_42_x", "p-w_d"),
            "postgres://stint_42_x:p-w_d@db.internal:6432/payments"
        );
    }
}
