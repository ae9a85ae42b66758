//! The kiosk's activity log: every page a pupil opened, tried or searched for, Tell and Ask,
//! and the start and end of each pupil's session, kept on disk until the school server has
//! them.
//!
//! Recording is cheap (a lock and a push), because it happens on the UI thread during a
//! navigation; a writer thread appends what was recorded to the current **segment** file once
//! a second and fsyncs it. Segments are JSON lines named by their first sequence number; the
//! last sequence the server acknowledged is kept in `sent`, and segments wholly sent are
//! deleted. With the server away for weeks the log keeps at most [`Limits::max_events`]: the
//! oldest unsent segment goes, and a `dropped` event says how many events went with it, so the
//! safeguarding lead sees that a gap exists.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tracing::warn;

use crate::durable::{new_uuid, write_durably};
use crate::protocol::{ActivityEvent, Happening, SessionEnd};

/// How often recorded events reach the disk.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// How much the log holds.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub segment_events: u64,
    /// About 100 MB at ~200 bytes an event; a classroom kiosk makes a few thousand a day, so
    /// this is months without the server.
    pub max_events: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { segment_events: 10_000, max_events: 500_000 }
    }
}

pub struct ActivityLog {
    dir: PathBuf,
    limits: Limits,
    /// What the UI thread touches: held only to number and push an event.
    recording: Mutex<Recording>,
    /// The files: held while writing or reading them, never by the UI thread.
    files: Mutex<Files>,
    /// Requests to hosts that are not allowed, by host, since the current page opened.
    blocked_hosts: Mutex<HashMap<String, u32>>,
}

struct Recording {
    next_seq: u64,
    session: String,
    lesson: Option<String>,
    /// The page showing, to which blocked subresources are counted.
    page: Option<String>,
    pending: Vec<ActivityEvent>,
}

struct Files {
    log: String,
    /// The last sequence the server acknowledged.
    sent: u64,
    /// First sequence of each segment, oldest first; the last is the one appended to.
    segments: Vec<u64>,
    /// The next sequence the disk holds (one past the last written).
    written_to: u64,
}

