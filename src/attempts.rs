//! Tries at a secret (a staff password, the teacher's exit PIN), counted over a window of
//! time: a guesser gets a few, then has to wait. A try counts as it begins, before the secret
//! is checked, so tries made side by side all count.

use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Attempts {
    limit: usize,
    window: Duration,
    recent: Vec<Instant>,
}

impl Attempts {
    pub fn new(limit: usize, window: Duration) -> Attempts {
        Attempts { limit, window, recent: Vec::new() }
    }

    /// Counts a try at `now`; `false` (and not counted) when the window already holds the limit.
    pub fn begin(&mut self, now: Instant) -> bool {
        self.recent.retain(|at| now.saturating_duration_since(*at) < self.window);
        if self.recent.len() >= self.limit {
            return false;
        }
        self.recent.push(now);
        true
    }

    /// The right secret: the count starts again.
    pub fn succeeded(&mut self) {
        self.recent.clear();
    }

    /// Whether no try is left in the window at `now` (the entry can be forgotten).
    pub fn is_idle(&self, now: Instant) -> bool {
        self.recent.iter().all(|at| now.saturating_duration_since(*at) >= self.window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_tries_then_a_wait_and_a_right_secret_starts_again() {
        let start = Instant::now();
        let mut attempts = Attempts::new(3, Duration::from_secs(60));
        assert!((0..3).all(|_| attempts.begin(start)));
        assert!(!attempts.begin(start + Duration::from_secs(59)), "the fourth within the window");
        assert!(attempts.begin(start + Duration::from_secs(61)), "the window has passed");
        assert!(!attempts.is_idle(start + Duration::from_secs(61)));
        attempts.succeeded();
        assert!(attempts.is_idle(start + Duration::from_secs(61)));
        assert!((0..3).all(|_| attempts.begin(start + Duration::from_secs(62))));
    }
}
