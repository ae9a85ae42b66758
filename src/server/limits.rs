//! What one kiosk may send: rates and quotas per kiosk, and caps on every field, so that one
//! kiosk's token (stolen, or a kiosk gone wrong) can neither fill the disk, nor swell the
//! console, nor bury real reports and asks under junk. The limits are generous for a real
//! classroom (a class of 30 sharing the room's machines; one machine sees one or two pupils at
//! a time) and far below what a flood needs; `docs/api.md` lists them.
//!
//! Rates are counted in memory: a restart forgets them, which at worst grants one more
//! allowance. Replicas on PostgreSQL count reports, feelings and asks in the database, so a
//! kiosk reaching several replicas has one allowance; heartbeats and activity batches, which
//! come every few seconds, stay with each replica (the log's own limits bound what they cost).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A report's page address, kept to this many bytes (cut, never refused: the report counts).
pub const URL_BYTES: usize = 8 * 1024;
/// A report's page title.
pub const TITLE_BYTES: usize = 1024;
/// A report's profile and lesson names.
pub const NAME_CHARS: usize = 200;
/// A heartbeat's state and Satchel version; longer ones are refused.
pub const STATE_CHARS: usize = 200;
pub const VERSION_CHARS: usize = 50;
/// Asks from one kiosk waiting for a teacher; a teacher's answer makes room.
pub const OPEN_ASKS: i64 = 100;
/// How long a kiosk at [`OPEN_ASKS`] is told to wait: a teacher answers within a lesson.
pub const OPEN_ASKS_WAIT: Duration = Duration::from_secs(600);
/// Screenshots stored for one kiosk; beyond it its reports are stored without them.
pub const SCREENSHOT_BYTES: u64 = 200 * 1024 * 1024;
/// Enrolment codes are 12 letters and digits; anything much longer is no code.
pub const CODE_CHARS: usize = 64;

/// What a kiosk sends, each counted apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Report,
    Feeling,
    Ask,
    Heartbeat,
    /// A batch of activity events.
    Activity,
}

/// At most `count` in any `window`.
struct Rate {
    count: usize,
    window: Duration,
}

const TEN_MINUTES: Duration = Duration::from_secs(600);
const DAY: Duration = Duration::from_secs(86_400);

/// A whole class telling about the same page within ten minutes is 30 reports (and 30
/// feelings); a day of lessons rarely sees a tenth of 200.
const REPORTS: &[Rate] = &[Rate { count: 30, window: TEN_MINUTES }, Rate { count: 200, window: DAY }];
/// Asks come more often: a pupil asks for each page a search leads to.
const ASKS: &[Rate] = &[Rate { count: 60, window: TEN_MINUTES }, Rate { count: 300, window: DAY }];
/// A kiosk sends its activity once a second while pupils browse, and catches up after an
/// outage at full speed: a thousand events a batch, two batches a second, is a week's backlog
/// in a few minutes.
const ACTIVITY: &[Rate] = &[Rate { count: 120, window: Duration::from_secs(60) }];
/// A kiosk beats once a minute.
const HEARTBEATS: &[Rate] = &[Rate { count: 1, window: Duration::from_secs(10) }];

impl Kind {
    /// Counted across replicas: what staff read, and a flood of which would bury the rest.
    fn shared_across_replicas(self) -> bool {
        matches!(self, Kind::Report | Kind::Feeling | Kind::Ask)
    }

    /// Its name in the database's shared counts.
    fn name(self) -> &'static str {
        match self {
            Kind::Report => "report",
            Kind::Feeling => "feeling",
            Kind::Ask => "ask",
            Kind::Heartbeat => "heartbeat",
            Kind::Activity => "activity",
        }
    }

    fn rates(self) -> &'static [Rate] {
        match self {
            Kind::Report | Kind::Feeling => REPORTS,
            Kind::Ask => ASKS,
            Kind::Heartbeat => HEARTBEATS,
            Kind::Activity => ACTIVITY,
        }
    }
}

/// When one kiosk sent one kind, as far back as its longest window: milliseconds on one
/// clock (the process's own in memory, the wall clock in the database).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SendLog(VecDeque<u64>);

