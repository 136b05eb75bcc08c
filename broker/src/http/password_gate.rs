//! The throttle every password check goes through — sign-in, break-glass re-entry, a
//! password change — keyed by the account and the caller's address.

use super::AppState;
use super::error::AppError;
use crate::store::audit::{Actor, ORIGIN};
use crate::store::{FailedPassword, account_key, address_key};
use chrono::{DateTime, Utc};

/// The throttle keys of one password attempt.
pub struct PasswordGate {
    account: String,
    address: Option<String>,
}

impl PasswordGate {
    /// Opens the gate for `account_name` (a username, or a pseudonym for a name no account
    /// has) from the TCP peer of the call being served; 429 while either key is locked,
    /// checked before any password is hashed, so a locked caller costs nothing either.
    pub async fn check(
        state: &AppState,
        account_name: &str,
        now: DateTime<Utc>,
    ) -> Result<PasswordGate, AppError> {
        let gate = PasswordGate {
            account: account_key(account_name),
            address: client_address().map(|ip| address_key(&ip)),
        };
        let keys: Vec<String> = std::iter::once(gate.account.clone())
            .chain(gate.address.clone())
            .collect();
        match state.store.login_locked_until(&keys, now).await? {
            Some(until) => Err(AppError::throttled_until(until, now)),
            None => Ok(gate),
        }
    }

    /// Counts and records a wrong password against both keys.
    pub async fn failed(
        self,
        state: &AppState,
        action: &'static str,
        actor: Actor<'_>,
        target_user: Option<i64>,
        details: serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let attempt = FailedPassword {
            action,
            actor,
            target_user,
            account_key: self.account,
            address_key: self.address,
            details,
        };
        state.store.record_failed_password(&attempt, now).await?;
        Ok(())
    }
}

/// The TCP peer of the call being served, if it came over a socket.
fn client_address() -> Option<String> {
    ORIGIN.try_with(|o| o.source_ip.clone()).ok().flatten()
}
