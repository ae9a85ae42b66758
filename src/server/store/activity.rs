//! The activity log on the server: every event each kiosk sent, once per (kiosk, log,
//! sequence), with a full-text index over its address, title and search words.

use rusqlite::{params, OptionalExtension};

use super::{KioskRow, Result, Store};
use crate::protocol::{ActivityEvent, Happening};

/// The schema, appended to the store's migrations.
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
/// counts them at every batch, and a busy machine's other rows (thousands in five minutes at
/// the ingest benchmark's rate) need not be read to do it.
pub(super) const BLOCKS_MIGRATION: &str = "CREATE INDEX activity_blocks ON activity (kiosk_id, at) WHERE kind = 'blocked';";

/// One kiosk's batch, checked and ready to store.
pub struct ActivityBatchRow<'a> {
    pub kiosk: &'a KioskRow,
    pub log: &'a str,
    pub events: &'a [ActivityEvent],
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

fn columns(what: &Happening) -> Columns<'_> {
    match what {
        Happening::SessionStart => Columns::default(),
        Happening::SessionEnd { reason } => Columns { reason: Some(session_end_name(*reason)), ..Columns::default() },
        Happening::Opened { url } => Columns { url: Some(url), ..Columns::default() },
        Happening::Titled { url, title } => Columns { url: Some(url), title: Some(title), ..Columns::default() },
        Happening::Blocked { url, rule, category, reason } => {
            Columns { url: Some(url), rule: rule.as_deref(), category: category.as_deref(), reason: Some(reason), ..Columns::default() }
        }
        Happening::Searched { engine, terms, url } => Columns { url: Some(url), terms: Some(terms), engine: Some(engine), ..Columns::default() },
        Happening::Told { url, report } => Columns { url: Some(url), item: Some(report), ..Columns::default() },
        Happening::Asked { url, ask } => Columns { url: Some(url), item: Some(ask), ..Columns::default() },
        Happening::SubresourcesBlocked { page, host, count } => Columns { url: Some(page), host: Some(host), count: Some(i64::from(*count)), ..Columns::default() },
        Happening::Dropped { count } => Columns { count: Some(i64::try_from(*count).unwrap_or(i64::MAX)), ..Columns::default() },
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

impl Store {
    /// Stores several kiosks' batches in one transaction (one fsync for them all). Returns,
    /// per batch, the events that were new (a batch sent again stores nothing twice): their
    /// index in the batch and their row.
    pub fn add_activity(&mut self, batches: &[ActivityBatchRow<'_>], now: u64) -> Result<Vec<Vec<(usize, i64)>>> {
        let transaction = self.db.transaction()?;
        let mut stored = Vec::with_capacity(batches.len());
        {
            let mut insert = transaction.prepare_cached(
                "INSERT INTO activity (kiosk_id, log, seq, at, received_at, room_id, session, lesson, kind, url, title, terms, engine, rule, category, reason, host, count, item)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
                 ON CONFLICT (kiosk_id, log, seq) DO NOTHING",
            )?;
            for batch in batches {
                let mut new = Vec::new();
                for (index, event) in batch.events.iter().enumerate() {
                    let c = columns(&event.what);
                    let changed = insert.execute(params![
                        batch.kiosk.id, batch.log, event.seq as i64, event.at as i64, now as i64, batch.kiosk.room_id, event.session, event.lesson,
                        event.what.kind(), c.url, c.title, c.terms, c.engine, c.rule, c.category, c.reason, c.host, c.count, c.item
                    ])?;
                    if changed == 1 {
                        new.push((index, transaction.last_insert_rowid()));
                    }
                }
                stored.push(new);
            }
        }
        transaction.commit()?;
        Ok(stored)
    }

    /// Deletes activity from before `cutoff` (Unix milliseconds), a slice at a time so that
    /// kiosks and staff are never kept waiting long; returns how many went.
    pub fn expire_activity(&self, cutoff: u64, slice: usize) -> Result<usize> {
        self.db.execute("DELETE FROM activity WHERE id IN (SELECT id FROM activity WHERE at < ?1 ORDER BY at LIMIT ?2)", params![cutoff as i64, slice as i64])
    }
}

/// What the DSL looks for in the log; every part is optional.
#[derive(Clone, Debug, Default)]
pub struct ActivityFilter {
    /// Words that the address, title or search terms hold (each word, or a word it starts).
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
    pub session: String,
    pub lesson: Option<String>,
    pub item: Option<String>,
}

const ACTIVITY_COLUMNS: &str = "a.id, a.at, coalesce(r.name, ''), coalesce(k.name, a.kiosk_id), a.kind, a.url, a.title, a.terms, a.engine, a.rule,
    a.category, a.reason, a.host, a.count, a.session, a.lesson, a.item";
/// Where an event's room and machine names come from.
const NAMES: &str = "LEFT JOIN kiosks k ON k.id = a.kiosk_id LEFT JOIN rooms r ON r.id = a.room_id";

fn activity_row(row: &rusqlite::Row<'_>) -> Result<ActivityRow> {
    Ok(ActivityRow {
        id: row.get(0)?,
        at: row.get::<_, i64>(1)?.max(0) as u64,
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

impl Store {
    /// Events matching `filter`, newest first, at most `limit`.
    pub fn search_activity(&self, filter: &ActivityFilter, limit: usize) -> Result<Vec<ActivityRow>> {
        use rusqlite::types::Value;
        let (mut sql, mut values, newest) = if filter.words.is_empty() {
            (format!("SELECT {ACTIVITY_COLUMNS} FROM activity a {NAMES} WHERE 1"), Vec::new(), "a.id")
        } else {
            // Each word quoted (no FTS syntax from the search box), matching words it starts.
            let query = filter.words.iter().map(|word| format!("\"{}\"*", word.replace('"', ""))).collect::<Vec<_>>().join(" ");
            // The full-text index leads (CROSS JOIN keeps it first) and hands over its matches
            // newest first, so a page of a common word stops at the page's end instead of
            // gathering a year's matches to sort them.
            let sql = format!("SELECT {ACTIVITY_COLUMNS} FROM activity_text t CROSS JOIN activity a ON a.id = t.rowid {NAMES} WHERE activity_text MATCH ?");
            (sql, vec![Value::Text(query)], "t.rowid")
        };
        let mut condition = |clause: &str, value: Value| {
            sql.push_str(clause);
            values.push(value);
        };
        if let Some(room) = filter.room_id {
            condition(" AND a.room_id = ?", Value::Integer(room));
        }
        if let Some(kiosk) = &filter.kiosk_id {
            condition(" AND a.kiosk_id = ?", Value::Text(kiosk.clone()));
        }
        if let Some(from) = filter.from {
            condition(" AND a.at >= ?", Value::Integer(from as i64));
        }
        if let Some(until) = filter.until {
            condition(" AND a.at < ?", Value::Integer(until as i64));
        }
        if let Some(kind) = &filter.kind {
            condition(" AND a.kind = ?", Value::Text(kind.clone()));
        }
        if let Some(before) = filter.before {
            condition(&format!(" AND {newest} < ?"), Value::Integer(before));
        }
        sql.push_str(&format!(" ORDER BY {newest} DESC LIMIT ?"));
        values.push(Value::Integer(limit as i64));
        let mut statement = self.db.prepare(&sql)?;
        let rows = statement.query_map(rusqlite::params_from_iter(values), activity_row)?;
        rows.collect()
    }

    /// One pupil's sitting, in order.
    pub fn session_activity(&self, session: &str) -> Result<Vec<ActivityRow>> {
        let mut statement = self.db.prepare(&format!("SELECT {ACTIVITY_COLUMNS} FROM activity a {NAMES} WHERE a.session = ?1 ORDER BY a.at, a.seq LIMIT 10000"))?;
        let rows = statement.query_map(params![session], activity_row)?;
        rows.collect()
    }

    /// Each machine in these rooms, with the page it shows and its latest blocked page.
    pub fn rooms_now(&self, room_ids: &[i64]) -> Result<Vec<MachineNow>> {
        let mut machines = Vec::new();
        let mut kiosks = self.db.prepare(
            "SELECT k.id, k.name, r.name, k.last_seen FROM kiosks k JOIN rooms r ON r.id = k.room_id
             WHERE k.room_id = ?1 AND k.retired_at IS NULL ORDER BY k.name",
        )?;
        let mut showing = self.db.prepare(
            "SELECT kind, url, title, session FROM activity WHERE kiosk_id = ?1 AND kind IN ('opened', 'titled', 'session-start', 'session-end')
             ORDER BY at DESC, seq DESC LIMIT 1",
        )?;
        let mut blocked = self.db.prepare("SELECT url, at FROM activity WHERE kiosk_id = ?1 AND kind = 'blocked' AND session = ?2 ORDER BY at DESC LIMIT 1")?;
        for room in room_ids {
            let rows: Vec<(String, String, String, Option<i64>)> = kiosks.query_map(params![room], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))?.collect::<Result<_>>()?;
            for (id, machine, room, last_seen) in rows {
                let latest: Option<(String, Option<String>, Option<String>, String)> =
                    showing.query_row(params![id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))).optional()?;
                let page = latest.as_ref().and_then(|(kind, url, title, _)| matches!(kind.as_str(), "opened" | "titled").then(|| (url.clone().unwrap_or_default(), title.clone())));
                let blocked = match &latest {
                    Some((_, _, _, session)) => blocked.query_row(params![id, session], |row| Ok((row.get(0)?, row.get::<_, i64>(1)?.max(0) as u64))).optional()?,
                    None => None,
                };
                machines.push(MachineNow { machine, room, last_seen: last_seen.map(|t| t.max(0) as u64), page, blocked });
            }
        }
        Ok(machines)
    }
}
