//! `wasi:cli/command` containers: one instance, `wasi:cli/run` called once, like a process.

use super::{ContainerEnv, Outcome, describe, killed_after_grace, out_of_memory};
use crate::cache::Prepared;
use wasmtime_wasi::I32Exit;

/// Exit code of a guest that trapped (a Rust guest's panic is an abort: as a native process
/// killed by SIGABRT reports).
pub const TRAP_EXIT_CODE: i32 = 134;

pub(crate) async fn run(env: &ContainerEnv, prepared: &Prepared) -> Outcome {
    let Some(pre) = prepared.command.clone() else {
        return Outcome::error(
            128,
            "CreateContainerError",
            "the component does not export wasi:cli/run, so it cannot run as a command (an HTTP component needs ports)"
                .into(),
        );
    };
    let mut store = match env.new_store() {
        Ok(store) => store,
        Err(message) => return Outcome::error(128, "CreateContainerError", message),
    };
    let clock = store.data().cpu.clock();
    let call = crate::limits::timed(clock, async {
        let command = pre.instantiate_async(&mut store).await?;
        command.wasi_cli_run().call_run(&mut store).await
    });
    // A command has no way to hear "please stop", so a stop request waits out the grace period
    // and then kills it (dropping the call future drops the instance at its next yield).
    tokio::select! {
        result = call => classify(env, result),
        () = killed_after_grace(env) => Outcome::killed(),
    }
}

fn classify(env: &ContainerEnv, result: wasmtime::Result<Result<(), ()>>) -> Outcome {
    match result {
        Ok(Ok(())) => Outcome::exited(0),
        Ok(Err(())) => Outcome::exited(1),
        Err(e) if out_of_memory(env, &e) => Outcome::oom_killed(describe(&e)),
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(I32Exit(code)) => Outcome::exited(*code),
            None => Outcome::error(TRAP_EXIT_CODE, "Error", describe(&e)),
        },
    }
}
