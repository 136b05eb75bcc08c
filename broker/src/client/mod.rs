//! `stint request`, `grants`, `revoke` and `exec`: the client a pipeline or an agent runs
//! to ask a broker for access over HTTP, with its identity's token (`STINT_TOKEN`) or a
//! workload token its platform issued, exchanged first (`--oidc-token`).
//!
//! Progress goes to stderr and only what a script consumes to stdout, so
//! `DB_TOKEN=$(stint request … --wait)` works. The exit code says how it ended
//! ([`Exit`]).

mod exec;
mod http;
mod request;

pub use exec::exec;
pub use http::{Broker, ClientError};
pub use request::{
    AccessArgs, BrokerArgs, Extension, Output, connect, extend, fail, grants, release, request,
};

use std::time::Duration;

/// How a client command ended, as its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Granted (or done).
    Granted = 0,
    /// Anything went wrong: bad input, a refusal, the broker unreachable.
    Error = 1,
    Denied = 2,
    /// `--timeout` passed with the request still pending (it is cancelled).
    TimedOut = 3,
    /// The request expired undecided or was cancelled.
    ExpiredOrCancelled = 4,
}

/// A duration as people write it: `90s`, `15m`, `1h30m`, `2h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration like 15m or 1h30m: {e}"))?;
    if duration < Duration::from_secs(1) {
        return Err(format!("`{text}` is shorter than a second"));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("0s").is_err());
    }
}
