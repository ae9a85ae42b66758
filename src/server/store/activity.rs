//! The activity log on the server: every event each kiosk sent, once per (kiosk, log,
//! sequence), with a full-text index over its address, title and search words.

use std::collections::{BTreeMap, HashMap};

use super::engine::{params, Kind, Optional, Param, Row};
use super::{rooms_seen_by, KioskRow, Result, Store, User};
use crate::protocol::{ActivityEvent, Happening};

/// The log's first schema (rebuilt by [`KEYED_MIGRATION`]; migrations run in order, so it
/// stays as it shipped).
pub(super) const MIGRATION: &str = r#"
CREATE TABLE activity (
    id INTEGER PRIMARY KEY, kiosk_id TEXT NOT NULL, log TEXT NOT NULL, seq INTEGER NOT NULL,
    at INTEGER NOT NULL, received_at INTEGER NOT NULL, room_id INTEGER, session TEXT NOT NULL, lesson TEXT,
    kind TEXT NOT NULL, url TEXT, title TEXT, terms TEXT, engine TEXT, rule TEXT, category TEXT, reason TEXT,
    host TEXT, count INTEGER, item TEXT,
    UNIQUE (kiosk_id, log, seq));
CREATE INDEX activity_at ON activity (at);
CREATE INDEX activity_session ON activity (session, at);
CREATE INDEX activity_kiosk ON activity (kiosk_id, at);
CREATE VIRTUAL TABLE activity_text USING fts5 (url, title, terms, content = 'activity', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2');
CREATE TRIGGER activity_text_add AFTER INSERT ON activity BEGIN
    INSERT INTO activity_text (rowid, url, title, terms) VALUES (new.id, new.url, new.title, new.terms);
END;
CREATE TRIGGER activity_text_remove AFTER DELETE ON activity BEGIN
    INSERT INTO activity_text (activity_text, rowid, url, title, terms) VALUES ('delete', old.id, old.url, old.title, old.terms);
END;
"#;

/// Each machine's blocked pages by time, apart from its other rows: the repeated-blocks alert
/// counts them at every batch, and a busy machine's other rows need not be read to do it.
pub(super) const BLOCKS_MIGRATION: &str =
    "CREATE INDEX activity_blocks ON activity (kiosk_id, at) WHERE kind = 'blocked';";

/// The log rebuilt for a thousand kiosks' ingest: rows keyed by small numbers (a machine's,
/// a session's) instead of UUID text; sequences kept once per kiosk log (a kiosk sends in
/// order, so what it has sent is a high-water mark, not a unique index on every row); a day
/// table mapping dates to row ids (so neither ingest nor a date search needs an index on
/// time); each machine's page now kept with its machine (so Room now reads one row, not the
/// log); and one contentless full-text index that holds the words and, as tags, each row's
/// kind, room and machine, so that any filter is one index lookup. The index keeps which
/// column a word is in but not its place (no phrase searches are made), and every word's first
/// three letters as a term of their own, so a short prefix ("bbc") is read newest first and
/// stops at a page's end instead of gathering every word it starts.
pub(super) const KEYED_MIGRATION: &str = r#"
CREATE TABLE activity_machines (
    number INTEGER PRIMARY KEY, kiosk_id TEXT UNIQUE NOT NULL, session INTEGER, page_url TEXT, page_title TEXT,
    page_at INTEGER, blocked_url TEXT, blocked_at INTEGER, blocked_session INTEGER);
CREATE TABLE activity_sessions (id INTEGER PRIMARY KEY, machine INTEGER NOT NULL, name TEXT NOT NULL, UNIQUE (machine, name));
CREATE TABLE activity_logs (machine INTEGER NOT NULL, log TEXT NOT NULL, through INTEGER NOT NULL, PRIMARY KEY (machine, log)) WITHOUT ROWID;
CREATE TABLE activity_days (day INTEGER PRIMARY KEY, first_id INTEGER NOT NULL, last_id INTEGER NOT NULL);
CREATE TABLE activity_keyed (
    id INTEGER PRIMARY KEY, machine INTEGER NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL, received_at INTEGER NOT NULL,
    room_id INTEGER, session INTEGER NOT NULL, lesson TEXT, kind TEXT NOT NULL, url TEXT, title TEXT, terms TEXT, engine TEXT,
    rule TEXT, category TEXT, reason TEXT, host TEXT, count INTEGER, item TEXT);
INSERT INTO activity_machines (kiosk_id) SELECT DISTINCT kiosk_id FROM activity ORDER BY kiosk_id;
INSERT INTO activity_sessions (machine, name)
    SELECT DISTINCT m.number, a.session FROM activity a JOIN activity_machines m ON m.kiosk_id = a.kiosk_id ORDER BY a.id;
INSERT INTO activity_keyed
    SELECT a.id, m.number, a.seq, a.at, a.received_at, a.room_id, s.id, a.lesson, a.kind, a.url, a.title, a.terms, a.engine, a.rule,
        a.category, a.reason, a.host, a.count, a.item
    FROM activity a JOIN activity_machines m ON m.kiosk_id = a.kiosk_id JOIN activity_sessions s ON s.machine = m.number AND s.name = a.session;
INSERT INTO activity_logs SELECT m.number, a.log, max(a.seq) FROM activity a JOIN activity_machines m ON m.kiosk_id = a.kiosk_id GROUP BY 1, 2;
INSERT INTO activity_days SELECT at / 86400000, min(id), max(id) FROM activity GROUP BY 1;
ALTER TABLE alerts ADD COLUMN session_id INTEGER;
UPDATE alerts SET session_id = (SELECT s.id FROM activity_sessions s JOIN activity_machines m ON m.number = s.machine
    WHERE m.kiosk_id = alerts.kiosk_id AND s.name = alerts.session);
DROP TABLE activity_text;
DROP TABLE activity;
ALTER TABLE activity_keyed RENAME TO activity;
CREATE INDEX activity_session ON activity (session);
CREATE INDEX activity_blocks ON activity (machine, at) WHERE kind = 'blocked';
CREATE VIRTUAL TABLE activity_text USING fts5 (
    words, tags, content = '', contentless_delete = 1, detail = column, prefix = '3', tokenize = 'unicode61 remove_diacritics 2');
INSERT INTO activity_text (rowid, words, tags)
    SELECT id, concat_ws(' ', url, title, terms, host), 'k' || replace(kind, '-', '') || ' r' || coalesce(room_id, 0) || ' m' || machine FROM activity;
CREATE TRIGGER activity_text_remove AFTER DELETE ON activity BEGIN DELETE FROM activity_text WHERE rowid = old.id; END;
"#;

/// A day in Unix milliseconds: the unit of the day table.
const DAY_MS: u64 = 86_400_000;

/// One kiosk's batch, checked and ready to store.
pub struct ActivityBatchRow<'a> {
    pub kiosk: &'a KioskRow,
    pub log: &'a str,
    pub events: &'a [ActivityEvent],
}

