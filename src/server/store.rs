//! The server's one SQLite database (WAL, versioned migrations): rooms, profiles, lessons,
//! kiosks, enrolment codes, reports, unblock requests, users and the audit log.

use std::path::Path;

mod activity;
mod alerts;
pub mod engine;
mod postgres;
mod postgres_tls;
mod schools;
mod sqlite;

use engine::{params, Engine, Kind, Optional, Param, Row};
pub use postgres::listen;

use super::limits::SendLog;
use super::login::Bucket;
use crate::bundle::{Bundle, Lesson, Profile};
use crate::pages::Tile;
use crate::protocol::{Heartbeat, Report};
use crate::safesearch::SearchEngine;
pub use activity::{ActivityBatchRow, ActivityFilter, ActivityRow, MachineNow, StoredBatch, StoredEvent};
pub use alerts::{Acknowledgement, AlertRow, NewAlert, SchoolTerm};
pub use schools::SchoolRow;
use schools::{rooms_seen_by, ACCOUNTS_SEEN};

/// Each migration moves the database one `user_version` up; they run once, in order.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO counters VALUES ('rules_version', 0);
CREATE TABLE users (
    id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('teacher', 'dsl', 'admin')), created_at INTEGER NOT NULL);
CREATE TABLE profiles (
    id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, list TEXT NOT NULL,
    search TEXT NOT NULL DEFAULT 'google', tiles TEXT NOT NULL DEFAULT '[]');
CREATE TABLE rooms (
    id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, profile_id INTEGER NOT NULL REFERENCES profiles(id),
    rules_version INTEGER NOT NULL);
CREATE TABLE lessons (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, list TEXT NOT NULL, tiles TEXT NOT NULL DEFAULT '[]',
    owner_id INTEGER REFERENCES users(id));
CREATE TABLE lesson_runs (
    id INTEGER PRIMARY KEY, lesson_id INTEGER NOT NULL REFERENCES lessons(id), room_id INTEGER NOT NULL REFERENCES rooms(id),
    started_at INTEGER NOT NULL, ends_at INTEGER NOT NULL, ended INTEGER NOT NULL DEFAULT 0);
CREATE INDEX lesson_runs_open ON lesson_runs (ended, ends_at);
CREATE TABLE kiosks (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, room_id INTEGER NOT NULL REFERENCES rooms(id), token_hash TEXT NOT NULL,
    enrolled_at INTEGER NOT NULL, last_seen INTEGER, rules_version INTEGER, last_sync INTEGER, state TEXT, satchel_version TEXT);
CREATE TABLE enrol_codes (
    code_hash TEXT PRIMARY KEY, room_id INTEGER NOT NULL REFERENCES rooms(id), expires_at INTEGER NOT NULL, used_at INTEGER);
CREATE TABLE reports (
    id TEXT PRIMARY KEY, kiosk_id TEXT NOT NULL REFERENCES kiosks(id), room TEXT NOT NULL, machine TEXT NOT NULL,
    happened_at INTEGER NOT NULL, received_at INTEGER NOT NULL, url TEXT NOT NULL, title TEXT NOT NULL,
    feeling TEXT, profile TEXT, lesson TEXT, rules_version INTEGER, screenshot TEXT NOT NULL,
    incident_type TEXT, details TEXT, passed_to TEXT, action_taken TEXT,
    status TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'in hand', 'closed')),
    refer_only INTEGER NOT NULL DEFAULT 0);
CREATE TABLE unblock_requests (
    id TEXT PRIMARY KEY, kiosk_id TEXT NOT NULL REFERENCES kiosks(id), room_id INTEGER NOT NULL, url TEXT NOT NULL,
    requested_at INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'new');
CREATE TABLE audit (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, user_id INTEGER, action TEXT NOT NULL, detail TEXT NOT NULL);
"#,
    r#"
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE room_teachers (
    room_id INTEGER NOT NULL REFERENCES rooms(id), user_id INTEGER NOT NULL REFERENCES users(id), PRIMARY KEY (room_id, user_id));
CREATE TABLE reveals (report_id TEXT NOT NULL REFERENCES reports(id), user_id INTEGER NOT NULL REFERENCES users(id), at INTEGER NOT NULL);
"#,
    r#"
ALTER TABLE lesson_runs ADD COLUMN approved TEXT NOT NULL DEFAULT '';
"#,
    r#"
ALTER TABLE profiles ADD COLUMN image_search INTEGER NOT NULL DEFAULT 1;
"#,
    r#"
ALTER TABLE profiles ADD COLUMN open_web INTEGER NOT NULL DEFAULT 0;
ALTER TABLE profiles ADD COLUMN blocked_categories TEXT NOT NULL DEFAULT '';
"#,
    r#"
ALTER TABLE kiosks ADD COLUMN retired_at INTEGER;
"#,
    r#"
ALTER TABLE users ADD COLUMN disabled_at INTEGER;
"#,
    r#"
ALTER TABLE kiosks ADD COLUMN outbox_waiting INTEGER;
ALTER TABLE kiosks ADD COLUMN outbox_damaged INTEGER;
"#,
    r#"
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
-- No password could be changed before this version: every account still has its one-time one.
UPDATE users SET must_change_password = 1;
ALTER TABLE reports ADD COLUMN edit_version INTEGER NOT NULL DEFAULT 0;
CREATE TABLE report_edits (
    id INTEGER PRIMARY KEY, report_id TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE, user_id INTEGER REFERENCES users(id),
    at INTEGER NOT NULL, incident_type TEXT NOT NULL, details TEXT NOT NULL, passed_to TEXT NOT NULL, action_taken TEXT NOT NULL,
    status TEXT NOT NULL, refer_only INTEGER NOT NULL);
CREATE INDEX report_edits_report ON report_edits (report_id, id);
CREATE TABLE known_devices (
    token_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, created_at INTEGER NOT NULL);
CREATE INDEX audit_action ON audit (action, id);
"#,
    r#"
-- What the server keeps of each kiosk's screenshots (its quota), why a report has none, and
-- when an ask arrived by the server's clock (a kiosk's own date can be anything).
ALTER TABLE reports ADD COLUMN screenshot_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reports ADD COLUMN screenshot_missing TEXT;
ALTER TABLE unblock_requests ADD COLUMN received_at INTEGER;
UPDATE unblock_requests SET received_at = requested_at;
CREATE INDEX reports_kiosk ON reports (kiosk_id, received_at);
CREATE INDEX unblock_requests_kiosk ON unblock_requests (kiosk_id, status);
"#,
    activity::MIGRATION,
    alerts::MIGRATION,
    activity::BLOCKS_MIGRATION,
    activity::KEYED_MIGRATION,
    schools::MIGRATION,
];

pub struct Store {
    db: Box<dyn Engine>,
}

/// A staff account as the admin page lists it.
#[derive(Clone, Debug)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub disabled: bool,
    /// Where its alert e-mails go (safeguarding leads' accounts).
    pub email: Option<String>,
    /// Its school, or `None` for the trust's accounts.
    pub school: Option<i64>,
}

/// A room's rules as every kiosk in it gets them: all of a bundle but the kiosk and the time
/// of signing. Its version names it: every change to a room's rules gives it a new version
/// (kiosks rely on that already, asking only for a version newer than theirs).
#[derive(Clone, Debug)]
pub struct RoomRules {
    pub version: i64,
    pub room: String,
    pub profile: Profile,
    pub lesson: Option<Lesson>,
}

impl RoomRules {
    pub fn bundle_for(&self, kiosk_id: &str, now: u64) -> Bundle {
        Bundle {
            version: self.version as u64,
            issued_at: now,
            kiosk_id: kiosk_id.to_owned(),
            room: self.room.clone(),
            profile: self.profile.clone(),
            lesson: self.lesson.clone(),
        }
    }
}

/// A kiosk, as its token proves.
#[derive(Clone, Debug)]
pub struct KioskRow {
    pub id: String,
    pub name: String,
    pub room_id: i64,
}

/// What a kiosk sends under an id of its own making.
#[derive(Clone, Copy, Debug)]
pub enum Sent {
    Report,
    Ask,
}

