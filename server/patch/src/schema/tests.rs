use super::*;

fn pod_spec() -> TypeRef {
    root_type("apps", "v1", "Deployment").unwrap().child("spec").child("template").child("spec")
}

fn map_keys(ty: TypeRef) -> Vec<(&'static str, Option<&'static str>)> {
    match ty.list_type() {
        ListType::Map(keys) => keys.iter().map(|k| (k.name, k.default)).collect(),
        other => panic!("not a list-map: {other:?}"),
    }
}

#[test]
fn every_requested_kind_has_a_root() {
    let kinds = [
        ("", "v1", "Pod"),
        ("", "v1", "PodTemplate"),
        ("", "v1", "ReplicationController"),
        ("", "v1", "Service"),
        ("", "v1", "Endpoints"),
        ("", "v1", "Node"),
        ("", "v1", "Namespace"),
        ("", "v1", "ConfigMap"),
        ("", "v1", "Secret"),
        ("", "v1", "ServiceAccount"),
        ("", "v1", "Event"),
        ("events.k8s.io", "v1", "Event"),
        ("", "v1", "PersistentVolume"),
        ("", "v1", "PersistentVolumeClaim"),
        ("", "v1", "ResourceQuota"),
        ("", "v1", "LimitRange"),
        ("apps", "v1", "Deployment"),
        ("apps", "v1", "ReplicaSet"),
        ("apps", "v1", "StatefulSet"),
        ("apps", "v1", "DaemonSet"),
        ("apps", "v1", "ControllerRevision"),
        ("batch", "v1", "Job"),
        ("batch", "v1", "CronJob"),
        ("networking.k8s.io", "v1", "Ingress"),
        ("networking.k8s.io", "v1", "IngressClass"),
        ("networking.k8s.io", "v1", "NetworkPolicy"),
        ("discovery.k8s.io", "v1", "EndpointSlice"),
        ("autoscaling", "v1", "HorizontalPodAutoscaler"),
        ("autoscaling", "v2", "HorizontalPodAutoscaler"),
        ("autoscaling", "v1", "Scale"),
        ("coordination.k8s.io", "v1", "Lease"),
        ("node.k8s.io", "v1", "RuntimeClass"),
        ("policy", "v1", "PodDisruptionBudget"),
    ];
    for (g, v, k) in kinds {
        let ty = root_type(g, v, k).unwrap_or_else(|| panic!("{g}/{v} {k}"));
        assert!(ty.declares("metadata"), "{k} has metadata");
    }
    assert_eq!(root_type("apps", "v1", "Nope"), None);
    assert_eq!(root_type_for("apps/v1", "Deployment"), root_type("apps", "v1", "Deployment"));
    assert_eq!(root_type_for("v1", "Pod"), root_type("", "v1", "Pod"));
}

#[test]
fn containers_env_ports_merge_with_upstream_keys() {
    let containers = pod_spec().child("containers");
    assert_eq!(containers.list_strategy(), ListStrategy::Merge { key: Some("name") });
    assert_eq!(map_keys(containers), [("name", None)]);
    let container = containers.item();
    assert_eq!(container.def().unwrap().name, "io.k8s.api.core.v1.Container");
    let ports = container.child("ports");
    assert_eq!(ports.list_strategy(), ListStrategy::Merge { key: Some("containerPort") });
    assert_eq!(map_keys(ports), [("containerPort", None), ("protocol", Some("TCP"))]);
    assert_eq!(container.child("env").list_strategy(), ListStrategy::Merge { key: Some("name") });
    assert_eq!(container.child("args").list_strategy(), ListStrategy::Replace);
    assert_eq!(container.child("args").list_type(), ListType::Atomic);
    assert_eq!(container.child("envFrom").list_strategy(), ListStrategy::Replace);
}

#[test]
fn service_ports_and_spread_constraints_have_compound_keys() {
    let svc = root_type("", "v1", "Service").unwrap().child("spec");
    assert_eq!(map_keys(svc.child("ports")), [("port", None), ("protocol", Some("TCP"))]);
    assert_eq!(
        map_keys(pod_spec().child("topologySpreadConstraints")),
        [("topologyKey", None), ("whenUnsatisfiable", None)]
    );
}

#[test]
fn finalizers_are_a_primitive_merge_list_and_a_set() {
    let meta = root_type("", "v1", "ConfigMap").unwrap().child("metadata");
    let fin = meta.child("finalizers");
    assert_eq!(fin.list_strategy(), ListStrategy::Merge { key: None });
    assert_eq!(fin.list_type(), ListType::Set);
    assert_eq!(meta.child("ownerReferences").list_strategy(), ListStrategy::Merge { key: Some("uid") });
    assert!(matches!(meta.child("labels"), TypeRef::Map { atomic: false, .. }));
}

#[test]
fn retain_keys_fields_are_marked() {
    let spec = root_type("apps", "v1", "Deployment").unwrap().child("spec");
    assert!(spec.field("strategy").unwrap().retain_keys);
    assert!(!spec.field("replicas").unwrap().retain_keys);
    let volumes = pod_spec().field("volumes").unwrap();
    assert!(volumes.retain_keys);
    assert_eq!(volumes.ty.list_strategy(), ListStrategy::Merge { key: Some("name") });
    // Volume sources are inlined into Volume, as on the wire.
    assert!(volumes.ty.item().declares("hostPath"));
}

#[test]
fn atomic_structs_and_maps() {
    let spec = root_type("apps", "v1", "Deployment").unwrap().child("spec");
    assert!(spec.child("selector").is_atomic_object());
    assert!(!spec.child("template").is_atomic_object());
    assert!(pod_spec().child("nodeSelector").is_atomic_object());
    assert!(!TypeRef::Untyped.is_atomic_object());
}

#[test]
fn unknown_positions_are_untyped() {
    let deploy = root_type("apps", "v1", "Deployment").unwrap();
    assert_eq!(deploy.child("bogus"), TypeRef::Untyped);
    assert_eq!(deploy.child("bogus").child("x"), TypeRef::Untyped);
    assert_eq!(TypeRef::Untyped.list_strategy(), ListStrategy::Replace);
    assert_eq!(TypeRef::Untyped.item(), TypeRef::Untyped);
    let rev = root_type("apps", "v1", "ControllerRevision").unwrap();
    assert_eq!(rev.child("data"), TypeRef::Untyped);
}

#[test]
fn lookup_by_definition_name() {
    let c = type_by_name("io.k8s.api.core.v1.Container").unwrap();
    assert!(c.declares("image"));
    assert_eq!(type_by_name("io.k8s.api.core.v1.Nope"), None);
    let hpa2 = root_type("autoscaling", "v2", "HorizontalPodAutoscaler").unwrap();
    assert!(hpa2.child("spec").declares("metrics"));
    let pod_status = root_type("", "v1", "Pod").unwrap().child("status");
    assert_eq!(pod_status.child("conditions").list_strategy(), ListStrategy::Merge { key: Some("type") });
}
