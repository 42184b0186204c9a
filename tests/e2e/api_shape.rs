//! The wire shapes real clients depend on: version, discovery, OpenAPI, Tables, watch events,
//! pagination, subresources; and the loopback-only rule.

use crate::support::{BIN, Server, http};
use serde_json::{Value, json};

const V2: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

#[test]
fn version_discovery_and_openapi() {
    let s = Server::start();
    let v = http(&s.addr, "GET", "/version", &[], b"").json();
    assert_eq!(v["major"], "1");
    assert!(v["minor"].as_str().unwrap().parse::<u32>().unwrap() >= 32);
    let agg = http(&s.addr, "GET", "/apis", &[("Accept", V2)], b"");
    assert_eq!(
        agg.header("content-type"),
        Some("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
    );
    let groups: Vec<String> = agg.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    for g in [
        "apps",
        "batch",
        "networking.k8s.io",
        "discovery.k8s.io",
        "autoscaling",
        "coordination.k8s.io",
        "node.k8s.io",
        "events.k8s.io",
    ] {
        assert!(groups.contains(&g.to_string()), "{g} in {groups:?}");
    }
    let legacy = http(&s.addr, "GET", "/apis", &[("Accept", "application/json")], b"");
    assert_eq!(legacy.header("content-type"), Some("application/json"));
    assert_eq!(legacy.json()["kind"], "APIGroupList");
    let core = http(&s.addr, "GET", "/api/v1", &[], b"").json();
    let pods = core["resources"].as_array().unwrap().iter().find(|r| r["name"] == "pods").unwrap();
    assert_eq!(pods["shortNames"], json!(["po"]));
    assert!(core["resources"].as_array().unwrap().iter().any(|r| r["name"] == "pods/binding"));
    let idx = http(&s.addr, "GET", "/openapi/v3", &[], b"").json();
    let url = idx["paths"]["apis/apps/v1"]["serverRelativeURL"].as_str().unwrap().to_string();
    let doc = http(&s.addr, "GET", &url, &[], b"").json();
    let patch = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
    assert_eq!(patch["x-kubernetes-group-version-kind"]["kind"], "Deployment");
    assert!(patch["parameters"].as_array().unwrap().iter().any(|p| p["name"] == "fieldValidation"));
    let resources = s.k(&["api-resources"]);
    assert!(
        resources
            .lines()
            .any(|l| l.starts_with("deployments") && l.contains("deploy") && l.contains("apps/v1")),
        "{resources}"
    );
}

#[test]
fn tables_carry_upstream_columns_and_row_metadata() {
    let s = Server::start();
    s.apply(&crate::support::fixture("deploy-v1.yaml"), &[]);
    let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
    let t = http(
        &s.addr,
        "GET",
        "/apis/apps/v1/namespaces/default/deployments?limit=500",
        &[("Accept", accept)],
        b"",
    )
    .json();
    assert_eq!(t["kind"], "Table");
    let cols: Vec<&str> =
        t["columnDefinitions"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(&cols[..5], ["Name", "Ready", "Up-to-date", "Available", "Age"]);
    assert_eq!(t["rows"][0]["cells"][0], "web");
    assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(t["rows"][0]["object"]["metadata"]["labels"]["app"], "web");
}

#[test]
fn pagination_is_consistent_across_writes() {
    let s = Server::start();
    for i in 0..25 {
        s.k(&["create", "configmap", &format!("p{i:02}")]);
    }
    let page = |q: &str| {
        http(&s.addr, "GET", &format!("/api/v1/namespaces/default/configmaps?{q}"), &[], b"").json()
    };
    let first = page("limit=10");
    assert_eq!(first["items"].as_array().unwrap().len(), 10);
    assert_eq!(first["metadata"]["remainingItemCount"], 15);
    let token = first["metadata"]["continue"].as_str().unwrap().to_string();
    s.k(&["create", "configmap", "p05a"]);
    s.k(&["delete", "configmap", "p20"]);
    let mut names: Vec<String> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().into())
        .collect();
    let mut token = Some(token);
    while let Some(t) = token {
        let p = page(&format!("limit=10&continue={t}"));
        names.extend(
            p["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["metadata"]["name"].as_str().unwrap().to_string()),
        );
        assert_eq!(
            p["metadata"]["resourceVersion"], first["metadata"]["resourceVersion"],
            "all pages at one revision"
        );
        token = p["metadata"]["continue"].as_str().map(String::from);
    }
    let expected: Vec<String> = (0..25).map(|i| format!("p{i:02}")).collect();
    assert_eq!(names, expected, "the snapshot ignores writes made between pages");
}

/// Read watch lines from a raw streaming response until `n` lines or EOF.
fn watch_lines(addr: &str, path: &str, n: usize) -> Vec<Value> {
    use std::io::{BufRead, BufReader, Write};
    let mut sock = std::net::TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
    write!(sock, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut r = BufReader::new(sock);
    let mut out = Vec::new();
    let mut line = String::new();
    while out.len() < n {
        line.clear();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        // Chunk-size lines (hex, sometimes all digits) are not events; events are objects.
        if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(line.trim()) {
            out.push(v);
        }
    }
    out
}

#[test]
fn watch_events_bookmarks_timeouts_and_expiry() {
    let s = Server::start_with(&["--history-revisions", "5"]);
    for i in 0..20 {
        s.k(&["create", "configmap", &format!("w{i}")]);
    }
    let ev = watch_lines(&s.addr, "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=2", 1);
    assert_eq!(ev[0]["type"], "ERROR");
    assert_eq!(
        (ev[0]["object"]["code"].as_i64(), ev[0]["object"]["reason"].as_str()),
        (Some(410), Some("Expired"))
    );
    assert!(ev[0]["object"]["message"].as_str().unwrap().starts_with("too old resource version: 2 ("));
    let ev = watch_lines(
        &s.addr,
        "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=2",
        100,
    );
    let added = ev.iter().filter(|e| e["type"] == "ADDED").count();
    assert_eq!(added, 20);
    let last = ev.last().unwrap();
    assert_eq!(last["type"], "BOOKMARK", "{last}");
    assert_eq!(last["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"], "true");
    let rv = s.k(&["get", "cm", "w19", "-o", "jsonpath={.metadata.resourceVersion}"]);
    let addr = s.addr.clone();
    let h = std::thread::spawn(move || {
        watch_lines(
            &addr,
            &format!(
                "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}&labelSelector=pick%3Dyes&timeoutSeconds=5"
            ),
            2,
        )
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    s.k(&["label", "cm", "w3", "pick=yes"]);
    s.k(&["label", "cm", "w3", "pick-"]);
    let ev = h.join().unwrap();
    let kinds: Vec<&str> = ev.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ADDED", "DELETED"], "objects entering and leaving a selector");
}

#[test]
fn status_scale_and_binding_subresources() {
    let s = Server::start();
    // Status semantics on a Node with no agent behind it: nothing else writes its status.
    s.apply("apiVersion: v1\nkind: Node\nmetadata: {name: ghost}\n", &[]);
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
    let ready = format!(
        r#"{{"status":{{"conditions":[{{"type":"Ready","status":"True","lastHeartbeatTime":"{now}","lastTransitionTime":"{now}"}}]}}}}"#
    );
    s.k(&["patch", "node", "ghost", "--subresource=status", "--type=merge", "-p", &ready]);
    let node = "/api/v1/nodes/ghost";
    let r = http(
        &s.addr,
        "PATCH",
        &format!("{node}/status"),
        &[("Content-Type", "application/merge-patch+json")],
        br#"{"status":{"capacity":{"pods":"9"}},"spec":{"unschedulable":true}}"#,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let n = r.json();
    assert_eq!(
        (n["status"]["capacity"]["pods"].as_str(), n["spec"]["unschedulable"].as_bool()),
        (Some("9"), None),
        "status writes touch only status"
    );
    let r = http(
        &s.addr,
        "PATCH",
        node,
        &[("Content-Type", "application/merge-patch+json")],
        br#"{"status":{"capacity":{"pods":"1"}}}"#,
    );
    assert_eq!(r.json()["status"]["capacity"]["pods"], "9", "main-resource writes keep status: {}", r.json());
    s.apply(&crate::support::fixture("deploy-v1.yaml"), &[]);
    let base = "/apis/apps/v1/namespaces/default/deployments/web";
    let scale = http(&s.addr, "GET", &format!("{base}/scale"), &[], b"").json();
    assert_eq!((scale["kind"].as_str(), scale["spec"]["replicas"].as_i64()), (Some("Scale"), Some(2)));
    assert_eq!(scale["status"]["selector"], "app=web");
    // A pod for another scheduler, so ours leaves the binding to this test.
    let overrides = r#"{"spec":{"schedulerName":"manual"}}"#;
    s.k(&["run", "p", "--image=hello:latest", "--restart=Never", "--overrides", overrides]);
    let bind = |node: &str| {
        http(
            &s.addr,
            "POST",
            "/api/v1/namespaces/default/pods/p/binding",
            &[("Content-Type", "application/json")],
            format!(r#"{{"metadata":{{"name":"p"}},"target":{{"kind":"Node","name":"{node}"}}}}"#).as_bytes(),
        )
    };
    let first = bind("n1");
    assert_eq!(first.status, 201, "{}", String::from_utf8_lossy(&first.body));
    assert_eq!(bind("n2").status, 409, "a pod binds once");
    let pod = s.get_json(&["pod", "p"]);
    assert_eq!(pod["spec"]["nodeName"], "n1");
    assert!(
        pod["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "PodScheduled" && c["status"] == "True")
    );
}

#[test]
fn the_api_refuses_non_loopback_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(BIN)
        .args(["server", "--api-listen", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("loopback"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
