//! `wasmkube get`: server-side Tables printed like kubectl, or the objects as JSON/YAML/names;
//! `-w` streams changes after the first listing.

use super::discovery::ApiResource;
use super::kubeconfig::ConnArgs;
use super::table::TableLayout;
use super::target::{self, Target};
use super::{Ctx, exit, report};
use anyhow::bail;
use serde_json::ser::PrettyFormatter;
use serde_json::{Value, json};
use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct GetArgs {
    /// TYPE[,TYPE...] [NAME...] or TYPE/NAME... (e.g. `pods`, `deploy,rs`, `deploy/web`, `all`)
    #[arg(required = true, value_name = "TYPE[/NAME]")]
    pub(super) what: Vec<String>,
    /// Output format.
    #[arg(short, long, value_parser = ["json", "yaml", "name", "wide"])]
    pub(super) output: Option<String>,
    /// Label selector, e.g. `app=web,tier!=db`.
    #[arg(short = 'l', long)]
    pub(super) selector: Option<String>,
    /// Field selector, e.g. `status.phase=Running`.
    #[arg(long)]
    pub(super) field_selector: Option<String>,
    /// List across all namespaces.
    #[arg(short = 'A', long)]
    pub(super) all_namespaces: bool,
    /// After listing, watch for changes.
    #[arg(short, long)]
    pub(super) watch: bool,
    /// Watch for changes without listing first.
    #[arg(long)]
    pub(super) watch_only: bool,
    /// Show each object's labels as the last column.
    #[arg(long)]
    pub(super) show_labels: bool,
    /// Leave out the header line.
    #[arg(long)]
    pub(super) no_headers: bool,
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// The objects of one type that were asked for: some by name, or the whole (selected) list.
struct Group {
    resource: ApiResource,
    names: Vec<String>,
}

fn group(targets: Vec<Target>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for t in targets {
        match groups.last_mut() {
            Some(g) if g.resource == t.resource && t.name.is_some() => g.names.extend(t.name),
            _ => groups.push(Group { resource: t.resource, names: t.name.into_iter().collect() }),
        }
    }
    groups
}

impl GetArgs {
    pub(super) fn namespace<'a>(&self, ctx: &'a Ctx) -> Option<&'a str> {
        (!self.all_namespaces).then(|| ctx.namespace())
    }

    pub(super) fn query(&self, name: Option<&str>) -> String {
        let mut fields: Vec<String> = self.field_selector.iter().cloned().collect();
        fields.extend(name.map(|n| format!("metadata.name={n}")));
        let mut q: Vec<(&str, String)> = Vec::new();
        if let Some(l) = &self.selector {
            q.push(("labelSelector", l.clone()));
        }
        if !fields.is_empty() {
            q.push(("fieldSelector", fields.join(",")));
        }
        serde_urlencoded::to_string(q).unwrap_or_default()
    }
}

pub async fn run(mut ctx: Ctx, args: GetArgs) -> anyhow::Result<ExitCode> {
    let targets = target::parse(ctx.discovery().await?, &args.what)?;
    let groups = group(targets);
    if args.watch || args.watch_only {
        let [g] = groups.as_slice() else {
            bail!(
                "watch is only supported on individual resources and resource collections, but {} resource types were asked for",
                groups.len()
            );
        };
        return super::get_watch::watch(&ctx, &args, &g.resource, g.names.first().map(String::as_str)).await;
    }
    match args.output.as_deref() {
        Some("json" | "yaml" | "name") => objects(&ctx, &args, &groups).await,
        _ => tables(&ctx, &args, &groups).await,
    }
}

/// Human-readable output: one table per type, separated by blank lines.
async fn tables(ctx: &Ctx, args: &GetArgs, groups: &[Group]) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    let mut fetched = Vec::new();
    for g in groups {
        fetched.push((g, fetch(ctx, args, g, true, &mut failed).await));
    }
    // As kubectl: names carry their type when answers of more than one type came back.
    let several = fetched.iter().filter(|(_, tables)| !tables.is_empty()).count() > 1;
    let mut printed = false;
    let mut out = std::io::stdout().lock();
    for (g, tables) in fetched {
        let rows: Vec<Value> =
            tables.iter().flat_map(|t| t["rows"].as_array().cloned().unwrap_or_default()).collect();
        let Some(table) = tables.first().filter(|_| !rows.is_empty()) else { continue };
        let mut layout = layout_for(table, args, &g.resource, several);
        if printed {
            writeln!(out)?;
        }
        write!(out, "{}", layout.render(&rows, args.no_headers))?;
        printed = true;
    }
    if !printed && !failed && groups.iter().all(|g| g.names.is_empty()) {
        no_resources(ctx, args, groups);
    }
    Ok(exit(failed))
}

