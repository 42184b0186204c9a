//! Scheduler benchmark: N simulated Nodes (registered through the API with no agent behind
//! them, as kwok does) and M pods, all in one process over a real, durable RedbStore.
//!
//! Two scenarios, each round on a fresh store:
//! - *backlog*: the M pods are created first (concurrently, by 64 clients; timed separately),
//!   then the scheduler starts; measured from its start until every pod is bound. Per-pod
//!   latency runs from the scheduler's start, so it includes the initial listing and the wait
//!   in the queue.
//! - *stream*: the scheduler runs first, then the M pods are created at a fixed rate (`--rate`,
//!   default 2,000/s), open loop; per-pod latency runs from each create's scheduled start to its
//!   bind, so creating and binding share the machine and a stall is not hidden.
//!
//! "Bound" is when the bind is committed, as seen by an observer on the store (see
//! `support::Observer`). After each round the pods are summed per node to check that no node
//! is over-committed.
//!
//! Prints a Markdown table (and records its figures for `tests/bench.sh`). Run:
//! `cargo bench -p wasmkube-scheduler --bench scheduler -- --nodes 1000 --pods 10000`
//! (`--quick`: 100 nodes, 1,000 pods, one round). Figures, never assertions.

#[path = "../../cli/benches/support/record.rs"]
mod record;
mod support;

use std::time::{Duration, Instant};
use support::{
    CLIENTS, Cluster, cpu_seconds, create_pods, create_pods_at_rate, machine_busy_seconds, percentile,
};

struct Args {
    nodes: usize,
    pods: usize,
    rounds: usize,
    /// Pods created per second in the stream scenario.
    rate: usize,
    config: wasmkube_scheduler::Config,
}

fn args() -> Args {
    let argv: Vec<String> = std::env::args().collect();
    let quick = argv.iter().any(|a| a == "--quick");
    let value = |flag: &str, default: usize| {
        argv.iter().position(|a| a == flag).and_then(|i| argv.get(i + 1)?.parse().ok()).unwrap_or(default)
    };
    let defaults = wasmkube_scheduler::Config::default();
    Args {
        nodes: value("--nodes", if quick { 100 } else { 1000 }),
        pods: value("--pods", if quick { 1000 } else { 10_000 }),
        rounds: value("--rounds", if quick { 1 } else { 3 }),
        rate: value("--rate", if quick { 1000 } else { 2000 }),
        config: wasmkube_scheduler::Config {
            max_binds_in_flight: value("--in-flight", defaults.max_binds_in_flight),
            burst: value("--burst", defaults.burst),
            ..defaults
        },
    }
}

#[derive(Default)]
struct Round {
    pods_per_sec: f64,
    /// From the first bind to the last: the rate once the scheduler has synced.
    steady_per_sec: f64,
    latencies_ms: Vec<f64>,
    first_bind_ms: f64,
    creates_per_sec: f64,
    /// CPU time of this process per second of the measured interval.
    cores_busy: f64,
    /// CPU used by everything else on the machine meanwhile (it is shared).
    others_busy: f64,
    over_committed: usize,
}

