//! Alerts on the server: a concerning term in what a pupil searched for or opened, or many
//! blocked attempts in a short time on one machine; and the school's own terms.

use super::engine::{params, Optional, Row};
use super::{rooms_seen_by, Result, Store, User};

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
    /// The sitting's id in the log, for its timeline.
    pub session_id: Option<i64>,
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
        self.query_row("INSERT INTO alerts (activity_id, kiosk_id, room_id, session, session_id, at, raised_at, reason, category, severity, words, text)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING id", params![
                alert.activity_id, alert.kiosk_id, alert.room_id, alert.session, alert.session_id, alert.at as i64, now as i64, alert.reason, alert.category,
                alert.severity, alert.words, alert.text
            ], |row| row.get(0))
    }

    /// How many pages a kiosk (its number in the log, and its id) had blocked since `since`
    /// (Unix milliseconds), and whether a repeated-blocks alert was raised for it since then.
    pub fn recent_blocks(&self, machine: i64, kiosk_id: &str, since: u64) -> Result<(i64, bool)> {
        let blocks = self.query_row(RECENT_BLOCKS, params![machine, since as i64], |row| row.get(0))?;
        let alerted = self
            .query_row(
                "SELECT 1 FROM alerts WHERE kiosk_id = ?1 AND reason = 'repeated-blocks' AND at >= ?2 LIMIT 1",
                params![kiosk_id, since as i64],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        Ok((blocks, alerted))
    }

    pub fn school_terms(&self) -> Result<Vec<SchoolTerm>> {
        self.query_map(
            "SELECT id, phrase, category, severity FROM alert_terms ORDER BY category, phrase",
            params![],
            |row| Ok(SchoolTerm { id: row.get(0)?, phrase: row.get(1)?, category: row.get(2)?, severity: row.get(3)? }),
        )
    }

    /// Adds a school's own term; `false` when the category already has it.
    pub fn add_school_term(
        &self,
        phrase: &str,
        category: &str,
        severity: &str,
        user_id: i64,
        now: u64,
    ) -> Result<bool> {
        let added = self.execute(
            "INSERT INTO alert_terms (phrase, category, severity, added_by, added_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            params![phrase, category, severity, user_id, now as i64],
        )?;
        Ok(added == 1)
    }

    /// Removes a school's own term; its phrase, when there was one.
    pub fn remove_school_term(&self, id: i64) -> Result<Option<String>> {
        self.query_row("DELETE FROM alert_terms WHERE id = ?1 RETURNING phrase", params![id], |row| row.get(0))
            .optional()
    }
}

/// An alert as an e-mail or a list shows it.
pub struct AlertRow {
    pub id: i64,
    /// Unix milliseconds, by the kiosk's clock.
    pub at: u64,
    pub room: String,
    pub machine: String,
    pub reason: String,
    pub category: String,
    pub severity: String,
    pub words: String,
    pub text: String,
    /// The sitting's id in the log, for its timeline.
    pub session: Option<i64>,
    pub school_id: Option<i64>,
    pub school: String,
}

/// A machine's blocked pages since a time, counted at each of its batches: read from the
/// blocked rows' own index, so a busy machine's other rows cost nothing.
const RECENT_BLOCKS: &str = "SELECT count(*) FROM activity WHERE machine = ?1 AND kind = 'blocked' AND at >= ?2";

const ALERT_FIELDS: &str = "alerts.id, alerts.at, coalesce(rooms.name, ''), coalesce(kiosks.name, alerts.kiosk_id), alerts.reason, alerts.category,
    alerts.severity, alerts.words, alerts.text, alerts.session_id, rooms.school_id, coalesce(schools.name, '')";
const ALERT_FROM: &str =
    "FROM alerts LEFT JOIN kiosks ON kiosks.id = alerts.kiosk_id LEFT JOIN rooms ON rooms.id = alerts.room_id
    LEFT JOIN schools ON schools.id = rooms.school_id";

fn alert_row(row: &Row) -> Result<AlertRow> {
    Ok(AlertRow {
        id: row.get(0)?,
        at: row.get::<i64>(1)?.max(0) as u64,
        room: row.get(2)?,
        machine: row.get(3)?,
        reason: row.get(4)?,
        category: row.get(5)?,
        severity: row.get(6)?,
        words: row.get(7)?,
        text: row.get(8)?,
        session: row.get(9)?,
        school_id: row.get(10)?,
        school: row.get(11)?,
    })
}