/// A batch's events that were new, as stored.
#[derive(Debug, Default)]
pub struct StoredBatch {
    /// The kiosk's number in the log.
    pub machine: i64,
    /// Each new event: its index in the batch, its row and its session's id.
    pub rows: Vec<StoredEvent>,
}

#[derive(Clone, Copy, Debug)]
pub struct StoredEvent {
    pub index: usize,
    pub row: i64,
    pub session: i64,
}

/// The columns an event fills besides its envelope.
#[derive(Default)]
struct Columns<'e> {
    url: Option<&'e str>,
    title: Option<&'e str>,
    terms: Option<&'e str>,
    engine: Option<&'e str>,
    rule: Option<&'e str>,
    category: Option<&'e str>,
    reason: Option<&'e str>,
    host: Option<&'e str>,
    count: Option<i64>,
    item: Option<&'e str>,
}

impl Columns<'_> {
    /// What the full-text index holds of the row: its address, title, search words and host.
    /// An address's scheme and `www.` are left out: on nearly every row, they would cost the
    /// writer a term each and find nothing anyone looks for.
    fn words(&self) -> String {
        let mut words = String::new();
        let url = self.url.map(|url| {
            let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")).unwrap_or(url);
            rest.strip_prefix("www.").unwrap_or(rest)
        });
        for text in [url, self.title, self.terms, self.host].into_iter().flatten() {
            if !words.is_empty() {
                words.push(' ');
            }
            words.push_str(text);
        }
        words
    }
}

fn columns(what: &Happening) -> Columns<'_> {
    match what {
        Happening::SessionStart => Columns::default(),
        Happening::SessionEnd { reason } => Columns { reason: Some(session_end_name(*reason)), ..Columns::default() },
        Happening::Opened { url } => Columns { url: Some(url), ..Columns::default() },
        Happening::Titled { url, title } => Columns { url: Some(url), title: Some(title), ..Columns::default() },
        Happening::Blocked { url, rule, category, reason } => Columns {
            url: Some(url),
            rule: rule.as_deref(),
            category: category.as_deref(),
            reason: Some(reason),
            ..Columns::default()
        },
        Happening::Searched { engine, terms, url } => {
            Columns { url: Some(url), terms: Some(terms), engine: Some(engine), ..Columns::default() }
        }
        Happening::Told { url, report } => Columns { url: Some(url), item: Some(report), ..Columns::default() },
        Happening::Asked { url, ask } => Columns { url: Some(url), item: Some(ask), ..Columns::default() },
        Happening::SubresourcesBlocked { page, host, count } => {
            Columns { url: Some(page), host: Some(host), count: Some(i64::from(*count)), ..Columns::default() }
        }
        Happening::Dropped { count } => {
            Columns { count: Some(i64::try_from(*count).unwrap_or(i64::MAX)), ..Columns::default() }
        }
    }
}

fn session_end_name(reason: crate::protocol::SessionEnd) -> &'static str {
    use crate::protocol::SessionEnd;
    match reason {
        SessionEnd::Idle => "idle",
        SessionEnd::Home => "home",
        SessionEnd::Told => "told",
        SessionEnd::LessonEnded => "lesson-ended",
        SessionEnd::Exit => "exit",
    }
}

/// The full-text tags of a row's kind, room and machine: single tokens (the tokenizer splits
/// at dashes) in their own column, so no word typed in the search box can match them.
fn kind_tag(kind: &str) -> String {
    format!("k{}", kind.replace('-', ""))
}

fn tags(kind: &str, room_id: i64, machine: i64) -> String {
    format!("{} r{room_id} m{machine}", kind_tag(kind))
}

/// A page's address and title (once known), or `None` for Satchel's own pages.
type Showing<'e> = Option<(&'e str, Option<&'e str>)>;

