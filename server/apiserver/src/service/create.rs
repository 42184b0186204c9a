//! Create: namespace checks, names, uid/timestamps/generation, defaults, admission (LimitRange,
//! ResourceQuota), validation, store.

use super::{Api, WriteOptions, Written, store_error};
use serde_json::{Value, json};
use wasmkube_api::decode::decode_object;
use wasmkube_api::registry::find;
use wasmkube_api::status::ApiError;
use wasmkube_api::{ResourceDef, Subresource, meta};
use wasmkube_store::Op;

/// Kinds whose `metadata.generation` tracks changes to their desired state.
const GENERATION_KINDS: &[&str] = &[
    "pods",
    "replicationcontrollers",
    "apps/deployments",
    "apps/replicasets",
    "apps/statefulsets",
    "apps/daemonsets",
    "batch/jobs",
    "batch/cronjobs",
    "autoscaling/horizontalpodautoscalers",
    "networking.k8s.io/ingresses",
    "networking.k8s.io/networkpolicies",
];

pub(crate) fn tracks_generation(def: &ResourceDef) -> bool {
    GENERATION_KINDS.contains(&def.storage)
}

/// Namespaces that always exist and may not be deleted.
pub const SYSTEM_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

impl Api {
    /// Create `obj` (a decoded body) in namespace `ns`.
    pub async fn create(
        &self,
        def: &'static ResourceDef,
        ns: &str,
        obj: Value,
        opts: &WriteOptions,
    ) -> Result<Written, ApiError> {
        let decoded = decode_object(def, obj, opts.field_validation)?;
        let mut obj = decoded.object;
        self.place_in_namespace(def, ns, &mut obj).await?;
        assign_name(def, &mut obj)?;
        initialise_metadata(def, &mut obj);
        reset_status_on_create(def, &mut obj);
        wasmkube_validation::default(def.group, def.kind, &mut obj);
        // Held until the write is done; dropped on any error, it frees what it took.
        let addresses = if def.storage == "services" {
            // An existing name is AlreadyExists, not "its cluster IP is taken" (by itself).
            let key = Self::key(def, meta::namespace(&obj), meta::name(&obj));
            if self.store.get(&key).await.map_err(store_error)?.is_some() {
                return Err(ApiError::already_exists(def.group, def.plural, meta::name(&obj)));
            }
            Some(self.claim_service_addresses(None, &mut obj).await?)
        } else {
            None
        };
        let limits = self.limit_defaults(def, ns, &mut obj).await?;
        self.validate(def, &obj, None)?;
        self.limit_bounds(def, &obj, &limits)?;
        let charged = self.charge_quota(def, meta::namespace(&obj), &obj, opts.dry_run).await?;
        self.record_managed_fields(
            def,
            None,
            &mut obj,
            opts,
            super::update::Operation::Update,
            super::update::Part::Main,
        );
        meta::drop_empty_metadata(&mut obj);
        if opts.dry_run {
            return Ok(Written { object: obj, warnings: decoded.warnings });
        }
        let key = Self::key(def, meta::namespace(&obj), meta::name(&obj));
        let value = Self::encode_for_storage(def, &obj);
        let out = match self.store.write(Op::Create { key, value }).await {
            Ok(out) => out,
            Err(e) => {
                // Not created after all: give back what quota admission charged for it.
                self.refund_quota(def, meta::namespace(&obj), &obj, &charged).await;
                return Err(match e {
                    wasmkube_store::Error::AlreadyExists => {
                        ApiError::already_exists(def.group, def.plural, meta::name(&obj))
                    }
                    other => store_error(other),
                });
            }
        };
        if let Some(claim) = addresses {
            claim.commit();
        }
        Ok(Written { object: Self::with_rev(obj, out.rev), warnings: decoded.warnings })
    }

