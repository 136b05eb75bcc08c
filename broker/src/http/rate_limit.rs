//! Per-caller budgets of calls (introspection, token exchange, sign-ins through identity
//! providers), and the 429 a caller over its budget gets.

use super::AppError;
use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota};
use std::num::NonZeroU32;

/// Calls per minute each caller may make (bursts up to the same number).
pub fn limiter(per_minute: NonZeroU32) -> DefaultKeyedRateLimiter<String> {
    DefaultKeyedRateLimiter::keyed(Quota::per_minute(per_minute))
}

/// Lets `key` in unless it is over `limiter`'s rate; then 429, with the seconds to wait
/// read on the limiter's own clock (a new clock asks the CPU what it has, `cpuid`, a trap
/// to the hypervisor on a VM, and refusals are what a flood is made of).
pub fn within_limit(
    limiter: &DefaultKeyedRateLimiter<String>,
    key: &String,
) -> Result<(), AppError> {
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(limiter.clock().now());
        AppError::RateLimited(wait.as_secs() as i64 + 1)
    })
}