/// What became of the screenshot sent with a report.
#[derive(Clone, Debug)]
pub enum Screenshot {
    /// On disk in `screenshots/` under this name.
    Stored { name: String, bytes: u64 },
    /// The kiosk could not take one.
    NotSent,
    /// Sent, but not kept: `quota` (the kiosk's share was used up) or `disk` (the disk was
    /// at its floor).
    Refused(&'static str),
}

/// A report staff have worked on (its form saved, or referred): junk removal and the disk
/// floor leave it whole.
const WORKED_ON: &str = "(reports.edit_version > 0 OR reports.status != 'new' OR reports.refer_only != 0)";

pub use engine::{Error, Result};

/// How a transaction ends: what it did is kept, or undone (and `T` says why).
pub enum Finish<T> {
    Commit(T),
    Undo(T),
}

impl Store {
    /// Opens (creating on first use) the SQLite database at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        Ok(Store { db: Box::new(sqlite::Sqlite::open(path, "ON")?) })
    }

    /// Connects to a PostgreSQL database (`postgres://…`), bringing its schema up to date.
    pub fn connect(url: &str) -> Result<Store> {
        Ok(Store { db: Box::new(postgres::Postgres::connect(url)?) })
    }

    /// A connection for the activity writer. Its full-text index merges its segments as it
    /// grows, freeing pages by the thousand; with `secure_delete` on, each freed page would be
    /// written again as zeros, the writer's largest cost after the inserts themselves. `FAST`
    /// still clears what is deleted within a page. The rows that retention deletes are deleted
    /// on the main connection, which keeps `secure_delete` on; what a merge frees is mostly
    /// index data still held by the merged segment, and free pages are reused within seconds
    /// at the rate kiosks send.
    pub fn open_for_activity(path: &Path) -> Result<Store> {
        Ok(Store { db: Box::new(sqlite::Sqlite::open(path, "FAST")?) })
    }

    /// Tells the replicas listening on `channel` (see [`listen`]); with SQLite there is one
    /// server and no one else to tell.
    pub fn notify(&self, channel: &str, payload: &str) -> Result<()> {
        if self.db.kind() == Kind::Postgres {
            self.execute("SELECT pg_notify(?1, ?2)", params![channel, payload])?;
        }
        Ok(())
    }