    /// Namespaced objects land in the URL's namespace, which must exist and not be terminating.
    async fn place_in_namespace(&self, def: &ResourceDef, ns: &str, obj: &mut Value) -> Result<(), ApiError> {
        let m = meta::metadata_mut(obj);
        if !def.namespaced {
            m.remove("namespace");
            return Ok(());
        }
        match m.get("namespace").and_then(Value::as_str) {
            Some(body_ns) if !body_ns.is_empty() && body_ns != ns => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => {
                m.insert("namespace".into(), json!(ns));
            }
        }
        let namespaces = find("", "v1", "namespaces").expect("namespaces are served");
        let namespace = self.get(namespaces, "", ns).await?;
        if meta::is_deleting(&namespace) {
            return Err(ApiError::forbidden(format!(
                "{} \"{}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                def.plural,
                meta::name(obj)
            ))
            .with_details(json!({"name": meta::name(obj), "kind": def.plural, "causes": [{"reason": "NamespaceTerminating", "message": format!("namespace {ns} is being terminated"), "field": "metadata.namespace"}]})));
        }
        Ok(())
    }

    /// Defaulted objects must pass upstream's validation; the result is a 422 with every cause.
    pub(crate) fn validate(
        &self,
        def: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
    ) -> Result<(), ApiError> {
        let errors = wasmkube_validation::validate(def.group, def.kind, obj, old);
        if errors.is_empty() {
            return Ok(());
        }
        let causes = errors.iter().map(|e| (e.reason().to_string(), e.field.clone(), e.body())).collect();
        Err(ApiError::invalid(def.group, def.kind, meta::name(obj), causes))
    }
}

fn assign_name(def: &ResourceDef, obj: &mut Value) -> Result<(), ApiError> {
    let m = meta::metadata_mut(obj);
    let has_name = m.get("name").and_then(Value::as_str).is_some_and(|n| !n.is_empty());
    if has_name {
        return Ok(());
    }
    match m.get("generateName").and_then(Value::as_str) {
        Some(base) if !base.is_empty() => {
            let name = format!("{base}{}", meta::random_suffix());
            m.insert("name".into(), json!(name));
            Ok(())
        }
        _ => Err(ApiError::invalid(
            def.group,
            def.kind,
            "",
            vec![(
                "FieldValueRequired".into(),
                "metadata.name".into(),
                "Required value: name or generateName is required".into(),
            )],
        )),
    }
}

fn initialise_metadata(def: &ResourceDef, obj: &mut Value) {
    let m = meta::metadata_mut(obj);
    m.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
    m.insert("creationTimestamp".into(), json!(meta::now_rfc3339()));
    for k in ["resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"] {
        m.remove(k);
    }
    if tracks_generation(def) {
        m.insert("generation".into(), json!(1));
    } else {
        m.remove("generation");
    }
}

/// Upstream strategies drop a client-supplied status on create for kinds whose status is owned
/// by a controller, and set the initial phase where there is one.
fn reset_status_on_create(def: &ResourceDef, obj: &mut Value) {
    let map = obj.as_object_mut().expect("objects are maps");
    match def.storage {
        "namespaces" => {
            map.insert("status".into(), json!({"phase": "Active"}));
            // Upstream's PrepareForCreate: the namespace controller's finalizer.
            let spec = map.entry("spec").or_insert_with(|| json!({}));
            let finalizers = spec.as_object_mut().map(|s| s.entry("finalizers").or_insert_with(|| json!([])));
            if let Some(Value::Array(list)) = finalizers
                && !list.iter().any(|f| f == "kubernetes")
            {
                list.push(json!("kubernetes"));
            }
        }
        "pods" => {
            map.insert("status".into(), json!({"phase": "Pending"}));
        }
        "services" => {
            map.insert("status".into(), json!({"loadBalancer": {}}));
        }
        "nodes" | "persistentvolumes" | "persistentvolumeclaims" => {}
        _ if def.has(Subresource::Status) => {
            map.remove("status");
        }
        _ => {}
    }
}
