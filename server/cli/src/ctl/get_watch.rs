//! `wasmkube get -w`: list once, then print every change the watch reports, resuming from the
//! last resourceVersion when the server ends a watch (it does so every 30–60 minutes).

use super::client::{JSON, TABLE};
use super::discovery::ApiResource;
use super::get::{GetArgs, layout_for, print_object};
use super::table::TableLayout;
use super::{Ctx, target};
use hyper::Method;
use serde_json::Value;
use std::io::Write;
use std::process::ExitCode;

pub async fn watch(
    ctx: &Ctx,
    args: &GetArgs,
    r: &ApiResource,
    name: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let ns = if name.is_some() { Some(ctx.namespace()) } else { args.namespace(ctx) };
    let collection = r.collection(ns);
    let query = args.query(name);
    let as_table = !matches!(args.output.as_deref(), Some("json" | "yaml" | "name"));
    let accept = if as_table { TABLE } else { JSON };
    if let Some(n) = name {
        // A watch on a missing name would just sit there; kubectl says it is not found.
        ctx.client.get(&r.object(ctx.namespace(), n)).await?;
    }
    let mut printer = Printer { args, r, layout: None, header_printed: false };
    let mut rv = String::new();
    if !args.watch_only {
        let (_, list) = ctx.client.call(Method::GET, &format!("{collection}?{query}"), accept, None).await?;
        rv = list["metadata"]["resourceVersion"].as_str().unwrap_or("").to_string();
        printer.initial(&list)?;
    }
    loop {
        let path = format!("{collection}?{query}&watch=1&resourceVersion={rv}");
        let mut stream = ctx.client.stream(&path, accept).await?;
        while let Some((kind, object)) = stream.event().await? {
            if let Some(v) = resource_version(&object) {
                rv = v;
            }
            if kind != "BOOKMARK" {
                printer.event(&object)?;
            }
        }
    }
}

fn resource_version(object: &Value) -> Option<String> {
    let meta = if object["kind"] == "Table" {
        &object["rows"][0]["object"]["metadata"]
    } else {
        &object["metadata"]
    };
    meta["resourceVersion"].as_str().or(object["metadata"]["resourceVersion"].as_str()).map(String::from)
}

struct Printer<'a> {
    args: &'a GetArgs,
    r: &'a ApiResource,
    layout: Option<TableLayout>,
    header_printed: bool,
}

impl Printer<'_> {
    fn initial(&mut self, list: &Value) -> anyhow::Result<()> {
        if list["kind"] == "Table" {
            self.layout = Some(layout_for(list, self.args, self.r, false));
            return self.rows(list);
        }
        for item in list["items"].as_array().into_iter().flatten() {
            self.object(item)?;
        }
        Ok(())
    }

    fn event(&mut self, object: &Value) -> anyhow::Result<()> {
        if object["kind"] != "Table" {
            return self.object(object);
        }
        if self.layout.is_none() {
            // --watch-only: the first event's Table carries the column definitions.
            self.layout = Some(layout_for(object, self.args, self.r, false));
        }
        self.rows(object)
    }

    /// The header goes out with the first rows (kubectl prints none for an empty list).
    fn rows(&mut self, table: &Value) -> anyhow::Result<()> {
        let rows = table["rows"].as_array().cloned().unwrap_or_default();
        let layout = self.layout.as_mut().expect("a layout before any rows");
        let mut out = std::io::stdout().lock();
        if rows.is_empty() {
            return Ok(());
        }
        if self.header_printed {
            for row in &rows {
                write!(out, "{}", layout.render_row(row))?;
            }
        } else {
            write!(out, "{}", layout.render(&rows, self.args.no_headers))?;
            self.header_printed = true;
        }
        out.flush()?;
        Ok(())
    }

    fn object(&mut self, o: &Value) -> anyhow::Result<()> {
        let mut out = std::io::stdout().lock();
        match self.args.output.as_deref() {
            Some("name") => {
                let name = o["metadata"]["name"].as_str().unwrap_or("");
                writeln!(out, "{}", target::object_ref(self.r, name))?;
            }
            Some("yaml") => {
                writeln!(out, "---")?;
                print_object(&mut out, o, true)?;
            }
            _ => print_object(&mut out, o, false)?,
        }
        Ok(())
    }
}
