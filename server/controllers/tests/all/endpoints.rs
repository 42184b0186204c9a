//! The Endpoints and EndpointSlice controllers: pods created directly (bound, with the status a
//! kubelet would report), Services selecting them.

use crate::harness::Cluster;
use serde_json::{Value, json};
use std::time::Duration;

const SLICES: &str = "discovery.k8s.io/endpointslices";

async fn node(c: &Cluster, name: &str, zone: Option<&str>) -> Value {
    let mut n = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}});
    if let Some(z) = zone {
        n["metadata"]["labels"] = json!({"topology.kubernetes.io/zone": z});
    }
    c.create("nodes", n).await
}

/// A pod bound to `node` whose one container declares `ports`.
async fn pod_on(c: &Cluster, name: &str, labels: Value, node: &str, ports: Value) -> Value {
    c.create(
        "pods",
        json!({"metadata": {"name": name, "namespace": "default", "labels": labels},
               "spec": {"nodeName": node, "containers": [{"name": "main", "image": "app.wasm", "ports": ports}]}}),
    )
    .await
}

async fn pod(c: &Cluster, name: &str, labels: Value) -> Value {
    pod_on(c, name, labels, "n1", json!([])).await
}

/// The kubelet's report: running at `ip`, Ready or not.
async fn run(c: &Cluster, pod: &Value, ip: &str, ready: bool) -> Value {
    let now = c.now_str();
    let status = json!({
        "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
        "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }, "lastTransitionTime": now}],
    });
    c.patch_status("pods", pod, status).await
}

async fn set_ready(c: &Cluster, pod: &Value, ready: bool) -> Value {
    let cond = json!([{"type": "Ready", "status": if ready { "True" } else { "False" }, "lastTransitionTime": c.now_str()}]);
    c.patch_status("pods", pod, json!({"conditions": cond})).await
}

async fn service(c: &Cluster, name: &str, spec: Value) -> Value {
    c.create(
        "services",
        json!({"apiVersion": "v1", "kind": "Service",
                                "metadata": {"name": name, "namespace": "default", "labels": {"team": "t"}},
                                "spec": spec}),
    )
    .await
}

