use super::*;
use crate::schema::root_type;
use serde_json::json;

fn f(name: &str) -> PathElement {
    PathElement::Field(name.into())
}

fn deploy() -> crate::schema::TypeRef {
    root_type("apps", "v1", "Deployment").unwrap()
}

#[test]
fn fields_v1_round_trip_keeps_members_and_dots() {
    let wire = json!({
        "f:metadata": {"f:labels": {"f:app": {}}},
        "f:spec": {"f:containers": {"k:{\"name\":\"a\"}": {".": {}, "f:image": {}}}}
    });
    let set = FieldSet::from_fields_v1(&wire).unwrap();
    assert!(set.contains(&[f("metadata"), f("labels"), f("app")]));
    let item = PathElement::Key(r#"{"name":"a"}"#.into());
    assert!(set.contains(&[f("spec"), f("containers"), item.clone()]));
    assert!(set.contains(&[f("spec"), f("containers"), item, f("image")]));
    assert!(!set.contains(&[f("spec")]));
    assert_eq!(set.to_fields_v1(), wire);
}

#[test]
fn decoding_canonicalizes_keys_and_rejects_garbage() {
    let set =
        FieldSet::from_fields_v1(&json!({"k:{\"protocol\":\"TCP\",\"containerPort\":80}": {}})).unwrap();
    assert_eq!(set.to_fields_v1(), json!({"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {}}));
    for bad in [json!([]), json!({"x:y": {}}), json!({"f:a": 1}), json!({"k:[1]": {}})] {
        assert!(FieldSet::from_fields_v1(&bad).is_err(), "{bad}");
    }
}

#[test]
fn paths_print_like_upstream() {
    let key = PathElement::Key(r#"{"containerPort":80,"protocol":"TCP"}"#.into());
    let path = [f("spec"), f("ports"), key, f("name")];
    assert_eq!(format_path(&path), r#".spec.ports[containerPort=80,protocol="TCP"].name"#);
    let value = PathElement::value(&json!("example.com/x"));
    assert_eq!(
        format_path(&[f("metadata"), f("finalizers"), value]),
        r#".metadata.finalizers[="example.com/x"]"#
    );
}

#[test]
fn set_algebra() {
    let mut a = FieldSet::new();
    a.insert(&[f("spec"), f("replicas")]);
    a.insert(&[f("spec"), f("paused")]);
    let mut b = FieldSet::new();
    b.insert(&[f("spec"), f("replicas")]);
    b.insert(&[f("metadata"), f("name")]);
    assert_eq!(a.intersection(&b).paths(), vec![vec![f("spec"), f("replicas")]]);
    assert_eq!(a.difference(&b).paths(), vec![vec![f("spec"), f("paused")]]);
    assert_eq!(a.union(&b).paths().len(), 3);
    let mut c = a.union(&b);
    c.remove_subtree(&[f("spec")]);
    assert_eq!(c.paths(), vec![vec![f("metadata"), f("name")]]);
    assert!(a.difference(&a).is_empty());
}

#[test]
fn apply_style_field_set_of_a_deployment() {
    let obj = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "ssa", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80}], "resources": {}}]}
            }
        }
    });
    let set = field_set(&obj, deploy()).unwrap();
    let expected = json!({
        "f:apiVersion": {},
        "f:kind": {},
        "f:metadata": {"f:labels": {"f:app": {}}, "f:name": {}},
        "f:spec": {
            "f:replicas": {},
            "f:selector": {},
            "f:template": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {
                    ".": {},
                    "f:image": {},
                    "f:name": {},
                    "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}},
                    "f:resources": {}
                }}}
            }
        }
    });
    assert_eq!(set.to_fields_v1(), expected);
}

#[test]
fn sets_and_unknown_maps() {
    let obj = json!({"metadata": {"finalizers": ["a", "b"]}, "spec": {"bogus": {"x": 1}}});
    let set = field_set(&obj, deploy()).unwrap();
    assert_eq!(
        set.to_fields_v1(),
        json!({
            "f:metadata": {"f:finalizers": {"v:\"a\"": {}, "v:\"b\"": {}}},
            "f:spec": {"f:bogus": {".": {}, "f:x": {}}}
        })
    );
}

#[test]
fn list_map_items_need_their_keys() {
    let obj = json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}});
    let err = field_set(&obj, deploy()).unwrap_err();
    assert!(matches!(err, FieldSetError::MissingKey { .. }), "{err}");
}

#[test]
fn compare_reports_modified_added_removed() {
    let old = json!({"spec": {"replicas": 1, "paused": true, "template": {"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b"}]}}}});
    let new = json!({"spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "a", "image": "y"}, {"name": "c", "image": "z"}]}}}});
    let cmp = compare(&old, &new, deploy()).unwrap();
    let containers = [f("spec"), f("template"), f("spec"), f("containers")];
    let item = |name: &str| PathElement::key([("name".to_owned(), json!(name))].into_iter().collect());
    let at = |rest: &[PathElement]| [&containers[..], rest].concat();
    assert!(cmp.modified.contains(&[f("spec"), f("replicas")]));
    assert!(cmp.modified.contains(&at(&[item("a"), f("image")])));
    assert!(cmp.removed.contains(&[f("spec"), f("paused")]));
    assert!(cmp.removed.contains(&at(&[item("b")])));
    assert!(cmp.added.contains(&at(&[item("c")])));
    assert!(cmp.added.contains(&at(&[item("c"), f("image")])));
    assert!(!cmp.modified.contains(&at(&[item("a"), f("name")])));
}

#[test]
fn compare_treats_atomic_values_whole_and_numbers_loosely() {
    let old = json!({"spec": {"selector": {"matchLabels": {"a": "1"}}, "replicas": 1}});
    let new = json!({"spec": {"selector": {"matchLabels": {"a": "2"}}, "replicas": 1.0}});
    let cmp = compare(&old, &new, deploy()).unwrap();
    assert_eq!(cmp.modified.paths(), vec![vec![f("spec"), f("selector")]]);
    assert!(cmp.added.is_empty() && cmp.removed.is_empty());
}
