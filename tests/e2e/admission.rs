//! ResourceQuota and LimitRange admission, driven by the real kubectl: defaults filled in,
//! bounds and quotas refused with upstream's words, usage kept in the quota's status and given
//! back when pods go.

use crate::support::*;

fn setup() -> Server {
    let s = Server::start();
    import(s.data(), &["http-hello"]);
    s.k(&["create", "namespace", "team"]);
    s
}

fn pod(name: &str, resources: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: team}}\nspec:\n  containers:\n  \
         - {{name: web, image: \"http-hello:latest\"{resources}}}\n"
    )
}

fn apply_err(s: &Server, manifest: &str) -> String {
    let out = s.kubectl_stdin(&["apply", "-f", "-"], Some(manifest));
    assert!(!out.status.success(), "apply unexpectedly succeeded: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_quota_refuses_what_does_not_fit_and_gives_back_what_deleted_pods_held() {
    let s = setup();
    s.apply(
        "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: compute, namespace: team}\nspec:\n  \
         hard: {pods: \"2\", requests.cpu: \"1\", count/configmaps: \"1\"}\n",
        &[],
    );
    let hard = || s.k(&["get", "quota", "compute", "-n", "team", "-o", "jsonpath={.status.hard.pods}"]);
    assert!(eventually(20, || hard() == "2"), "the controller never filled status.hard");
    // A quota on cpu makes every container state its cpu request.
    let err = apply_err(&s, &pod("bare", ""));
    assert!(
        err.contains("pods \"bare\" is forbidden: failed quota: compute: must specify requests.cpu for: web"),
        "{err}"
    );
    let small = ", resources: {requests: {cpu: 400m}}";
    let used = |what: &str| {
        s.k(&["get", "quota", "compute", "-n", "team", "-o", &format!("jsonpath={{.status.used.{what}}}")])
    };
    s.apply(&pod("a", small), &[]);
    // A create that fails after admission charged it gives the charge back.
    let out = s.kubectl_stdin(&["create", "-f", "-"], Some(&pod("a", small)));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AlreadyExists"));
    assert_eq!(used("pods"), "1", "the failed create holds nothing");
    s.apply(&pod("b", small), &[]);
    assert_eq!((used("pods"), used("requests\\.cpu")), ("2".to_string(), "800m".to_string()));
    let err = apply_err(&s, &pod("c", small));
    assert!(
        err.contains(
            "pods \"c\" is forbidden: exceeded quota: compute, requested: pods=1,requests.cpu=400m, \
             used: pods=2,requests.cpu=800m, limited: pods=2,requests.cpu=1"
        ),
        "{err}"
    );
    assert!(s.kubectl(&["get", "pod", "c", "-n", "team"]).status.code() != Some(0), "nothing was created");
    // Other kinds are counted too.
    s.k(&["create", "configmap", "one", "-n", "team"]);
    let err = s.k_err(&["create", "configmap", "two", "-n", "team"]);
    assert!(err.contains("exceeded quota: compute, requested: count/configmaps=1"), "{err}");
    // Deleting a pod gives its share back, and the next create fits.
    s.k(&["delete", "pod", "a", "-n", "team", "--wait=false"]);
    assert!(eventually(30, || used("pods") == "1"), "usage never went down: {}", used("pods"));
    s.apply(&pod("c", small), &[]);
    let described = s.k(&["describe", "quota", "compute", "-n", "team"]);
    assert!(described.contains("requests.cpu") && described.contains("800m"), "{described}");
}

#[test]
fn a_limit_range_fills_missing_requests_and_limits_and_refuses_what_breaks_its_bounds() {
    let s = setup();
    s.apply(
        "apiVersion: v1\nkind: LimitRange\nmetadata: {name: bounds, namespace: team}\nspec:\n  limits:\n  \
         - type: Container\n    default: {cpu: 500m, memory: 128Mi}\n    defaultRequest: {cpu: 100m}\n    \
         max: {cpu: \"1\"}\n    min: {cpu: 50m}\n",
        &[],
    );
    s.apply(&pod("plain", ""), &[]);
    let got = |path: &str| s.k(&["get", "pod", "plain", "-n", "team", "-o", &format!("jsonpath={path}")]);
    assert_eq!(got("{.spec.containers[0].resources.requests.cpu}"), "100m");
    assert_eq!(got("{.spec.containers[0].resources.limits.cpu}"), "500m");
    assert_eq!(got("{.spec.containers[0].resources.limits.memory}"), "128Mi");
    assert_eq!(
        got("{.spec.containers[0].resources.requests.memory}"),
        "128Mi",
        "defaultRequest falls back to default"
    );
    assert!(
        got("{.metadata.annotations}")
            .contains("LimitRanger plugin set: cpu, memory request for container web")
    );
    let err = apply_err(&s, &pod("big", ", resources: {limits: {cpu: \"2\"}}"));
    assert!(
        err.contains("pods \"big\" is forbidden: maximum cpu usage per Container is 1, but limit is 2"),
        "{err}"
    );
    let err = apply_err(&s, &pod("tiny", ", resources: {requests: {cpu: 10m}}"));
    assert!(err.contains("minimum cpu usage per Container is 50m, but request is 10m"), "{err}");
    // A dry run is judged the same way and changes nothing.
    let out = s.kubectl_stdin(
        &["apply", "--dry-run=server", "-f", "-"],
        Some(&pod("big", ", resources: {limits: {cpu: \"2\"}}")),
    );
    assert!(!out.status.success());
}
