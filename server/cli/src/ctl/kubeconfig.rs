//! Finding the cluster the way kubectl does: `--kubeconfig`, else `$KUBECONFIG` (a `:`-separated
//! list merged first-wins), else `~/.kube/config`, else the kubeconfig `wasmkube server` writes
//! into `./wasmkube-data/`. Only what an http cluster needs is read: the server, the context's
//! namespace and an optional bearer token.

use anyhow::{Context, bail};
use serde_yaml::Value;
use std::path::{Path, PathBuf};

/// Where to connect and as whom, after flags and kubeconfig are combined.
#[derive(Debug, Clone)]
pub struct Connection {
    /// `http://host:port`, without a trailing slash.
    pub server: String,
    pub namespace: String,
    pub token: Option<String>,
}

/// The connection flags every client verb shares.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ConnArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config, ./wasmkube-data/kubeconfig).
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current-context).
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// The API server's address, overriding the kubeconfig's (http:// only).
    #[arg(short = 's', long, global = true)]
    pub server: Option<String>,
    /// The namespace to work in (default: the context's, else "default").
    #[arg(short, long, global = true)]
    pub namespace: Option<String>,
}

impl ConnArgs {
    pub fn resolve(&self) -> anyhow::Result<Connection> {
        let files = self.files()?;
        let docs: Vec<Value> = files.iter().map(|f| read(f)).collect::<anyhow::Result<_>>()?;
        let current = docs.iter().find_map(|d| d["current-context"].as_str().filter(|s| !s.is_empty()));
        let context_name = self.context.as_deref().or(current);
        let context = match context_name {
            Some(name) => Some(named(&docs, "contexts", name).with_context(|| {
                format!("context \"{name}\" does not exist in {}", describe_files(&files))
            })?),
            None => None,
        };
        let context = context.map(|c| c["context"].clone()).unwrap_or(Value::Null);
        let server = match (&self.server, context["cluster"].as_str()) {
            (Some(s), _) => s.clone(),
            (None, Some(cluster)) => named(&docs, "clusters", cluster)
                .and_then(|c| c["cluster"]["server"].as_str().map(String::from))
                .with_context(|| {
                    format!("cluster \"{cluster}\" has no server in {}", describe_files(&files))
                })?,
            (None, None) => bail!("no current context in {}: pass --context", describe_files(&files)),
        };
        let token = context["user"]
            .as_str()
            .and_then(|u| named(&docs, "users", u))
            .and_then(|u| u["user"]["token"].as_str().map(String::from));
        let namespace = self
            .namespace
            .clone()
            .or_else(|| context["namespace"].as_str().filter(|s| !s.is_empty()).map(String::from))
            .unwrap_or_else(|| "default".into());
        Ok(Connection { server: plain_http(&server)?, namespace, token })
    }

    /// The kubeconfig files in precedence order.
    fn files(&self) -> anyhow::Result<Vec<PathBuf>> {
        if let Some(path) = &self.kubeconfig {
            return Ok(vec![path.clone()]);
        }
        if let Some(list) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
            let existing: Vec<PathBuf> = std::env::split_paths(&list).filter(|p| p.exists()).collect();
            if !existing.is_empty() {
                return Ok(existing);
            }
        }
        let home = std::env::var_os("HOME").map(|h| Path::new(&h).join(".kube/config"));
        let local = PathBuf::from("wasmkube-data/kubeconfig");
        match home.into_iter().chain([local]).find(|p| p.exists()) {
            Some(p) => Ok(vec![p]),
            None if self.server.is_some() => Ok(vec![]),
            None => bail!(
                "no kubeconfig found: pass --kubeconfig, set KUBECONFIG, or run `wasmkube server` here (it writes wasmkube-data/kubeconfig)"
            ),
        }
    }
}

fn read(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading kubeconfig {}", path.display()))?;
    serde_yaml::from_str(&text).with_context(|| format!("kubeconfig {} is not valid YAML", path.display()))
}

/// The first entry called `name` in the `list` of any file (kubectl's merge: first file wins).
fn named(docs: &[Value], list: &str, name: &str) -> Option<Value> {
    docs.iter()
        .filter_map(|d| d[list].as_sequence())
        .flatten()
        .find(|entry| entry["name"].as_str() == Some(name))
        .cloned()
}

fn describe_files(files: &[PathBuf]) -> String {
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    if names.is_empty() { "the kubeconfig".into() } else { names.join(", ") }
}

/// This client speaks plain HTTP only; a TLS cluster is a clear refusal, not a cryptic failure.
fn plain_http(server: &str) -> anyhow::Result<String> {
    let server = server.trim_end_matches('/');
    if server.starts_with("https://") {
        bail!(
            "the API at {server} uses https, which the wasmkube client does not speak (plain http only): use kubectl for this cluster"
        );
    }
    let rest = server.strip_prefix("http://").unwrap_or(server);
    if rest.is_empty() || rest.contains('/') {
        bail!("server {server:?} is not an http://host:port address");
    }
    Ok(format!("http://{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_namespace_and_first_file_wins() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::write(
            &a,
            "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, namespace: team}\n",
        )
        .unwrap();
        std::fs::write(
            &b,
            "current-context: y\nclusters:\n- name: c\n  cluster: {server: 'http://127.0.0.1:7/'}\n",
        )
        .unwrap();
        let args = ConnArgs { kubeconfig: Some(a.clone()), ..Default::default() };
        assert!(args.resolve().is_err(), "cluster c is only in b");
        let docs = vec![read(&a).unwrap(), read(&b).unwrap()];
        assert_eq!(named(&docs, "clusters", "c").unwrap()["cluster"]["server"], "http://127.0.0.1:7/");
        assert_eq!(plain_http("http://127.0.0.1:7/").unwrap(), "http://127.0.0.1:7");
        assert!(plain_http("https://x:6443").unwrap_err().to_string().contains("plain http only"));
    }
}