    /// Whether this connection leads in `role` (a number below 2^32) among the replicas: on
    /// PostgreSQL a session advisory lock, held until the connection ends, so a replica that
    /// dies, or whose connection is made again, hands it on; with SQLite there is one server,
    /// which always leads. Asked again and again: a lock this session holds is not taken twice.
    pub fn lead(&self, role: i64) -> Result<bool> {
        if self.db.kind() == Kind::Sqlite {
            return Ok(true);
        }
        self.query_row(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
                AND CAST(objid AS BIGINT) = ?1) THEN TRUE ELSE pg_try_advisory_lock(?1) END",
            params![role],
            |row| row.get(0),
        )
    }

    fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<usize> {
        self.db.execute(sql, params)
    }

    /// The first row `sql` returns, read by `read`; [`Error::NoRows`] when there is none.
    fn query_row<T>(&self, sql: &str, params: &[Param<'_>], read: impl FnOnce(&Row) -> Result<T>) -> Result<T> {
        self.db.query(sql, params)?.first().ok_or(Error::NoRows).and_then(read)
    }

    /// Every row `sql` returns, each read by `read`.
    fn query_map<T>(&self, sql: &str, params: &[Param<'_>], read: impl FnMut(&Row) -> Result<T>) -> Result<Vec<T>> {
        self.db.query(sql, params)?.iter().map(read).collect()
    }

    /// Runs `work` in one transaction that no other writer can interleave with (so two
    /// writers never both read and then both try to write), rolled back if it fails.
    pub fn in_transaction<T>(&self, work: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        self.in_transaction_then(|store| work(store).map(Finish::Commit))
    }

    /// As [`Store::in_transaction`], where `work` may also decide to undo what it did.
    fn in_transaction_then<T>(&self, work: impl FnOnce(&Store) -> Result<Finish<T>>) -> Result<T> {
        self.db.begin()?;
        let done = work(self);
        match done {
            Ok(Finish::Commit(value)) => {
                self.db.commit()?;
                Ok(value)
            }
            Ok(Finish::Undo(value)) => {
                self.db.rollback()?;
                Ok(value)
            }
            Err(error) => {
                // The work's failure is the one to report; a failed rollback ends the
                // connection's transaction anyway.
                let _ = self.db.rollback();
                Err(error)
            }
        }
    }

    /// The next rules version: one counter for the whole server, so a kiosk moved to another
    /// room still only ever sees versions grow.
    fn next_version(&self) -> Result<i64> {
        self.query_row(
            "UPDATE counters SET value = value + 1 WHERE name = 'rules_version' RETURNING value",
            params![],
            |row| row.get(0),
        )
    }

    /// Marks a room's rules as changed and returns the new version.
    pub fn bump_room(&self, room_id: i64) -> Result<i64> {
        let version = self.next_version()?;
        self.execute("UPDATE rooms SET rules_version = ?1 WHERE id = ?2", params![version, room_id])?;
        Ok(version)
    }

    pub fn user_count(&self) -> Result<i64> {
        self.query_row("SELECT count(*) FROM users", params![], |row| row.get(0))
    }

    /// Adds an account with a one-time password (changed at its first sign-in), of a school or
    /// (`None`) of the trust.
    pub fn add_user(&self, name: &str, password_hash: &str, role: &str, school: Option<i64>, now: u64) -> Result<i64> {
        self.query_row(
            "INSERT INTO users (name, password_hash, role, created_at, must_change_password, school_id) VALUES (?1, ?2, ?3, ?4, 1, ?5) RETURNING id",
            params![name, password_hash, role, now as i64, school],
            |row| row.get(0),
        )
    }

    pub fn profile_id(&self, name: &str) -> Result<Option<i64>> {
        self.query_row("SELECT id FROM profiles WHERE name = ?1", params![name], |row| row.get(0)).optional()
    }

    /// The built-in profile, unless it is there already.
    pub fn add_built_in_profile(&self, name: &str, list: &str, search: SearchEngine, tiles: &[Tile]) -> Result<()> {
        let tiles = serde_json::to_string(tiles).expect("tiles serialise");
        self.execute(
            "INSERT INTO profiles (name, list, search, tiles) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO NOTHING",
            params![name, list, search_name(search), tiles],
        )?;
        Ok(())
    }

    /// The `admin` account of a first start; `false` when there is one already.
    pub fn add_first_admin(&self, password_hash: &str, now: u64) -> Result<bool> {
        let added = self.execute(
            "INSERT INTO users (name, password_hash, role, created_at, must_change_password) VALUES ('admin', ?1, 'admin', ?2, 1)
             ON CONFLICT (name) DO NOTHING",
            params![password_hash, now as i64],
        )?;
        Ok(added == 1)
    }

    pub fn room_id(&self, name: &str) -> Result<Option<i64>> {
        self.query_row("SELECT id FROM rooms WHERE name = ?1", params![name], |row| row.get(0)).optional()
    }

    pub fn add_room(&self, name: &str, profile_id: i64, school: i64) -> Result<i64> {
        let version = self.next_version()?;
        self.query_row(
            "INSERT INTO rooms (name, profile_id, rules_version, school_id) VALUES (?1, ?2, ?3, ?4) RETURNING id",
            params![name, profile_id, version, school],
            |row| row.get(0),
        )
    }

    pub fn add_enrol_code(&self, code_hash: &str, room_id: i64, expires_at: u64) -> Result<()> {
        self.execute(
            "INSERT INTO enrol_codes (code_hash, room_id, expires_at) VALUES (?1, ?2, ?3)",
            params![code_hash, room_id, expires_at as i64],
        )?;
        Ok(())
    }

    /// Uses up an enrolment code and records the kiosk; `None` when the code is unknown,
    /// used or expired. One transaction: a code works once even under a race.
    pub fn enrol(&self, code_hash: &str, kiosk: &KioskRow, token_hash: &str, now: u64) -> Result<Option<i64>> {
        self.in_transaction(|store| {
            let room: Option<i64> = store
                .query_row(
                    "UPDATE enrol_codes SET used_at = ?2 WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2 RETURNING room_id",
                    params![code_hash, now as i64],
                    |row| row.get(0),
                )
                .optional()?;
            let Some(room_id) = room else { return Ok(None) };
            store.execute(
                "INSERT INTO kiosks (id, name, room_id, token_hash, enrolled_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![kiosk.id, kiosk.name, room_id, token_hash, now as i64],
            )?;
            Ok(Some(room_id))
        })
    }

    pub fn kiosk_by_token(&self, id: &str, token_hash: &str) -> Result<Option<KioskRow>> {
        self.query_row(
            "SELECT id, name, room_id FROM kiosks WHERE id = ?1 AND token_hash = ?2 AND retired_at IS NULL",
            params![id, token_hash],
            |row| Ok(KioskRow { id: row.get(0)?, name: row.get(1)?, room_id: row.get(2)? }),
        )
        .optional()
    }

    /// A kiosk in service (not retired), as it is now: its room may have changed.
    pub fn kiosk_by_id(&self, id: &str) -> Result<Option<KioskRow>> {
        self.query_row(
            "SELECT id, name, room_id FROM kiosks WHERE id = ?1 AND retired_at IS NULL",
            params![id],
            |row| Ok(KioskRow { id: row.get(0)?, name: row.get(1)?, room_id: row.get(2)? }),
        )
        .optional()
    }

    pub fn room_version(&self, room_id: i64) -> Result<i64> {
        self.query_row("SELECT rules_version FROM rooms WHERE id = ?1", params![room_id], |row| row.get(0))
    }

    /// The bundle a kiosk in this room enforces now.
    pub fn bundle(&self, kiosk: &KioskRow, now: u64) -> Result<Bundle> {
        Ok(self.room_rules(kiosk.room_id, now)?.bundle_for(&kiosk.id, now))
    }

    /// A kiosk in service with its room's rules version, in one read.
    pub fn kiosk_and_version(&self, id: &str) -> Result<Option<(KioskRow, i64)>> {
        self.query_row(
            "SELECT kiosks.id, kiosks.name, kiosks.room_id, rooms.rules_version FROM kiosks JOIN rooms ON rooms.id = kiosks.room_id
             WHERE kiosks.id = ?1 AND kiosks.retired_at IS NULL",
            params![id],
            |row| Ok((KioskRow { id: row.get(0)?, name: row.get(1)?, room_id: row.get(2)? }, row.get(3)?)),
        )
        .optional()
    }

    /// What every kiosk in a room enforces now (see [`RoomRules`]).
    pub fn room_rules(&self, room_id: i64, now: u64) -> Result<RoomRules> {
        let (room, version, profile) = self.query_row(
            "SELECT rooms.name, rooms.rules_version, profiles.name, profiles.list, profiles.search, profiles.tiles, profiles.image_search,
                profiles.open_web, profiles.blocked_categories
             FROM rooms JOIN profiles ON profiles.id = rooms.profile_id WHERE rooms.id = ?1",
            params![room_id],
            |row| {
                let profile = Profile {
                    name: row.get(2)?,
                    list: row.get(3)?,
                    search: parse_search(&row.get::<String>(4)?),
                    image_search: row.get(6)?,
                    open_web: row.get(7)?,
                    blocked_categories: split_categories(&row.get::<String>(8)?),
                    tiles: serde_json::from_str(&row.get::<String>(5)?).unwrap_or_default(),
                };
                Ok((row.get::<String>(0)?, row.get::<i64>(1)?, profile))
            },
        )?;
        let lesson = self
            .query_row(
                "SELECT lessons.name, lessons.list || lesson_runs.approved, lessons.tiles, lesson_runs.ends_at FROM lesson_runs
                 JOIN lessons ON lessons.id = lesson_runs.lesson_id
                 WHERE lesson_runs.room_id = ?1 AND lesson_runs.ended = 0 AND lesson_runs.started_at <= ?2 AND lesson_runs.ends_at > ?2
                 ORDER BY lesson_runs.started_at DESC LIMIT 1",
                params![room_id, now as i64],
                |row| {
                    Ok(Lesson {
                        name: row.get(0)?,
                        list: row.get(1)?,
                        tiles: serde_json::from_str(&row.get::<String>(2)?).unwrap_or_default(),
                        ends_at: row.get::<i64>(3)? as u64,
                    })
                },
            )
            .optional()?;
        Ok(RoomRules { version, room, profile, lesson })
    }

    pub fn add_lesson(&self, name: &str, list: &str, tiles: &[Tile], owner: Option<i64>) -> Result<i64> {
        let tiles = serde_json::to_string(tiles).expect("tiles serialise");
        self.query_row(
            "INSERT INTO lessons (name, list, tiles, owner_id) VALUES (?1, ?2, ?3, ?4) RETURNING id",
            params![name, list, tiles, owner],
            |row| row.get(0),
        )
    }

    /// Starts a lesson in a room (ending any other running there) and returns the room's new
    /// rules version.
    pub fn start_lesson(&self, lesson_id: i64, room_id: i64, now: u64, minutes: u64) -> Result<i64> {
        self.in_transaction(|store| {
            store.execute("UPDATE lesson_runs SET ended = 1 WHERE room_id = ?1 AND ended = 0", params![room_id])?;
            store.execute(
                "INSERT INTO lesson_runs (lesson_id, room_id, started_at, ends_at) VALUES (?1, ?2, ?3, ?4)",
                params![lesson_id, room_id, now as i64, (now + minutes * 60) as i64],
            )?;
            store.bump_room(room_id)
        })
    }

    pub fn end_lesson(&self, room_id: i64) -> Result<i64> {
        self.execute("UPDATE lesson_runs SET ended = 1 WHERE room_id = ?1 AND ended = 0", params![room_id])?;
        self.bump_room(room_id)
    }

    /// Ends the lessons whose time is up; returns the rooms whose rules changed.
    pub fn end_lessons_due(&self, now: u64) -> Result<Vec<(i64, i64)>> {
        let rooms: Vec<i64> = self.query_map(
            "UPDATE lesson_runs SET ended = 1 WHERE ended = 0 AND ends_at <= ?1 RETURNING room_id",
            params![now as i64],
            |row| row.get(0),
        )?;
        rooms.into_iter().map(|room| Ok((room, self.bump_room(room)?))).collect()
    }

    /// The soonest time a running lesson ends, so the server wakes then.
    pub fn next_lesson_end(&self) -> Result<Option<u64>> {
        self.query_row("SELECT min(ends_at) FROM lesson_runs WHERE ended = 0", params![], |row| {
            row.get::<Option<i64>>(0)
        })
        .map(|t| t.map(|t| t as u64))
    }

    /// The kiosk that sent the report or ask with this id, if one did.
    pub fn sender(&self, item: Sent, id: &str) -> Result<Option<String>> {
        let sql = match item {
            Sent::Report => "SELECT kiosk_id FROM reports WHERE id = ?1",
            Sent::Ask => "SELECT kiosk_id FROM unblock_requests WHERE id = ?1",
        };
        self.query_row(sql, params![id], |row| row.get(0)).optional()
    }

    /// Stores a report once; a repeat of the same id changes nothing. Returns whether it was
    /// new.
    /// Stores a report (its screenshot, if any, is already beside the database: `screenshot`).
    pub fn add_report(&self, kiosk: &KioskRow, report: &Report, screenshot: &Screenshot, now: u64) -> Result<bool> {
        let Report { id, content: report } = report;
        let room: String =
            self.query_row("SELECT name FROM rooms WHERE id = ?1", params![kiosk.room_id], |row| row.get(0))?;
        let (name, bytes, missing) = match screenshot {
            Screenshot::Stored { name, bytes } => (name.as_str(), *bytes as i64, None),
            Screenshot::NotSent => ("", 0, None),
            Screenshot::Refused(why) => ("", 0, Some(*why)),
        };
        let inserted = self.execute(
            "INSERT INTO reports (id, kiosk_id, room, machine, happened_at, received_at, url, title, feeling, profile, lesson, rules_version,
                screenshot, screenshot_bytes, screenshot_missing)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) ON CONFLICT (id) DO NOTHING",
            params![
                id,
                kiosk.id,
                room,
                kiosk.name,
                report.happened_at as i64,
                now as i64,
                report.url,
                report.title,
                report.feeling,
                report.profile,
                report.lesson,
                report.rules_version.map(|v| v as i64),
                name,
                bytes,
                missing
            ],
        )?;
        Ok(inserted == 1)
    }

    /// The bytes of screenshot this kiosk has stored (its quota).
    pub fn screenshot_bytes(&self, kiosk_id: &str) -> Result<u64> {
        self.query_row(
            "SELECT CAST(coalesce(sum(screenshot_bytes), 0) AS BIGINT) FROM reports WHERE kiosk_id = ?1",
            params![kiosk_id],
            |row| row.get::<i64>(0),
        )
        .map(|n| n as u64)
    }

    /// Screenshots that may go to keep the disk floor, oldest first: `(report id, file name)`.
    /// Never one of a report staff have worked on.
    pub fn oldest_screenshots(&self, count: usize) -> Result<Vec<(String, String)>> {
        let sql = format!("SELECT id, screenshot FROM reports WHERE screenshot != '' AND NOT {WORKED_ON} ORDER BY received_at, rowid LIMIT ?1");
        self.query_map(&sql, params![count as i64], |row| Ok((row.get(0)?, row.get(1)?)))
    }

    /// Keeps a screenshot in the database (PostgreSQL: see [`crate::server::Database`]); the
    /// same name again (a report sent again) keeps the one picture.
    pub fn put_screenshot(&self, name: &str, png: &[u8]) -> Result<()> {
        self.execute(
            "INSERT INTO screenshots (name, png) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET png = excluded.png",
            params![name, png],
        )?;
        Ok(())
    }

    pub fn screenshot(&self, name: &str) -> Result<Option<Vec<u8>>> {
        self.query_row("SELECT png FROM screenshots WHERE name = ?1", params![name], |row| row.get(0)).optional()
    }

    pub fn remove_screenshot(&self, name: &str) -> Result<()> {
        self.execute("DELETE FROM screenshots WHERE name = ?1", params![name])?;
        Ok(())
    }

    /// Steps a sign-in bucket that every replica shares (PostgreSQL: see
    /// [`crate::server::login`]) in one transaction: the upsert that reads it locks its row
    /// until the step is written, so tries made side by side on two replicas both count.
    pub fn step_login_bucket<T>(
        &self,
        name: &str,
        client: &str,
        now: u64,
        step: impl FnOnce(&mut Bucket) -> T,
    ) -> Result<T> {
        self.in_transaction(|store| {
            let mut bucket = store.query_row(
                "INSERT INTO login_tries (name, client, tries, next_allowed) VALUES (?1, ?2, 0, ?3)
                 ON CONFLICT (name, client) DO UPDATE SET tries = login_tries.tries RETURNING tries, next_allowed",
                params![name, client, now as i64],
                |row| {
                    Ok(Bucket {
                        tries: u32::try_from(row.get::<i64>(0)?).unwrap_or(u32::MAX),
                        next_allowed: row.get::<i64>(1)?.max(0) as u64,
                    })
                },
            )?;
            let done = step(&mut bucket);
            store.execute(
                "UPDATE login_tries SET tries = ?3, next_allowed = ?4 WHERE name = ?1 AND client = ?2",
                params![name, client, i64::from(bucket.tries), bucket.next_allowed as i64],
            )?;
            Ok(done)
        })
    }

    /// Steps a kiosk's log of one kind of send that every replica shares (PostgreSQL: see
    /// [`crate::server::limits`]), its row locked from read to write as a sign-in bucket's is.
    pub fn step_send_log<T>(&self, kiosk: &str, kind: &str, step: impl FnOnce(&mut SendLog) -> T) -> Result<T> {
        self.in_transaction(|store| {
            let mut log = store.query_row(
                "INSERT INTO kiosk_sends (kiosk_id, kind, times) VALUES (?1, ?2, '')
                 ON CONFLICT (kiosk_id, kind) DO UPDATE SET times = kiosk_sends.times RETURNING times",
                params![kiosk, kind],
                |row| Ok(SendLog::from_text(&row.get::<String>(0)?)),
            )?;
            let done = step(&mut log);
            store.execute(
                "UPDATE kiosk_sends SET times = ?3 WHERE kiosk_id = ?1 AND kind = ?2",
                params![kiosk, kind, log.to_text()],
            )?;
            Ok(done)
        })
    }

    /// The right password: the bucket starts again.
    pub fn forget_login_bucket(&self, name: &str, client: &str) -> Result<()> {
        self.execute("DELETE FROM login_tries WHERE name = ?1 AND client = ?2", params![name, client])?;
        Ok(())
    }

    /// Forgets the buckets left alone since `before` (a flood of made-up names stays bounded).
    pub fn forget_stale_login_buckets(&self, before: u64) -> Result<()> {
        self.execute("DELETE FROM login_tries WHERE next_allowed < ?1", params![before as i64])?;
        Ok(())
    }

    /// Forgets a report's screenshot (its file is deleted next), saying why in the inbox.
    pub fn drop_screenshot(&self, report_id: &str, why: &str) -> Result<()> {
        self.execute(
            "UPDATE reports SET screenshot = '', screenshot_bytes = 0, screenshot_missing = ?2 WHERE id = ?1",
            params![report_id, why],
        )?;
        Ok(())
    }

    /// Records a feeling on a report this kiosk sent; false when there is none.
    pub fn set_feeling(&self, kiosk: &KioskRow, report_id: &str, feeling: &str) -> Result<bool> {
        let changed = self.execute(
            "UPDATE reports SET feeling = ?3 WHERE id = ?1 AND kiosk_id = ?2",
            params![report_id, kiosk.id, feeling],
        )?;
        Ok(changed == 1)
    }

    pub fn add_unblock_request(
        &self,
        kiosk: &KioskRow,
        id: &str,
        url: &str,
        requested_at: u64,
        now: u64,
    ) -> Result<bool> {
        let inserted = self.execute(
            "INSERT INTO unblock_requests (id, kiosk_id, room_id, url, requested_at, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING",
            params![id, kiosk.id, kiosk.room_id, url, requested_at as i64, now as i64],
        )?;
        Ok(inserted == 1)
    }

    /// Asks from this kiosk no teacher has answered yet.
    pub fn open_asks(&self, kiosk_id: &str) -> Result<i64> {
        self.query_row(
            "SELECT count(*) FROM unblock_requests WHERE kiosk_id = ?1 AND status = 'new'",
            params![kiosk_id],
            |row| row.get(0),
        )
    }

    pub fn heartbeat(&self, kiosk: &KioskRow, beat: &Heartbeat, now: u64) -> Result<()> {
        self.execute(
            "UPDATE kiosks SET last_seen = ?2, rules_version = ?3, last_sync = ?4, state = ?5, satchel_version = ?6, outbox_waiting = ?7, outbox_damaged = ?8 WHERE id = ?1",
            params![
                kiosk.id,
                now as i64,
                beat.rules_version as i64,
                beat.last_sync.map(|t| t as i64),
                beat.state,
                beat.satchel_version,
                beat.outbox_waiting.map(|n| n as i64),
                beat.outbox_damaged.map(|n| n as i64)
            ],
        )?;
        Ok(())
    }

    pub fn audit(&self, user: Option<i64>, action: &str, detail: &str, now: u64) -> Result<()> {
        self.execute(
            "INSERT INTO audit (at, user_id, action, detail) VALUES (?1, ?2, ?3, ?4)",
            params![now as i64, user, action, detail],
        )?;
        Ok(())
    }
}

