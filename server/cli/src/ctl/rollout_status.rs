//! `wasmkube rollout status`: kubectl's exact progress messages for Deployments, DaemonSets and
//! StatefulSets, re-evaluated on every watch event. On a terminal the message is one line
//! rewritten in place with the time elapsed; elsewhere each new message gets its own line.

use super::Ctx;
use super::discovery::ApiResource;
use anyhow::bail;
use serde_json::Value;
use std::io::{IsTerminal, Write};
use std::time::Duration;
use tokio::time::Instant;

/// kubectl's message for the object's rollout, and whether it is finished.
pub fn status(kind: &str, o: &Value) -> anyhow::Result<(String, bool)> {
    let name = o["metadata"]["name"].as_str().unwrap_or_default();
    let generation = o["metadata"]["generation"].as_i64().unwrap_or(0);
    let s = &o["status"];
    let num = |v: &Value| v.as_i64().unwrap_or(0);
    let observed = num(&s["observedGeneration"]);
    match kind {
        "Deployment" => {
            if generation > observed {
                return Ok(("Waiting for deployment spec update to be observed...".into(), false));
            }
            let progressing =
                s["conditions"].as_array().into_iter().flatten().find(|c| c["type"] == "Progressing");
            if progressing.is_some_and(|c| c["reason"] == "ProgressDeadlineExceeded") {
                bail!("deployment \"{name}\" exceeded its progress deadline");
            }
            let (updated, replicas, available) =
                (num(&s["updatedReplicas"]), num(&s["replicas"]), num(&s["availableReplicas"]));
            let msg = match o["spec"]["replicas"].as_i64() {
                Some(want) if updated < want => {
                    format!("{updated} out of {want} new replicas have been updated...")
                }
                _ if replicas > updated => {
                    format!("{} old replicas are pending termination...", replicas - updated)
                }
                _ if available < updated => {
                    format!("{available} of {updated} updated replicas are available...")
                }
                _ => return Ok((format!("deployment \"{name}\" successfully rolled out"), true)),
            };
            Ok((format!("Waiting for deployment \"{name}\" rollout to finish: {msg}"), false))
        }
        "DaemonSet" => {
            if o["spec"]["updateStrategy"]["type"].as_str().is_some_and(|t| t != "RollingUpdate") {
                bail!("rollout status is only available for RollingUpdate strategy type");
            }
            if generation > observed {
                return Ok(("Waiting for daemon set spec update to be observed...".into(), false));
            }
            let (desired, updated) = (num(&s["desiredNumberScheduled"]), num(&s["updatedNumberScheduled"]));
            let available = num(&s["numberAvailable"]);
            let msg = if updated < desired {
                format!("{updated} out of {desired} new pods have been updated...")
            } else if available < desired {
                format!("{available} of {desired} updated pods are available...")
            } else {
                return Ok((format!("daemon set \"{name}\" successfully rolled out"), true));
            };
            Ok((format!("Waiting for daemon set \"{name}\" rollout to finish: {msg}"), false))
        }
        "StatefulSet" => stateful_set(o),
        other => {
            bail!("rollout status is not supported for {other} (only Deployment, DaemonSet, StatefulSet)")
        }
    }
}

fn stateful_set(o: &Value) -> anyhow::Result<(String, bool)> {
    let strategy = &o["spec"]["updateStrategy"];
    if strategy["type"].as_str().is_some_and(|t| t != "RollingUpdate") {
        bail!("rollout status is only available for RollingUpdate strategy type");
    }
    let s = &o["status"];
    let num = |v: &Value| v.as_i64().unwrap_or(0);
    let (generation, observed) = (num(&o["metadata"]["generation"]), num(&s["observedGeneration"]));
    if observed == 0 || generation > observed {
        return Ok(("Waiting for statefulset spec update to be observed...".into(), false));
    }
    let want = o["spec"]["replicas"].as_i64();
    let (ready, updated) = (num(&s["readyReplicas"]), num(&s["updatedReplicas"]));
    if let Some(want) = want.filter(|w| ready < *w) {
        return Ok((format!("Waiting for {} pods to be ready...", want - ready), false));
    }
    if let (Some(want), Some(partition)) = (want, strategy["rollingUpdate"]["partition"].as_i64()) {
        if updated < want - partition {
            let msg = format!(
                "Waiting for partitioned roll out to finish: {updated} out of {} new pods have been updated...",
                want - partition
            );
            return Ok((msg, false));
        }
        return Ok((format!("partitioned roll out complete: {updated} new pods have been updated..."), true));
    }
    let (update_rev, current_rev) = (s["updateRevision"].as_str(), s["currentRevision"].as_str());
    if update_rev != current_rev {
        let msg = format!(
            "waiting for statefulset rolling update to complete {updated} pods at revision {}...",
            update_rev.unwrap_or("")
        );
        return Ok((msg, false));
    }
    let current = num(&s["currentReplicas"]);
    Ok((
        format!(
            "statefulset rolling update complete {current} pods at revision {}...",
            current_rev.unwrap_or("")
        ),
        true,
    ))
}