pub(super) fn layout_for(table: &Value, args: &GetArgs, r: &ApiResource, several: bool) -> TableLayout {
    let mut layout = TableLayout::new(table, args.output.as_deref() == Some("wide"));
    layout.namespace = args.all_namespaces && r.namespaced;
    layout.kind_prefix = several.then(|| r.kind_ref());
    layout.labels = args.show_labels;
    layout
}

fn no_resources(ctx: &Ctx, args: &GetArgs, groups: &[Group]) {
    let namespaced = groups.iter().any(|g| g.resource.namespaced);
    if args.all_namespaces || !namespaced {
        eprintln!("No resources found");
    } else {
        eprintln!("No resources found in {} namespace.", ctx.namespace());
    }
}

/// The group's objects (as Tables or plain JSON): a list, or one GET per name. A name that
/// fails is reported and marks the command failed; the others are still shown.
async fn fetch(ctx: &Ctx, args: &GetArgs, g: &Group, as_table: bool, failed: &mut bool) -> Vec<Value> {
    let ns = args.namespace(ctx);
    let mut paths = Vec::new();
    if g.names.is_empty() {
        paths.push(format!("{}?{}", g.resource.collection(ns), args.query(None)));
    } else {
        let ns = ns.unwrap_or_else(|| ctx.namespace());
        paths.extend(g.names.iter().map(|n| g.resource.object(ns, n)));
    }
    let mut out = Vec::new();
    for path in paths {
        let result = if as_table { ctx.client.get_table(&path).await } else { ctx.client.get(&path).await };
        match result {
            Ok(v) => out.push(v),
            Err(e) => {
                *failed = true;
                report(&e);
            }
        }
    }
    out
}

/// `-o json|yaml|name`: kubectl prints one object as itself and anything else as a `List`.
async fn objects(ctx: &Ctx, args: &GetArgs, groups: &[Group]) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    let mut items = Vec::new();
    for g in groups {
        for v in fetch(ctx, args, g, false, &mut failed).await {
            let found =
                if g.names.is_empty() { v["items"].as_array().cloned().unwrap_or_default() } else { vec![v] };
            items.extend(found.into_iter().map(|o| with_type(o, &g.resource)));
        }
    }
    let single = groups.len() == 1 && groups[0].names.len() == 1;
    let mut out = std::io::stdout().lock();
    match args.output.as_deref() {
        Some("name") => {
            for o in &items {
                let r = groups.iter().find(|g| g.resource.kind == o["kind"]).map(|g| &g.resource);
                let kind =
                    r.map_or_else(|| o["kind"].as_str().unwrap_or("").to_lowercase(), ApiResource::kind_ref);
                writeln!(out, "{kind}/{}", o["metadata"]["name"].as_str().unwrap_or(""))?;
            }
        }
        format => {
            let doc = if single && items.len() == 1 {
                items.remove(0)
            } else {
                json!({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}})
            };
            print_object(&mut out, &doc, format == Some("yaml"))?;
        }
    }
    Ok(exit(failed))
}

/// List items come without `apiVersion` and `kind`; kubectl puts them back.
fn with_type(mut o: Value, r: &ApiResource) -> Value {
    if let Some(map) = o.as_object_mut()
        && !map.contains_key("kind")
    {
        let rest = std::mem::take(map);
        map.insert("apiVersion".into(), json!(r.api_version()));
        map.insert("kind".into(), json!(r.kind));
        map.extend(rest);
    }
    o
}

pub(super) fn print_object(out: &mut impl Write, v: &Value, yaml: bool) -> anyhow::Result<()> {
    let v = for_humans(v);
    if yaml {
        write!(out, "{}", serde_yaml::to_string(&v)?)?;
    } else {
        // kubectl indents JSON by four spaces.
        let mut text = Vec::new();
        let mut ser =
            serde_json::Serializer::with_formatter(&mut text, PrettyFormatter::with_indent(b"    "));
        serde::Serialize::serialize(&v, &mut ser)?;
        out.write_all(&text)?;
        writeln!(out)?;
    }
    Ok(())
}

/// What kubectl prints: keys sorted (Go encodes maps that way) and, as its default
/// `--show-managed-fields=false` does, without `metadata.managedFields`.
fn for_humans(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let sorted =
                keys.into_iter().filter(|k| *k != "managedFields").map(|k| (k.clone(), for_humans(&map[k])));
            Value::Object(sorted.collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(for_humans).collect()),
        other => other.clone(),
    }
}
