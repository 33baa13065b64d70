//! The change lock in SQLite (see `store/lock.rs`): a SQLite store is one process's, so the
//! process's mutex is the lock.

use super::Sqlite;
use crate::store::StoreError;
use crate::store::backend::ChangeLockStore;

/// One process's store: its mutex is the lock (see `store/lock.rs`).
impl ChangeLockStore for Sqlite {
    fn try_lock_changes(&self) -> Result<bool, StoreError> {
        Ok(true)
    }

    fn unlock_changes(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