/// Who is signed in to the console.
#[derive(Clone, Debug)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub csrf: String,
    /// Signed in with a one-time password: every page waits until it is changed.
    pub must_change_password: bool,
    /// The school whose rooms a safeguarding lead or admin sees; `None`: every school (the
    /// trust's staff, and a single school's).
    pub school: Option<i64>,
    /// For the trust's staff, the one school they chose to look at for now.
    pub viewing: Option<i64>,
}

impl User {
    /// The one school this member of staff's pages show (their own, or the one they chose to
    /// look at), or `None` for every school they see.
    pub fn shown_school(&self) -> Option<i64> {
        self.school.or(self.viewing)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Teacher,
    Dsl,
    Admin,
}

impl Role {
    pub fn parse(name: &str) -> Option<Role> {
        match name {
            "teacher" => Some(Role::Teacher),
            "dsl" => Some(Role::Dsl),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Sees every room of their school (of every school, for the trust's accounts): the
    /// safeguarding lead and the admin; a teacher sees only their own rooms.
    pub fn sees_whole_school(self) -> bool {
        matches!(self, Role::Dsl | Role::Admin)
    }
}

/// A room as the console lists it, with the lesson running there.
#[derive(Clone, Debug)]
pub struct RoomRow {
    pub id: i64,
    pub name: String,
    pub lesson: Option<(String, u64)>,
}

#[derive(Clone, Debug)]
pub struct LessonRow {
    pub id: i64,
    pub name: String,
    pub tiles: Vec<Tile>,
}

/// A report as the inbox shows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ReportRow {
    pub id: String,
    pub room: String,
    pub machine: String,
    pub happened_at: u64,
    pub url: String,
    pub title: String,
    pub feeling: Option<String>,
    pub lesson: Option<String>,
    pub incident_type: String,
    pub details: String,
    pub passed_to: String,
    pub action_taken: String,
    pub status: String,
    pub refer_only: bool,
    pub screenshot: String,
    /// Why a report has no screenshot though one was sent: `quota` or `disk`.
    pub screenshot_missing: Option<String>,
    /// Counts saves of the incident form: a save made from an older version is refused.
    pub edit_version: i64,
    /// The school of the kiosk's room.
    pub school: String,
}

/// What staff fill in on a report (the school incident form).
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct IncidentFields {
    pub incident_type: String,
    pub details: String,
    pub passed_to: String,
    pub action_taken: String,
    pub status: String,
    #[serde(default)]
    pub refer_only: Option<String>,
}

/// One save of the incident form, as the report's history shows it.
#[derive(Clone, Debug)]
pub struct ReportEdit {
    pub at: u64,
    pub user: Option<String>,
    pub fields: IncidentFields,
}

const REPORT_COLUMNS: &str = "reports.id, reports.room, reports.machine, reports.happened_at, reports.url, reports.title, reports.feeling, reports.lesson,
    coalesce(reports.incident_type, ''), coalesce(reports.details, ''), coalesce(reports.passed_to, ''), coalesce(reports.action_taken, ''),
    reports.status, reports.refer_only, reports.screenshot, reports.edit_version, reports.screenshot_missing, schools.name";
/// The tables [`REPORT_COLUMNS`] reads, and the kiosk's room that says who may see a report.
const REPORT_FROM: &str = "reports JOIN kiosks ON kiosks.id = reports.kiosk_id JOIN rooms ON rooms.id = kiosks.room_id
    JOIN schools ON schools.id = rooms.school_id";

fn report_row(row: &Row) -> Result<ReportRow> {
    Ok(ReportRow {
        id: row.get(0)?,
        room: row.get(1)?,
        machine: row.get(2)?,
        happened_at: row.get::<i64>(3)? as u64,
        url: row.get(4)?,
        title: row.get(5)?,
        feeling: row.get(6)?,
        lesson: row.get(7)?,
        incident_type: row.get(8)?,
        details: row.get(9)?,
        passed_to: row.get(10)?,
        action_taken: row.get(11)?,
        status: row.get(12)?,
        refer_only: row.get(13)?,
        screenshot: row.get(14)?,
        edit_version: row.get(15)?,
        screenshot_missing: row.get(16)?,
        school: row.get(17)?,
    })
}

impl Store {
    /// The user's id and password hash.
    pub fn user_login(&self, name: &str) -> Result<Option<(i64, String)>> {
        self.query_row(
            "SELECT id, password_hash FROM users WHERE name = ?1 AND disabled_at IS NULL",
            params![name],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
    }

    /// The account made at first start (the oldest admin).
    pub fn first_admin(&self) -> Result<Option<i64>> {
        self.query_row("SELECT min(id) FROM users WHERE role = 'admin'", params![], |row| row.get(0))
    }

    /// A user's password hash and name, for checking the current password before a change.
    pub fn password_hash(&self, user_id: i64) -> Result<Option<String>> {
        self.query_row(
            "SELECT password_hash FROM users WHERE id = ?1 AND disabled_at IS NULL",
            params![user_id],
            |row| row.get(0),
        )
        .optional()
    }

    /// Sets a password; `one_time` for one an admin hands over (it must be changed at the next
    /// sign-in). Every session of the account but `keep_session` ends.
    pub fn set_password(
        &self,
        user_id: i64,
        password_hash: &str,
        one_time: bool,
        keep_session: Option<&str>,
    ) -> Result<()> {
        self.execute(
            "UPDATE users SET password_hash = ?2, must_change_password = ?3 WHERE id = ?1",
            params![user_id, password_hash, one_time],
        )?;
        self.execute(
            "DELETE FROM sessions WHERE user_id = ?1 AND token_hash IS DISTINCT FROM ?2",
            params![user_id, keep_session],
        )?;
        Ok(())
    }

    /// Remembers a browser that signed in to this account: failed tries from elsewhere never
    /// slow it down.
    pub fn add_known_device(&self, token_hash: &str, user_id: i64, now: u64) -> Result<()> {
        self.execute(
            "INSERT INTO known_devices (token_hash, user_id, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            params![token_hash, user_id, now as i64],
        )?;
        Ok(())
    }

    pub fn is_known_device(&self, token_hash: &str, user_id: i64) -> Result<bool> {
        self.query_row(
            "SELECT EXISTS (SELECT 1 FROM known_devices WHERE token_hash = ?1 AND user_id = ?2)",
            params![token_hash, user_id],
            |row| row.get(0),
        )
    }

    pub fn add_session(&self, token_hash: &str, user_id: i64, csrf: &str, now: u64, expires_at: u64) -> Result<()> {
        self.execute("DELETE FROM sessions WHERE expires_at <= ?1", params![now as i64])?;
        self.execute(
            "INSERT INTO sessions (token_hash, user_id, csrf, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![token_hash, user_id, csrf, expires_at as i64],
        )?;
        Ok(())
    }

    pub fn session(&self, token_hash: &str, now: u64) -> Result<Option<User>> {
        self
            .query_row(
                "SELECT users.id, users.name, users.role, sessions.csrf, users.must_change_password, users.school_id, users.viewing_school FROM sessions JOIN users ON users.id = sessions.user_id
                 WHERE sessions.token_hash = ?1 AND sessions.expires_at > ?2 AND users.disabled_at IS NULL",
                params![token_hash, now as i64],
                |row| {
                    Ok(User {
                        id: row.get(0)?,
                        name: row.get(1)?,
                        role: Role::parse(&row.get::<String>(2)?).unwrap_or(Role::Teacher),
                        csrf: row.get(3)?,
                        must_change_password: row.get(4)?,
                        school: row.get(5)?,
                        viewing: row.get(6)?,
                    })
                },
            )
            .optional()
    }

    pub fn end_session(&self, token_hash: &str) -> Result<()> {
        self.execute("DELETE FROM sessions WHERE token_hash = ?1", params![token_hash])?;
        Ok(())
    }

    pub fn assign_room(&self, user_id: i64, room_id: i64) -> Result<()> {
        self.execute(
            "INSERT INTO room_teachers (room_id, user_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![room_id, user_id],
        )?;
        Ok(())
    }

    /// The rooms a user may run lessons in and read reports from.
    pub fn rooms_for(&self, user: &User, now: u64) -> Result<Vec<RoomRow>> {
        self.query_map(
            &format!("SELECT rooms.id, rooms.name,
                (SELECT lessons.name FROM lesson_runs JOIN lessons ON lessons.id = lesson_runs.lesson_id
                 WHERE lesson_runs.room_id = rooms.id AND lesson_runs.ended = 0 AND lesson_runs.ends_at > ?2 ORDER BY lesson_runs.started_at DESC LIMIT 1),
                (SELECT lesson_runs.ends_at FROM lesson_runs
                 WHERE lesson_runs.room_id = rooms.id AND lesson_runs.ended = 0 AND lesson_runs.ends_at > ?2 ORDER BY lesson_runs.started_at DESC LIMIT 1)
             FROM rooms WHERE rooms.id IN ({}) ORDER BY rooms.name", rooms_seen_by("?1")),
        params![user.id, now as i64], |row| {
            let lesson = match (row.get::<Option<String>>(2)?, row.get::<Option<i64>>(3)?) {
                (Some(name), Some(ends)) => Some((name, ends as u64)),
                _ => None,
            };
            Ok(RoomRow { id: row.get(0)?, name: row.get(1)?, lesson })
        })
    }

    pub fn lessons(&self) -> Result<Vec<LessonRow>> {
        self.query_map("SELECT id, name, tiles FROM lessons ORDER BY name", params![], |row| {
            Ok(LessonRow {
                id: row.get(0)?,
                name: row.get(1)?,
                tiles: serde_json::from_str(&row.get::<String>(2)?).unwrap_or_default(),
            })
        })
    }

    pub fn lesson_exists(&self, lesson_id: i64) -> Result<bool> {
        self.query_row("SELECT count(*) FROM lessons WHERE id = ?1", params![lesson_id], |row| row.get::<i64>(0))
            .map(|n| n > 0)
    }

    /// Adds minutes to the lesson running in a room; `None` when none is running.
    pub fn extend_lesson(&self, room_id: i64, minutes: u64, now: u64) -> Result<Option<i64>> {
        let changed = self.execute(
            "UPDATE lesson_runs SET ends_at = ends_at + ?2 WHERE room_id = ?1 AND ended = 0 AND ends_at > ?3",
            params![room_id, (minutes * 60) as i64, now as i64],
        )?;
        if changed == 0 {
            return Ok(None);
        }
        self.bump_room(room_id).map(Some)
    }

    /// The reports a user may read, newest first.
    /// The reports this user may read, newest first: `count` of them after skipping `skip`,
    /// or with `None` every one (the CSV export).
    pub fn reports_for(&self, user: &User, page: Option<(usize, usize)>) -> Result<Vec<ReportRow>> {
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM {REPORT_FROM}
             WHERE kiosks.room_id IN ({seen})
             ORDER BY reports.received_at DESC, reports.rowid DESC LIMIT ?2 OFFSET ?3",
            seen = rooms_seen_by("?1")
        );
        let (skip, count) = page.map_or((0, i64::MAX), |(skip, count)| (skip as i64, count as i64));
        self.query_map(&sql, params![user.id, count, skip], report_row)
    }

    /// One report, if this user may read it.
    pub fn report_for(&self, user: &User, id: &str) -> Result<Option<ReportRow>> {
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM {REPORT_FROM}
             WHERE reports.id = ?2 AND kiosks.room_id IN ({seen})",
            seen = rooms_seen_by("?1")
        );
        self.query_row(&sql, params![user.id, id], report_row).optional()
    }

    pub fn record_reveal(&self, report_id: &str, user_id: i64, now: u64) -> Result<()> {
        self.execute(
            "INSERT INTO reveals (report_id, user_id, at) VALUES (?1, ?2, ?3)",
            params![report_id, user_id, now as i64],
        )?;
        Ok(())
    }

    /// Saves the incident form if nobody saved it since `seen_version` was read, and keeps the
    /// saved text in the report's history. `false`: someone else's save came first, and
    /// nothing was written.
    pub fn update_incident(
        &self,
        report_id: &str,
        fields: &IncidentFields,
        seen_version: i64,
        user_id: i64,
        now: u64,
    ) -> Result<bool> {
        self.in_transaction(|store| {
            // Referral only ever goes on: a save without the box leaves it as it was.
            let updated = store.execute(
                "UPDATE reports SET incident_type = ?2, details = ?3, passed_to = ?4, action_taken = ?5, status = ?6,
                    refer_only = CASE WHEN ?7 = 1 THEN 1 ELSE refer_only END, edit_version = edit_version + 1
                 WHERE id = ?1 AND edit_version = ?8",
                params![
                    report_id,
                    fields.incident_type,
                    fields.details,
                    fields.passed_to,
                    fields.action_taken,
                    fields.status,
                    fields.refer_only.is_some(),
                    seen_version
                ],
            )?;
            if updated == 0 {
                return Ok(false);
            }
            store.execute(
                "INSERT INTO report_edits (report_id, user_id, at, incident_type, details, passed_to, action_taken, status, refer_only)
                 SELECT id, ?2, ?3, coalesce(incident_type, ''), coalesce(details, ''), coalesce(passed_to, ''), coalesce(action_taken, ''), status, refer_only
                 FROM reports WHERE id = ?1",
                params![report_id, user_id, now as i64],
            )?;
            Ok(true)
        })
    }

    /// Every save of a report's incident form, oldest first, with who made it.
    pub fn report_edits(&self, report_id: &str) -> Result<Vec<ReportEdit>> {
        self.query_map(
            "SELECT e.at, users.name, e.incident_type, e.details, e.passed_to, e.action_taken, e.status, e.refer_only
             FROM report_edits e LEFT JOIN users ON users.id = e.user_id WHERE e.report_id = ?1 ORDER BY e.id",
            params![report_id],
            |row| {
                Ok(ReportEdit {
                    at: row.get::<i64>(0)? as u64,
                    user: row.get(1)?,
                    fields: IncidentFields {
                        incident_type: row.get(2)?,
                        details: row.get(3)?,
                        passed_to: row.get(4)?,
                        action_taken: row.get(5)?,
                        status: row.get(6)?,
                        refer_only: row.get::<bool>(7)?.then(|| "1".to_owned()),
                    },
                })
            },
        )
    }

    /// The room a kiosk belongs to (for telling the console who may see its report).
    pub fn kiosk_room(&self, kiosk_id: &str) -> Result<Option<i64>> {
        self.query_row("SELECT room_id FROM kiosks WHERE id = ?1", params![kiosk_id], |row| row.get(0)).optional()
    }
}

/// What became of a teacher's answer to a pupil's ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AskOutcome {
    Approved {
        room: i64,
        version: i64,
    },
    Declined,
    /// The room's lesson has ended: nothing to add the page to, and the ask stays open.
    NoLesson,
    /// Someone answered it already.
    AlreadyDecided,
}

/// An unblock request as the console lists it.
#[derive(Clone, Debug)]
pub struct UnblockRow {
    pub id: String,
    pub room_id: i64,
    pub room: String,
    pub machine: String,
    pub url: String,
    pub requested_at: u64,
    /// Whether a lesson is running in the room (approval adds to it).
    pub lesson_running: bool,
}

/// A kiosk as the Machines page shows it.
#[derive(Clone, Debug)]
pub struct MachineRow {
    pub id: String,
    /// Items waiting in its outbox and items set aside, as its last heartbeat said.
    pub outbox: Option<(u64, u64)>,
    pub name: String,
    pub room: String,
    pub last_seen: Option<u64>,
    pub rules_version: Option<u64>,
    pub room_version: u64,
    pub state: Option<String>,
    pub satchel_version: Option<String>,
    pub school: String,
}

/// A room as the admin page lists it.
#[derive(Clone, Debug)]
pub struct AdminRoom {
    pub id: i64,
    pub name: String,
    pub profile_id: i64,
    pub school: String,
}

#[derive(Clone, Debug)]
pub struct ProfileRow {
    pub id: i64,
    pub name: String,
    pub list: String,
    pub search: SearchEngine,
    pub image_search: bool,
    pub open_web: bool,
    pub blocked_categories: Vec<String>,
}

/// Category names as stored and typed: comma-separated, spaces ignored.
pub fn split_categories(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|name| !name.is_empty()).map(str::to_owned).collect()
}

#[derive(Clone, Debug)]
pub struct AuditRow {
    pub at: u64,
    pub user: Option<String>,
    pub action: String,
    pub detail: String,
}

impl Store {
    /// Open unblock requests from the rooms this user may see, newest first.
    pub fn unblock_requests_for(&self, user: &User, now: u64) -> Result<Vec<UnblockRow>> {
        self.query_map(
            &format!(
                "SELECT u.id, u.room_id, rooms.name, kiosks.name, u.url, u.requested_at,
                EXISTS (SELECT 1 FROM lesson_runs r WHERE r.room_id = u.room_id AND r.ended = 0 AND r.ends_at > ?2)
             FROM unblock_requests u JOIN rooms ON rooms.id = u.room_id JOIN kiosks ON kiosks.id = u.kiosk_id
             WHERE u.status = 'new' AND u.room_id IN ({})
             ORDER BY u.requested_at DESC LIMIT 200",
                rooms_seen_by("?1")
            ),
            params![user.id, now as i64],
            |row| {
                Ok(UnblockRow {
                    id: row.get(0)?,
                    room_id: row.get(1)?,
                    room: row.get(2)?,
                    machine: row.get(3)?,
                    url: row.get(4)?,
                    requested_at: row.get::<i64>(5)? as u64,
                    lesson_running: row.get(6)?,
                })
            },
        )
    }

