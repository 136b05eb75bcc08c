//! How password guessing is slowed: after a few failures in a window, each further failure
//! locks the account (or the address it came from) for twice as long as the last, up to a
//! cap. Backoff rather than a hard lock, so a legitimate user locked out by someone else's
//! guessing waits minutes, not for an admin.

/// The limits for one kind of key (an account, an address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures within the window that lock nothing.
    pub free_failures: u32,
    /// The first lockout, in seconds; each further failure doubles it.
    pub base_secs: i64,
    pub max_secs: i64,
    /// Failures older than this (since the last one) are forgotten.
    pub window_secs: i64,
}

/// Per account: a person mistyping is never slowed down; a guesser is, quickly.
pub const ACCOUNT: ThrottlePolicy = ThrottlePolicy {
    free_failures: 5,
    base_secs: 2,
    max_secs: 15 * 60,
    window_secs: 15 * 60,
};

/// Per address: more lenient, since many people may share one (an office's NAT).
pub const ADDRESS: ThrottlePolicy = ThrottlePolicy {
    free_failures: 20,
    base_secs: 2,
    max_secs: 15 * 60,
    window_secs: 15 * 60,
};

/// What one more failure does to a key's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// Failures counted in the window, this one included.
    pub failures: u32,
    /// How long the key is locked from now, if at all.
    pub lock_secs: Option<i64>,
}

impl ThrottlePolicy {
    /// A failure after `previous` failures, the last `since_last_secs` ago (`None`: none).
    pub fn fail(&self, previous: u32, since_last_secs: Option<i64>) -> Failure {
        let previous = match since_last_secs {
            Some(secs) if secs < self.window_secs => previous,
            _ => 0,
        };
        let failures = previous.saturating_add(1);
        let over = failures.saturating_sub(self.free_failures);
        let lock_secs = (over > 0).then(|| {
            let doublings = (over - 1).min(30);
            self.base_secs
                .saturating_mul(1i64 << doublings)
                .min(self.max_secs)
        });
        Failure {
            failures,
            lock_secs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_mistakes_lock_nothing_then_each_failure_doubles_the_wait_up_to_the_cap() {
        let mut failures = 0;
        let mut locks = Vec::new();
        for _ in 0..20 {
            let f = ACCOUNT.fail(failures, Some(1));
            failures = f.failures;
            locks.push(f.lock_secs);
        }
        assert_eq!(&locks[..5], &[None; 5]);
        assert_eq!(locks[5], Some(2));
        assert_eq!(locks[6], Some(4));
        assert_eq!(locks[7], Some(8));
        assert_eq!(locks[19], Some(15 * 60));
    }

    #[test]
    fn failures_outside_the_window_are_forgotten() {
        let f = ACCOUNT.fail(12, Some(ACCOUNT.window_secs));
        assert_eq!(
            f,
            Failure {
                failures: 1,
                lock_secs: None
            }
        );
        assert_eq!(ACCOUNT.fail(12, None).failures, 1);
    }
}
