//! Sign-in tries, made costly for the guesser rather than the owner.
//!
//! Tries are counted per **bucket**: an account name together with the client trying it. A
//! client is a browser that has signed in to that account before (its device cookie) or, for
//! every other browser, "elsewhere". A bucket gets [`FREE_TRIES`] tries, then each further try
//! must wait twice as long as the last (1 s, 2 s, 4 s … up to [`LONGEST_WAIT`]): a guesser
//! slows to a crawl, while the owner's own browser, in a bucket of its own, is never held up
//! by someone else's guesses. Names that are no account are counted the same way, so neither
//! the answer nor the wait tells whether a name exists.
//!
//! One server keeps its buckets in memory; replicas sharing a PostgreSQL database keep them
//! in it (`login_tries`), so that guesses spread over replicas count as one guesser's. Both
//! step a [`Bucket`] the same way.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Tries a bucket gets before it must wait.
pub const FREE_TRIES: u32 = 5;
/// The wait never grows past this: one guess per quarter of an hour.
pub const LONGEST_WAIT: Duration = Duration::from_secs(15 * 60);
/// Buckets kept at once; past this the stalest are forgotten (a flood of made-up names must
/// not grow the server's memory without end).
const MOST_BUCKETS: usize = 10_000;
/// A bucket with no try for this long after its wait ended is forgotten.
pub const FORGET_AFTER: Duration = Duration::from_secs(3600);

/// Who is trying: a browser that signed in to the account before, or anyone else.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Client {
    /// The SHA-256 of the browser's device cookie, known to belong to the account.
    Known(String),
    Elsewhere,
}

/// One bucket's tries, and when the next may be made (milliseconds on the keeper's clock;
/// a new bucket's is its first try).
#[derive(Clone, Copy, Debug)]
pub struct Bucket {
    pub tries: u32,
    pub next_allowed: u64,
}

impl Bucket {
    pub fn new(now: u64) -> Bucket {
        Bucket { tries: 0, next_allowed: now }
    }

    /// Whether it has been left alone long enough to be forgotten.
    pub fn is_stale(&self, now: u64) -> bool {
        now.saturating_sub(self.next_allowed) >= FORGET_AFTER.as_millis() as u64
    }

    /// Counts a try before its password is checked; `Err(wait)` when it must wait first.
    pub fn begin(&mut self, now: u64) -> Result<(), Duration> {
        if self.is_stale(now) {
            self.tries = 0;
        }
        if self.tries >= FREE_TRIES && now < self.next_allowed {
            return Err(Duration::from_millis(self.next_allowed - now));
        }
        self.tries += 1;
        if self.tries >= FREE_TRIES {
            self.next_allowed = now + wait_after(self.tries - FREE_TRIES).as_millis() as u64;
        }
        Ok(())
    }

    /// A wrong password, known once it was checked (which takes a while): the wait runs from
    /// now.
    pub fn failed(&mut self, now: u64) {
        if self.tries >= FREE_TRIES {
            self.next_allowed = self.next_allowed.max(now + wait_after(self.tries - FREE_TRIES).as_millis() as u64);
        }
    }
}

/// A hash no password matches, checked for names that are no account so that they take as
/// long as real ones (made once, with the same argon2 settings as every password).
pub fn stand_in_hash() -> &'static str {
    static STAND_IN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    STAND_IN.get_or_init(|| crate::secrets::hash("no account has this password").unwrap_or_default())
}

impl Client {
    /// The client as the shared buckets name it.
    pub fn key(&self) -> &str {
        match self {
            Client::Known(device) => device,
            Client::Elsewhere => "elsewhere",
        }
    }
}

/// The buckets of one server, in memory.
pub struct LoginGuard {
    buckets: Mutex<HashMap<(String, Client), Bucket>>,
    /// Where its clock starts.
    origin: Instant,
}

impl Default for LoginGuard {
    fn default() -> LoginGuard {
        LoginGuard { buckets: Mutex::default(), origin: Instant::now() }
    }
}

