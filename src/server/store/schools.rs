//! A trust's schools, above their rooms, and who sees which: a teacher their own rooms; a
//! safeguarding lead or admin every room of their school, or of every school when their
//! account is the trust's (no school), who may also look at one school at a time. A school's
//! own install is a trust of one: its rooms are in the first school and its accounts, which
//! have no school, see the whole of it.

use super::engine::{params, Optional};
use super::{Result, Store};

/// SQLite's step. The rooms' column has no REFERENCES: SQLite adds none with a default other
/// than NULL, and schools are never deleted.
pub(super) const MIGRATION: &str = r#"
CREATE TABLE schools (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);
INSERT INTO schools (name) VALUES ('Our school');
ALTER TABLE rooms ADD COLUMN school_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN school_id INTEGER REFERENCES schools(id);
ALTER TABLE users ADD COLUMN viewing_school INTEGER REFERENCES schools(id);
CREATE INDEX rooms_school ON rooms (school_id);
"#;

/// The school a member of staff's pages show: their own, or for the trust's, the one they
/// chose to look at (`NULL`: every school). Their own always wins.
const SHOWN_SCHOOL: &str = "coalesce(users.school_id, users.viewing_school)";

/// The rooms that the member of staff whose id is the parameter `user` (`?1`, or `?` where
/// the caller numbers its parameters as it adds them) may see, for `column IN (…)`.
pub(super) fn rooms_seen_by(user: &str) -> String {
    format!(
        "SELECT rooms.id FROM rooms JOIN users ON users.id = {user}
         WHERE (users.role IN ('dsl', 'admin') AND ({SHOWN_SCHOOL} IS NULL OR {SHOWN_SCHOOL} = rooms.school_id))
            OR rooms.id IN (SELECT room_id FROM room_teachers WHERE room_teachers.user_id = {user})"
    )
}

/// The accounts that the admin whose id is `?1` looks after: all of them for the trust's,
/// those of one school for a school's (or the trust's looking at that school).
pub(super) const ACCOUNTS_SEEN: &str =
    "(SELECT coalesce(school_id, viewing_school) FROM users me WHERE me.id = ?1) IS NULL
    OR users.school_id = (SELECT coalesce(school_id, viewing_school) FROM users me WHERE me.id = ?1)";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchoolRow {
    pub id: i64,
    pub name: String,
}

impl Store {
    pub fn schools(&self) -> Result<Vec<SchoolRow>> {
        self.query_map("SELECT id, name FROM schools ORDER BY name", params![], |row| {
            Ok(SchoolRow { id: row.get(0)?, name: row.get(1)? })
        })
    }

    pub fn school_id(&self, name: &str) -> Result<Option<i64>> {
        self.query_row("SELECT id FROM schools WHERE name = ?1", params![name], |row| row.get(0)).optional()
    }

    /// Adds a school; `None` when there is one of that name already.
    pub fn add_school(&self, name: &str) -> Result<Option<i64>> {
        self.query_row(
            "INSERT INTO schools (name) VALUES (?1) ON CONFLICT (name) DO NOTHING RETURNING id",
            params![name],
            |row| row.get(0),
        )
        .optional()
    }

    /// Renames a school; `false` when there is no such school or the name is taken.
    pub fn rename_school(&self, id: i64, name: &str) -> Result<bool> {
        let taken = self.school_id(name)?.is_some_and(|other| other != id);
        Ok(!taken && self.execute("UPDATE schools SET name = ?2 WHERE id = ?1", params![id, name])? == 1)
    }

    /// The school a room is in.
    pub fn room_school(&self, room_id: i64) -> Result<Option<i64>> {
        self.query_row("SELECT school_id FROM rooms WHERE id = ?1", params![room_id], |row| row.get(0)).optional()
    }

    /// Moves an account to a school (`None`: the trust's, seeing every school). Its sessions
    /// end, so that no page is still open with what it may no longer see; a teacher leaves
    /// the rooms of other schools.
    pub fn set_user_school(&self, user_id: i64, school: Option<i64>) -> Result<()> {
        self.in_transaction(|store| {
            store.execute("UPDATE users SET school_id = ?2 WHERE id = ?1", params![user_id, school])?;
            store.execute(
                "DELETE FROM room_teachers WHERE user_id = ?1 AND CAST(?2 AS BIGINT) IS NOT NULL
                 AND room_id NOT IN (SELECT id FROM rooms WHERE school_id = ?2)",
                params![user_id, school],
            )?;
            store.execute("DELETE FROM sessions WHERE user_id = ?1", params![user_id])?;
            Ok(())
        })
    }

    /// Which school the trust's member of staff looks at (`None`: every school).
    pub fn set_viewing_school(&self, user_id: i64, school: Option<i64>) -> Result<()> {
        self.execute("UPDATE users SET viewing_school = ?2 WHERE id = ?1", params![user_id, school])?;
        Ok(())
    }

    /// The rooms a member of staff may see, by id (the console's live stream filters by them).
    pub fn rooms_seen(&self, user_id: i64) -> Result<Vec<i64>> {
        self.query_map(&format!("{} ORDER BY rooms.id", rooms_seen_by("?1")), params![user_id], |row| row.get(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A school's server from before schools, upgraded: a trust of one, nothing to do.
    #[test]
    fn a_school_from_before_schools_becomes_a_trust_of_one_whose_staff_see_all_of_it() {
        let dir = std::env::temp_dir().join(format!("satchel-store-schools-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("satchel.db");
        {
            let db = rusqlite::Connection::open(&path).unwrap();
            let before = super::super::MIGRATIONS.iter().position(|m| *m == MIGRATION).unwrap();
            for migration in &super::super::MIGRATIONS[..before] {
                db.execute_batch(migration).unwrap();
            }
            db.pragma_update(None, "user_version", before).unwrap();
            db.execute_batch(
                "INSERT INTO profiles (name, list) VALUES ('KS1', '');
                 INSERT INTO rooms (name, profile_id, rules_version) VALUES ('Class 1', 1, 1), ('Class 2', 1, 2);
                 INSERT INTO users (name, password_hash, role, created_at) VALUES ('mrs.khan', '', 'dsl', 0), ('mr.jones', '', 'teacher', 0);
                 INSERT INTO room_teachers VALUES (2, 2);",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schools().unwrap(), [SchoolRow { id: 1, name: "Our school".into() }]);
        assert_eq!(store.rooms_seen(1).unwrap(), [1, 2], "the school's lead sees every room, as before");
        assert_eq!(store.rooms_seen(2).unwrap(), [2], "a teacher their own");
        let id = store.add_school("Oakfield").unwrap().expect("a new school");
        assert_eq!(store.add_school("Oakfield").unwrap(), None, "one school of a name");
        store.add_room("Oak 1", 1, id).unwrap();
        assert_eq!(store.rooms_seen(1).unwrap(), [1, 2, 3], "the lead of a trust of one became the trust's");
        store.set_user_school(1, Some(1)).unwrap();
        assert_eq!(store.rooms_seen(1).unwrap(), [1, 2], "moved to the first school: its rooms only");
        store.set_user_school(2, Some(id)).unwrap();
        assert_eq!(store.rooms_seen(2).unwrap(), Vec::<i64>::new(), "a teacher moved leaves the other school's rooms");
        drop(store);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
