//! `escape` (test-only): tries to read the host's `/etc/passwd` from inside the sandbox and
//! reports each attempt. Exits 0 only if every attempt was refused, 1 if any succeeded.
//!
//! ```text
//! escape [DIR]      DIR: a mounted (preopened) directory to work from; default: the first one
//! ```
//! Attempts: `../../etc/passwd` (relative), `DIR/../../etc/passwd`, `/etc/passwd`, and a symlink
//! planted in DIR pointing outside it (`/etc/passwd`, then `../../../../../../etc/passwd`),
//! read through. The symlinks are removed afterwards.

use wasip2::filesystem::preopens::get_directories;
use wasip2::filesystem::types::Descriptor;

const LINK: &str = "escape-link";

fn main() {
    guest_support::init_command();
    let preopens = get_directories();
    let dir = std::env::args().nth(1).or_else(|| preopens.first().map(|(_, name)| name.clone()));
    println!("escape: preopened directories: {:?}", preopens.iter().map(|(_, n)| n).collect::<Vec<_>>());
    let mut escaped = 0;
    let mut attempt = |what: &str, result: Result<Vec<u8>, String>| match result {
        Ok(bytes) => {
            escaped += 1;
            let first = String::from_utf8_lossy(&bytes).lines().next().unwrap_or("").to_string();
            println!("ESCAPED {what}: read {} bytes ({first:?})", bytes.len());
        }
        Err(e) => println!("refused {what}: {e}"),
    };
    attempt("../../etc/passwd", read("../../etc/passwd"));
    if let Some(dir) = &dir {
        let path = format!("{}/../../etc/passwd", dir.trim_end_matches('/'));
        attempt(&path.clone(), read(&path));
    }
    attempt("/etc/passwd", read("/etc/passwd"));
    for target in ["/etc/passwd", "../../../../../../etc/passwd"] {
        let what = format!("symlink {LINK} -> {target}");
        attempt(&what, symlink_escape(&preopens, dir.as_deref(), target));
    }
    if escaped == 0 {
        println!("escape: all attempts refused");
    } else {
        println!("escape: {escaped} attempt(s) ESCAPED the sandbox");
        std::process::exit(1);
    }
}

fn read(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| e.to_string())
}

/// Plants `DIR/escape-link -> target` (if the host lets us), then reads through it.
fn symlink_escape(
    preopens: &[(Descriptor, String)],
    dir: Option<&str>,
    target: &str,
) -> Result<Vec<u8>, String> {
    let dir = dir.ok_or("no preopened directory to plant a symlink in")?;
    let (descriptor, name) = preopens
        .iter()
        .filter(|(_, name)| dir.starts_with(name.as_str()))
        .max_by_key(|(_, name)| name.len())
        .ok_or_else(|| format!("{dir} is not under a preopened directory"))?;
    let relative = dir[name.len()..].trim_matches('/');
    let link = if relative.is_empty() { LINK.to_string() } else { format!("{relative}/{LINK}") };
    let _ = descriptor.unlink_file_at(&link);
    let planted = descriptor.symlink_at(target, &link);
    let result = match planted {
        Ok(()) => read(&format!("{}/{LINK}", dir.trim_end_matches('/'))),
        Err(e) => Err(format!("could not create the symlink: {e:?}")),
    };
    let _ = descriptor.unlink_file_at(&link);
    result
}
