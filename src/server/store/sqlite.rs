//! The SQLite engine: one file in the data directory (WAL, full sync), the single school's
//! default. Its migrations move `user_version` up one at a time, as they always have.

use std::path::Path;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::Connection;

use super::engine::{Engine, Kind, Param, Result, Row, Value};

/// How long a connection waits for another's write lock, in milliseconds.
const LONGEST_WAIT_MS: i32 = 10_000;

fn wait_a_millisecond(tries: i32) -> bool {
    if tries >= LONGEST_WAIT_MS {
        return false;
    }
    std::thread::sleep(std::time::Duration::from_millis(1));
    true
}

pub struct Sqlite {
    db: Connection,
}

impl Sqlite {
    /// Opens (creating) the database file and brings its schema up to date. `secure_delete`
    /// is `ON` for the main connections and `FAST` for the activity writer (see
    /// [`super::Store::open_for_activity`]).
    pub fn open(path: &Path, secure_delete: &str) -> Result<Sqlite> {
        let db = Connection::open(path)?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        // Deleted reports (retention) are overwritten, not left in free pages of the file.
        db.pragma_update(None, "secure_delete", secure_delete)?;
        db.pragma_update(None, "foreign_keys", true)?;
        // Waiting for another connection's write: try again each millisecond (SQLite's own
        // timeout backs off to 100 ms, and the activity writer leaves only short gaps).
        db.busy_handler(Some(wait_a_millisecond))?;
        // A thousand kiosks' batches land in a thousand places of each activity index at once:
        // 32 MiB of page cache keeps those pages in memory (SQLite's default is 2 MiB).
        db.pragma_update(None, "cache_size", -32_768)?;
        // The store's queries are few and run again and again: keep every one prepared.
        db.set_prepared_statement_cache_capacity(256);
        let mut sqlite = Sqlite { db };
        sqlite.migrate()?;
        Ok(sqlite)
    }

    fn migrate(&mut self) -> Result<()> {
        let version: usize = self.db.pragma_query_value(None, "user_version", |row| row.get(0))?;
        for (index, migration) in super::MIGRATIONS.iter().enumerate().skip(version) {
            let transaction = self.db.transaction()?;
            transaction.execute_batch(migration)?;
            transaction.pragma_update(None, "user_version", index + 1)?;
            transaction.commit()?;
        }
        Ok(())
    }
}

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            Param::Null => ValueRef::Null,
            Param::Int(n) => ValueRef::Integer(n),
            Param::Text(text) => ValueRef::Text(text.as_bytes()),
            Param::Bytes(bytes) => ValueRef::Blob(bytes),
        }))
    }
}

fn value(column: ValueRef<'_>) -> Value {
    match column {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => Value::Int(n),
        ValueRef::Real(x) => Value::Real(x),
        ValueRef::Text(text) => Value::Text(String::from_utf8_lossy(text).into_owned()),
        ValueRef::Blob(bytes) => Value::Bytes(bytes.to_vec()),
    }
}

impl Engine for Sqlite {
    fn kind(&self) -> Kind {
        Kind::Sqlite
    }

    fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<usize> {
        Ok(self.db.prepare_cached(sql)?.execute(rusqlite::params_from_iter(params))?)
    }

    fn query(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>> {
        let mut statement = self.db.prepare_cached(sql)?;
        let columns = statement.column_count();
        let mut rows = statement.query(rusqlite::params_from_iter(params))?;
        let mut read = Vec::new();
        while let Some(row) = rows.next()? {
            read.push(Row::new((0..columns).map(|i| row.get_ref(i).map(value)).collect::<rusqlite::Result<_>>()?));
        }
        Ok(read)
    }

    fn begin(&self) -> Result<()> {
        Ok(self.db.execute_batch("BEGIN IMMEDIATE")?)
    }

    fn commit(&self) -> Result<()> {
        Ok(self.db.execute_batch("COMMIT")?)
    }

    fn rollback(&self) -> Result<()> {
        Ok(self.db.execute_batch("ROLLBACK")?)
    }
}