fn target(pod: &Value) -> Value {
    json!({"kind": "Pod", "namespace": "default", "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]})
}

fn address(pod: &Value, ip: &str) -> Value {
    json!({"ip": ip, "nodeName": pod["spec"]["nodeName"], "targetRef": target(pod)})
}

/// The pod names under `field` (addresses or notReadyAddresses) of every subset, sorted.
fn names(endpoints: &Value, field: &str) -> Vec<String> {
    let mut out: Vec<String> = endpoints["subsets"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s[field].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a["targetRef"]["name"].as_str().map(String::from))
        .collect();
    out.sort();
    out
}

async fn endpoints_where(c: &Cluster, name: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    c.eventually(what, || async { c.get("endpoints", "default", name).await.filter(|e| pred(e)) }).await
}

/// The slices labelled as `service`'s, by name.
async fn slices_of(c: &Cluster, service: &str) -> Vec<Value> {
    let mut slices: Vec<Value> = c
        .list(SLICES, "default")
        .await
        .into_iter()
        .filter(|s| s["metadata"]["labels"]["kubernetes.io/service-name"] == service)
        .collect();
    slices.sort_by(|a, b| a["metadata"]["name"].as_str().cmp(&b["metadata"]["name"].as_str()));
    slices
}

/// (pod, ready, serving, terminating) of every endpoint of the slices, sorted.
fn conditions(slices: &[Value]) -> Vec<(String, bool, bool, bool)> {
    let mut out: Vec<(String, bool, bool, bool)> = slices
        .iter()
        .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
        .map(|e| {
            let c = &e["conditions"];
            (
                e["targetRef"]["name"].as_str().unwrap_or("").to_string(),
                c["ready"] == true,
                c["serving"] == true,
                c["terminating"] == true,
            )
        })
        .collect();
    out.sort();
    out
}

async fn slices_where(c: &Cluster, service: &str, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    c.eventually(what, || async {
        let slices = slices_of(c, service).await;
        pred(&slices).then_some(slices)
    })
    .await
}

fn ep(name: &str, ready: bool, serving: bool, terminating: bool) -> (String, bool, bool, bool) {
    (name.to_string(), ready, serving, terminating)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_and_not_ready_pods_and_readiness_changes() {
    let c = Cluster::start().await;
    node(&c, "n1", Some("zone-a")).await;
    let svc = service(
        &c,
        "web",
        json!({"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}),
    )
    .await;
    let a = pod(&c, "web-a", json!({"app": "web"})).await;
    let b = pod(&c, "web-b", json!({"app": "web"})).await;
    let other = pod(&c, "other", json!({"app": "other"})).await;
    pod(&c, "web-pending", json!({"app": "web"})).await; // no IP yet: no endpoint
    let a = run(&c, &a, "10.244.0.1", true).await;
    let b = run(&c, &b, "10.244.0.2", false).await;
    run(&c, &other, "10.244.0.9", true).await;

    let e = endpoints_where(&c, "web", "web-a ready, web-b not", |e| {
        names(e, "addresses") == ["web-a"] && names(e, "notReadyAddresses") == ["web-b"]
    })
    .await;
    assert_eq!(
        e["subsets"],
        json!([{"addresses": [address(&a, "10.244.0.1")], "notReadyAddresses": [address(&b, "10.244.0.2")],
                "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}])
    );
    assert_eq!(e["metadata"]["labels"], json!({"team": "t"}), "labels copied from the Service");
    assert!(e["metadata"]["ownerReferences"].is_null(), "Endpoints have no owner upstream");
    assert_eq!(e["metadata"]["managedFields"][0]["manager"], "endpoint-controller");

    let slices = slices_where(&c, "web", "a slice with both pods", |s| conditions(s).len() == 2).await;
    assert_eq!(slices.len(), 1);
    let s = &slices[0];
    assert!(s["metadata"]["name"].as_str().unwrap().starts_with("web-"));
    assert_eq!(s["metadata"]["generateName"], "web-");
    assert_eq!(s["addressType"], "IPv4");
    assert_eq!(
        s["metadata"]["labels"],
        json!({"team": "t", "kubernetes.io/service-name": "web",
               "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"})
    );
    let owner = &s["metadata"]["ownerReferences"][0];
    assert_eq!(
        (owner["kind"].clone(), owner["name"].clone(), owner["uid"].clone()),
        (json!("Service"), json!("web"), svc["metadata"]["uid"].clone())
    );
    assert_eq!(
        (owner["controller"].clone(), owner["blockOwnerDeletion"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(s["ports"], json!([{"name": "http", "port": 8080, "protocol": "TCP"}]));
    let first =
        s["endpoints"].as_array().unwrap().iter().find(|e| e["targetRef"]["name"] == "web-a").unwrap();
    assert_eq!(
        first,
        &json!({"addresses": ["10.244.0.1"], "conditions": {"ready": true, "serving": true, "terminating": false},
                "nodeName": "n1", "zone": "zone-a", "targetRef": target(&a)})
    );
    assert_eq!(conditions(&slices), vec![ep("web-a", true, true, false), ep("web-b", false, false, false)]);
    assert_eq!(s["metadata"]["managedFields"][0]["manager"], "endpointslice-controller");

    // web-b turns Ready, web-a stops being Ready: they swap lists, in the same slice.
    set_ready(&c, &b, true).await;
    set_ready(&c, &a, false).await;
    endpoints_where(&c, "web", "web-b ready, web-a not", |e| {
        names(e, "addresses") == ["web-b"] && names(e, "notReadyAddresses") == ["web-a"]
    })
    .await;
    let after = slices_where(&c, "web", "the swap in the slice", |s| {
        conditions(s) == vec![ep("web-a", false, false, false), ep("web-b", true, true, false)]
    })
    .await;
    assert_eq!(after[0]["metadata"]["name"], s["metadata"]["name"], "updated in place");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_whose_labels_stop_matching_leaves() {
    let c = Cluster::start().await;
    node(&c, "n1", None).await;
    service(&c, "api", json!({"selector": {"app": "api"}, "ports": [{"port": 80}]})).await;
    let a = pod(&c, "api-a", json!({"app": "api", "v": "1"})).await;
    let b = pod(&c, "api-b", json!({"app": "api"})).await;
    let a = run(&c, &a, "10.244.1.1", true).await;
    run(&c, &b, "10.244.1.2", true).await;
    endpoints_where(&c, "api", "both pods", |e| names(e, "addresses") == ["api-a", "api-b"]).await;
    slices_where(&c, "api", "both pods in the slice", |s| conditions(s).len() == 2).await;

    c.merge("pods", &a, json!({"metadata": {"labels": {"app": "elsewhere"}}})).await;
    let e = endpoints_where(&c, "api", "api-a gone", |e| names(e, "addresses") == ["api-b"]).await;
    assert_eq!(e["subsets"][0]["ports"], json!([{"port": 80, "protocol": "TCP"}]), "unnamed port");
    let slices = slices_where(&c, "api", "api-a gone from the slice", |s| {
        conditions(s) == vec![ep("api-b", true, true, false)]
    })
    .await;
    assert_eq!(slices[0]["ports"], json!([{"name": "", "port": 80, "protocol": "TCP"}]));

    // And the last one leaving empties the Endpoints but keeps one placeholder slice.
    c.merge("pods", &b, json!({"metadata": {"labels": {"app": "gone"}}})).await;
    let e = endpoints_where(&c, "api", "no addresses", |e| e["subsets"].as_array().is_none_or(Vec::is_empty))
        .await;
    assert_eq!(e["metadata"]["labels"], json!({"team": "t"}));
    let slices =
        slices_where(&c, "api", "an empty placeholder", |s| s.len() == 1 && conditions(s).is_empty()).await;
    assert!(slices[0]["ports"].as_array().is_none_or(Vec::is_empty), "{}", slices[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_target_ports_resolve_per_pod() {
    let c = Cluster::start().await;
    node(&c, "n1", None).await;
    service(
        &c,
        "named",
        json!({"selector": {"app": "named"}, "ports": [
            {"name": "http", "port": 80, "targetPort": "web"},
            {"name": "metrics", "port": 9090, "targetPort": 9100}]}),
    )
    .await;
    let a = pod_on(&c, "p-a", json!({"app": "named"}), "n1", json!([{"name": "web", "containerPort": 8080}]))
        .await;
    let b = pod_on(&c, "p-b", json!({"app": "named"}), "n1", json!([{"name": "web", "containerPort": 8081}]))
        .await;
    // Same name, other protocol: it does not count.
    let udp = json!([{"name": "web", "containerPort": 8082, "protocol": "UDP"}]);
    let lacking = pod_on(&c, "p-c", json!({"app": "named"}), "n1", udp).await;
    run(&c, &a, "10.244.2.1", true).await;
    run(&c, &b, "10.244.2.2", true).await;
    run(&c, &lacking, "10.244.2.3", true).await;

    // (ready pods, ports) per subset, as a set.
    let shape = |e: &Value| {
        let mut subsets: Vec<(Vec<String>, Value)> = e["subsets"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                let one = json!({"subsets": [s]});
                (names(&one, "addresses"), s["ports"].clone())
            })
            .collect();
        subsets.sort_by(|x, y| x.0.cmp(&y.0));
        subsets
    };
    let p = |name: &str, port: i64| json!([{"name": name, "port": port, "protocol": "TCP"}]);
    let expected = vec![
        (vec!["p-a".to_string()], p("http", 8080)),
        (vec!["p-a".to_string(), "p-b".into(), "p-c".into()], p("metrics", 9100)),
        (vec!["p-b".to_string()], p("http", 8081)),
    ];
    endpoints_where(&c, "named", "ports resolved per pod", |e| shape(e) == expected).await;

    // Slices group pods by identical port sets: p-c is there, without http.
    let slices =
        slices_where(&c, "named", "three port sets", |s| s.len() == 3 && conditions(s).len() == 3).await;
    let mut by_pod: Vec<(String, Value)> = slices
        .iter()
        .map(|s| {
            (s["endpoints"][0]["targetRef"]["name"].as_str().unwrap_or("").to_string(), s["ports"].clone())
        })
        .collect();
    by_pod.sort_by(|x, y| x.0.cmp(&y.0));
    let both = |port: i64| json!([{"name": "http", "port": port, "protocol": "TCP"}, {"name": "metrics", "port": 9100, "protocol": "TCP"}]);
    assert_eq!(
        by_pod,
        vec![("p-a".into(), both(8080)), ("p-b".into(), both(8081)), ("p-c".into(), p("metrics", 9100))]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminating_pods_leave_endpoints_but_stay_in_slices() {
    let c = Cluster::start().await;
    node(&c, "n1", None).await;
    service(&c, "term", json!({"selector": {"app": "term"}, "ports": [{"port": 80}]})).await;
    let a = pod(&c, "t-a", json!({"app": "term"})).await;
    let b = pod(&c, "t-b", json!({"app": "term"})).await;
    run(&c, &a, "10.244.3.1", true).await;
    let b = run(&c, &b, "10.244.3.2", true).await;
    endpoints_where(&c, "term", "both ready", |e| names(e, "addresses") == ["t-a", "t-b"]).await;

    // A bound pod terminates gracefully: it keeps running (and Ready) for its grace period.
    c.delete("pods", &b, None).await;
    let b = c.get("pods", "default", "t-b").await.expect("still terminating");
    assert!(!b["metadata"]["deletionTimestamp"].is_null());
    let e = endpoints_where(&c, "term", "t-b out", |e| names(e, "addresses") == ["t-a"]).await;
    assert!(names(&e, "notReadyAddresses").is_empty(), "terminating is not 'not ready': {e}");
    slices_where(&c, "term", "t-b terminating but serving", |s| {
        conditions(s) == vec![ep("t-a", true, true, false), ep("t-b", false, true, true)]
    })
    .await;
    // No longer Ready while terminating: no longer serving either.
    set_ready(&c, &b, false).await;
    slices_where(&c, "term", "t-b terminating, not serving", |s| {
        conditions(s) == vec![ep("t-a", true, true, false), ep("t-b", false, false, true)]
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_not_ready_addresses_lists_every_pod_as_ready() {
    let c = Cluster::start().await;
    node(&c, "n1", None).await;
    service(
        &c,
        "peers",
        json!({"selector": {"app": "peers"}, "publishNotReadyAddresses": true, "ports": [{"port": 7000}]}),
    )
    .await;
    let a = pod(&c, "peer-a", json!({"app": "peers"})).await;
    let b = pod(&c, "peer-b", json!({"app": "peers"})).await;
    let t = pod(&c, "peer-c", json!({"app": "peers"})).await;
    run(&c, &a, "10.244.4.1", true).await;
    run(&c, &b, "10.244.4.2", false).await;
    run(&c, &t, "10.244.4.3", false).await;
    c.delete("pods", &t, None).await; // terminating

    let e = endpoints_where(&c, "peers", "every pod ready", |e| {
        names(e, "addresses") == ["peer-a", "peer-b", "peer-c"]
    })
    .await;
    assert!(names(&e, "notReadyAddresses").is_empty());
    slices_where(&c, "peers", "every endpoint ready, serving as the pod is", |s| {
        conditions(s)
            == vec![
                ep("peer-a", true, true, false),
                ep("peer-b", true, false, false),
                ep("peer-c", true, false, true),
            ]
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_endpoints_of_selectorless_services_are_left_alone() {
    let c = Cluster::start().await;
    node(&c, "n1", None).await;
    service(&c, "external", json!({"ports": [{"port": 5432}]})).await;
    let subsets =
        json!([{"addresses": [{"ip": "192.0.2.10"}], "ports": [{"port": 5432, "protocol": "TCP"}]}]);
    let mine = c
        .create(
            "endpoints",
            json!({"metadata": {"name": "external", "namespace": "default", "labels": {"mine": "yes"}},
                                    "subsets": subsets}),
        )
        .await;
    // A pod any selector might match, and a Service created after: once its endpoints are
    // there, both controllers have seen everything before it.
    let p = pod(&c, "db", json!({"app": "db"})).await;
    run(&c, &p, "10.244.5.1", true).await;
    service(&c, "barrier", json!({"selector": {"app": "db"}, "ports": [{"port": 1}]})).await;
    endpoints_where(&c, "barrier", "the barrier's endpoints", |e| names(e, "addresses") == ["db"]).await;
    slices_where(&c, "barrier", "the barrier's slice", |s| conditions(s).len() == 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let now = c.get("endpoints", "default", "external").await.expect("still there");
    assert_eq!(now["metadata"]["resourceVersion"], mine["metadata"]["resourceVersion"], "untouched: {now}");
    assert_eq!(now["subsets"], subsets);
    assert_eq!(now["metadata"]["labels"], json!({"mine": "yes"}));
    assert!(slices_of(&c, "external").await.is_empty(), "no slices for a Service without selector");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_service_removes_its_endpoints_and_slices() {
    let c = Cluster::start().await;
    node(&c, "n1", None).await;
    let svc = service(&c, "gone", json!({"selector": {"app": "gone"}, "ports": [{"port": 80}]})).await;
    let p = pod(&c, "gone-a", json!({"app": "gone"})).await;
    run(&c, &p, "10.244.6.1", true).await;
    endpoints_where(&c, "gone", "the endpoints", |e| names(e, "addresses") == ["gone-a"]).await;
    slices_where(&c, "gone", "the slice", |s| conditions(s).len() == 1).await;

    c.delete("services", &svc, None).await;
    c.eventually("the endpoints deleted", || async {
        c.get("endpoints", "default", "gone").await.is_none().then_some(())
    })
    .await;
    c.eventually("the slices collected", || async { slices_of(&c, "gone").await.is_empty().then_some(()) })
        .await;
    assert!(c.get("pods", "default", "gone-a").await.is_some(), "pods are not the Service's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_on_an_unknown_node_join_the_slices_when_it_appears() {
    let c = Cluster::start().await;
    service(&c, "late", json!({"selector": {"app": "late"}, "ports": [{"port": 80}]})).await;
    let p = pod_on(&c, "late-a", json!({"app": "late"}), "n9", json!([])).await;
    run(&c, &p, "10.244.7.1", true).await;
    // Endpoints do not look at nodes; slices leave the pod out until its node exists.
    endpoints_where(&c, "late", "the endpoints", |e| names(e, "addresses") == ["late-a"]).await;
    let slices = slices_where(&c, "late", "a placeholder slice", |s| s.len() == 1).await;
    assert!(conditions(&slices).is_empty(), "{slices:?}");
    node(&c, "n9", Some("zone-z")).await;
    let slices = slices_where(&c, "late", "the pod in the slice", |s| conditions(s).len() == 1).await;
    assert_eq!(slices[0]["endpoints"][0]["zone"], "zone-z");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_a_hundred_endpoints_take_more_slices() {
    let c = Cluster::start().await;
    node(&c, "n1", None).await;
    service(&c, "big", json!({"selector": {"app": "big"}, "ports": [{"port": 80}]})).await;
    for i in 0..120 {
        let p = pod(&c, &format!("big-{i:03}"), json!({"app": "big"})).await;
        run(&c, &p, &format!("10.244.8.{}", i + 1), true).await;
    }
    let e = endpoints_where(&c, "big", "120 addresses", |e| names(e, "addresses").len() == 120).await;
    assert_eq!(e["subsets"].as_array().map(Vec::len), Some(1));
    let slices = slices_where(&c, "big", "120 endpoints", |s| conditions(s).len() == 120).await;
    // How they spread depends on how the pods arrived (slices are filled, never rebalanced),
    // but none holds more than 100.
    let sizes: Vec<usize> = slices.iter().map(|s| s["endpoints"].as_array().map_or(0, Vec::len)).collect();
    assert!(sizes.len() >= 2 && sizes.iter().all(|n| *n <= 100), "{sizes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settled_endpoints_make_no_writes() {
    let c = Cluster::start().await;
    node(&c, "n1", Some("zone-a")).await;
    service(
        &c,
        "mixed",
        json!({"selector": {"app": "mixed"}, "ports": [
            {"name": "http", "port": 80, "targetPort": "web"}, {"name": "dns", "port": 53, "protocol": "UDP"}]}),
    )
    .await;
    // A headless Service: pods naming it as their subdomain publish their hostname.
    service(&c, "db", json!({"selector": {"app": "mixed"}, "clusterIP": "None"})).await;
    let ports = json!([{"name": "web", "containerPort": 8080}]);
    for (i, ready) in [true, false, true].into_iter().enumerate() {
        let p = c
            .create(
                "pods",
                json!({"metadata": {"name": format!("m-{i}"), "namespace": "default", "labels": {"app": "mixed"}},
                       "spec": {"nodeName": "n1", "hostname": format!("m-{i}"), "subdomain": "db",
                                "containers": [{"name": "main", "image": "app.wasm", "ports": ports}]}}),
            )
            .await;
        run(&c, &p, &format!("10.244.9.{}", i + 1), ready).await;
    }
    let m2 = c.get("pods", "default", "m-2").await.unwrap();
    c.delete("pods", &m2, None).await; // terminating

    endpoints_where(&c, "mixed", "mixed endpoints", |e| {
        names(e, "addresses") == ["m-0"] && names(e, "notReadyAddresses") == ["m-1"]
    })
    .await;
    let db = endpoints_where(&c, "db", "headless endpoints", |e| names(e, "addresses") == ["m-0"]).await;
    assert_eq!(db["metadata"]["labels"], json!({"team": "t", "service.kubernetes.io/headless": ""}));
    assert_eq!(db["subsets"][0]["addresses"][0]["hostname"], "m-0");
    assert!(db["subsets"][0]["ports"].is_null(), "a headless Service without ports: {db}");
    slices_where(&c, "mixed", "mixed slices", |s| conditions(s).len() == 3).await;
    let db = slices_where(&c, "db", "headless slices", |s| conditions(s).len() == 3).await;
    assert_eq!(db[0]["metadata"]["labels"]["service.kubernetes.io/headless"], "");

    // Events are written asynchronously; let them and any last syncs land.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = c.api.store_rev();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(c.api.store_rev(), before, "something kept writing");
}
