//! `describe pod`: where it runs, its status, each container's state and restarts, conditions
//! and volumes, laid out as kubectl does. The container block is shared with pod templates.

use super::{Writer, labels_and_annotations, str_or, time};
use serde_json::Value;

pub fn describe(w: &mut Writer, pod: &Value) {
    let (spec, status, meta) = (&pod["spec"], &pod["status"], &pod["metadata"]);
    w.kv(0, "Name", str_or(&meta["name"], ""));
    w.kv(0, "Namespace", str_or(&meta["namespace"], ""));
    w.kv(0, "Priority", spec["priority"].as_i64().unwrap_or(0));
    w.kv(0, "Service Account", str_or(&spec["serviceAccountName"], "default"));
    let node = match (spec["nodeName"].as_str(), status["hostIP"].as_str()) {
        (Some(n), Some(ip)) => format!("{n}/{ip}"),
        (Some(n), None) => n.to_string(),
        _ => "<none>".into(),
    };
    w.kv(0, "Node", node);
    if status["startTime"].is_string() {
        w.kv(0, "Start Time", time(&status["startTime"]));
    }
    labels_and_annotations(w, meta);
    let phase = str_or(&status["phase"], "Unknown");
    match meta["deletionTimestamp"].as_str() {
        Some(_) => {
            w.kv(0, "Status", format!("Terminating (lasts {})", super::age(&meta["deletionTimestamp"])))
        }
        None => w.kv(0, "Status", phase),
    }
    for key in ["reason", "message"] {
        if let Some(v) = status[key].as_str() {
            w.kv(0, &super::capitalize(key), v);
        }
    }
    w.kv(0, "IP", str_or(&status["podIP"], ""));
    let ips: Vec<&str> =
        status["podIPs"].as_array().into_iter().flatten().filter_map(|i| i["ip"].as_str()).collect();
    if ips.is_empty() {
        w.kv(0, "IPs", "<none>");
    } else {
        w.line(0, "IPs:");
        ips.iter().for_each(|ip| w.kv(1, "IP", ip));
    }
    if let Some(owner) =
        meta["ownerReferences"].as_array().into_iter().flatten().find(|o| o["controller"] == true)
    {
        w.kv(0, "Controlled By", format!("{}/{}", str_or(&owner["kind"], ""), str_or(&owner["name"], "")));
    }
    let init_statuses = &status["initContainerStatuses"];
    if spec["initContainers"].as_array().is_some_and(|a| !a.is_empty()) {
        w.line(0, "Init Containers:");
        containers(w, 1, &spec["initContainers"], Some(init_statuses));
    }
    w.line(0, "Containers:");
    containers(w, 1, &spec["containers"], Some(&status["containerStatuses"]));
    conditions(w, status);
    volumes(w, &spec["volumes"]);
    w.kv(0, "QoS Class", str_or(&status["qosClass"], "BestEffort"));
    let selectors = super::super::table::labels(&spec["nodeSelector"]);
    w.kv(0, "Node-Selectors", selectors);
    let tolerations: Vec<String> =
        spec["tolerations"].as_array().into_iter().flatten().map(toleration).collect();
    w.list(0, "Tolerations", &tolerations);
}

pub fn toleration(t: &Value) -> String {
    let mut s = str_or(&t["key"], "").to_string();
    if let Some(v) = t["value"].as_str().filter(|v| !v.is_empty()) {
        s.push_str(&format!("={v}"));
    }
    if let Some(e) = t["effect"].as_str().filter(|e| !e.is_empty()) {
        s.push_str(&format!(":{e}"));
    }
    if t["operator"] == "Exists" && s.is_empty() {
        s = "op=Exists".into();
    } else if t["operator"] == "Exists" {
        s.push_str(" op=Exists");
    }
    if let Some(secs) = t["tolerationSeconds"].as_i64() {
        s.push_str(&format!(" for {secs}s"));
    }
    s
}

