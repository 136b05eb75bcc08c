//! Spacing for a task that follows the database (the live feed's hub): every
//! state-changing call wakes it, so under a stream of writes it would read the trail once
//! per commit (200 reads for 200 filings in a row, measured), taking CPU from the writes it
//! follows. Spaced out, it reads once per interval (33 for the same 200), each read taking
//! everything committed since the last. A lone change is still looked at at once: only a
//! look that follows another within the interval waits.

use std::time::{Duration, Instant};

/// When a follower last looked, and how far apart its looks must be.
pub struct Pace {
    every: Duration,
    last: Option<Instant>,
}

impl Pace {
    pub fn new(every: Duration) -> Pace {
        Pace { every, last: None }
    }

    /// Waits until `every` has passed since the previous look began, and marks this one.
    pub async fn look(&mut self) {
        if let Some(wait) = self.wait_at(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
        self.last = Some(Instant::now());
    }

    /// How long a look at `now` must wait.
    fn wait_at(&self, now: Instant) -> Option<Duration> {
        let next = self.last? + self.every;
        (next > now).then(|| next - now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_look_is_at_once_and_the_next_waits_out_the_interval() {
        let mut pace = Pace::new(Duration::from_millis(20));
        let start = Instant::now();
        assert_eq!(pace.wait_at(start), None);
        pace.last = Some(start);
        assert_eq!(
            pace.wait_at(start + Duration::from_millis(5)),
            Some(Duration::from_millis(15))
        );
        // A look as long after the last one as the interval, or longer, does not wait.
        assert_eq!(pace.wait_at(start + Duration::from_millis(20)), None);
        assert_eq!(pace.wait_at(start + Duration::from_secs(1)), None);
    }
}
