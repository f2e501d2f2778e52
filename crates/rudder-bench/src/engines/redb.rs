//! A store on redb: every version of every key in one B-tree keyed by `(key, mod revision)`, so
//! a key's versions sit together and its newest is the last; the current revision in a second
//! table. Commits are `Durability::Immediate` (redb's default: durable when `commit` returns).

use std::sync::{Arc, PoisonError, RwLock};

use anyhow::Context;
use bytes::Bytes;
use redb::{Database, ReadableDatabase, ReadableTable, Table, TableDefinition};
use rudder_store::{prefix_end, Revision};

use super::threaded::{holds, temp_dir, Put, Reads, Threaded, Writes};
use super::Entry;

/// `(key, mod revision)` → `(create revision, value)`.
const VERSIONS: TableDefinition<(&str, u64), (u64, &[u8])> = TableDefinition::new("versions");
/// `"revision"` → the current revision.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const REVISION: &str = "revision";

/// The database, shared by the writer thread and readers; `reclaim` needs it alone.
type Shared = Arc<RwLock<Database>>;

/// Opens a fresh redb store in a new temporary directory; at most `batch` puts share a commit.
///
/// # Errors
/// When the directory or the database cannot be made.
pub fn open(batch: usize) -> anyhow::Result<Threaded<RedbReads>> {
    let dir = temp_dir("redb")?;
    let db = Database::create(dir.path().join("store.redb")).context("creating the database")?;
    let txn = db.begin_write()?;
    txn.open_table(VERSIONS)?;
    txn.open_table(META)?;
    txn.commit()?;
    let db = Arc::new(RwLock::new(db));
    let writes = RedbWrites {
        db: Arc::clone(&db),
        revision: 0,
    };
    Threaded::start(writes, RedbReads { db }, dir, batch)
}

struct RedbWrites {
    db: Shared,
    revision: Revision,
}

/// The newest version of `key` in `table`, as `(mod revision, create revision)`.
fn newest<T: ReadableTable<(&'static str, u64), (u64, &'static [u8])>>(
    table: &T,
    key: &str,
) -> anyhow::Result<Option<(u64, u64)>> {
    let newest = table
        .range((key, 0)..=(key, u64::MAX))?
        .next_back()
        .transpose()?;
    Ok(newest.map(|(k, v)| (k.value().1, v.value().0)))
}

fn put_one(
    table: &mut Table<(&'static str, u64), (u64, &'static [u8])>,
    put: &Put,
    revision: u64,
) -> anyhow::Result<bool> {
    let current = newest(table, &put.key)?;
    let current_mod = current.map(|(m, _)| Revision::try_from(m)).transpose()?;
    if !holds(put.precondition, current_mod) {
        return Ok(false);
    }
    let create = current.map_or(revision, |(_, c)| c);
    table.insert((put.key.as_str(), revision), (create, &put.value[..]))?;
    Ok(true)
}

impl Writes for RedbWrites {
    fn commit(&mut self, puts: &[Put]) -> anyhow::Result<Vec<Option<Revision>>> {
        let db = self.db.read().unwrap_or_else(PoisonError::into_inner);
        let txn = db.begin_write()?;
        let mut revision = self.revision;
        let mut outcomes = Vec::with_capacity(puts.len());
        {
            let mut table = txn.open_table(VERSIONS)?;
            for put in puts {
                let next = u64::try_from(revision + 1)?;
                let applied = put_one(&mut table, put, next)?;
                if applied {
                    revision += 1;
                }
                outcomes.push(applied.then_some(revision));
            }
            txn.open_table(META)?
                .insert(REVISION, u64::try_from(revision)?)?;
        }
        txn.commit()?;
        self.revision = revision;
        Ok(outcomes)
    }

    fn compact(&mut self, revision: Revision) -> anyhow::Result<()> {
        let horizon = u64::try_from(revision)?;
        let db = self.db.read().unwrap_or_else(PoisonError::into_inner);
        let txn = db.begin_write()?;
        {
            let mut table = txn.open_table(VERSIONS)?;
            // Newest first: a version at or below the horizon with a newer one also at or below
            // it is superseded.
            let mut superseded = Vec::new();
            let mut kept: Option<String> = None;
            for item in table.iter()?.rev() {
                let (key, _) = item?;
                let (name, rev) = key.value();
                if rev > horizon {
                    continue;
                }
                if kept.as_deref() == Some(name) {
                    superseded.push((name.to_owned(), rev));
                } else {
                    kept = Some(name.to_owned());
                }
            }
            for (name, rev) in &superseded {
                table.remove((name.as_str(), *rev))?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    fn reclaim(&mut self) -> anyhow::Result<()> {
        let mut db = self.db.write().unwrap_or_else(PoisonError::into_inner);
        while db.compact().context("compacting the file")? {}
        Ok(())
    }
}

/// Reads in redb's read transactions (concurrent with the writer).
pub struct RedbReads {
    db: Shared,
}

fn entry(
    key: &str,
    mod_revision: u64,
    create_revision: u64,
    value: &[u8],
) -> anyhow::Result<Entry> {
    Ok(Entry {
        key: key.to_owned(),
        mod_revision: Revision::try_from(mod_revision)?,
        create_revision: Revision::try_from(create_revision)?,
        value: Bytes::copy_from_slice(value),
    })
}

impl Reads for RedbReads {
    fn get(&self, key: &str) -> anyhow::Result<Option<Entry>> {
        let db = self.db.read().unwrap_or_else(PoisonError::into_inner);
        let table = db.begin_read()?.open_table(VERSIONS)?;
        let newest = table
            .range((key, 0)..=(key, u64::MAX))?
            .next_back()
            .transpose()?;
        newest
            .map(|(k, v)| {
                let (create, value) = v.value();
                entry(key, k.value().1, create, value)
            })
            .transpose()
    }

    fn range(&self, prefix: &str) -> anyhow::Result<Vec<Entry>> {
        let end = prefix_end(prefix);
        let db = self.db.read().unwrap_or_else(PoisonError::into_inner);
        let table = db.begin_read()?.open_table(VERSIONS)?;
        // Newest first, so each key's first version seen is the one to return.
        let mut out: Vec<Entry> = Vec::new();
        for item in table.range((prefix, 0)..(end.as_str(), 0))?.rev() {
            let (k, v) = item?;
            let (name, rev) = k.value();
            if out.last().is_some_and(|e| e.key == name) {
                continue;
            }
            let (create, value) = v.value();
            out.push(entry(name, rev, create, value)?);
        }
        out.reverse();
        Ok(out)
    }
}