    /// Decides an unblock request. An approval adds `entry` to the lesson running in its room;
    /// with no lesson running the request is kept, undecided.
    pub fn decide_unblock(&self, id: &str, approve_entry: Option<&str>, now: u64) -> Result<AskOutcome> {
        self.in_transaction_then(|store| {
            let room: Option<i64> = store
                .query_row(
                    "UPDATE unblock_requests SET status = ?2 WHERE id = ?1 AND status = 'new' RETURNING room_id",
                    params![id, if approve_entry.is_some() { "approved" } else { "declined" }],
                    |row| row.get(0),
                )
                .optional()?;
            let Some(room) = room else { return Ok(Finish::Commit(AskOutcome::AlreadyDecided)) };
            let Some(entry) = approve_entry else { return Ok(Finish::Commit(AskOutcome::Declined)) };
            let added = store.execute(
                "UPDATE lesson_runs SET approved = approved || ?2 WHERE room_id = ?1 AND ended = 0 AND ends_at > ?3",
                params![room, format!("{entry}\n"), now as i64],
            )?;
            if added == 0 {
                // The status change is undone: the ask stays open.
                return Ok(Finish::Undo(AskOutcome::NoLesson));
            }
            Ok(Finish::Commit(AskOutcome::Approved { room, version: store.bump_room(room)? }))
        })
    }

