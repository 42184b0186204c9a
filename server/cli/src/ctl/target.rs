//! The objects a command line names, as kubectl reads them: `TYPE[,TYPE...] [NAME...]` or
//! `TYPE/NAME...`, and manifests from `-f FILE|DIR|-` (multi-document YAML or JSON, `List`s
//! expanded).

use super::discovery::{ApiResource, Discovery};
use anyhow::{Context, bail};
use serde_json::Value;
use std::io::Read;
use std::path::Path;

/// A resource type and, optionally, one object of it.
#[derive(Debug, Clone)]
pub struct Target {
    pub resource: ApiResource,
    pub name: Option<String>,
}

/// Resolve `args`. `TYPE/NAME` forms may not be mixed with a separate type word.
pub fn parse(disco: &Discovery, args: &[String]) -> anyhow::Result<Vec<Target>> {
    let Some(first) = args.first() else {
        bail!("you must specify the type of resource, e.g. `pods` or `deploy/web`");
    };
    if first.contains('/') {
        return args
            .iter()
            .map(|a| {
                let Some((kind, name)) = a.split_once('/').filter(|(k, n)| !k.is_empty() && !n.is_empty()) else {
                    bail!("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'wasmkube get resource/<resource_name>' instead of 'wasmkube get resource resource/<resource_name>')");
                };
                Ok(Target { resource: disco.resolve(kind)?.clone(), name: Some(name.to_string()) })
            })
            .collect();
    }
    let mut types = Vec::new();
    for word in first.split(',').filter(|w| !w.is_empty()) {
        let category = disco.category(word);
        if !category.is_empty() && disco.resolve(word).is_err() {
            types.extend(category.into_iter().cloned());
        } else {
            types.push(disco.resolve(word)?.clone());
        }
    }
    let names = &args[1..];
    if let Some(bad) = names.iter().find(|n| n.contains('/')) {
        bail!("\"{bad}\": arguments in resource/name form must have a single resource and name");
    }
    if names.is_empty() {
        return Ok(types.into_iter().map(|resource| Target { resource, name: None }).collect());
    }
    Ok(types
        .iter()
        .flat_map(|r| names.iter().map(|n| Target { resource: r.clone(), name: Some(n.clone()) }))
        .collect())
}

/// Every object in the files named by `-f` (a `-` reads stdin; a directory reads its
/// `.yaml`, `.yml` and `.json` files in name order).
pub fn read_manifests(paths: &[String]) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    for p in paths {
        if p == "-" {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).context("reading stdin")?;
            out.extend(parse_documents(&text).context("stdin")?);
            continue;
        }
        let path = Path::new(p);
        let files = if path.is_dir() {
            let mut files: Vec<_> = std::fs::read_dir(path)
                .with_context(|| format!("reading directory {p}"))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|f| f.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json"))
                .collect();
            files.sort();
            files
        } else {
            vec![path.to_path_buf()]
        };
        for f in files {
            let text = std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
            out.extend(parse_documents(&text).with_context(|| f.display().to_string())?);
        }
    }
    if out.is_empty() {
        bail!("no objects passed to the command (the files hold no manifests)");
    }
    Ok(out)
}

/// YAML is a superset of JSON, so one parser reads both; empty documents are skipped.
fn parse_documents(text: &str) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let value: Value = serde::Deserialize::deserialize(doc).context("invalid YAML or JSON")?;
        match value {
            Value::Null => {}
            Value::Object(ref o)
                if o.get("kind").and_then(Value::as_str).is_some_and(|k| k.ends_with("List")) =>
            {
                out.extend(o.get("items").and_then(Value::as_array).cloned().unwrap_or_default());
            }
            Value::Object(_) => out.push(value),
            other => bail!("a manifest must be an object with apiVersion and kind, found {other}"),
        }
    }
    Ok(out)
}

/// `kind.group/name`, the way kubectl names an object in its output.
pub fn object_ref(resource: &ApiResource, name: &str) -> String {
    format!("{}/{name}", resource.kind_ref())
}

#[cfg(test)]
mod tests {
    use super::parse_documents;

    #[test]
    fn multi_document_yaml_json_and_lists() {
        let docs = parse_documents(
            "---\n{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"a\"}}\n---\n\n---\nkind: List\nitems:\n- {kind: Pod, metadata: {name: b}}\n",
        )
        .unwrap();
        let names: Vec<_> = docs.iter().map(|d| d["metadata"]["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["a", "b"]);
        assert!(parse_documents("- 1\n").is_err());
    }
}
