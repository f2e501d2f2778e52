//! A store on SQLite with kine's schema (k3s's store): one table where every write is a new row,
//! its autoincrement id the global revision, `prev_revision` pointing at the row it replaced.
//! The compare-and-put is one transaction (read the key's newest row, check, insert), as kine
//! does; compaction deletes the rows that newer rows replaced, as kine's does. The database is
//! in WAL mode with `synchronous = FULL`, so a commit is durable when it returns, like ours.
//!
//! kine also keeps a `lease` and an `old_value` column (the previous value, for watch events) and
//! an `(id, deleted)` index; they are left out, which only makes this store smaller and faster
//! than kine's.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use anyhow::Context;
use bytes::Bytes;
use rudder_store::{prefix_end, Revision};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

use super::threaded::{holds, temp_dir, Put, Reads, Threaded, Writes};
use super::Entry;

const SCHEMA: &str = "
    CREATE TABLE kine (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        created INTEGER NOT NULL,
        deleted INTEGER NOT NULL,
        create_revision INTEGER NOT NULL,
        prev_revision INTEGER NOT NULL,
        value BLOB NOT NULL
    );
    CREATE INDEX kine_name_index ON kine (name);
    CREATE INDEX kine_name_id_index ON kine (name, id);
    CREATE INDEX kine_prev_revision_index ON kine (prev_revision);
    CREATE UNIQUE INDEX kine_name_prev_revision_uindex ON kine (name, prev_revision);
";

/// The key's newest row: its id (mod revision), create revision (0 on the creating row) and
/// whether it is a tombstone.
const NEWEST: &str = "SELECT id, create_revision, deleted FROM kine
    WHERE name = ?1 ORDER BY id DESC LIMIT 1";
const INSERT: &str =
    "INSERT INTO kine (name, created, deleted, create_revision, prev_revision, value)
    VALUES (?1, ?2, 0, ?3, ?4, ?5)";
const GET: &str = "SELECT id, name, create_revision, value FROM
    (SELECT * FROM kine WHERE name = ?1 ORDER BY id DESC LIMIT 1) WHERE deleted = 0";
/// kine's list: the newest row of every name in the range, tombstones dropped.
const RANGE: &str = "SELECT kv.id, kv.name, kv.create_revision, kv.value FROM kine AS kv
    JOIN (SELECT MAX(id) AS id FROM kine WHERE name >= ?1 AND name < ?2 GROUP BY name) AS newest
    ON newest.id = kv.id
    WHERE kv.deleted = 0 ORDER BY kv.name";
/// kine's compaction: every row that a row at or below the horizon replaced.
const COMPACT: &str = "DELETE FROM kine WHERE id IN
    (SELECT prev_revision FROM kine WHERE prev_revision != 0 AND id <= ?1)";

fn connect(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open(path).context("opening the database")?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
    Ok(conn)
}

/// Opens a fresh SQLite store in a new temporary directory; at most `batch` puts share a
/// transaction.
///
/// # Errors
/// When the directory or the database cannot be made.
pub fn open(batch: usize) -> anyhow::Result<Threaded<SqliteReads>> {
    let dir = temp_dir("sqlite")?;
    let path = dir.path().join("state.db");
    let conn = connect(&path)?;
    conn.execute_batch(SCHEMA).context("creating the schema")?;
    let reads = SqliteReads {
        path,
        idle: Mutex::new(Vec::new()),
    };
    Threaded::start(SqliteWrites { conn }, reads, dir, batch)
}

struct SqliteWrites {
    conn: Connection,
}

fn put_one(txn: &rusqlite::Transaction<'_>, put: &Put) -> anyhow::Result<Option<Revision>> {
    let newest: Option<(Revision, Revision, bool)> = txn
        .prepare_cached(NEWEST)?
        .query_row([&put.key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let live = newest.filter(|&(_, _, deleted)| !deleted);
    if !holds(put.precondition, live.map(|(id, _, _)| id)) {
        return Ok(None);
    }
    // As kine: a creating row has create_revision 0 (its own id is the create revision).
    let (created, create_revision, prev_revision) = match live {
        None => (true, 0, newest.map_or(0, |(id, _, _)| id)),
        Some((id, 0, _)) => (false, id, id),
        Some((id, create, _)) => (false, create, id),
    };
    txn.prepare_cached(INSERT)?.execute(params![
        put.key,
        created,
        create_revision,
        prev_revision,
        &put.value[..]
    ])?;
    Ok(Some(txn.last_insert_rowid()))
}

impl Writes for SqliteWrites {
    fn commit(&mut self, puts: &[Put]) -> anyhow::Result<Vec<Option<Revision>>> {
        let txn = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let outcomes = puts
            .iter()
            .map(|put| put_one(&txn, put))
            .collect::<anyhow::Result<Vec<_>>>()?;
        txn.commit()?;
        Ok(outcomes)
    }

    fn compact(&mut self, revision: Revision) -> anyhow::Result<()> {
        let txn = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        txn.execute(COMPACT, [revision])?;
        txn.commit()?;
        Ok(())
    }

    fn reclaim(&mut self) -> anyhow::Result<()> {
        // kine never does this: freed pages stay in the file for reuse.
        self.conn
            .execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")
            .context("vacuuming")
    }
}

/// Reads on a pool of read connections (WAL readers do not block the writer or each other).
pub struct SqliteReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl SqliteReads {
    fn with<T>(&self, read: impl FnOnce(&Connection) -> anyhow::Result<T>) -> anyhow::Result<T> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            None => connect(&self.path)?,
        };
        let result = read(&conn);
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
        result
    }
}

fn entry(row: &Row<'_>) -> rusqlite::Result<Entry> {
    let id: Revision = row.get(0)?;
    let create: Revision = row.get(2)?;
    Ok(Entry {
        key: row.get(1)?,
        mod_revision: id,
        create_revision: if create == 0 { id } else { create },
        value: Bytes::from(row.get::<_, Vec<u8>>(3)?),
    })
}

impl Reads for SqliteReads {
    fn get(&self, key: &str) -> anyhow::Result<Option<Entry>> {
        self.with(|conn| {
            Ok(conn
                .prepare_cached(GET)?
                .query_row([key], entry)
                .optional()?)
        })
    }

    fn range(&self, prefix: &str) -> anyhow::Result<Vec<Entry>> {
        let end = prefix_end(prefix);
        self.with(|conn| {
            let mut statement = conn.prepare_cached(RANGE)?;
            let rows = statement.query_map([prefix, end.as_str()], entry)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}
