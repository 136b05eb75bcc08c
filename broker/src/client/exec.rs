//! `stint exec`: access that lives exactly as long as its task. Requests, waits, runs the
//! command with the credential in its environment, forwards signals to it, and releases
//! the grant when it exits — completed or failed.

use super::request::{AccessArgs, await_grant, connect, fail, file, release};
use super::{ClientError, Exit};
use std::process::ExitStatus;
use stint_core::machine::ReleaseOutcome;

/// Runs `command` with access; the process's exit code (the command's, once it ran).
pub async fn exec(args: AccessArgs, command: Vec<String>) -> i32 {
    let Some((program, program_args)) = command.split_first() else {
        eprintln!("stint: name the command to run after --");
        return Exit::Error as i32;
    };
    let asked = {
        let args = args.clone();
        tokio::task::spawn_blocking(move || {
            let broker = connect(&args.broker).map_err(|e| fail(&e))?;
            let filed = file(&broker, &args).map_err(|e| fail(&e))?;
            let granted = await_grant(&broker, &filed, args.timeout)?;
            Ok::<_, Exit>((broker, granted))
        })
        .await
    };
    let (broker, granted) = match asked {
        Ok(Ok(access)) => access,
        Ok(Err(exit)) => return exit as i32,
        Err(e) => return fail(&ClientError::Unexpected(e.to_string())) as i32,
    };
    let status = run(program, program_args, granted.environment()).await;
    let (outcome, note, code) = match &status {
        Ok(status) if status.success() => (ReleaseOutcome::Completed, describe(status), 0),
        Ok(status) => (ReleaseOutcome::Failed, describe(status), exit_code(status)),
        Err(e) => (
            ReleaseOutcome::Failed,
            format!("{program} could not be run: {e}"),
            Exit::Error as i32,
        ),
    };
    if let Err(e) = &status {
        eprintln!("stint: could not run {program}: {e}");
    }
    let grant_id = granted.grant_id;
    let released =
        tokio::task::spawn_blocking(move || release(&broker, grant_id, outcome, &note)).await;
    match released {
        // The command's own code comes first; a failed release is an error only when the
        // command succeeded, so a pipeline notices access that outlived its task.
        Ok(Exit::Granted) => code,
        _ if code == 0 => Exit::Error as i32,
        _ => code,
    }
}

/// Runs the command to its end with `environment` added, passing on the signals that would
/// have stopped `stint` (a CI runner cancelling the job sends SIGTERM to it, not to the
/// command). Ctrl-C at a terminal reaches the command itself (they share the foreground
/// process group), so `stint` only outlives it to release the grant.
async fn run(
    program: &str,
    args: &[String],
    environment: Vec<(&'static str, String)>,
) -> std::io::Result<ExitStatus> {
    let mut child = tokio::process::Command::new(program)
        .args(args)
        // The command gets its grant's credential, never what asks for more access: a token
        // that outlived the task would undo the point of it.
        .env_remove("STINT_TOKEN")
        .env_remove("STINT_OIDC_TOKEN")
        .envs(environment)
        .spawn()?;
    forward_signals_until_exit(&mut child).await
}

#[cfg(target_os = "linux")]
async fn forward_signals_until_exit(
    child: &mut tokio::process::Child,
) -> std::io::Result<ExitStatus> {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    loop {
        let forwarded = tokio::select! {
            status = child.wait() => return status,
            _ = term.recv() => Signal::SIGTERM,
            _ = hup.recv() => Signal::SIGHUP,
            // The terminal sent it to the command too; caught only so `stint` stays.
            _ = int.recv() => continue,
        };
        if let Some(pid) = child.id() {
            // The child may have exited meanwhile; then there is no one left to tell.
            let _ = kill(Pid::from_raw(pid as i32), forwarded);
        }
    }
}

#[cfg(not(target_os = "linux"))]
async fn forward_signals_until_exit(
    child: &mut tokio::process::Child,
) -> std::io::Result<ExitStatus> {
    child.wait().await
}

fn describe(status: &ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("command exited with status {code}"),
        None => "command was ended by a signal".to_string(),
    }
}

/// The shell's convention: the command's code, or 128 + the signal that ended it.
fn exit_code(status: &ExitStatus) -> i32 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return 128 + signal;
        }
    }
    status.code().unwrap_or(Exit::Error as i32)
}