/// Each container: image, ports, args, state, readiness, restarts, probes, env and mounts.
pub fn containers(w: &mut Writer, level: usize, specs: &Value, statuses: Option<&Value>) {
    for c in specs.as_array().into_iter().flatten() {
        let name = str_or(&c["name"], "");
        let st = statuses
            .and_then(|s| s.as_array())
            .and_then(|s| s.iter().find(|s| s["name"] == name))
            .unwrap_or(&Value::Null);
        // kubectl indents a template's container names one space further than other keys.
        let pad = if statuses.is_none() { " " } else { "" };
        w.line(level, format!("{pad}{name}:"));
        let l = level + 1;
        if statuses.is_some() {
            w.kv(l, "Container ID", str_or(&st["containerID"], ""));
        }
        w.kv(l, "Image", str_or(&c["image"], ""));
        if statuses.is_some() {
            w.kv(l, "Image ID", str_or(&st["imageID"], ""));
        }
        let ports: Vec<String> = c["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| format!("{}/{}", p["containerPort"], str_or(&p["protocol"], "TCP")))
            .collect();
        if ports.is_empty() {
            w.kv(l, "Port", "<none>");
            w.kv(l, "Host Port", "<none>");
        }
        for (port, p) in ports.iter().zip(c["ports"].as_array().into_iter().flatten()) {
            w.kv(l, "Port", port);
            w.kv(
                l,
                "Host Port",
                format!("{}/{}", p["hostPort"].as_i64().unwrap_or(0), str_or(&p["protocol"], "TCP")),
            );
        }
        for key in ["command", "args"] {
            if let Some(items) = c[key].as_array().filter(|a| !a.is_empty()) {
                w.line(l, format!("{}:", super::capitalize(key)));
                items.iter().for_each(|a| w.line(l + 1, a.as_str().unwrap_or_default()));
            }
        }
        if statuses.is_some() {
            state(w, l, "State", &st["state"]);
            if st["lastState"].as_object().is_some_and(|m| !m.is_empty()) {
                state(w, l, "Last State", &st["lastState"]);
            }
            w.kv(l, "Ready", if st["ready"] == true { "True" } else { "False" });
            w.kv(l, "Restart Count", st["restartCount"].as_i64().unwrap_or(0));
        }
        for (key, label) in
            [("livenessProbe", "Liveness"), ("readinessProbe", "Readiness"), ("startupProbe", "Startup")]
        {
            if c[key].is_object() {
                w.kv(l, label, probe(&c[key]));
            }
        }
        let env: Vec<String> = c["env"].as_array().into_iter().flatten().map(env_line).collect();
        if env.is_empty() {
            w.kv(l, "Environment", "<none>");
        } else {
            w.line(l, "Environment:");
            env.iter().for_each(|e| w.line(l + 1, e));
        }
        let mounts: Vec<String> = c["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                let mode = if m["readOnly"] == true { "ro" } else { "rw" };
                format!("{} from {} ({mode})", str_or(&m["mountPath"], ""), str_or(&m["name"], ""))
            })
            .collect();
        if mounts.is_empty() {
            w.kv(l, "Mounts", "<none>");
        } else {
            w.line(l, "Mounts:");
            mounts.iter().for_each(|m| w.line(l + 1, m));
        }
    }
}

fn env_line(e: &Value) -> String {
    let name = str_or(&e["name"], "");
    if let Some(v) = e["value"].as_str() {
        return format!("{name}:\t{v}");
    }
    let from = &e["valueFrom"];
    let source = if from["configMapKeyRef"].is_object() {
        format!(
            "<set to the key '{}' of config map '{}'>",
            from["configMapKeyRef"]["key"].as_str().unwrap_or(""),
            from["configMapKeyRef"]["name"].as_str().unwrap_or("")
        )
    } else if from["secretKeyRef"].is_object() {
        format!(
            "<set to the key '{}' in secret '{}'>",
            from["secretKeyRef"]["key"].as_str().unwrap_or(""),
            from["secretKeyRef"]["name"].as_str().unwrap_or("")
        )
    } else if from["fieldRef"].is_object() {
        format!(
            "({}:{})",
            str_or(&from["fieldRef"]["apiVersion"], "v1"),
            str_or(&from["fieldRef"]["fieldPath"], "")
        )
    } else {
        String::new()
    };
    format!("{name}:\t{source}")
}

