//! `hello`: the smallest `wasi:cli/command` example, also used by the pod-sandbox tests.
//!
//! ```text
//! hello [NAME]                      print "Hello, NAME!" (NAME: argument, else $NAME, else "world")
//! hello --write PATH TEXT           write TEXT to PATH (created or truncated)
//! hello --append PATH TEXT [--count N] [--interval-ms MS]
//!                                   append the line "TEXT" (N > 1: "TEXT i") N times, MS apart
//! hello --cat PATH                  print the file's content
//! ```
//! Then exits with `$EXIT_CODE` when set, through `wasi:cli/exit.exit-with-code` so that 42
//! arrives as 42 (std::process::exit goes through preview1's adapter, which only knows 0 and 1).
//! Errors go to stderr with exit code 1.

use std::io::Write as _;
use std::time::Duration;

fn main() {
    guest_support::init_command();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(message) = run(&args) {
        eprintln!("hello: {message}");
        exit(1);
    }
    if let Ok(code) = std::env::var("EXIT_CODE") {
        match code.trim().parse::<u8>() {
            Ok(code) => exit(code),
            Err(_) => {
                eprintln!("hello: EXIT_CODE={code:?} is not a number in 0..=255");
                exit(1);
            }
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("--write") => {
            let [_, path, text] = args else { return Err("usage: --write PATH TEXT".into()) };
            std::fs::write(path, text).map_err(|e| format!("cannot write {path}: {e}"))?;
            println!("wrote {} bytes to {path}", text.len());
        }
        Some("--append") => append(args)?,
        Some("--cat") => {
            let [_, path] = args else { return Err("usage: --cat PATH".into()) };
            let content = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
            let mut out = std::io::stdout().lock();
            out.write_all(&content).and_then(|()| out.flush()).map_err(|e| e.to_string())?;
        }
        Some(flag) if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
        Some(name) => println!("Hello, {name}!"),
        None => {
            let name = std::env::var("NAME").unwrap_or_else(|_| "world".to_string());
            println!("Hello, {name}!");
        }
    }
    Ok(())
}

/// `--append PATH TEXT [--count N] [--interval-ms MS]`: a log writer for the sidecar example.
fn append(args: &[String]) -> Result<(), String> {
    let usage = "usage: --append PATH TEXT [--count N] [--interval-ms MS]";
    let (Some(path), Some(text)) = (args.get(1), args.get(2)) else { return Err(usage.into()) };
    let (mut count, mut interval_ms) = (1u64, 1000u64);
    let mut rest = args[3..].iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().and_then(|v| v.parse::<u64>().ok()).ok_or(usage)?;
        match flag.as_str() {
            "--count" => count = value,
            "--interval-ms" => interval_ms = value,
            _ => return Err(usage.into()),
        }
    }
    for i in 1..=count {
        let line = if count > 1 { format!("{text} {i}\n") } else { format!("{text}\n") };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open {path}: {e}"))?;
        file.write_all(line.as_bytes()).map_err(|e| format!("cannot append to {path}: {e}"))?;
        if i < count {
            std::thread::sleep(Duration::from_millis(interval_ms));
        }
    }
    println!("appended {count} line(s) to {path}");
    Ok(())
}

fn exit(code: u8) -> ! {
    let _ = std::io::stdout().flush();
    wasip2::cli::exit::exit_with_code(code);
    unreachable!("exit-with-code returned")
}
