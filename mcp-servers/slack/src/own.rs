//! The messages this server process posted itself, the only ones it may edit.
//!
//! The bot token is shared with SOPilot's server, so Slack lets this server edit every
//! message the bot ever posted, SOPilot's approval requests included. This set, filled from
//! Slack's answers to this process's own successful posts (the channel id and ts Slack
//! returned), narrows that to the messages posted in this session. It is bounded: past
//! [`MAX_OWN`] posts the oldest are forgotten and can no longer be edited.

use std::collections::{HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard};

/// The most messages remembered.
pub const MAX_OWN: usize = 1000;

/// A bounded set of (channel id, ts).
#[derive(Debug, Default)]
pub struct OwnMessages {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    order: VecDeque<(String, String)>,
    set: HashSet<(String, String)>,
}

impl OwnMessages {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Plain data with no invariant a panic could break half-way: keep using it.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Remembers a message this process posted.
    pub fn record(&self, channel_id: &str, ts: &str) {
        let key = (channel_id.to_owned(), ts.to_owned());
        let mut inner = self.lock();
        if !inner.set.insert(key.clone()) {
            return;
        }
        inner.order.push_back(key);
        while inner.order.len() > MAX_OWN {
            if let Some(old) = inner.order.pop_front() {
                inner.set.remove(&old);
            }
        }
    }

    /// Whether this process posted the message `ts` in the channel with this id.
    pub fn contains(&self, channel_id: &str, ts: &str) -> bool {
        self.lock()
            .set
            .contains(&(channel_id.to_owned(), ts.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_on_channel_id_and_ts_and_bounded() {
        let own = OwnMessages::default();
        own.record("C1", "1.000001");
        assert!(own.contains("C1", "1.000001"));
        assert!(!own.contains("C2", "1.000001"), "same ts, other channel");
        assert!(!own.contains("C1", "1.000002"));
        own.record("C1", "1.000001");
        for i in 0..MAX_OWN {
            own.record("C9", &format!("2.{i:06}"));
        }
        assert!(!own.contains("C1", "1.000001"), "the oldest is forgotten");
        assert!(own.contains("C9", "2.000000"));
        assert_eq!(own.lock().order.len(), MAX_OWN);
        assert_eq!(own.lock().set.len(), MAX_OWN);
    }
}