impl ActivityLog {
    /// Opens the log in `dir` (creating it), ready to go on from where it stopped. A last line
    /// cut short by a crash is left where it is and skipped.
    pub fn open(dir: &Path, limits: Limits) -> io::Result<ActivityLog> {
        fs::create_dir_all(dir)?;
        let log_path = dir.join("log");
        let log = match fs::read_to_string(&log_path) {
            Ok(id) if !id.trim().is_empty() => id.trim().to_owned(),
            _ => {
                let id = new_uuid()?;
                write_durably(&log_path, id.as_bytes())?;
                id
            }
        };
        let sent = fs::read_to_string(dir.join("sent")).ok().and_then(|text| text.trim().parse().ok()).unwrap_or(0);
        let mut segments: Vec<u64> = fs::read_dir(dir)?
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.strip_suffix(".jsonl")?.parse().ok())
            .collect();
        segments.sort_unstable();
        let last_written = match segments.last() {
            Some(&first) => {
                read_segment(&segment_path(dir, first))?.iter().filter_map(sequence).max().unwrap_or(first - 1)
            }
            None => sent,
        };
        let written_to = last_written.max(sent) + 1;
        Ok(ActivityLog {
            dir: dir.to_owned(),
            limits,
            recording: Mutex::new(Recording {
                next_seq: written_to,
                session: new_uuid()?,
                lesson: None,
                page: None,
                pending: Vec::new(),
            }),
            files: Mutex::new(Files { log, sent, segments, written_to }),
            blocked_hosts: Mutex::new(HashMap::new()),
        })
    }

    /// The log's id: sequences count within it.
    pub fn id(&self) -> String {
        lock(&self.files).log.clone()
    }

    /// Notes one event; it reaches the disk with the next flush.
    pub fn record(&self, what: Happening) {
        let mut recording = lock(&self.recording);
        push(&mut recording, what);
    }

    /// A web page opened in the main frame: requests blocked for the page before it are
    /// counted to that page first. `false` when that page was already showing.
    pub fn opened(&self, url: &str) -> bool {
        let mut recording = self.settled();
        if recording.page.as_deref() == Some(url) {
            return false;
        }
        recording.page = Some(url.to_owned());
        push(&mut recording, Happening::Opened { url: url.to_owned() });
        true
    }

    /// One of Satchel's own pages (Home, the block page) is showing: not a page to log.
    pub fn own_page(&self) {
        self.settled().page = None;
    }

    /// The title of the web page showing, once it has one.
    pub fn titled(&self, title: &str) {
        let mut recording = lock(&self.recording);
        if let Some(url) = recording.page.clone().filter(|_| !title.trim().is_empty()) {
            push(&mut recording, Happening::Titled { url, title: title.to_owned() });
        }
    }

    /// A request to a host that is not allowed (from the proxy's threads).
    pub fn blocked_host(&self, host: &str) {
        let mut counts = lock(&self.blocked_hosts);
        // A page that asks for thousands of hosts is still one page: its count stays bounded.
        if counts.len() < 1_000 || counts.contains_key(host) {
            *counts.entry(host.to_owned()).or_default() += 1;
        }
    }

    /// The pupil's session ends (the kiosk wipes the view, or stops).
    pub fn end_session(&self, reason: SessionEnd) {
        let mut recording = self.settled();
        recording.page = None;
        push(&mut recording, Happening::SessionEnd { reason });
    }

    /// The next pupil's session starts, with an id of its own.
    pub fn start_session(&self) -> io::Result<()> {
        let session = new_uuid()?;
        let mut recording = lock(&self.recording);
        recording.session = session;
        push(&mut recording, Happening::SessionStart);
        Ok(())
    }

    /// The recording, with the blocked requests counted so far written to the page showing.
    fn settled(&self) -> MutexGuard<'_, Recording> {
        let counts = std::mem::take(&mut *lock(&self.blocked_hosts));
        let mut recording = lock(&self.recording);
        if let Some(page) = recording.page.clone() {
            let mut counts: Vec<(String, u32)> = counts.into_iter().collect();
            counts.sort();
            for (host, count) in counts {
                push(&mut recording, Happening::SubresourcesBlocked { page: page.clone(), host, count });
            }
        }
        recording
    }

    /// The lesson that later events happen in.
    pub fn set_lesson(&self, lesson: Option<String>) {
        lock(&self.recording).lesson = lesson;
    }

    /// Writes what was recorded to disk and fsyncs it. What cannot be written stays recorded
    /// for the next try.
    pub fn flush(&self) -> io::Result<()> {
        // The files first, so two flushes write their events in the order they were numbered.
        let mut files = lock(&self.files);
        let events = std::mem::take(&mut lock(&self.recording).pending);
        if events.is_empty() {
            return Ok(());
        }
        let written = self.append(&mut files, &events);
        if let Err(error) = written {
            let mut recording = lock(&self.recording);
            let mut again = events;
            again.append(&mut recording.pending);
            recording.pending = again;
            return Err(error);
        }
        let dropped = self.keep_within_limits(&mut files);
        drop(files);
        if dropped > 0 {
            warn!(dropped, "the activity log is full: the oldest unsent events were dropped");
            self.record(Happening::Dropped { count: dropped });
        }
        Ok(())
    }

    fn append(&self, files: &mut Files, events: &[ActivityEvent]) -> io::Result<()> {
        let mut text = Vec::with_capacity(events.len() * 200);
        for event in events {
            serde_json::to_writer(&mut text, event).map_err(io::Error::other)?;
            text.push(b'\n');
        }
        let first = events[0].seq;
        let starts_segment =
            files.segments.last().is_none_or(|&current| files.written_to - current >= self.limits.segment_events);
        if starts_segment {
            files.segments.push(first);
        }
        let path = segment_path(&self.dir, *files.segments.last().expect("a segment was just ensured"));
        let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
        // After a crash the last line may be cut short: start on a line of our own.
        if !starts_segment && ends_mid_line(&path)? {
            file.write_all(b"\n")?;
        }
        file.write_all(&text)?;
        file.sync_data()?;
        if starts_segment {
            File::open(&self.dir)?.sync_all()?;
        }
        files.written_to = events[events.len() - 1].seq + 1;
        Ok(())
    }

    /// Deletes the oldest segments beyond the limit; returns how many unsent events went.
    fn keep_within_limits(&self, files: &mut Files) -> u64 {
        let mut dropped = 0;
        while files.segments.len() > 1 && files.written_to - files.segments[0] > self.limits.max_events {
            let (first, next) = (files.segments[0], files.segments[1]);
            if fs::remove_file(segment_path(&self.dir, first)).is_err() {
                break;
            }
            files.segments.remove(0);
            dropped += next.saturating_sub(first.max(files.sent + 1));
        }
        dropped
    }

    /// Up to `limit` events the server has not acknowledged, oldest first, as written.
    pub fn unsent(&self, limit: usize) -> io::Result<Vec<Value>> {
        let files = lock(&self.files);
        let mut events = Vec::new();
        // Checked every second by the uploader: nothing to read when all is sent.
        if files.written_to <= files.sent + 1 {
            return Ok(events);
        }
        for (index, &first) in files.segments.iter().enumerate() {
            let wholly_sent = files.segments.get(index + 1).is_some_and(|&next| next <= files.sent + 1);
            if wholly_sent {
                continue;
            }
            for event in read_segment(&segment_path(&self.dir, first))? {
                if sequence(&event).is_some_and(|seq| seq > files.sent) && events.len() < limit {
                    events.push(event);
                }
            }
            if events.len() >= limit {
                break;
            }
        }
        Ok(events)
    }

    /// The server has every event up to `through`: remember it, and delete what is sent.
    pub fn acknowledge(&self, through: u64) -> io::Result<()> {
        let mut files = lock(&self.files);
        if through <= files.sent {
            return Ok(());
        }
        write_durably(&self.dir.join("sent"), through.to_string().as_bytes())?;
        files.sent = through;
        while files.segments.len() > 1 && files.segments[1] <= through + 1 {
            fs::remove_file(segment_path(&self.dir, files.segments[0]))?;
            files.segments.remove(0);
        }
        Ok(())
    }

    /// Flushes every [`FLUSH_EVERY`] on a thread of its own, for as long as the process runs.
    pub fn keep_flushing(self: &Arc<Self>) -> io::Result<()> {
        let log = Arc::clone(self);
        std::thread::Builder::new().name("satchel-activity".into()).spawn(move || loop {
            std::thread::sleep(FLUSH_EVERY);
            if let Err(error) = log.flush() {
                warn!(%error, "activity not written yet; it stays in memory for the next try");
            }
        })?;
        Ok(())
    }
}