impl SendLog {
    /// Counts one `kind` at `now`, or, over a limit, counts nothing and says how long until it
    /// may be sent again.
    pub fn take(&mut self, kind: Kind, now: u64) -> Result<(), Duration> {
        let times = &mut self.0;
        let window = |rate: &Rate| rate.window.as_millis() as u64;
        let longest = kind.rates().iter().map(window).max().unwrap_or_default();
        while times.front().is_some_and(|t| now.saturating_sub(*t) >= longest) {
            times.pop_front();
        }
        let wait = kind
            .rates()
            .iter()
            .filter_map(|rate| {
                let recent = times.iter().rev().take_while(|t| now.saturating_sub(**t) < window(rate)).count();
                // Room comes when the oldest of the last `count` leaves the window.
                (recent >= rate.count).then(|| (times[times.len() - rate.count] + window(rate)).saturating_sub(now))
            })
            .max();
        match wait {
            Some(wait) => Err(Duration::from_millis(wait).max(Duration::from_secs(1))),
            None => {
                times.push_back(now);
                Ok(())
            }
        }
    }

    /// As the database keeps it: the times, comma-separated.
    pub fn to_text(&self) -> String {
        self.0.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
    }

    /// From the database's text; a time that is not one is dropped (at worst, one more send).
    pub fn from_text(text: &str) -> SendLog {
        SendLog(text.split(',').filter_map(|time| time.parse().ok()).collect())
    }
}

/// What each kiosk sent lately, kind by kind, in this process.
pub struct KioskLimits {
    sent: Mutex<HashMap<(String, Kind), SendLog>>,
    /// The clock's zero: times are milliseconds since.
    epoch: Instant,
}

impl Default for KioskLimits {
    fn default() -> KioskLimits {
        KioskLimits { sent: Mutex::default(), epoch: Instant::now() }
    }
}

impl KioskLimits {
    /// Counts one `kind` from `kiosk` (see [`SendLog::take`]).
    pub fn take(&self, kiosk: &str, kind: Kind, now: Instant) -> Result<(), Duration> {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        let now = now.saturating_duration_since(self.epoch).as_millis() as u64;
        sent.entry((kiosk.to_owned(), kind)).or_default().take(kind, now)
    }
}

impl super::Server {
    /// Counts one `kind` from `kiosk`: in the database when replicas share it and the kind is
    /// counted across them (a database failure refuses it: the kiosk keeps it and sends it
    /// again), else in this process.
    pub(super) fn take_allowance(&self, kiosk: &str, kind: Kind) -> Result<(), Duration> {
        if !(kind.shared_across_replicas() && self.database.is_shared()) {
            return self.limits.take(kiosk, kind, Instant::now());
        }
        let now = crate::activity::unix_millis();
        self.store().step_send_log(kiosk, kind.name(), |log| log.take(kind, now)).unwrap_or_else(|error| {
            tracing::warn!(%error, "cannot count what a kiosk sent: refused for now");
            Err(Duration::from_secs(60))
        })
    }
}

/// Long polls one kiosk may hold at once: a kiosk holds one, a restart briefly two. Beyond
/// it the rules are answered at once, so a copied token cannot hold the server's descriptors.
pub const LONG_POLLS: usize = 4;

/// The long polls each kiosk holds now.
#[derive(Default)]
pub struct LongPolls(Mutex<HashMap<String, usize>>);

/// One long poll held; let go when dropped.
pub struct Held<'a> {
    polls: &'a LongPolls,
    kiosk: String,
}

impl LongPolls {
    /// Holds one more of the kiosk's long polls, or `None` when it holds [`LONG_POLLS`].
    pub fn hold(&self, kiosk: &str) -> Option<Held<'_>> {
        let mut held = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let count = held.entry(kiosk.to_owned()).or_default();
        if *count >= LONG_POLLS {
            return None;
        }
        *count += 1;
        Some(Held { polls: self, kiosk: kiosk.to_owned() })
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let mut held = self.polls.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = held.get_mut(&self.kiosk) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.kiosk);
            }
        }
    }
}

