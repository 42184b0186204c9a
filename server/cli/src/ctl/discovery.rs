//! Which resource a word names (`deploy`, `pods`, `deployment.apps`, `Job`), answered from the
//! server's discovery: aggregated (`apidiscovery.k8s.io/v2`) when it speaks it, else the legacy
//! `APIResourceList` per group version, as kubectl falls back.

use super::client::{Client, JSON};
use anyhow::bail;
use hyper::Method;
use serde_json::Value;

const AGGREGATED: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";

/// One resource as discovery describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResource {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// `scale`, `status`, `log`, ...
    pub subresources: Vec<String>,
}

impl ApiResource {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }

    /// The collection URL; `ns` is ignored for cluster-scoped resources, `None` means all namespaces.
    pub fn collection(&self, ns: Option<&str>) -> String {
        let root = if self.group.is_empty() { "/api".to_string() } else { format!("/apis/{}", self.group) };
        match ns.filter(|_| self.namespaced) {
            Some(ns) => format!("{root}/{}/namespaces/{ns}/{}", self.version, self.plural),
            None => format!("{root}/{}/{}", self.version, self.plural),
        }
    }

    pub fn object(&self, ns: &str, name: &str) -> String {
        format!("{}/{name}", self.collection(Some(ns)))
    }

    /// How kubectl names the type in `TYPE/NAME` output: `deployment.apps`, `pod`.
    pub fn kind_ref(&self) -> String {
        let kind = self.kind.to_lowercase();
        if self.group.is_empty() { kind } else { format!("{kind}.{}", self.group) }
    }

    /// How kubectl names the type in `TYPE "NAME" deleted`: `deployments.apps`, `pods`.
    pub fn plural_ref(&self) -> String {
        if self.group.is_empty() { self.plural.clone() } else { format!("{}.{}", self.plural, self.group) }
    }

    fn answers_to(&self, word: &str) -> bool {
        self.plural == word
            || self.singular == word
            || self.kind.eq_ignore_ascii_case(word)
            || self.short_names.iter().any(|s| s == word)
    }
}

/// Every resource the server serves, preferred versions first (core before named groups).
pub struct Discovery {
    resources: Vec<ApiResource>,
}

impl Discovery {
    pub async fn load(client: &Client) -> anyhow::Result<Self> {
        let mut resources = Vec::new();
        for root in ["/api", "/apis"] {
            let (_, doc) = client.call(Method::GET, root, AGGREGATED, None).await?;
            if doc["kind"] == "APIGroupDiscoveryList" {
                resources.extend(from_aggregated(&doc));
            } else {
                resources.extend(legacy(client, root, &doc).await?);
            }
        }
        Ok(Discovery { resources })
    }

    /// `word` may be `plural`, `singular`, a short name, a Kind, or any of them qualified by
    /// group (`deployments.apps`) or version and group (`deployments.v1.apps`).
    pub fn resolve(&self, word: &str) -> anyhow::Result<&ApiResource> {
        let lower = word.to_lowercase();
        let (name, qualifier) = lower.split_once('.').unwrap_or((&lower, ""));
        let found = self.resources.iter().find(|r| {
            r.answers_to(name)
                && (qualifier.is_empty()
                    || r.group == qualifier
                    || format!("{}.{}", r.version, r.group) == qualifier)
        });
        match found {
            Some(r) => Ok(r),
            None => bail!("the server doesn't have a resource type \"{word}\""),
        }
    }

    /// The resource of an object's `apiVersion` and `kind`.
    pub fn by_kind(&self, api_version: &str, kind: &str) -> anyhow::Result<&ApiResource> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        self.resources
            .iter()
            .find(|r| r.group == group && r.version == version && r.kind == kind)
            .ok_or_else(|| {
                anyhow::anyhow!("resource mapping not found for kind \"{kind}\" in version \"{api_version}\": no matches (is the kind spelled right?)")
            })
    }

    /// The resources of a category, e.g. `all`.
    pub fn category(&self, name: &str) -> Vec<&ApiResource> {
        self.resources.iter().filter(|r| r.categories.iter().any(|c| c == name)).collect()
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect()).unwrap_or_default()
}

fn from_aggregated(doc: &Value) -> Vec<ApiResource> {
    let mut out = Vec::new();
    for group in doc["items"].as_array().into_iter().flatten() {
        let name = group["metadata"]["name"].as_str().unwrap_or_default();
        // The first version listed is the group's preferred one; resolving stops at the first match.
        for version in group["versions"].as_array().into_iter().flatten() {
            for r in version["resources"].as_array().into_iter().flatten() {
                out.push(ApiResource {
                    group: name.to_string(),
                    version: version["version"].as_str().unwrap_or_default().to_string(),
                    plural: r["resource"].as_str().unwrap_or_default().to_string(),
                    singular: r["singularResource"].as_str().unwrap_or_default().to_string(),
                    kind: r["responseKind"]["kind"].as_str().unwrap_or_default().to_string(),
                    namespaced: r["scope"] == "Namespaced",
                    short_names: strings(&r["shortNames"]),
                    categories: strings(&r["categories"]),
                    subresources: r["subresources"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|s| s["subresource"].as_str().map(String::from))
                        .collect(),
                });
            }
        }
    }
    out
}

/// Legacy discovery: `/api` lists versions, `/apis` lists groups; each version has a resource list.
async fn legacy(client: &Client, root: &str, doc: &Value) -> anyhow::Result<Vec<ApiResource>> {
    let mut group_versions = Vec::new();
    if root == "/api" {
        group_versions.extend(strings(&doc["versions"]).into_iter().map(|v| (String::new(), v)));
    } else {
        for g in doc["groups"].as_array().into_iter().flatten() {
            for v in g["versions"].as_array().into_iter().flatten() {
                let name = g["name"].as_str().unwrap_or_default().to_string();
                group_versions.push((name, v["version"].as_str().unwrap_or_default().to_string()));
            }
        }
    }
    let mut out = Vec::new();
    for (group, version) in group_versions {
        let path =
            if group.is_empty() { format!("/api/{version}") } else { format!("/apis/{group}/{version}") };
        let (_, list) = client.call(Method::GET, &path, JSON, None).await?;
        for r in list["resources"].as_array().into_iter().flatten() {
            let plural = r["name"].as_str().unwrap_or_default();
            if let Some((parent, sub)) = plural.split_once('/') {
                // Subresources are listed after their resource.
                if let Some(p) = out.iter_mut().rev().find(|p: &&mut ApiResource| p.plural == parent) {
                    p.subresources.push(sub.to_string());
                }
                continue;
            }
            out.push(ApiResource {
                group: group.clone(),
                version: version.clone(),
                plural: plural.to_string(),
                singular: r["singularName"].as_str().unwrap_or_default().to_string(),
                kind: r["kind"].as_str().unwrap_or_default().to_string(),
                namespaced: r["namespaced"].as_bool().unwrap_or(false),
                short_names: strings(&r["shortNames"]),
                categories: strings(&r["categories"]),
                subresources: Vec::new(),
            });
        }
    }
    Ok(out)
}