fn push(recording: &mut Recording, what: Happening) {
    let event = ActivityEvent {
        seq: recording.next_seq,
        at: unix_millis(),
        session: recording.session.clone(),
        lesson: recording.lesson.clone(),
        what,
    };
    recording.next_seq += 1;
    recording.pending.push(event);
}

fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("{first:016}.jsonl"))
}

/// The events of one segment that can be read; a damaged line (a crash mid-write) is skipped.
fn read_segment(path: &Path) -> io::Result<Vec<Value>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut events = Vec::new();
    for (number, line) in BufReader::new(file).lines().enumerate() {
        let line = line?;
        match serde_json::from_str::<Value>(&line) {
            Ok(event) if sequence(&event).is_some() => events.push(event),
            _ => warn!(path = %path.display(), line = number + 1, "damaged activity line skipped"),
        }
    }
    Ok(events)
}

fn ends_mid_line(path: &Path) -> io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = File::open(path)?;
    if file.metadata()?.len() == 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8];
    file.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

fn sequence(event: &Value) -> Option<u64> {
    event.get("seq")?.as_u64()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not stop the log: its data is still whole.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn unix_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("satchel-activity-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn kinds(events: &[Value]) -> Vec<String> {
        events.iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect()
    }

    fn seqs(events: &[Value]) -> Vec<u64> {
        events.iter().map(|e| sequence(e).unwrap()).collect()
    }

    #[test]
    fn events_reach_the_disk_in_order_and_go_once_acknowledged() {
        let dir = temp("order");
        let log = ActivityLog::open(&dir, Limits::default()).unwrap();
        log.opened("https://a.test/");
        log.record(Happening::Searched {
            engine: "google".into(),
            terms: "cats".into(),
            url: "https://www.google.com/search?q=cats".into(),
        });
        assert!(log.unsent(10).unwrap().is_empty(), "nothing is sent before it is on disk");
        log.flush().unwrap();
        let events = log.unsent(10).unwrap();
        assert_eq!(kinds(&events), ["opened", "searched"]);
        assert_eq!(seqs(&events), [1, 2]);
        assert_eq!(events[1]["terms"], "cats");
        log.acknowledge(1).unwrap();
        assert_eq!(seqs(&log.unsent(10).unwrap()), [2]);
        log.acknowledge(2).unwrap();
        assert!(log.unsent(10).unwrap().is_empty());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_reopened_log_goes_on_with_its_id_sequence_and_acknowledgement() {
        let dir = temp("reopen");
        let log = ActivityLog::open(&dir, Limits::default()).unwrap();
        let id = log.id();
        (0..3).for_each(|_| log.record(Happening::SessionStart));
        log.flush().unwrap();
        log.acknowledge(2).unwrap();
        log.record(Happening::SessionStart);
        drop(log); // killed before the flush: the fourth event was never on disk
        let log = ActivityLog::open(&dir, Limits::default()).unwrap();
        assert_eq!(log.id(), id);
        assert_eq!(seqs(&log.unsent(10).unwrap()), [3]);
        log.opened("https://b.test/");
        log.flush().unwrap();
        assert_eq!(seqs(&log.unsent(10).unwrap()), [3, 4], "numbering goes on after the last event on disk");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_line_cut_short_by_a_crash_is_skipped_and_the_log_goes_on() {
        let dir = temp("torn");
        let log = ActivityLog::open(&dir, Limits::default()).unwrap();
        log.opened("https://a.test/");
        log.flush().unwrap();
        drop(log);
        let segment = segment_path(&dir, 1);
        let mut file = OpenOptions::new().append(true).open(&segment).unwrap();
        file.write_all(br#"{"seq":2,"at":1,"session":"s","kind":"ope"#).unwrap();
        let log = ActivityLog::open(&dir, Limits::default()).unwrap();
        log.opened("https://b.test/");
        log.flush().unwrap();
        let events = log.unsent(10).unwrap();
        assert_eq!(seqs(&events), [1, 2]);
        assert_eq!(events[1]["url"], "https://b.test/");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_full_log_drops_its_oldest_unsent_events_and_says_how_many() {
        let dir = temp("full");
        let log = ActivityLog::open(&dir, Limits { segment_events: 10, max_events: 30 }).unwrap();
        for batch in 0..5 {
            (0..10).for_each(|i| {
                log.opened(&format!("https://a.test/{batch}/{i}"));
            });
            log.flush().unwrap();
        }
        log.flush().unwrap(); // the `dropped` event itself
        let events = log.unsent(100).unwrap();
        let dropped: u64 = events.iter().filter(|e| e["kind"] == "dropped").map(|e| e["count"].as_u64().unwrap()).sum();
        // Kept: the last 30 or so numbers (two segments); gone: the three oldest segments.
        assert_eq!(dropped, 30);
        assert_eq!(events.iter().filter(|e| e["kind"] == "opened").count(), 20);
        assert_eq!(sequence(&events[0]), Some(31));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn blocked_requests_are_counted_per_host_to_the_page_that_made_them() {
        let dir = temp("hosts");
        let log = ActivityLog::open(&dir, Limits::default()).unwrap();
        log.opened("https://a.test/");
        log.titled("A page");
        (0..5).for_each(|_| log.blocked_host("ads.test"));
        log.blocked_host("track.test");
        log.opened("https://a.test/next");
        log.end_session(SessionEnd::Idle);
        log.start_session().unwrap();
        log.flush().unwrap();
        let mut events = log.unsent(100).unwrap();
        assert_eq!(
            kinds(&events),
            [
                "opened",
                "titled",
                "subresources-blocked",
                "subresources-blocked",
                "opened",
                "session-end",
                "session-start"
            ]
        );
        assert_eq!(events.remove(1)["title"], "A page");
        assert_eq!(
            (events[1]["host"].as_str(), events[1]["count"].as_u64(), events[1]["page"].as_str()),
            (Some("ads.test"), Some(5), Some("https://a.test/"))
        );
        assert_eq!(events[2]["host"], "track.test");
        assert_ne!(events[4]["session"], events[5]["session"], "a new pupil, a new session");
        assert_eq!(events[3]["session"], events[4]["session"]);
        fs::remove_dir_all(dir).unwrap();
    }
}
