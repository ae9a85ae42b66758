//! The activity log on the server: every event each kiosk sent, once per (kiosk, log,
//! sequence), with a full-text index over its address, title and search words.

use rusqlite::params;

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
