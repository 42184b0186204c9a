//! Liveness, readiness and startup probes, run by the agent against the pod's own ports
//! through the node network (a probe reaches podIP:port exactly as a sibling pod would).
//!
//! Each probe of each container is one task. It probes only while the container runs, and
//! starts over (initial delay, counters, "not ready") whenever the container starts again.
//! Startup gates the other two; a liveness failure kills the container so its restart policy
//! applies; readiness feeds the pod's Ready condition. `exec` probes cannot run a command in
//! a wasm component: they are reported once with a Warning event and otherwise ignored.

use k8s_openapi::api::core::v1 as core;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use wasmkube_runtime::network::Proto;
use wasmkube_runtime::{ContainerState, NodeNetwork, PodStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Startup,
    Liveness,
    Readiness,
}

/// Probe results the worker reads when it computes the status.
#[derive(Default)]
pub(crate) struct Results {
    pub ready: HashMap<String, bool>,
    pub started: HashMap<String, bool>,
}

/// What a probe task reports to its pod's worker.
pub(crate) enum Report {
    Changed,
    /// Liveness (or startup) failed for good: kill the container.
    Kill {
        container: String,
        message: String,
    },
    Unhealthy {
        container: String,
        kind: Kind,
        message: String,
    },
    Unsupported {
        container: String,
        message: String,
    },
}

pub(crate) struct Probe {
    pub container: String,
    pub kind: Kind,
    pub spec: core::Probe,
    pub ports: HashMap<String, u16>,
}

/// The probes of a pod's containers (main containers and sidecars).
pub(crate) fn of_pod(spec: &core::PodSpec) -> Vec<Probe> {
    let sidecars =
        spec.init_containers.iter().flatten().filter(|c| c.restart_policy.as_deref() == Some("Always"));
    let mut out = Vec::new();
    for c in spec.containers.iter().chain(sidecars) {
        let ports: HashMap<String, u16> = c
            .ports
            .iter()
            .flatten()
            .filter_map(|p| Some((p.name.clone()?, u16::try_from(p.container_port).ok()?)))
            .collect();
        for (kind, probe) in [
            (Kind::Startup, &c.startup_probe),
            (Kind::Liveness, &c.liveness_probe),
            (Kind::Readiness, &c.readiness_probe),
        ] {
            if let Some(p) = probe {
                out.push(Probe { container: c.name.clone(), kind, spec: p.clone(), ports: ports.clone() });
            }
        }
    }
    out
}

/// Initial results: containers with a readiness probe are not ready, with a startup probe not
/// started, until their probes say otherwise.
pub(crate) fn initial(probes: &[Probe]) -> Results {
    let mut r = Results::default();
    for p in probes {
        match p.kind {
            Kind::Readiness => r.ready.insert(p.container.clone(), false),
            Kind::Startup => r.started.insert(p.container.clone(), false),
            Kind::Liveness => None,
        };
    }
    r
}

pub(crate) struct Context {
    pub net: Arc<NodeNetwork>,
    pub pod_ip: Ipv4Addr,
    pub status: watch::Receiver<PodStatus>,
    pub results: Arc<Mutex<Results>>,
    pub reports: tokio::sync::mpsc::UnboundedSender<Report>,
}

fn secs(v: Option<i32>, default: u64) -> Duration {
    Duration::from_secs(v.map_or(default, |s| u64::try_from(s.max(0)).unwrap_or(default)))
}

/// Run one probe for the pod's life.
pub(crate) async fn run(probe: Probe, ctx: Context) {
    if probe.spec.exec.is_some() || probe.spec.grpc.is_some() {
        let kind = if probe.spec.exec.is_some() { "exec" } else { "grpc" };
        let message = format!(
            "{kind} {:?} probes are not supported for wasm containers; the probe is ignored",
            probe.kind
        );
        let _ = ctx.reports.send(Report::Unsupported { container: probe.container.clone(), message });
        set(&ctx, &probe, true);
        return;
    }
    let mut status = ctx.status.clone();
    loop {
        // Wait for a run of the container, and for the startup probe if this is another kind.
        let run_started = loop {
            let current = status.borrow_and_update().container(&probe.container).map(|c| c.state.clone());
            if let Some(ContainerState::Running { started_at }) = current
                && (probe.kind == Kind::Startup || started(&ctx, &probe.container))
            {
                break started_at;
            }
            let tick = tokio::time::sleep(Duration::from_millis(200));
            tokio::select! {
                r = status.changed() => if r.is_err() { return },
                () = tick => {}
            }
        };
        probe_one_run(&probe, &ctx, &mut status, run_started).await;
        set(&ctx, &probe, false);
    }
}

fn started(ctx: &Context, container: &str) -> bool {
    ctx.results
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .started
        .get(container)
        .copied()
        .unwrap_or(true)
}

