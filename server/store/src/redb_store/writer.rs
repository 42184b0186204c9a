//! The single writer thread and its group commit.
//!
//! Writers from any task send an [`Op`] here and wait for the answer. The thread takes the first
//! request, then everything else already queued (up to `max_batch`), applies them in order inside
//! ONE durable redb transaction, commits once (one fsync), and only then answers every caller and
//! publishes the events. So N concurrent writers cost about one fsync, not N, while each write
//! still gets its own revision and its own precondition check. A failed precondition fails only
//! that request; the rest of the batch commits.

use super::{EVENTS, META, OBJECTS, RedbStoreConfig, Shared, codec, storage};
use crate::types::{Error, Event, EventType, Key, KeyValue, Op, Result, Rev, WriteOutcome};
use redb::{ReadableTable, Table, WriteTransaction};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::{mpsc, oneshot};

pub(crate) struct Request {
    pub op: Op,
    pub reply: oneshot::Sender<Result<WriteOutcome>>,
}

pub(crate) fn spawn(shared: Arc<Shared>, config: RedbStoreConfig) -> Result<mpsc::UnboundedSender<Request>> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name("store-writer".into())
        .spawn(move || run(&shared, &config, rx))
        .map_err(storage)?;
    Ok(tx)
}

fn run(shared: &Shared, config: &RedbStoreConfig, mut rx: mpsc::UnboundedReceiver<Request>) {
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < config.max_batch {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        commit_batch(shared, config, batch);
    }
}

fn commit_batch(shared: &Shared, config: &RedbStoreConfig, batch: Vec<Request>) {
    let (ops, replies): (Vec<Op>, Vec<_>) = batch.into_iter().map(|r| (r.op, r.reply)).unzip();
    match apply_batch(shared, config, ops) {
        Ok((outcomes, events)) => {
            if let Some(last) = events.last() {
                shared.current_rev.store(last.rev, Ordering::Release);
            }
            for ev in events {
                // No receivers is fine: nobody is watching.
                let _ = shared.events.send(Arc::new(ev));
            }
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                let _ = reply.send(outcome);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "store commit failed");
            for reply in replies {
                let _ = reply.send(Err(Error::Storage(e.to_string())));
            }
        }
    }
}

type Applied = (Vec<Result<WriteOutcome>>, Vec<Event>);

fn apply_batch(shared: &Shared, config: &RedbStoreConfig, ops: Vec<Op>) -> Result<Applied> {
    let txn = shared.db.begin_write().map_err(storage)?;
    let (outcomes, events) = {
        let mut objects = txn.open_table(OBJECTS).map_err(storage)?;
        let mut log = txn.open_table(EVENTS).map_err(storage)?;
        let mut meta = txn.open_table(META).map_err(storage)?;
        let mut rev = meta.get("current_rev").map_err(storage)?.map_or(0, |g| g.value());
        let mut outcomes = Vec::with_capacity(ops.len());
        let mut events = Vec::new();
        for op in ops {
            let outcome = apply_one(&mut objects, rev + 1, op)?;
            outcomes.push(outcome.map(|(out, ev)| {
                rev = ev.rev;
                events.push(ev);
                out
            }));
        }
        for ev in &events {
            log.insert(ev.rev, codec::encode_event(ev).as_slice()).map_err(storage)?;
        }
        meta.insert("current_rev", rev).map_err(storage)?;
        compact(&mut log, &mut meta, rev, config.history_revisions, shared)?;
        (outcomes, events)
    };
    commit(txn)?;
    Ok((outcomes, events))
}

fn commit(txn: WriteTransaction) -> Result<()> {
    // Durability::Immediate is redb's default: commit returns after the data is on disk.
    txn.commit().map_err(storage)
}

/// Apply one op at revision `rev`. The outer `Result` is a storage failure (aborts the batch);
/// the inner one is this op's own answer.
fn apply_one(objects: &mut Table<&str, &[u8]>, rev: Rev, op: Op) -> Result<Result<(WriteOutcome, Event)>> {
    let key = op.key().encode();
    let prev = objects.get(key.as_str()).map_err(storage)?.and_then(|raw| codec::decode_object(raw.value()));
    let check = |expected: Option<Rev>| match (&prev, expected) {
        (None, _) => Err(Error::NotFound),
        (Some((found, _)), Some(expected)) if *found != expected => {
            Err(Error::Conflict { expected, found: *found })
        }
        _ => Ok(()),
    };
    let (kind, value) = match op {
        Op::Create { value, .. } if prev.is_none() => (EventType::Added, value),
        Op::Create { .. } => return Ok(Err(Error::AlreadyExists)),
        Op::Update { value, expected_rev, .. } => match check(expected_rev) {
            Ok(()) => (EventType::Modified, value),
            Err(e) => return Ok(Err(e)),
        },
        Op::Delete { expected_rev, .. } => match check(expected_rev) {
            Ok(()) => (EventType::Deleted, prev.clone().map(|p| p.1).unwrap_or_default()),
            Err(e) => return Ok(Err(e)),
        },
    };
    if kind == EventType::Deleted {
        objects.remove(key.as_str()).map_err(storage)?;
    } else {
        objects.insert(key.as_str(), codec::encode_object(rev, &value).as_slice()).map_err(storage)?;
    }
    let k = Key::decode(&key).expect("encoded just above");
    let out_prev = prev.clone().map(|(mod_rev, value)| KeyValue { key: k.clone(), value, mod_rev });
    let ev = Event { rev, kind, key: k, value, prev };
    Ok(Ok((WriteOutcome { rev, prev: out_prev }, ev)))
}

/// Drop log entries older than the retained history. Runs in the writer's transaction, a tenth
/// of the window at a time, so a compaction never costs a commit of its own.
fn compact(
    log: &mut Table<u64, &[u8]>,
    meta: &mut Table<&str, u64>,
    current: Rev,
    keep: u64,
    shared: &Shared,
) -> Result<()> {
    let compacted = shared.compacted_rev.load(Ordering::Acquire);
    let target = current.saturating_sub(keep);
    if target <= compacted || target - compacted < (keep / 10).max(1) {
        return Ok(());
    }
    log.retain_in(..=target, |_, _| false).map_err(storage)?;
    meta.insert("compacted_rev", target).map_err(storage)?;
    shared.compacted_rev.store(target, Ordering::Release);
    Ok(())
}