impl Store {
    /// Urgent alerts not yet e-mailed, raised since `since` (Unix seconds), oldest first.
    pub fn urgent_alerts_to_mail(&self, since: u64) -> Result<Vec<AlertRow>> {
        self.query_map(&format!("SELECT {ALERT_FIELDS} {ALERT_FROM} WHERE alerts.severity = 'urgent' AND alerts.emailed_at IS NULL AND alerts.raised_at >= ?1 ORDER BY alerts.id LIMIT 100"), params![since as i64], alert_row)
    }

    /// Review alerts not yet in a digest, oldest first.
    pub fn review_alerts_to_digest(&self) -> Result<Vec<AlertRow>> {
        self.query_map(&format!("SELECT {ALERT_FIELDS} {ALERT_FROM} WHERE alerts.severity = 'review' AND alerts.digested_at IS NULL ORDER BY alerts.id LIMIT 1000"), params![], alert_row)
    }

    pub fn mark_alerts_emailed(&self, ids: &[i64], now: u64) -> Result<()> {
        for id in ids {
            self.execute("UPDATE alerts SET emailed_at = ?1 WHERE id = ?2", params![now as i64, id])?;
        }
        Ok(())
    }

    pub fn mark_alerts_digested(&self, ids: &[i64], now: u64) -> Result<()> {
        for id in ids {
            self.execute("UPDATE alerts SET digested_at = ?1 WHERE id = ?2", params![now as i64, id])?;
        }
        Ok(())
    }

    /// The e-mail address of each safeguarding lead's account in use, with its school (`None`:
    /// the trust's lead, told of every school's alerts).
    pub fn safeguarding_emails(&self) -> Result<Vec<(String, Option<i64>)>> {
        self.query_map(
            "SELECT email, school_id FROM users WHERE role = 'dsl' AND disabled_at IS NULL AND coalesce(email, '') <> '' ORDER BY id",
            params![],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
    }

    pub fn set_email(&self, user_id: i64, email: Option<&str>) -> Result<()> {
        self.execute("UPDATE users SET email = ?1 WHERE id = ?2", params![email, user_id])?;
        Ok(())
    }
}

/// Who acknowledged an alert, when, and what they noted.
#[derive(Clone, Debug)]
pub struct Acknowledgement {
    pub by: String,
    pub at: u64,
    pub note: String,
}

impl Store {
    /// The alerts of the rooms this member of staff sees, newest first (older than `before`,
    /// for the next page), each with its acknowledgement if it has one.
    pub fn alerts(
        &self,
        user: &User,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<(AlertRow, Option<Acknowledgement>)>> {
        self.query_map(&format!(
            "SELECT {ALERT_FIELDS}, users.name, alerts.acknowledged_at, alerts.note {ALERT_FROM} LEFT JOIN users ON users.id = alerts.acknowledged_by
             WHERE alerts.id < ?1 AND alerts.room_id IN ({seen}) ORDER BY alerts.id DESC LIMIT ?2",
             seen = rooms_seen_by("?3")
        ), params![before.unwrap_or(i64::MAX), limit as i64, user.id], |row| {
            let acknowledged = match row.get::<Option<i64>>(13)? {
                Some(at) => Some(Acknowledgement {
                    by: row.get::<Option<String>>(12)?.unwrap_or_default(),
                    at: at.max(0) as u64,
                    note: row.get::<Option<String>>(14)?.unwrap_or_default(),
                }),
                None => None,
            };
            Ok((alert_row(row)?, acknowledged))
        })
    }

    /// Marks an alert as seen and dealt with; `false` when it was already (or does not exist
    /// in the rooms this member of staff sees).
    pub fn acknowledge_alert(&self, user: &User, id: i64, note: &str, now: u64) -> Result<bool> {
        let changed = self.execute(
            &format!(
                "UPDATE alerts SET acknowledged_at = ?1, acknowledged_by = ?2, note = ?3 WHERE id = ?4 AND acknowledged_at IS NULL
                 AND room_id IN ({})",
                rooms_seen_by("?2")
            ),
            params![now as i64, user.id, note, id],
        )?;
        Ok(changed == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_blocks_are_counted_from_the_blocked_rows_alone() {
        let dir = std::env::temp_dir().join(format!("satchel-store-blocks-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::open(&dir.join("satchel.db")).unwrap();
        let steps: Vec<String> = store
            .query_map(&format!("EXPLAIN QUERY PLAN {RECENT_BLOCKS}"), params![1_i64, 0_i64], |row| row.get(3))
            .unwrap();
        assert!(steps.iter().any(|step| step.contains("COVERING INDEX activity_blocks")), "{steps:?}");
        drop(store);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