/// Record a result; tell the worker when it changed.
fn set(ctx: &Context, probe: &Probe, ok: bool) {
    let mut r = ctx.results.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let map = match probe.kind {
        Kind::Readiness => &mut r.ready,
        Kind::Startup => &mut r.started,
        Kind::Liveness => return,
    };
    if map.insert(probe.container.clone(), ok) != Some(ok) {
        drop(r);
        let _ = ctx.reports.send(Report::Changed);
    }
}

/// Probe while this run of the container lasts.
async fn probe_one_run(
    probe: &Probe,
    ctx: &Context,
    status: &mut watch::Receiver<PodStatus>,
    run: chrono::DateTime<chrono::Utc>,
) {
    let spec = &probe.spec;
    let period = secs(spec.period_seconds, 10).max(Duration::from_secs(1));
    let timeout = secs(spec.timeout_seconds, 1).max(Duration::from_secs(1));
    let success_needed = u32::try_from(spec.success_threshold.unwrap_or(1).max(1)).unwrap_or(1);
    let failure_allowed = u32::try_from(spec.failure_threshold.unwrap_or(3).max(1)).unwrap_or(3);
    let same_run = |s: &PodStatus| matches!(s.container(&probe.container).map(|c| &c.state), Some(ContainerState::Running { started_at }) if *started_at == run);
    let mut next = tokio::time::Instant::now() + secs(spec.initial_delay_seconds, 0);
    let (mut successes, mut failures) = (0u32, 0u32);
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(next) => {}
            r = status.wait_for(|s| !same_run(s)) => { let _ = r; return; }
        }
        next += period;
        match tokio::time::timeout(timeout, check(probe, ctx))
            .await
            .unwrap_or_else(|_| Err(format!("timeout after {timeout:?}")))
        {
            Ok(()) => {
                failures = 0;
                successes += 1;
                if successes >= success_needed {
                    set(ctx, probe, true);
                }
            }
            Err(message) => {
                successes = 0;
                failures += 1;
                let _ = ctx.reports.send(Report::Unhealthy {
                    container: probe.container.clone(),
                    kind: probe.kind,
                    message: message.clone(),
                });
                if failures >= failure_allowed {
                    set(ctx, probe, false);
                    if probe.kind != Kind::Readiness {
                        let _ =
                            ctx.reports.send(Report::Kill { container: probe.container.clone(), message });
                        // Wait for the killed run to end before probing the next one.
                        let _ = status.wait_for(|s| !same_run(s)).await;
                        return;
                    }
                }
            }
        }
    }
}

fn port_of(
    probe: &Probe,
    port: &k8s_openapi::apimachinery::pkg::util::intstr::IntOrString,
) -> Result<u16, String> {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    match port {
        IntOrString::Int(n) => u16::try_from(*n).map_err(|_| format!("invalid port {n}")),
        IntOrString::String(name) => {
            probe.ports.get(name).copied().ok_or_else(|| format!("no container port named {name:?}"))
        }
    }
}

/// Where the pod's port really is: the node network publishes each listening pod port on a
/// loopback address of the host.
fn target(ctx: &Context, port: u16) -> Result<SocketAddr, String> {
    ctx.net
        .host_addr(ctx.pod_ip, Proto::Tcp, port)
        .ok_or_else(|| format!("dial tcp {}:{port}: connect: connection refused", ctx.pod_ip))
}

async fn check(probe: &Probe, ctx: &Context) -> Result<(), String> {
    if let Some(tcp) = &probe.spec.tcp_socket {
        let addr = target(ctx, port_of(probe, &tcp.port)?)?;
        return tokio::net::TcpStream::connect(addr).await.map(drop).map_err(|e| e.to_string());
    }
    let Some(http) = &probe.spec.http_get else {
        return Err("the probe has no handler".into());
    };
    let port = port_of(probe, &http.port)?;
    let addr = target(ctx, port)?;
    let path = http.path.as_deref().filter(|p| !p.is_empty()).unwrap_or("/");
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}:{port}\r\nUser-Agent: kube-probe/1.32\r\nAccept: */*\r\nConnection: close\r\n",
        ctx.pod_ip
    );
    for h in http.http_headers.iter().flatten() {
        request.push_str(&format!("{}: {}\r\n", h.name, h.value));
    }
    request.push_str("\r\n");
    let mut stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    stream.write_all(request.as_bytes()).await.map_err(|e| e.to_string())?;
    let mut head = vec![0u8; 1024];
    let n = stream.read(&mut head).await.map_err(|e| e.to_string())?;
    let line = String::from_utf8_lossy(&head[..n]);
    let code: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| "malformed HTTP response".to_string())?;
    if (200..400).contains(&code) {
        Ok(())
    } else {
        Err(format!("HTTP probe failed with statuscode: {code}"))
    }
}