/// A container state (`Running`, `Waiting` with its reason, `Terminated` with its exit code).
fn state(w: &mut Writer, level: usize, key: &str, s: &Value) {
    if let Some(r) = s["running"].as_object() {
        w.kv(level, key, "Running");
        w.kv(level + 1, "Started", time(r.get("startedAt").unwrap_or(&Value::Null)));
    } else if s["waiting"].is_object() {
        w.kv(level, key, "Waiting");
        w.kv(level + 1, "Reason", str_or(&s["waiting"]["reason"], ""));
    } else if let Some(t) = s["terminated"].as_object() {
        w.kv(level, key, "Terminated");
        let get = |k: &str| t.get(k).cloned().unwrap_or(Value::Null);
        w.kv(level + 1, "Reason", str_or(&get("reason"), ""));
        if let Some(m) = get("message").as_str().filter(|m| !m.is_empty()) {
            w.kv(level + 1, "Message", m);
        }
        w.kv(level + 1, "Exit Code", get("exitCode").as_i64().unwrap_or(0));
        w.kv(level + 1, "Started", time(&get("startedAt")));
        w.kv(level + 1, "Finished", time(&get("finishedAt")));
    } else {
        w.kv(level, key, "Waiting");
    }
}

fn probe(p: &Value) -> String {
    let action = if let Some(h) = p["httpGet"].as_object() {
        let get = |k: &str| h.get(k).map(|v| v.as_str().map(String::from).unwrap_or_else(|| v.to_string()));
        let port = get("port").unwrap_or_default();
        format!(
            "http-get http://{}:{port}{}",
            get("host").unwrap_or_default(),
            get("path").unwrap_or_default()
        )
    } else if p["tcpSocket"].is_object() {
        format!(
            "tcp-socket :{}",
            p["tcpSocket"]["port"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| p["tcpSocket"]["port"].to_string())
        )
    } else if p["exec"].is_object() {
        let cmd: Vec<&str> =
            p["exec"]["command"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        format!("exec [{}]", cmd.join(" "))
    } else {
        "unknown".into()
    };
    let n = |k: &str, d: i64| p[k].as_i64().unwrap_or(d);
    format!(
        "{action} delay={}s timeout={}s period={}s #success={} #failure={}",
        n("initialDelaySeconds", 0),
        n("timeoutSeconds", 1),
        n("periodSeconds", 10),
        n("successThreshold", 1),
        n("failureThreshold", 3)
    )
}

pub fn conditions(w: &mut Writer, status: &Value) {
    let Some(conds) = status["conditions"].as_array().filter(|c| !c.is_empty()) else { return };
    w.line(0, "Conditions:");
    w.line(1, "Type\tStatus");
    for c in conds {
        // kubectl's trailing spaces, which widen the column.
        w.line(1, format!("{} \t{} ", str_or(&c["type"], ""), str_or(&c["status"], "")));
    }
}

pub fn volumes(w: &mut Writer, vols: &Value) {
    let Some(vols) = vols.as_array().filter(|v| !v.is_empty()) else {
        return w.kv(0, "Volumes", "<none>");
    };
    w.line(0, "Volumes:");
    for v in vols {
        w.line(1, format!("{}:", str_or(&v["name"], "")));
        let Some((kind, source)) = v.as_object().into_iter().flatten().find(|(k, _)| *k != "name") else {
            continue;
        };
        w.kv(2, "Type", format!("{} (volume source)", super::capitalize(kind)));
        for (k, val) in source.as_object().into_iter().flatten() {
            let text = val.as_str().map(String::from).unwrap_or_else(|| val.to_string());
            w.kv(2, &super::capitalize(k), text);
        }
    }
}