/// Wait until every pod is bound: after starting the scheduler over the created pods
/// (backlog), or while creating them with the scheduler already running (stream).
async fn measure(c: &Cluster, a: &Args, backlog: bool) -> Round {
    let mut observer = c.observe();
    let (cpu, machine) = (cpu_seconds(), machine_busy_seconds());
    let start = Instant::now();
    let mut round = Round::default();
    let (scheduler, due) = if backlog {
        (Some(wasmkube_scheduler::spawn_with(c.api.clone(), a.config.clone())), Vec::new())
    } else {
        (None, create_pods_at_rate(c.api.clone(), a.pods, a.rate as f64))
    };
    for i in 0..a.pods {
        let (name, at) = observer.next_bound().await;
        let from = if backlog { start } else { due[pod_index(&name)] };
        round.latencies_ms.push(at.duration_since(from).as_secs_f64() * 1000.0);
        if i == 0 {
            round.first_bind_ms = at.duration_since(start).as_secs_f64() * 1000.0;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    round.pods_per_sec = a.pods as f64 / elapsed;
    round.steady_per_sec = (a.pods - 1) as f64 / (elapsed - round.first_bind_ms / 1000.0);
    round.cores_busy = (cpu_seconds() - cpu) / elapsed;
    round.others_busy = ((machine_busy_seconds() - machine) / elapsed - round.cores_busy).max(0.0);
    if let Some(s) = scheduler {
        s.abort();
    }
    round
}

async fn round(a: &Args, backlog: bool) -> Round {
    let c = Cluster::open().await;
    c.register_nodes(a.nodes).await;
    let mut round = if backlog {
        let t0 = Instant::now();
        create_pods(c.api.clone(), a.pods).await;
        let creates_per_sec = a.pods as f64 / t0.elapsed().as_secs_f64();
        eprintln!("scheduler starting: {} nodes, {} pods created", a.nodes, a.pods);
        Round { creates_per_sec, ..measure(&c, a, true).await }
    } else {
        let scheduler = wasmkube_scheduler::spawn_with(c.api.clone(), a.config.clone());
        // Let it list the (empty) cluster before the pods arrive.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let r = measure(&c, a, false).await;
        scheduler.abort();
        r
    };
    round.over_committed = c.over_committed().await;
    round
}

/// `pod-17` -> 17.
fn pod_index(name: &str) -> usize {
    name.strip_prefix("pod-").and_then(|i| i.parse().ok()).expect("the benchmark's pod names")
}

fn summary(samples: &mut [f64], digits: usize) -> String {
    samples.sort_by(f64::total_cmp);
    let median = percentile(samples, 0.5);
    format!("{:.digits$} / {median:.digits$} / {:.digits$}", samples[0], samples[samples.len() - 1])
}

/// Run the rounds of one scenario and print its rows.
fn scenario(a: &Args, backlog: bool) {
    let name = if backlog { "backlog" } else { "stream" };
    let mut rounds = Vec::new();
    for _ in 0..a.rounds {
        // A fresh runtime per round, so nothing of the last round keeps running.
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
        let r = rt.block_on(round(a, backlog));
        rt.shutdown_timeout(Duration::from_secs(5));
        eprintln!(
            "{name} round: {:.0} pods/s ({:.0}/s after the first bind at {:.0} ms), {:.2} cores busy here, {:.2} elsewhere",
            r.pods_per_sec, r.steady_per_sec, r.first_bind_ms, r.cores_busy, r.others_busy
        );
        rounds.push(r);
    }
    let n = rounds.len();
    // Latencies come from the round with the median rate.
    rounds.sort_by(|x, y| x.pods_per_sec.total_cmp(&y.pods_per_sec));
    let median = &mut rounds[n / 2];
    median.latencies_ms.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&median.latencies_ms, 0.5), percentile(&median.latencies_ms, 0.99));
    let first = median.first_bind_ms;
    let column = |f: fn(&Round) -> f64| -> Vec<f64> { rounds.iter().map(f).collect() };
    let over: usize = rounds.iter().map(|r| r.over_committed).sum();
    let (nodes, pods) = (a.nodes, a.pods);
    let mut rates = column(|r| r.pods_per_sec);
    rates.sort_by(f64::total_cmp);
    let more = serde_json::json!({"min": rates[0], "max": rates[n - 1], "better": "higher"});
    if backlog {
        let more = record::merged(&[more, serde_json::json!({"goal": ">= 5,000"})]);
        let measure = format!("backlog: pods bound/s, {} nodes, {} pods", a.nodes, a.pods);
        record::record("Scheduler", &measure, "pods/s", percentile(&rates, 0.5), more);
        let rate = summary(&mut column(|r| r.pods_per_sec), 0);
        println!(
            "| backlog: pods bound/s, {nodes} nodes, {pods} pods (min / median / max of {n}) | {rate} |"
        );
        println!("| backlog: scheduler start -> pod bound, p50 / p99 (ms) | {p50:.0} / {p99:.0} |");
        let steady = summary(&mut column(|r| r.steady_per_sec), 0);
        println!(
            "| backlog: pods bound/s from the first bind to the last (after the initial sync) | {steady} |"
        );
        println!(
            "| backlog: scheduler start -> first pod bound (initial listing and sync; ms) | {first:.0} |"
        );
        let creates = summary(&mut column(|r| r.creates_per_sec), 0);
        println!("| backlog: pod creates/s beforehand, {CLIENTS} clients (not timed above) | {creates} |");
    } else {
        let measure = format!("stream at {}/s offered: create -> bound, p99", a.rate);
        record::record("Scheduler", &measure, "ms", p99, serde_json::json!({"p50": p50}));
        let rate = summary(&mut column(|r| r.pods_per_sec), 0);
        let offered = a.rate;
        println!("| stream: pods created and bound/s, {offered}/s offered (min / median / max) | {rate} |");
        println!("| stream: create (scheduled start) -> pod bound, p50 / p99 (ms) | {p50:.2} / {p99:.2} |");
    }
    let (mut here, mut others) = (column(|r| r.cores_busy), column(|r| r.others_busy));
    here.sort_by(f64::total_cmp);
    others.sort_by(f64::total_cmp);
    let (here, others) = (percentile(&here, 0.5), percentile(&others, 0.5));
    println!("| {name}: CPU cores busy, this process (other processes), medians | {here:.2} ({others:.2}) |");
    println!("| {name}: over-committed nodes after binding (all rounds) | {over} |");
}

fn main() {
    let a = args();
    println!("| measure | value |\n|---|---|");
    scenario(&a, true);
    scenario(&a, false);
}