/// A wait as `Retry-After` gives it: whole seconds, rounded up.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// Cuts `text` to at most `most` bytes, on a character boundary, ending with `…` so a reader
/// sees it was cut.
pub fn cut_bytes(text: &mut String, most: usize) {
    if text.len() > most {
        let mut end = most - '…'.len_utf8();
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
}

/// Cuts `text` to at most `most` characters, the last of them `…`.
pub fn cut_chars(text: &mut String, most: usize) {
    if text.chars().nth(most).is_some() {
        let end = text.char_indices().nth(most - 1).map_or(0, |(index, _)| index);
        text.truncate(end);
        text.push('…');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kiosk_holds_a_few_long_polls_and_one_let_go_makes_room() {
        let polls = LongPolls::default();
        let held: Vec<_> = (0..LONG_POLLS).map(|_| polls.hold("k1").expect("within the limit")).collect();
        assert!(polls.hold("k1").is_none(), "one too many");
        assert!(polls.hold("k2").is_some(), "another kiosk has its own");
        drop(held);
        assert!(polls.hold("k1").is_some());
        assert!(polls.0.lock().unwrap().get("k2").is_none(), "nothing kept for a kiosk holding none");
    }

    #[test]
    fn thirty_reports_in_ten_minutes_then_a_wait_until_the_oldest_leaves_the_window() {
        let limits = KioskLimits::default();
        let start = Instant::now();
        for minute in 0..30 {
            assert!(limits.take("k1", Kind::Report, start + Duration::from_secs(minute * 10)).is_ok());
        }
        let at = start + Duration::from_secs(300);
        assert_eq!(
            limits.take("k1", Kind::Report, at),
            Err(Duration::from_secs(300)),
            "the first leaves the window at 10 minutes"
        );
        assert!(limits.take("k2", Kind::Report, at).is_ok(), "another kiosk has its own allowance");
        assert!(limits.take("k1", Kind::Ask, at).is_ok(), "and each kind its own");
        assert!(
            limits.take("k1", Kind::Report, start + TEN_MINUTES).is_ok(),
            "room again once the first is ten minutes old"
        );
    }

    #[test]
    fn two_hundred_reports_a_day_however_they_are_spread() {
        let limits = KioskLimits::default();
        let start = Instant::now();
        // 25 every 20 minutes stays under the ten-minute rate.
        let mut at = start;
        for n in 0..200 {
            at = start + Duration::from_secs((n / 25) * 1200);
            assert!(limits.take("k1", Kind::Report, at).is_ok(), "report {n}");
        }
        let next = at + Duration::from_secs(1200);
        assert_eq!(
            limits.take("k1", Kind::Report, next),
            Err(DAY - (next - start)),
            "until the day's first is a day old"
        );
        assert!(limits.take("k1", Kind::Report, start + DAY).is_ok());
    }

    #[test]
    fn one_heartbeat_in_ten_seconds() {
        let limits = KioskLimits::default();
        let start = Instant::now();
        assert!(limits.take("k1", Kind::Heartbeat, start).is_ok());
        assert_eq!(
            limits.take("k1", Kind::Heartbeat, start + Duration::from_millis(2500)),
            Err(Duration::from_millis(7500))
        );
        assert_eq!(retry_after_seconds(Duration::from_millis(7500)), 8);
        assert!(limits.take("k1", Kind::Heartbeat, start + Duration::from_secs(10)).is_ok());
    }

    #[test]
    fn a_send_log_goes_to_the_database_and_back_whole() {
        let mut log = SendLog::default();
        for at in [1_795_000_000_000, 1_795_000_001_000] {
            log.take(Kind::Ask, at).unwrap();
        }
        assert_eq!(SendLog::from_text(&log.to_text()), log);
        assert_eq!(SendLog::from_text(""), SendLog::default());
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary_and_marked() {
        let mut title = "é".repeat(600);
        cut_bytes(&mut title, TITLE_BYTES);
        assert!(title.len() <= TITLE_BYTES && title.ends_with('…'), "{}", title.len());
        let mut short = "Phonics".to_owned();
        cut_bytes(&mut short, TITLE_BYTES);
        cut_chars(&mut short, NAME_CHARS);
        assert_eq!(short, "Phonics");
        let mut name = "ŵ".repeat(201);
        cut_chars(&mut name, NAME_CHARS);
        assert_eq!(name.chars().count(), NAME_CHARS);
        assert!(name.ends_with("ŵ…"));
        let mut exact = "a".repeat(NAME_CHARS);
        cut_chars(&mut exact, NAME_CHARS);
        assert_eq!(exact.len(), NAME_CHARS, "a name of exactly the cap is kept whole");
    }
}