/// What a machine was last seen doing in a batch, for Room now.
#[derive(Default)]
struct Latest<'e> {
    /// The page showing, by the kiosk's clock: (at, session, what it shows).
    page: Option<(u64, i64, Showing<'e>)>,
    /// The latest page blocked: (at, session, address).
    blocked: Option<(u64, i64, &'e str)>,
}

/// An event's row, its 18 columns numbered `?1` to `?18`.
const EVENT_INSERT: &str = "INSERT INTO activity (machine, seq, at, received_at, room_id, session, lesson, kind, url, title, terms, engine, rule, category, reason, host, count, item)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)";

impl Store {
    /// Stores several kiosks' batches (call it inside a transaction: see
    /// [`Store::in_transaction`]). An event at or below its log's highest stored sequence is
    /// already stored (a kiosk sends its log in order), so a batch sent again stores nothing
    /// twice. Returns, per batch, the events that were new.
    pub fn add_activity(&self, batches: &[ActivityBatchRow<'_>], now: u64) -> Result<Vec<StoredBatch>> {
        let mut days: BTreeMap<u64, (i64, i64)> = BTreeMap::new();
        let mut stored = Vec::with_capacity(batches.len());
        for batch in batches {
            let machine = self.machine_number(&batch.kiosk.id)?;
            let through = self
                .query_row(
                    "SELECT through FROM activity_logs WHERE machine = ?1 AND log = ?2",
                    params![machine, batch.log],
                    |row| row.get::<i64>(0),
                )
                .optional()?
                .unwrap_or(0);
            let (mut newest, mut sessions, mut latest) = (through, HashMap::new(), Latest::default());
            let mut rows = Vec::new();
            for (position, event) in batch.events.iter().enumerate() {
                let seq = i64::try_from(event.seq).unwrap_or(i64::MAX);
                if seq <= newest {
                    continue;
                }
                newest = seq;
                let session = match sessions.get(event.session.as_str()) {
                    Some(&id) => id,
                    None => {
                        let id = self.session_id(machine, &event.session)?;
                        sessions.insert(event.session.as_str(), id);
                        id
                    }
                };
                let c = columns(&event.what);
                let kind = event.what.kind();
                let row = self.add_indexed_event(
                    &c.words(),
                    &tags(kind, batch.kiosk.room_id, machine),
                    params![
                        machine,
                        seq,
                        event.at as i64,
                        now as i64,
                        batch.kiosk.room_id,
                        session,
                        event.lesson,
                        kind,
                        c.url,
                        c.title,
                        c.terms,
                        c.engine,
                        c.rule,
                        c.category,
                        c.reason,
                        c.host,
                        c.count,
                        c.item
                    ],
                )?;
                days.entry(event.at / DAY_MS)
                    .and_modify(|(first, last)| (*first, *last) = ((*first).min(row), (*last).max(row)))
                    .or_insert((row, row));
                latest.see(event, session);
                rows.push(StoredEvent { index: position, row, session });
            }
            if newest > through {
                self.execute(
                    "INSERT INTO activity_logs (machine, log, through) VALUES (?1, ?2, ?3) ON CONFLICT (machine, log) DO UPDATE SET through = excluded.through",
                    params![machine, batch.log, newest],
                )?;
            }
            self.note_latest(machine, &latest)?;
            stored.push(StoredBatch { machine, rows });
        }
        for (number, (first, last)) in days {
            self.execute(
                "INSERT INTO activity_days (day, first_id, last_id) VALUES (?1, ?2, ?3)
                 ON CONFLICT (day) DO UPDATE SET first_id = CASE WHEN excluded.first_id < activity_days.first_id THEN excluded.first_id ELSE activity_days.first_id END,
                    last_id = CASE WHEN excluded.last_id > activity_days.last_id THEN excluded.last_id ELSE activity_days.last_id END",
                params![number as i64, first, last],
            )?;
        }
        Ok(stored)
    }

    /// Adds an event (`columns`, as [`EVENT_INSERT`] names them) and its words and tags to the
    /// full-text index; returns its id. SQLite's FTS5 splits the words itself; PostgreSQL is
    /// given them split the same way (see [`lexemes`]), so that both find the same rows, in
    /// the same statement as the event: one round trip to the database each.
    fn add_indexed_event(&self, words: &str, tags: &str, columns: &[Param<'_>]) -> Result<i64> {
        match self.db.kind() {
            Kind::Sqlite => {
                let row = self.query_row(&format!("{EVENT_INSERT} RETURNING id"), columns, |row| row.get::<i64>(0))?;
                self.execute(
                    "INSERT INTO activity_text (rowid, words, tags) VALUES (?1, ?2, ?3)",
                    params![row, words, tags],
                )?;
                Ok(row)
            }
            Kind::Postgres => {
                let (words, tags) = (lexemes(words).join(" "), tags.to_owned());
                let values: Vec<Param<'_>> =
                    columns.iter().copied().chain([Param::Text(&words), Param::Text(&tags)]).collect();
                self.query_row(
                    &format!(
                        "WITH added AS ({EVENT_INSERT} RETURNING id)
                         INSERT INTO activity_text (rowid, words, tags)
                         SELECT id, array_to_tsvector(string_to_array(?19, ' ')), array_to_tsvector(string_to_array(?20, ' '))
                         FROM added RETURNING rowid"
                    ),
                    &values,
                    |row| row.get::<i64>(0),
                )
            }
        }
    }

    /// The kiosk's number in the log, given on its first event.
    fn machine_number(&self, kiosk_id: &str) -> Result<i64> {
        self.find_or_add(
            "SELECT number FROM activity_machines WHERE kiosk_id = ?1",
            "INSERT INTO activity_machines (kiosk_id) VALUES (?1) RETURNING number",
            params![kiosk_id],
        )
    }

    /// A sitting's id: sessions are named by their kiosk, so one kiosk cannot add rows to
    /// another's timeline by naming its session.
    fn session_id(&self, machine: i64, name: &str) -> Result<i64> {
        self.find_or_add(
            "SELECT id FROM activity_sessions WHERE machine = ?1 AND name = ?2",
            "INSERT INTO activity_sessions (machine, name) VALUES (?1, ?2) RETURNING id",
            params![machine, name],
        )
    }

    /// The row `find` finds, or else the one `add` adds (with the same parameters; `add`
    /// returns its id).
    fn find_or_add(&self, find: &str, add: &str, values: &[Param<'_>]) -> Result<i64> {
        if let Some(id) = self.query_row(find, values, |row| row.get(0)).optional()? {
            return Ok(id);
        }
        self.query_row(add, values, |row| row.get(0))
    }

    /// Room now's row for a machine, unless a later event is already there (a batch held
    /// back by an outage arrives after newer ones).
    fn note_latest(&self, machine: i64, latest: &Latest<'_>) -> Result<()> {
        if let Some((at, session, page)) = latest.page {
            let (url, title) = page.map_or((None, None), |(url, title)| (Some(url), title));
            self.execute(
                "UPDATE activity_machines SET session = ?2, page_url = ?3, page_title = ?4, page_at = ?5 WHERE number = ?1 AND coalesce(page_at, 0) <= ?5",
                params![machine, session, url, title, at as i64],
            )?;
        }
        if let Some((at, session, url)) = latest.blocked {
            self.execute(
                "UPDATE activity_machines SET blocked_url = ?2, blocked_at = ?3, blocked_session = ?4 WHERE number = ?1 AND coalesce(blocked_at, 0) <= ?3",
                params![machine, url, at as i64, session],
            )?;
        }
        Ok(())
    }

    /// Deletes activity from before `cutoff` (Unix milliseconds), a slice at a time so that
    /// kiosks and staff are never kept waiting long; returns how many went.
    pub fn expire_activity(&self, cutoff: u64, slice: usize) -> Result<usize> {
        let cutoff_day = (cutoff / DAY_MS) as i64;
        let last: Option<i64> =
            self.query_row("SELECT max(last_id) FROM activity_days WHERE day <= ?1", params![cutoff_day], |row| {
                row.get(0)
            })?;
        let Some(last) = last else { return Ok(0) };
        let deleted = self.execute(
            "DELETE FROM activity WHERE id IN (SELECT id FROM activity WHERE id <= ?1 AND at < ?2 ORDER BY id LIMIT ?3)",
            params![last, cutoff as i64, slice as i64],
        )?;
        if deleted < slice {
            self.execute("DELETE FROM activity_days WHERE day < ?1", params![cutoff_day])?;
        }
        Ok(deleted)
    }
}

impl<'e> Latest<'e> {
    fn see(&mut self, event: &'e ActivityEvent, session: i64) {
        let page = match &event.what {
            Happening::Opened { url } => Some((url.as_str(), None)),
            Happening::Titled { url, title } => Some((url.as_str(), Some(title.as_str()))),
            Happening::SessionStart | Happening::SessionEnd { .. } => None,
            Happening::Blocked { url, .. } => {
                if self.blocked.is_none_or(|(at, _, _)| at <= event.at) {
                    self.blocked = Some((event.at, session, url));
                }
                return;
            }
            _ => return,
        };
        if self.page.is_none_or(|(at, _, _)| at <= event.at) {
            self.page = Some((event.at, session, page));
        }
    }
}

/// What the DSL looks for in the log; every part is optional.
#[derive(Clone, Debug, Default)]
pub struct ActivityFilter {
    /// Words that the address, title or search terms hold (each word, or for a word of three
    /// letters or more, a word it starts).
    pub words: Vec<String>,
    pub room_id: Option<i64>,
    pub kiosk_id: Option<String>,
    /// Unix milliseconds: from (inclusive) and until (exclusive).
    pub from: Option<u64>,
    pub until: Option<u64>,
    pub kind: Option<String>,
    /// Only rows older than this one (the next page).
    pub before: Option<i64>,
}

/// One event as the console shows it.
#[derive(Clone, Debug)]
pub struct ActivityRow {
    pub id: i64,
    pub at: u64,
    pub room: String,
    pub machine: String,
    pub kind: String,
    pub url: Option<String>,
    pub title: Option<String>,
    pub terms: Option<String>,
    pub engine: Option<String>,
    pub rule: Option<String>,
    pub category: Option<String>,
    pub reason: Option<String>,
    pub host: Option<String>,
    pub count: Option<i64>,
    /// The sitting's id, for its timeline.
    pub session: i64,
    pub lesson: Option<String>,
    pub item: Option<String>,
}

const ACTIVITY_COLUMNS: &str =
    "a.id, a.at, coalesce(r.name, ''), coalesce(k.name, m.kiosk_id), a.kind, a.url, a.title, a.terms, a.engine, a.rule,
    a.category, a.reason, a.host, a.count, a.session, a.lesson, a.item";
/// Where an event's room and machine names come from.
const NAMES: &str = "LEFT JOIN activity_machines m ON m.number = a.machine LEFT JOIN kiosks k ON k.id = m.kiosk_id LEFT JOIN rooms r ON r.id = a.room_id";

fn activity_row(row: &Row) -> Result<ActivityRow> {
    Ok(ActivityRow {
        id: row.get(0)?,
        at: row.get::<i64>(1)?.max(0) as u64,
        room: row.get(2)?,
        machine: row.get(3)?,
        kind: row.get(4)?,
        url: row.get(5)?,
        title: row.get(6)?,
        terms: row.get(7)?,
        engine: row.get(8)?,
        rule: row.get(9)?,
        category: row.get(10)?,
        reason: row.get(11)?,
        host: row.get(12)?,
        count: row.get(13)?,
        session: row.get(14)?,
        lesson: row.get(15)?,
        item: row.get(16)?,
    })
}

/// The machine a teacher sees in Room now: where it is and what it shows.
#[derive(Clone, Debug)]
pub struct MachineNow {
    pub machine: String,
    pub room: String,
    pub last_seen: Option<u64>,
    /// The page showing (address, title), or `None` on Satchel's own pages.
    pub page: Option<(String, Option<String>)>,
    /// The latest page blocked in this session: address and when (Unix milliseconds).
    pub blocked: Option<(String, u64)>,
}

/// The words of `text` as the full-text index keeps them: runs of letters and digits, in
/// lower case, each once, and Latin letters without their accents (as FTS5's unicode61
/// tokenizer with `remove_diacritics 2` keeps them: "café" is found by "cafe").
fn lexemes(text: &str) -> Vec<String> {
    let mut words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| without_latin_accents(&word.to_lowercase()))
        .collect();
    words.sort_unstable();
    words.dedup();
    words
}

/// `word` with the accents taken off its Latin letters. Other scripts' combining marks (the
/// vowel signs of Devanagari, Arabic's harakat) are part of their words and stay.
fn without_latin_accents(word: &str) -> String {
    use unicode_normalization::char::is_combining_mark;
    use unicode_normalization::UnicodeNormalization;
    let mut folded = String::with_capacity(word.len());
    let mut after_latin = false;
    for c in word.nfd() {
        if is_combining_mark(c) && after_latin {
            continue;
        }
        after_latin = c.is_ascii_alphabetic();
        folded.push(c);
    }
    folded.nfc().collect()
}

/// PostgreSQL's query for a search's words (each word's lexemes; a word of three letters
/// or more also finds the words it starts, as in [`text_query`]), or `None` without words.
/// Lexemes are letters and digits only, so nothing typed is query syntax.
fn word_tsquery(words: &[String]) -> Option<String> {
    let terms: Vec<String> = words
        .iter()
        .flat_map(|word| {
            let prefix = word.chars().count() >= 3;
            lexemes(word)
                .into_iter()
                .map(move |lexeme| if prefix { format!("'{lexeme}':*") } else { format!("'{lexeme}'") })
        })
        .collect();
    (!terms.is_empty()).then(|| terms.join(" & "))
}

/// The full-text query for a search's words and tags, `None` when it has neither. Each word
/// is quoted (nothing typed in the box is query syntax) and looked for in the words column,
/// each tag in the tags column.
fn text_query(words: &[String], tags: &[String]) -> Option<String> {
    let words: Vec<String> = words
        .iter()
        .map(|word| word.replace('"', ""))
        .filter(|word| !word.is_empty())
        // A prefix of one or two letters would gather most of the index's terms.
        .map(|word| if word.chars().count() >= 3 { format!("\"{word}\"*") } else { format!("\"{word}\"") })
        .collect();
    let parts: Vec<String> = [("words", words.join(" ")), ("tags", tags.join(" "))]
        .into_iter()
        .filter(|(_, terms)| !terms.is_empty())
        .map(|(column, terms)| format!("{column} : ({terms})"))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" AND "))
}

impl Store {
    /// Events matching `filter` in the rooms `user` sees, newest first, at most `limit`. Words
    /// and tags (room, machine, kind) are looked up in the full-text index, which hands over
    /// its rows newest first, so a page stops at its end; dates narrow the rows to the ids
    /// those days hold.
    pub fn search_activity(&self, user: &User, filter: &ActivityFilter, limit: usize) -> Result<Vec<ActivityRow>> {
        let mut tags = Vec::new();
        if let Some(room) = filter.room_id {
            tags.push(format!("r{room}"));
        }
        if let Some(kiosk) = &filter.kiosk_id {
            let number: Option<i64> = self
                .query_row("SELECT number FROM activity_machines WHERE kiosk_id = ?1", params![kiosk], |row| row.get(0))
                .optional()?;
            let Some(number) = number else { return Ok(Vec::new()) };
            tags.push(format!("m{number}"));
        }
        if let Some(kind) = &filter.kind {
            tags.push(kind_tag(kind));
        }
        let (word_query, tag_query) = (word_tsquery(&filter.words), tags.join(" & "));
        let text = text_query(&filter.words, &tags);
        let (mut sql, mut values, id) = match (&text, self.db.kind()) {
            (None, _) => (format!("SELECT {ACTIVITY_COLUMNS} FROM activity a {NAMES} WHERE TRUE"), Vec::new(), "a.id"),
            // CROSS JOIN keeps the full-text index first.
            (Some(query), Kind::Sqlite) => (
                format!("SELECT {ACTIVITY_COLUMNS} FROM activity_text t CROSS JOIN activity a ON a.id = t.rowid {NAMES} WHERE activity_text MATCH ?1"),
                vec![Param::Text(query)],
                "t.rowid",
            ),
            (Some(_), Kind::Postgres) => (
                format!("SELECT {ACTIVITY_COLUMNS} FROM activity_text t JOIN activity a ON a.id = t.rowid {NAMES} WHERE TRUE"),
                Vec::new(),
                "t.rowid",
            ),
        };
        // Each condition's `?` is the next parameter.
        let mut condition = |clause: &str, value| {
            values.push(value);
            sql.push_str(" AND ");
            sql.push_str(&clause.replace('?', &format!("?{}", values.len())));
        };
        if text.is_some() && self.db.kind() == Kind::Postgres {
            if let Some(words) = &word_query {
                condition("t.words @@ CAST(CAST(? AS TEXT) AS tsquery)", Param::Text(words));
            }
            if !tag_query.is_empty() {
                condition("t.tags @@ CAST(CAST(? AS TEXT) AS tsquery)", Param::Text(&tag_query));
            }
        }
        if filter.from.is_some() || filter.until.is_some() {
            let (from_day, until_day) = (
                filter.from.map_or(0, |from| from / DAY_MS),
                filter.until.map_or(i64::MAX as u64, |until| until.div_ceil(DAY_MS)),
            );
            let (first, last): (Option<i64>, Option<i64>) = self.query_row(
                "SELECT min(first_id), max(last_id) FROM activity_days WHERE day >= ?1 AND day < ?2",
                params![from_day.min(i64::MAX as u64) as i64, until_day.min(i64::MAX as u64) as i64],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?;
            let (Some(first), Some(last)) = (first, last) else { return Ok(Vec::new()) };
            condition(&format!("{id} >= ?"), Param::Int(first));
            condition(&format!("{id} <= ?"), Param::Int(last));
        }
        if let Some(from) = filter.from {
            condition("a.at >= ?", Param::Int(from as i64));
        }
        if let Some(until) = filter.until {
            condition("a.at < ?", Param::Int(until as i64));
        }
        if let Some(before) = filter.before {
            condition(&format!("{id} < ?"), Param::Int(before));
        }
        condition(&format!("a.room_id IN ({})", rooms_seen_by("?")), Param::Int(user.id));
        values.push(Param::Int(limit as i64));
        sql.push_str(&format!(" ORDER BY {id} DESC LIMIT ?{}", values.len()));
        self.query_map(&sql, &values, activity_row)
    }

    /// One pupil's sitting, in order, if it was in a room `user` sees.
    pub fn session_activity(&self, user: &User, session: i64) -> Result<Vec<ActivityRow>> {
        self.query_map(
            &format!(
                "SELECT {ACTIVITY_COLUMNS} FROM activity a {NAMES} WHERE a.session = ?1 AND a.room_id IN ({})
                 ORDER BY a.at, a.seq LIMIT 10000",
                rooms_seen_by("?2")
            ),
            params![session, user.id],
            activity_row,
        )
    }

    /// Each machine in these rooms, with the page it shows and its latest blocked page.
    pub fn rooms_now(&self, room_ids: &[i64]) -> Result<Vec<MachineNow>> {
        let mut machines = Vec::new();
        for room in room_ids {
            let rows = self.query_map(
            "SELECT k.name, r.name, k.last_seen, m.page_url, m.page_title, m.blocked_url, m.blocked_at, m.blocked_session = m.session
             FROM kiosks k JOIN rooms r ON r.id = k.room_id LEFT JOIN activity_machines m ON m.kiosk_id = k.id
             WHERE k.room_id = ?1 AND k.retired_at IS NULL ORDER BY k.name",
            params![room], |row| {
                let page = row
                    .get::<Option<String>>(3)?
                    .map(|url| Ok::<_, super::Error>((url, row.get(4)?)))
                    .transpose()?;
                let this_session = row.get::<Option<bool>>(7)?.unwrap_or(false);
                let blocked = match (row.get::<Option<String>>(5)?, row.get::<Option<i64>>(6)?) {
                    (Some(url), Some(at)) if this_session => Some((url, at.max(0) as u64)),
                    _ => None,
                };
                Ok(MachineNow {
                    machine: row.get(0)?,
                    room: row.get(1)?,
                    last_seen: row.get::<Option<i64>>(2)?.map(|t| t.max(0) as u64),
                    page,
                    blocked,
                })
            })?;
            machines.extend(rows);
        }
        Ok(machines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_MS: u64 = 1_795_000_000_000;

    struct Log {
        dir: std::path::PathBuf,
        store: Store,
        dsl: User,
    }

    /// Rooms 1 and 2, and a safeguarding lead of the trust, who sees both.
    fn trust_lead(store: &Store) -> User {
        store.add_built_in_profile("KS1", "", Default::default(), &[]).unwrap();
        let profile = store.profile_id("KS1").unwrap().unwrap();
        for room in ["Class 1", "Class 2"] {
            store.add_room(room, profile, 1).unwrap();
        }
        let id = store.add_user("dsl", "", "dsl", None, 0).unwrap();
        User {
            id,
            name: "dsl".into(),
            role: crate::server::store::Role::Dsl,
            csrf: String::new(),
            must_change_password: false,
            school: None,
            viewing: None,
        }
    }

    impl Log {
        fn new(name: &str) -> Log {
            let dir = std::env::temp_dir().join(format!("satchel-store-activity-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let store = Store::open(&dir.join("satchel.db")).unwrap();
            let dsl = trust_lead(&store);
            Log { dir, store, dsl }
        }

        fn add(&self, kiosk: &KioskRow, events: &[ActivityEvent]) -> StoredBatch {
            let batch = [ActivityBatchRow { kiosk, log: "log-1", events }];
            self.store.in_transaction(|store| store.add_activity(&batch, NOW_MS / 1000)).unwrap().remove(0)
        }

        fn count(&self, sql: &str) -> i64 {
            self.store.query_row(sql, params![], |row| row.get(0)).unwrap()
        }

        fn ids(&self, filter: ActivityFilter) -> Vec<i64> {
            self.store.search_activity(&self.dsl, &filter, 1000).unwrap().iter().map(|row| row.id).collect()
        }
    }

    impl Drop for Log {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn kiosk(id: &str, room_id: i64) -> KioskRow {
        KioskRow { id: id.into(), name: id.into(), room_id }
    }

    fn opened(seq: u64, days_ago: u64, url: &str) -> ActivityEvent {
        ActivityEvent {
            seq,
            at: NOW_MS - days_ago * DAY_MS,
            session: "s-1".into(),
            lesson: None,
            what: Happening::Opened { url: url.into() },
        }
    }

    fn blocked(seq: u64, days_ago: u64, url: &str) -> ActivityEvent {
        let what = Happening::Blocked {
            url: url.into(),
            rule: None,
            category: Some("games".into()),
            reason: "not on today's list".into(),
        };
        ActivityEvent { what, ..opened(seq, days_ago, url) }
    }

    #[test]
    fn each_filter_finds_exactly_the_rows_it_names_newest_first() {
        let log = Log::new("filters");
        let (a, b) = (kiosk("k-a", 1), kiosk("k-b", 2));
        log.add(
            &a,
            &[
                opened(1, 10, "https://www.bbc.co.uk/dinosaurs"),
                blocked(2, 10, "https://games.test/dinosaurs"),
                opened(3, 1, "https://www.bbc.co.uk/volcanoes"),
            ],
        );
        log.add(&b, &[opened(1, 10, "https://www.bbc.co.uk/dinosaurs"), blocked(2, 1, "https://games.test/r2")]);
        let words = |words: &[&str]| words.iter().map(|w| (*w).to_owned()).collect();
        assert_eq!(log.ids(ActivityFilter::default()), [5, 4, 3, 2, 1]);
        assert_eq!(
            log.ids(ActivityFilter { words: words(&["dino"]), ..Default::default() }),
            [4, 2, 1],
            "a word it starts"
        );
        assert_eq!(
            log.ids(ActivityFilter { words: words(&["bbc", "dinosaurs"]), ..Default::default() }),
            [4, 1],
            "every word"
        );
        assert_eq!(log.ids(ActivityFilter { room_id: Some(2), ..Default::default() }), [5, 4]);
        assert_eq!(
            log.ids(ActivityFilter { words: words(&["r2"]), ..Default::default() }),
            [5],
            "a word is never a room's tag"
        );
        assert_eq!(
            log.ids(ActivityFilter { kind: Some("blocked".into()), room_id: Some(1), ..Default::default() }),
            [2]
        );
        assert_eq!(log.ids(ActivityFilter { kiosk_id: Some("k-b".into()), ..Default::default() }), [5, 4]);
        assert_eq!(
            log.ids(ActivityFilter { kiosk_id: Some("k-unknown".into()), ..Default::default() }),
            Vec::<i64>::new()
        );
        let recent =
            ActivityFilter { from: Some(NOW_MS - 2 * DAY_MS), until: Some(NOW_MS + DAY_MS), ..Default::default() };
        assert_eq!(log.ids(recent.clone()), [5, 3]);
        assert_eq!(log.ids(ActivityFilter { words: words(&["bbc"]), ..recent.clone() }), [3]);
        assert_eq!(log.ids(ActivityFilter { before: Some(4), ..Default::default() }), [3, 2, 1], "the next page");
        let long_ago = ActivityFilter {
            from: Some(NOW_MS - 100 * DAY_MS),
            until: Some(NOW_MS - 50 * DAY_MS),
            ..Default::default()
        };
        assert_eq!(log.ids(long_ago), Vec::<i64>::new());
    }

    #[test]
    fn an_event_from_long_ago_that_arrives_late_is_still_found_by_its_date() {
        let log = Log::new("late");
        let k = kiosk("k-a", 1);
        log.add(&k, &[opened(1, 1, "https://a.test/yesterday")]);
        // After weeks away, a kiosk's log sends what it held.
        log.add(&k, &[opened(2, 30, "https://a.test/a-month-ago")]);
        let month_ago = ActivityFilter {
            from: Some(NOW_MS - 31 * DAY_MS),
            until: Some(NOW_MS - 29 * DAY_MS),
            ..Default::default()
        };
        assert_eq!(log.ids(month_ago), [2]);
    }

    #[test]
    fn retention_deletes_old_rows_from_the_log_and_its_index_and_keeps_the_rest() {
        let log = Log::new("retention");
        let k = kiosk("k-a", 1);
        log.add(
            &k,
            &[
                opened(1, 400, "https://old.test/fox"),
                opened(2, 380, "https://old.test/fox"),
                opened(3, 2, "https://new.test/fox"),
            ],
        );
        let cutoff = NOW_MS - 365 * DAY_MS;
        assert_eq!(log.store.expire_activity(cutoff, 1).unwrap(), 1, "a slice at a time");
        assert_eq!(log.store.expire_activity(cutoff, 10).unwrap(), 1);
        assert_eq!(log.store.expire_activity(cutoff, 10).unwrap(), 0);
        assert_eq!(log.count("SELECT count(*) FROM activity"), 1);
        assert_eq!(
            log.count("SELECT count(*) FROM activity_text WHERE activity_text MATCH 'fox'"),
            1,
            "gone from the index too"
        );
        assert_eq!(log.count("SELECT count(*) FROM activity_days"), 1);
        assert_eq!(log.ids(ActivityFilter { words: vec!["fox".into()], ..Default::default() }), [3]);
    }

    #[test]
    fn lexemes_take_the_accents_off_latin_letters_only() {
        assert_eq!(lexemes("Crème brûlée at the CAFÉ, café"), ["at", "brulee", "cafe", "creme", "the"]);
        // Other scripts' marks are part of their words: Greek's accents, Devanagari's vowel signs.
        assert_eq!(lexemes("άλφα"), ["άλφα"]);
        assert_eq!(lexemes("बेटी"), ["बेटी"]);
    }

    #[test]
    fn room_now_keeps_the_newest_page_even_when_an_older_batch_arrives_last() {
        let log = Log::new("now");
        let sql = "INSERT INTO kiosks (id, name, room_id, token_hash, enrolled_at) VALUES ('k-a', 'PC 1', 1, '', 0)";
        log.store.execute(sql, params![]).unwrap();
        let k = kiosk("k-a", 1);
        log.add(&k, &[opened(5, 0, "https://now.test/"), blocked(6, 0, "https://games.test/")]);
        let mut older = opened(7, 3, "https://then.test/");
        older.at = NOW_MS - 3 * DAY_MS;
        log.add(&k, &[older]);
        let machines = log.store.rooms_now(&[1]).unwrap();
        assert_eq!(machines.len(), 1);
        assert_eq!(machines[0].page.as_ref().map(|(url, _)| url.as_str()), Some("https://now.test/"));
        assert_eq!(machines[0].blocked.as_ref().map(|(url, _)| url.as_str()), Some("https://games.test/"));
    }

    #[test]
    fn a_log_in_the_first_schema_is_carried_over_whole() {
        let dir = std::env::temp_dir().join(format!("satchel-store-activity-migrate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("satchel.db");
        {
            let db = rusqlite::Connection::open(&path).unwrap();
            let keyed = super::super::MIGRATIONS.iter().position(|m| *m == KEYED_MIGRATION).unwrap();
            for migration in &super::super::MIGRATIONS[..keyed] {
                db.execute_batch(migration).unwrap();
            }
            db.pragma_update(None, "user_version", keyed).unwrap();
            db.execute_batch(
                "INSERT INTO activity (kiosk_id, log, seq, at, received_at, room_id, session, kind, url, terms) VALUES
                    ('k-a', 'l', 1, 1000, 1, 1, 's-1', 'opened', 'https://www.bbc.co.uk/fox', NULL),
                    ('k-a', 'l', 2, 2000, 1, 1, 's-1', 'searched', 'https://www.google.co.uk/search?q=red+fox', 'red fox'),
                    ('k-b', 'l', 1, 3000, 1, 2, 's-1', 'opened', 'https://b.test/', NULL);
                 INSERT INTO alerts (activity_id, kiosk_id, room_id, session, at, raised_at, reason, category, severity, words, text)
                    VALUES (2, 'k-a', 1, 's-1', 2000, 1, 'term', 'violence-weapons', 'review', 'fox', 'red fox');",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let dsl = trust_lead(&store);
        let count = |sql: &str| store.query_row(sql, params![], |row| row.get::<i64>(0)).unwrap();
        assert_eq!(count("SELECT count(*) FROM activity"), 3);
        assert_eq!(
            count("SELECT count(DISTINCT session) FROM activity"),
            2,
            "one session name on two kiosks is two sittings"
        );
        assert_eq!(
            count(
                "SELECT through FROM activity_logs JOIN activity_machines ON number = machine WHERE kiosk_id = 'k-a'"
            ),
            2
        );
        let found: Vec<i64> = store
            .search_activity(
                &dsl,
                &ActivityFilter { words: vec!["fox".into()], room_id: Some(1), ..Default::default() },
                10,
            )
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(found, [2, 1]);
        let session = store.alerts(&dsl, None, 10).unwrap()[0].0.session.expect("the alert keeps its timeline");
        assert_eq!(store.session_activity(&dsl, session).unwrap().len(), 2);
        drop(store);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