/// Follow the rollout until it finishes, fails, or `timeout` passes (`None`: no limit).
pub async fn follow(
    ctx: &Ctx,
    r: &ApiResource,
    name: &str,
    timeout: Option<Duration>,
    watch: bool,
) -> anyhow::Result<()> {
    let path = r.object(ctx.namespace(), name);
    let mut display = Display::new();
    let run = async {
        loop {
            let obj = ctx.client.get(&path).await?;
            let (msg, done) = status(&r.kind, &obj)?;
            display.show(&msg, done);
            if done || !watch {
                return Ok(());
            }
            let rv = obj["metadata"]["resourceVersion"].as_str().unwrap_or("").to_string();
            let query = serde_urlencoded::to_string([("fieldSelector", format!("metadata.name={name}"))])?;
            let url = format!("{}?{query}&watch=1&resourceVersion={rv}", r.collection(Some(ctx.namespace())));
            let mut events = ctx.client.stream(&url, super::client::JSON).await?;
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    ev = events.event() => match ev? {
                        Some((kind, _)) if kind == "DELETED" => bail!("object has been deleted"),
                        Some((kind, o)) if kind != "BOOKMARK" => {
                            let (msg, done) = status(&r.kind, &o)?;
                            display.show(&msg, done);
                            if done {
                                return Ok(());
                            }
                        }
                        Some(_) => {}
                        // The server ended the watch: look again and watch anew.
                        None => break,
                    },
                    _ = tick.tick() => display.refresh(),
                }
            }
        }
    };
    let result = match timeout {
        Some(t) => tokio::time::timeout(t, run)
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("timed out waiting for the condition"))),
        None => run.await,
    };
    display.finish();
    result
}

/// The progress line: rewritten in place on a terminal, one line per change otherwise.
struct Display {
    tty: bool,
    started: Instant,
    last: String,
    open: bool,
}

impl Display {
    fn new() -> Self {
        Display {
            tty: std::io::stdout().is_terminal(),
            started: Instant::now(),
            last: String::new(),
            open: false,
        }
    }

    fn show(&mut self, msg: &str, done: bool) {
        let changed = msg != self.last;
        self.last = msg.to_string();
        if self.tty && !done {
            self.refresh();
        } else if changed || done {
            let mut out = std::io::stdout().lock();
            let clear = if self.open { "\r\x1b[2K" } else { "" };
            let _ = writeln!(out, "{clear}{msg}");
            self.open = false;
        }
    }

    fn refresh(&mut self) {
        if !self.tty || self.last.is_empty() {
            return;
        }
        let secs = self.started.elapsed().as_secs();
        let mut out = std::io::stdout().lock();
        let _ = write!(out, "\r\x1b[2K{} ({secs}s)", self.last);
        let _ = out.flush();
        self.open = true;
    }

    /// Leave the terminal on a fresh line whatever happened.
    fn finish(&mut self) {
        if self.open {
            println!();
            self.open = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::status;
    use serde_json::json;

    fn deployment(generation: i64, status: serde_json::Value) -> serde_json::Value {
        json!({"metadata": {"name": "web", "generation": generation}, "spec": {"replicas": 3}, "status": status})
    }

    #[test]
    fn deployment_messages_are_kubectls() {
        let msg = |d| status("Deployment", &d).unwrap();
        assert_eq!(
            msg(deployment(2, json!({"observedGeneration": 1}))).0,
            "Waiting for deployment spec update to be observed..."
        );
        let waiting = "Waiting for deployment \"web\" rollout to finish: ";
        let s = json!({"observedGeneration": 2, "updatedReplicas": 1, "replicas": 3});
        assert_eq!(msg(deployment(2, s)).0, format!("{waiting}1 out of 3 new replicas have been updated..."));
        let s = json!({"observedGeneration": 2, "updatedReplicas": 3, "replicas": 4});
        assert_eq!(msg(deployment(2, s)).0, format!("{waiting}1 old replicas are pending termination..."));
        let s = json!({"observedGeneration": 2, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 2});
        assert_eq!(
            msg(deployment(2, s)),
            (format!("{waiting}2 of 3 updated replicas are available..."), false)
        );
        let s = json!({"observedGeneration": 2, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 3});
        assert_eq!(msg(deployment(2, s)), ("deployment \"web\" successfully rolled out".to_string(), true));
        let s = json!({"observedGeneration": 2, "conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]});
        let err = status("Deployment", &deployment(2, s)).unwrap_err().to_string();
        assert_eq!(err, "deployment \"web\" exceeded its progress deadline");
    }

    #[test]
    fn daemon_and_stateful_set_messages() {
        let ds = json!({"metadata": {"name": "agent", "generation": 1}, "spec": {},
            "status": {"observedGeneration": 1, "desiredNumberScheduled": 1, "updatedNumberScheduled": 1, "numberAvailable": 0}});
        assert_eq!(
            status("DaemonSet", &ds).unwrap().0,
            "Waiting for daemon set \"agent\" rollout to finish: 0 of 1 updated pods are available..."
        );
        let sts = json!({"metadata": {"name": "db", "generation": 1}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 1, "readyReplicas": 2, "currentReplicas": 2, "updatedReplicas": 2, "currentRevision": "db-1", "updateRevision": "db-1"}});
        assert_eq!(
            status("StatefulSet", &sts).unwrap(),
            ("statefulset rolling update complete 2 pods at revision db-1...".to_string(), true)
        );
    }
}