impl LoginGuard {
    fn millis(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.origin).as_millis() as u64
    }

    /// Counts a try before its password is checked (so tries sent side by side all count);
    /// `Err(wait)` when this bucket must wait that long first.
    pub fn begin(&self, name: &str, client: &Client, now: Instant) -> Result<(), Duration> {
        let now = self.millis(now);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MOST_BUCKETS {
            buckets.retain(|_, bucket| !bucket.is_stale(now));
            if buckets.len() >= MOST_BUCKETS {
                if let Some(stalest) =
                    buckets.iter().min_by_key(|(_, bucket)| bucket.next_allowed).map(|(key, _)| key.clone())
                {
                    buckets.remove(&stalest);
                }
            }
        }
        buckets.entry((name.to_owned(), client.clone())).or_insert(Bucket::new(now)).begin(now)
    }

    /// A wrong password, known once it was checked (which takes a while): the wait runs from
    /// now.
    pub fn failed(&self, name: &str, client: &Client, now: Instant) {
        let now = self.millis(now);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(bucket) = buckets.get_mut(&(name.to_owned(), client.clone())) {
            bucket.failed(now);
        }
    }

    /// The right password: this bucket starts again.
    pub fn succeeded(&self, name: &str, client: &Client) {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner()).remove(&(name.to_owned(), client.clone()));
    }
}

impl super::Server {
    /// Counts a sign-in try (see [`LoginGuard::begin`]): in memory, or with replicas in the
    /// shared database. A database that cannot be reached refuses the try (fail-closed).
    pub(super) fn login_begin(&self, name: &str, client: &Client) -> Result<(), Duration> {
        if !self.shares_login_tries() {
            return self.login_guard.begin(name, client, Instant::now());
        }
        let now = crate::activity::unix_millis();
        let store = self.store();
        let stepped = store
            .forget_stale_login_buckets(now.saturating_sub(FORGET_AFTER.as_millis() as u64))
            .and_then(|()| store.step_login_bucket(name, client.key(), now, |bucket| bucket.begin(now)));
        stepped.unwrap_or_else(|error| {
            tracing::warn!(%error, "cannot count a sign-in try: refused");
            Err(Duration::from_secs(60))
        })
    }

    /// A wrong password (see [`LoginGuard::failed`]).
    pub(super) fn login_failed(&self, name: &str, client: &Client) {
        if !self.shares_login_tries() {
            return self.login_guard.failed(name, client, Instant::now());
        }
        let now = crate::activity::unix_millis();
        if let Err(error) = self.store().step_login_bucket(name, client.key(), now, |bucket| bucket.failed(now)) {
            tracing::warn!(%error, "cannot count a wrong password");
        }
    }

    /// The right password (see [`LoginGuard::succeeded`]).
    pub(super) fn login_succeeded(&self, name: &str, client: &Client) {
        if !self.shares_login_tries() {
            return self.login_guard.succeeded(name, client);
        }
        if let Err(error) = self.store().forget_login_bucket(name, client.key()) {
            tracing::warn!(%error, "cannot forget the sign-in tries of a right password");
        }
    }

    fn shares_login_tries(&self) -> bool {
        self.database.is_shared()
    }
}

/// The wait after the `extra`-th try beyond the free ones: 1 s, doubling, at most
/// [`LONGEST_WAIT`].
fn wait_after(extra: u32) -> Duration {
    Duration::from_secs(1u64 << extra.min(20)).min(LONGEST_WAIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_free_tries_then_waits_that_double_up_to_a_quarter_of_an_hour() {
        let guard = LoginGuard::default();
        let start = Instant::now();
        assert!((0..5).all(|_| guard.begin("admin", &Client::Elsewhere, start).is_ok()), "five free tries");
        assert_eq!(guard.begin("admin", &Client::Elsewhere, start), Err(Duration::from_secs(1)));
        let mut at = start + Duration::from_secs(1);
        for expected in [2, 4, 8, 16] {
            assert!(guard.begin("admin", &Client::Elsewhere, at).is_ok());
            assert_eq!(guard.begin("admin", &Client::Elsewhere, at), Err(Duration::from_secs(expected)));
            at += Duration::from_secs(expected);
        }
        assert_eq!(wait_after(30), LONGEST_WAIT);
    }

    #[test]
    fn the_owners_browser_is_not_held_up_by_someone_elses_guesses() {
        let guard = LoginGuard::default();
        let now = Instant::now();
        for _ in 0..20 {
            let _ = guard.begin("dsl", &Client::Elsewhere, now);
        }
        assert!(guard.begin("dsl", &Client::Elsewhere, now).is_err());
        assert!(guard.begin("dsl", &Client::Known("device".into()), now).is_ok(), "the owner's own browser");
        guard.succeeded("dsl", &Client::Elsewhere);
        assert!(guard.begin("dsl", &Client::Elsewhere, now).is_ok(), "a right password starts again");
    }

    #[test]
    fn a_flood_of_names_keeps_memory_bounded() {
        let guard = LoginGuard::default();
        let now = Instant::now();
        for n in 0..(MOST_BUCKETS + 500) {
            let _ = guard.begin(&format!("name{n}"), &Client::Elsewhere, now);
        }
        assert!(guard.buckets.lock().unwrap().len() <= MOST_BUCKETS);
    }
}
