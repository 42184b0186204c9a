//! Watches: the on-disk log for catching up, the in-memory broadcast for live events.
//!
//! A watcher subscribes to the broadcast FIRST, then reads the log after its start revision in
//! short read transactions (a chunk at a time), then follows the broadcast, skipping anything it
//! already delivered. The writer publishes an event only after its commit, so every event is
//! either in the log the watcher reads or in the broadcast it subscribed to before reading — no
//! gap. A watcher that falls behind the broadcast (`Lagged`) goes back to the log; one that falls
//! behind compacted history ends with [`Error::Compacted`], which the API turns into 410 Expired.

use super::{EVENTS, Shared, codec, storage};
use crate::WatchStream;
use crate::types::{Error, Event, Prefix, Result, Rev};
use redb::ReadableDatabase;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::broadcast;

const CHUNK: usize = 256;

pub(crate) fn start(shared: Arc<Shared>, prefix: Prefix, after: Rev) -> Result<WatchStream> {
    let rx = shared.events.subscribe();
    let compacted = shared.compacted_rev.load(Ordering::Acquire);
    if after < compacted {
        return Err(Error::Compacted { requested: after, compacted });
    }
    let current = shared.current_rev.load(Ordering::Acquire);
    if after > current {
        return Err(Error::FutureRevision { requested: after, current });
    }
    let state = Watcher { shared, prefix, last: after, rx, backlog: VecDeque::new(), catching_up: true };
    Ok(Box::pin(futures::stream::unfold(state, |mut w| async move {
        let item = w.next().await?;
        Some((item, w))
    })))
}

struct Watcher {
    shared: Arc<Shared>,
    prefix: Prefix,
    /// The newest revision seen (delivered or filtered out).
    last: Rev,
    rx: broadcast::Receiver<Arc<Event>>,
    backlog: VecDeque<Arc<Event>>,
    catching_up: bool,
}

impl Watcher {
    /// The next matching event; `None` when the store is closed; `Some(Err)` ends the stream.
    async fn next(&mut self) -> Option<Result<Arc<Event>>> {
        loop {
            if let Some(ev) = self.backlog.pop_front() {
                return Some(Ok(ev));
            }
            if self.catching_up {
                match self.read_chunk() {
                    Ok(true) => continue,
                    Ok(false) => self.catching_up = false,
                    Err(e) => return Some(Err(e)),
                }
                continue;
            }
            match self.rx.recv().await {
                Ok(ev) if ev.rev <= self.last => {}
                Ok(ev) => {
                    self.last = ev.rev;
                    if self.prefix.matches(&ev.key) {
                        return Some(Ok(ev));
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => self.catching_up = true,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// Read up to one chunk of the log after `last`. Returns whether it read anything.
    fn read_chunk(&mut self) -> Result<bool> {
        let from = self.last;
        self.check_not_compacted(from)?;
        let txn = self.shared.db.begin_read().map_err(storage)?;
        let log = txn.open_table(EVENTS).map_err(storage)?;
        let mut read = 0;
        for entry in log.range(self.last + 1..).map_err(storage)?.take(CHUNK) {
            let (rev, raw) = entry.map_err(storage)?;
            let ev = codec::decode_event(rev.value(), raw.value())
                .ok_or_else(|| Error::Storage(format!("corrupt event {}", rev.value())))?;
            read += 1;
            self.last = ev.rev;
            if self.prefix.matches(&ev.key) {
                self.backlog.push_back(Arc::new(ev));
            }
        }
        // The writer publishes a new compacted revision before committing the deletion, so a
        // check after the read catches a compaction that raced with it.
        self.check_not_compacted(from)?;
        Ok(read > 0)
    }

    fn check_not_compacted(&self, from: Rev) -> Result<()> {
        let compacted = self.shared.compacted_rev.load(Ordering::Acquire);
        if from < compacted {
            return Err(Error::Compacted { requested: from, compacted });
        }
        Ok(())
    }
}
