//! The store-wide change lock in PostgreSQL (see `store/lock.rs`): a session advisory lock,
//! released when its holder gives it back or its connection ends.

use super::{Params, Postgres, params};
use crate::store::StoreError;
use crate::store::backend::ChangeLockStore;

/// Any number, the same in every sopilot: the session advisory lock of `store/lock.rs`.
const CHANGES_LOCK: i64 = 0x50_1107_c4a6;

impl ChangeLockStore for Postgres {
    fn try_lock_changes(&self) -> Result<bool, StoreError> {
        let rows = self.rows(
            "SELECT pg_try_advisory_lock($1)".into(),
            params![CHANGES_LOCK],
            |r| r.try_get(0),
        )?;
        Ok(rows.first().copied().unwrap_or(false))
    }

    fn unlock_changes(&self) -> Result<(), StoreError> {
        self.rows(
            "SELECT pg_advisory_unlock($1)".into(),
            params![CHANGES_LOCK],
            |r| r.try_get::<_, bool>(0),
        )?;
        Ok(())
    }
}
