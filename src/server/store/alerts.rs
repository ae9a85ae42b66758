//! Alerts on the server: a concerning term in what a pupil searched for or opened, or many
//! blocked attempts in a short time on one machine; and the school's own terms.

use rusqlite::{params, OptionalExtension};

use super::{Result, Store};

pub(super) const MIGRATION: &str = r#"
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY, activity_id INTEGER, kiosk_id TEXT NOT NULL, room_id INTEGER, session TEXT NOT NULL,
    at INTEGER NOT NULL, raised_at INTEGER NOT NULL, reason TEXT NOT NULL CHECK (reason IN ('term', 'repeated-blocks')),
    category TEXT NOT NULL, severity TEXT NOT NULL CHECK (severity IN ('urgent', 'review')), words TEXT NOT NULL, text TEXT NOT NULL,
    acknowledged_at INTEGER, acknowledged_by INTEGER REFERENCES users(id), note TEXT,
    emailed_at INTEGER, digested_at INTEGER);
CREATE INDEX alerts_newest ON alerts (id DESC);
CREATE INDEX alerts_kiosk ON alerts (kiosk_id, reason, at);
CREATE TABLE alert_terms (
    id INTEGER PRIMARY KEY, phrase TEXT NOT NULL, category TEXT NOT NULL, severity TEXT NOT NULL CHECK (severity IN ('urgent', 'review')),
    added_by INTEGER REFERENCES users(id), added_at INTEGER NOT NULL, UNIQUE (phrase, category));
ALTER TABLE users ADD COLUMN email TEXT;
"#;

/// An alert to raise.
pub struct NewAlert<'a> {
    pub activity_id: Option<i64>,
    pub kiosk_id: &'a str,
    pub room_id: Option<i64>,
    pub session: &'a str,
    /// When it happened on the kiosk (Unix milliseconds).
    pub at: u64,
    pub reason: &'a str,
    pub category: &'a str,
    pub severity: &'a str,
    /// The phrase (or phrases) that matched, or for repeated blocks how many.
    pub words: &'a str,
    /// What the pupil searched for or opened.
    pub text: &'a str,
}

/// A school's own term, as the console lists it.
pub struct SchoolTerm {
    pub id: i64,
    pub phrase: String,
    pub category: String,
    pub severity: String,
}

impl Store {
    pub fn add_alert(&self, alert: &NewAlert<'_>, now: u64) -> Result<i64> {
        self.db.execute(
            "INSERT INTO alerts (activity_id, kiosk_id, room_id, session, at, raised_at, reason, category, severity, words, text)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![alert.activity_id, alert.kiosk_id, alert.room_id, alert.session, alert.at as i64, now as i64, alert.reason, alert.category, alert.severity, alert.words, alert.text],
        )?;
        Ok(self.db.last_insert_rowid())
    }

    /// How many pages a kiosk had blocked since `since` (Unix milliseconds), and whether a
    /// repeated-blocks alert was raised for it since then.
    pub fn recent_blocks(&self, kiosk_id: &str, since: u64) -> Result<(i64, bool)> {
        let blocks = self.db.query_row("SELECT count(*) FROM activity WHERE kiosk_id = ?1 AND kind = 'blocked' AND at >= ?2", params![kiosk_id, since as i64], |row| row.get(0))?;
        let alerted = self
            .db
            .query_row("SELECT 1 FROM alerts WHERE kiosk_id = ?1 AND reason = 'repeated-blocks' AND at >= ?2 LIMIT 1", params![kiosk_id, since as i64], |_| Ok(()))
            .optional()?
            .is_some();
        Ok((blocks, alerted))
    }

    pub fn school_terms(&self) -> Result<Vec<SchoolTerm>> {
        let mut statement = self.db.prepare("SELECT id, phrase, category, severity FROM alert_terms ORDER BY category, phrase")?;
        let terms = statement.query_map([], |row| Ok(SchoolTerm { id: row.get(0)?, phrase: row.get(1)?, category: row.get(2)?, severity: row.get(3)? }))?;
        terms.collect()
    }

    /// Adds a school's own term; `false` when the category already has it.
    pub fn add_school_term(&self, phrase: &str, category: &str, severity: &str, user_id: i64, now: u64) -> Result<bool> {
        let added = self.db.execute(
            "INSERT INTO alert_terms (phrase, category, severity, added_by, added_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            params![phrase, category, severity, user_id, now as i64],
        )?;
        Ok(added == 1)
    }

    /// Removes a school's own term; its phrase, when there was one.
    pub fn remove_school_term(&self, id: i64) -> Result<Option<String>> {
        self.db.query_row("DELETE FROM alert_terms WHERE id = ?1 RETURNING phrase", params![id], |row| row.get(0)).optional()
    }
}