    pub fn unblock_request(&self, id: &str) -> Result<Option<(i64, String)>> {
        self.query_row("SELECT room_id, url FROM unblock_requests WHERE id = ?1", params![id], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()
    }

    /// The kiosks in service in the rooms this member of staff sees.
    pub fn machines(&self, user: &User) -> Result<Vec<MachineRow>> {
        self.query_map(
            &format!("SELECT kiosks.name, rooms.name, kiosks.last_seen, kiosks.rules_version, rooms.rules_version, kiosks.state, kiosks.satchel_version, kiosks.id, kiosks.outbox_waiting, kiosks.outbox_damaged, schools.name
             FROM kiosks JOIN rooms ON rooms.id = kiosks.room_id JOIN schools ON schools.id = rooms.school_id
             WHERE kiosks.retired_at IS NULL AND kiosks.room_id IN ({}) ORDER BY schools.name, rooms.name, kiosks.name", rooms_seen_by("?1")),
        params![user.id], |row| {
            Ok(MachineRow {
                name: row.get(0)?,
                room: row.get(1)?,
                last_seen: row.get::<Option<i64>>(2)?.map(|t| t as u64),
                rules_version: row.get::<Option<i64>>(3)?.map(|v| v as u64),
                room_version: row.get::<i64>(4)? as u64,
                state: row.get(5)?,
                satchel_version: row.get(6)?,
                id: row.get(7)?,
                outbox: row
                    .get::<Option<i64>>(8)?
                    .zip(row.get::<Option<i64>>(9)?)
                    .map(|(waiting, damaged)| (waiting as u64, damaged as u64)),
                school: row.get(10)?,
            })
        })
    }

    /// Retires a kiosk: its token stops working and it leaves the Machines page; its reports
    /// stay. Returns its name, or `None` if there is no such kiosk in service in the rooms
    /// this member of staff sees.
    pub fn retire_kiosk(&self, user: &User, id: &str, now: u64) -> Result<Option<String>> {
        let name: Option<String> = self
            .query_row(
                &format!(
                    "SELECT name FROM kiosks WHERE id = ?2 AND retired_at IS NULL AND room_id IN ({})",
                    rooms_seen_by("?1")
                ),
                params![user.id, id],
                |row| row.get(0),
            )
            .optional()?;
        if name.is_some() {
            self.execute("UPDATE kiosks SET retired_at = ?2 WHERE id = ?1", params![id, now as i64])?;
        }
        Ok(name)
    }

    /// The audit log, newest first: `count` entries after skipping `skip`, of one action or all.
    /// A school's staff see what their school's accounts did; the trust's see everything.
    pub fn audit_log(&self, user: &User, action: Option<&str>, skip: usize, count: usize) -> Result<Vec<AuditRow>> {
        self.query_map(
            &format!("SELECT audit.at, users.name, audit.action, audit.detail FROM audit LEFT JOIN users ON users.id = audit.user_id
             WHERE (CAST(?2 AS TEXT) IS NULL OR audit.action = ?2) AND ({ACCOUNTS_SEEN}) ORDER BY audit.id DESC LIMIT ?3 OFFSET ?4"),
        params![user.id, action, count as i64, skip as i64], |row| {
            Ok(AuditRow {
                at: row.get::<i64>(0)? as u64,
                user: row.get(1)?,
                action: row.get(2)?,
                detail: row.get(3)?,
            })
        })
    }

    /// Every action the audit log holds, for its filter.
    pub fn audit_actions(&self) -> Result<Vec<String>> {
        self.query_map("SELECT DISTINCT action FROM audit ORDER BY action", params![], |row| row.get(0))
    }

    /// The rooms this admin looks after, with their profiles and schools.
    pub fn rooms_with_profiles(&self, user: &User) -> Result<Vec<AdminRoom>> {
        self.query_map(
            &format!("SELECT rooms.id, rooms.name, rooms.profile_id, schools.name FROM rooms JOIN schools ON schools.id = rooms.school_id
             WHERE rooms.id IN ({}) ORDER BY schools.name, rooms.name", rooms_seen_by("?1")),
            params![user.id],
            |row| Ok(AdminRoom { id: row.get(0)?, name: row.get(1)?, profile_id: row.get(2)?, school: row.get(3)? }),
        )
    }

    /// Moves a room to another profile; returns the room's new rules version.
    pub fn set_room_profile(&self, room_id: i64, profile_id: i64) -> Result<i64> {
        self.execute("UPDATE rooms SET profile_id = ?2 WHERE id = ?1", params![room_id, profile_id])?;
        self.bump_room(room_id)
    }

    /// The accounts this admin looks after: id, name, role, whether it is disabled, school.
    pub fn users(&self, admin: &User) -> Result<Vec<UserRow>> {
        self.query_map(
            &format!(
                "SELECT id, name, role, disabled_at IS NOT NULL, email, school_id FROM users WHERE {ACCOUNTS_SEEN}
             ORDER BY disabled_at IS NOT NULL, name"
            ),
            params![admin.id],
            |row| {
                Ok(UserRow {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    role: row.get(2)?,
                    disabled: row.get(3)?,
                    email: row.get(4)?,
                    school: row.get(5)?,
                })
            },
        )
    }

    /// Disables an account (someone who has left): it cannot sign in, and its sessions end at
    /// once. What it did stays in the audit log. Returns its name, or `None` if there is no
    /// such account in use.
    pub fn disable_user(&self, id: i64, now: u64) -> Result<Option<String>> {
        let name: Option<String> = self
            .query_row("SELECT name FROM users WHERE id = ?1 AND disabled_at IS NULL", params![id], |row| row.get(0))
            .optional()?;
        if name.is_some() {
            self.execute("UPDATE users SET disabled_at = ?2 WHERE id = ?1", params![id, now as i64])?;
            self.execute("DELETE FROM sessions WHERE user_id = ?1", params![id])?;
        }
        Ok(name)
    }

    pub fn room_name(&self, room_id: i64) -> Result<Option<String>> {
        self.query_row("SELECT name FROM rooms WHERE id = ?1", params![room_id], |row| row.get(0)).optional()
    }

    pub fn profiles(&self) -> Result<Vec<ProfileRow>> {
        self.query_map(
            "SELECT id, name, list, search, image_search, open_web, blocked_categories FROM profiles ORDER BY name",
            params![],
            |row| {
                Ok(ProfileRow {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    list: row.get(2)?,
                    search: parse_search(&row.get::<String>(3)?),
                    image_search: row.get(4)?,
                    open_web: row.get(5)?,
                    blocked_categories: split_categories(&row.get::<String>(6)?),
                })
            },
        )
    }

    /// Saves a profile's list, engine and image search; returns each room using it with its
    /// new version.
    pub fn update_profile(&self, profile: &ProfileRow) -> Result<Vec<(i64, i64)>> {
        self.execute(
            "UPDATE profiles SET list = ?2, search = ?3, image_search = ?4, open_web = ?5, blocked_categories = ?6 WHERE id = ?1",
            params![profile.id, profile.list, search_name(profile.search), profile.image_search, profile.open_web, profile.blocked_categories.join(",")],
        )?;
        let id = profile.id;
        let rooms: Vec<i64> =
            self.query_map("SELECT id FROM rooms WHERE profile_id = ?1", params![id], |row| row.get(0))?;
        rooms.into_iter().map(|room| Ok((room, self.bump_room(room)?))).collect()
    }

    /// Deletes reports and pupils' unblock requests from before `cutoff`, and returns the
    /// reports' screenshot file names.
    pub fn expire_reports(&self, cutoff: u64) -> Result<Vec<String>> {
        self.in_transaction(|store| {
            store.execute("DELETE FROM unblock_requests WHERE requested_at < ?1", params![cutoff as i64])?;
            store.delete_reports("reports.received_at < ?1", params![cutoff as i64])
        })
    }

    /// Every kiosk (retired ones too) in the rooms this member of staff sees that sent
    /// reports, or has asks open, received since `since`: the most first.
    pub fn kiosk_activity(&self, user: &User, since: u64) -> Result<Vec<KioskActivity>> {
        self.query_map(
            &format!("SELECT * FROM (SELECT k.id, k.name AS machine, rooms.name AS room, k.retired_at IS NOT NULL AS retired,
                (SELECT count(*) FROM reports r WHERE r.kiosk_id = k.id AND r.received_at >= ?1) AS sent,
                (SELECT count(*) FROM unblock_requests u WHERE u.kiosk_id = k.id AND u.status = 'new' AND u.received_at >= ?1) AS asked
             FROM kiosks k JOIN rooms ON rooms.id = k.room_id WHERE k.room_id IN ({})) AS busy
             WHERE sent + asked > 0 ORDER BY sent + asked DESC, 3, 2", rooms_seen_by("?2")),
        params![since as i64, user.id], |row| {
            Ok(KioskActivity {
                id: row.get(0)?,
                name: row.get(1)?,
                room: row.get(2)?,
                retired: row.get(3)?,
                reports: row.get(4)?,
                asks: row.get(5)?,
            })
        })
    }

    /// A kiosk's name and room, retired or not, if it is in a room this member of staff sees.
    pub fn kiosk_name(&self, user: &User, id: &str) -> Result<Option<(String, String)>> {
        self.query_row(
            &format!(
                "SELECT kiosks.name, rooms.name FROM kiosks JOIN rooms ON rooms.id = kiosks.room_id
             WHERE kiosks.id = ?2 AND kiosks.room_id IN ({})",
                rooms_seen_by("?1")
            ),
            params![user.id, id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
    }

    /// What removing junk from a kiosk received between `since` and `until` would remove: its
    /// reports no one has worked on and its unanswered asks (the first `shown` of each, newest
    /// first, and how many in all), and how many worked-on reports stay.
    pub fn junk(&self, kiosk_id: &str, since: u64, until: u64, shown: usize) -> Result<Junk> {
        let (since, until, shown) = (since as i64, until as i64, shown as i64);
        let count = |sql: &str| {
            self.query_row(sql, params![kiosk_id, since, until], |row| row.get::<i64>(0)).map(|n| n as usize)
        };
        let list = |sql: &str| -> Result<Vec<JunkItem>> {
            self.query_map(sql, params![kiosk_id, since, until, shown], |row| {
                Ok(JunkItem { at: row.get::<i64>(0)? as u64, title: row.get(1)?, url: row.get(2)? })
            })
        };
        let reports = junk_reports();
        Ok(Junk {
            reports: list(&format!("SELECT received_at, title, url FROM reports WHERE {reports} ORDER BY received_at DESC, rowid DESC LIMIT ?4"))?,
            report_count: count(&format!("SELECT count(*) FROM reports WHERE {reports}"))?,
            asks: list(&format!("SELECT received_at, '', url FROM unblock_requests WHERE {JUNK_ASKS} ORDER BY received_at DESC, rowid DESC LIMIT ?4"))?,
            ask_count: count(&format!("SELECT count(*) FROM unblock_requests WHERE {JUNK_ASKS}"))?,
            kept: count(&format!("SELECT count(*) FROM reports WHERE {REPORTS_IN_WINDOW} AND {WORKED_ON}"))?,
        })
    }

    /// Removes what [`Store::junk`] previews, with the reports' saved forms and reveals;
    /// returns the screenshots' file names and how many reports and asks went.
    pub fn remove_junk(&self, kiosk_id: &str, since: u64, until: u64) -> Result<(Vec<String>, usize)> {
        let (since, until) = (since as i64, until as i64);
        let window = params![kiosk_id, since, until];
        self.in_transaction(|store| {
            let asks = store.execute(&format!("DELETE FROM unblock_requests WHERE {JUNK_ASKS}"), window)?;
            let names = store.delete_reports(&junk_reports(), window)?;
            Ok((names, asks))
        })
    }

    /// Deletes the reports `condition` picks, with their reveals (their saved forms go by
    /// cascade); returns their screenshots' file names (empty for those without one).
    fn delete_reports(&self, condition: &str, values: &[Param<'_>]) -> Result<Vec<String>> {
        self.execute(
            &format!("DELETE FROM reveals WHERE report_id IN (SELECT id FROM reports WHERE {condition})"),
            values,
        )?;
        self.query_map(&format!("DELETE FROM reports WHERE {condition} RETURNING screenshot"), values, |row| row.get(0))
    }
}

/// A kiosk's reports received in the window `?2` to `?3` (kiosk `?1`).
const REPORTS_IN_WINDOW: &str = "reports.kiosk_id = ?1 AND reports.received_at BETWEEN ?2 AND ?3";

/// Of those, the ones junk removal takes: no one has worked on them.
fn junk_reports() -> String {
    format!("{REPORTS_IN_WINDOW} AND NOT {WORKED_ON}")
}

/// A kiosk's unanswered asks received in the window.
const JUNK_ASKS: &str = "kiosk_id = ?1 AND status = 'new' AND received_at BETWEEN ?2 AND ?3";

/// A kiosk as the junk page lists it: what it sent lately.
#[derive(Clone, Debug)]
pub struct KioskActivity {
    pub id: String,
    pub name: String,
    pub room: String,
    pub retired: bool,
    pub reports: i64,
    pub asks: i64,
}

/// One report or ask as the junk preview shows it (an ask has no title).
#[derive(Clone, Debug)]
pub struct JunkItem {
    pub at: u64,
    pub title: String,
    pub url: String,
}

/// What removing junk would remove, and what stays.
#[derive(Clone, Debug)]
pub struct Junk {
    pub reports: Vec<JunkItem>,
    pub report_count: usize,
    pub asks: Vec<JunkItem>,
    pub ask_count: usize,
    /// Reports in the window that staff worked on: they stay.
    pub kept: usize,
}

pub fn search_name(engine: SearchEngine) -> &'static str {
    engine.name()
}

/// A stored or submitted engine name; one no kiosk knows is the default engine.
pub fn parse_search(name: &str) -> SearchEngine {
    SearchEngine::from_name(name).unwrap_or_default()
}
