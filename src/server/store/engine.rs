//! The seam between the store's queries and a database engine. The store is written once,
//! in SQL both engines read (numbered `?N` parameters, `RETURNING`, `ON CONFLICT`, integers
//! for flags); each engine (SQLite, PostgreSQL) runs it, keeps its own migrations, and says
//! which it is where a query must differ (the activity log's full-text index).

/// A value bound to a query, borrowed from the caller: nothing is copied to bind it.
#[derive(Clone, Copy, Debug)]
pub enum Param<'a> {
    Null,
    Int(i64),
    Text(&'a str),
    Bytes(&'a [u8]),
}

/// A value read from a row. Flags are integers in both engines (0 or 1); a PostgreSQL
/// boolean (from `EXISTS`, a comparison) is read as one too.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bytes(Vec<u8>),
}

/// What can be bound as a parameter.
pub trait ToParam {
    fn to_param(&self) -> Param<'_>;
}

impl ToParam for i64 {
    fn to_param(&self) -> Param<'_> {
        Param::Int(*self)
    }
}

impl ToParam for bool {
    fn to_param(&self) -> Param<'_> {
        Param::Int(i64::from(*self))
    }
}

impl ToParam for str {
    fn to_param(&self) -> Param<'_> {
        Param::Text(self)
    }
}

impl ToParam for String {
    fn to_param(&self) -> Param<'_> {
        Param::Text(self)
    }
}

impl ToParam for [u8] {
    fn to_param(&self) -> Param<'_> {
        Param::Bytes(self)
    }
}

impl ToParam for Vec<u8> {
    fn to_param(&self) -> Param<'_> {
        Param::Bytes(self)
    }
}

impl<T: ToParam + ?Sized> ToParam for &T {
    fn to_param(&self) -> Param<'_> {
        (**self).to_param()
    }
}

impl<T: ToParam> ToParam for Option<T> {
    fn to_param(&self) -> Param<'_> {
        self.as_ref().map_or(Param::Null, ToParam::to_param)
    }
}

/// The parameters of one query, in order: `params![a, b]` binds `a` as `?1` and `b` as `?2`.
#[macro_export]
#[doc(hidden)]
macro_rules! store_params {
    ($($value:expr),* $(,)?) => {
        &[$($crate::server::store::engine::ToParam::to_param(&$value)),*] as &[$crate::server::store::engine::Param<'_>]
    };
}
pub use crate::store_params as params;

/// A row read whole: its columns by position.
#[derive(Debug)]
pub struct Row {
    values: Vec<Value>,
}

impl Row {
    pub fn new(values: Vec<Value>) -> Row {
        Row { values }
    }

    /// The column at `index` as a `T`; a wrong type is an error naming the column.
    pub fn get<T: FromValue>(&self, index: usize) -> Result<T> {
        let value = self.values.get(index).ok_or(Error::Decode { column: index, wanted: "a column" })?;
        T::from_value(value).ok_or(Error::Decode { column: index, wanted: T::NAME })
    }
}

/// What a column can be read as.
pub trait FromValue: Sized {
    const NAME: &'static str;
    fn from_value(value: &Value) -> Option<Self>;
}

impl FromValue for i64 {
    const NAME: &'static str = "an integer";
    fn from_value(value: &Value) -> Option<i64> {
        match value {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }
}

impl FromValue for bool {
    const NAME: &'static str = "a flag";
    fn from_value(value: &Value) -> Option<bool> {
        i64::from_value(value).map(|n| n != 0)
    }
}

impl FromValue for String {
    const NAME: &'static str = "text";
    fn from_value(value: &Value) -> Option<String> {
        match value {
            Value::Text(text) => Some(text.clone()),
            _ => None,
        }
    }
}

impl FromValue for Vec<u8> {
    const NAME: &'static str = "bytes";
    fn from_value(value: &Value) -> Option<Vec<u8>> {
        match value {
            Value::Bytes(bytes) => Some(bytes.clone()),
            _ => None,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    const NAME: &'static str = T::NAME;
    fn from_value(value: &Value) -> Option<Option<T>> {
        match value {
            Value::Null => Some(None),
            value => T::from_value(value).map(Some),
        }
    }
}

/// Which engine runs the store, for the few queries that must differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// A database connection the store can run its queries on.
pub trait Engine: Send {
    fn kind(&self) -> Kind;
    /// Runs one statement; returns how many rows it changed.
    fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<usize>;
    /// Runs one query and reads every row it returns.
    fn query(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>>;
    /// Starts a transaction that no other writer can interleave with (SQLite: it holds the
    /// write lock from its start).
    fn begin(&self) -> Result<()>;
    fn commit(&self) -> Result<()>;
    fn rollback(&self) -> Result<()>;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(String),
    #[error("the query returned no rows")]
    NoRows,
    #[error("column {column} is not {wanted}")]
    Decode { column: usize, wanted: &'static str },
}

pub type Result<T> = std::result::Result<T, Error>;

/// `query_row`'s "no rows" as `None`.
pub trait Optional<T> {
    fn optional(self) -> Result<Option<T>>;
}

impl<T> Optional<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(value) => Ok(Some(value)),
            Err(Error::NoRows) => Ok(None),
            Err(error) => Err(error),
        }
    }
}
