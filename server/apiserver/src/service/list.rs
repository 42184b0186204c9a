//! List with selectors, consistent pagination (`limit` + `continue`) and `resourceVersion`.

use super::{Api, parse_rv, store_error};
use base64::Engine;
use serde_json::{Value, json};
use wasmkube_api::ResourceDef;
use wasmkube_api::selector::{FieldSelector, LabelSelector};
use wasmkube_api::status::ApiError;
use wasmkube_store::Prefix;

#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    pub label_selector: LabelSelector,
    pub field_selector: FieldSelector,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
    pub resource_version: Option<String>,
    pub resource_version_match: Option<String>,
}

impl ListOptions {
    pub fn matches(&self, obj: &Value) -> bool {
        self.label_selector.matches_object(obj) && self.field_selector.matches(obj)
    }

    /// Whether every object matches (no selector at all).
    pub fn matches_everything(&self) -> bool {
        self.label_selector.is_empty() && self.field_selector.is_empty()
    }
}

#[derive(Debug)]
pub struct ObjectList {
    pub items: Vec<Value>,
    pub resource_version: u64,
    pub continue_token: Option<String>,
    pub remaining: Option<usize>,
}

/// The continue token: the snapshot revision and the last key returned, opaque to clients.
fn encode_continue(rev: u64, last_ns: &str, last_name: &str) -> String {
    let raw = json!({"v": "meta.k8s.io/v1", "rv": rev, "start": format!("{last_ns}\u{0}{last_name}")});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw.to_string())
}

fn decode_continue(token: &str) -> Result<(u64, String), ApiError> {
    let bad = || ApiError::bad_request(format!("continue key is not valid: {token:?}"));
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let rev = v.get("rv").and_then(Value::as_u64).ok_or_else(bad)?;
    let start = v.get("start").and_then(Value::as_str).ok_or_else(bad)?;
    Ok((rev, start.to_string()))
}

const CONTINUE_EXPIRED: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

impl Api {
    /// List `def` in `ns` (all namespaces when `None`).
    pub async fn list(
        &self,
        def: &'static ResourceDef,
        ns: Option<&str>,
        opts: &ListOptions,
    ) -> Result<ObjectList, ApiError> {
        let (at, start_after) = match &opts.continue_token {
            Some(t) if !t.is_empty() => {
                let (rev, start) = decode_continue(t)?;
                (Some(rev), Some(start))
            }
            _ => (self.snapshot_rev(opts)?, None),
        };
        let prefix = Prefix::resource(def.storage, if def.namespaced { ns } else { None });
        let snapshot = self.store.list(&prefix, at).await.map_err(|e| match e {
            wasmkube_store::Error::Compacted { .. } if start_after.is_some() => {
                ApiError::expired(CONTINUE_EXPIRED)
            }
            other => store_error(other),
        })?;
        let mut items = Vec::new();
        let mut remaining = 0;
        let mut last = None;
        for kv in &snapshot.items {
            let position = format!("{}\u{0}{}", kv.key.namespace, kv.key.name);
            if start_after.as_ref().is_some_and(|s| position <= *s) {
                continue;
            }
            let obj = Self::decode_stored(def, kv)?;
            if !opts.matches(&obj) {
                continue;
            }
            if opts.limit.is_some_and(|l| l > 0 && items.len() >= l) {
                remaining += 1;
                continue;
            }
            last = Some((kv.key.namespace.clone(), kv.key.name.clone()));
            items.push(obj);
        }
        let continue_token = match (remaining, last) {
            (1.., Some((ns, name))) => Some(encode_continue(snapshot.rev, &ns, &name)),
            _ => None,
        };
        Ok(ObjectList {
            items,
            resource_version: snapshot.rev,
            continue_token,
            remaining: (remaining > 0).then_some(remaining),
        })
    }

    /// `resourceVersion` semantics for lists: unset / "0" / NotOlderThan -> the latest state;
    /// `resourceVersionMatch=Exact` -> that revision.
    fn snapshot_rev(&self, opts: &ListOptions) -> Result<Option<u64>, ApiError> {
        let rv = opts.resource_version.as_deref().filter(|s| !s.is_empty());
        match (rv, opts.resource_version_match.as_deref()) {
            (Some(rv), Some("Exact")) => Ok(Some(parse_rv(rv)?)),
            (None, Some(m)) if !m.is_empty() => Err(ApiError::bad_request(
                "resourceVersionMatch is forbidden unless resourceVersion is provided",
            )),
            (Some(rv), _) => {
                let wanted = parse_rv(rv)?;
                if wanted > self.store.current_rev() {
                    return Err(ApiError::timeout(format!(
                        "Too large resource version: {wanted}, current: {}",
                        self.store.current_rev()
                    )));
                }
                Ok(None)
            }
            (None, _) => Ok(None),
        }
    }
}
