//! Starting a training command and following it to its end, as the
//! scheduler follows sweep's own worker.
//!
//! The command is started from its argument vector (never a shell) in the
//! run folder, with the environment the worker was given (the slot's
//! `SWEEP_DEVICE`, `SWEEP_THREADS`, `CUDA_VISIBLE_DEVICES`…) plus
//! `SWEEP_RUN_DIR`, `SWEEP_INPUTS` and `SWEEP_CODE_DIR`. Arguments that name
//! a `code` path are passed as absolute paths, so `[python3, train.py]`
//! runs the experiment's `train.py` from the run folder.
//!
//! Its stdout is read line by line: `started` and `epoch` events go on to
//! the scheduler, anything else to the run's log, like its stderr (which it
//! inherits). SIGTERM and SIGINT sent to this process are passed on, so the
//! first Ctrl-C of `sweep run` reaches the command; on Linux the command is
//! also killed when this process dies (a timeout, a second Ctrl-C), so no
//! training outlives the lease that protects its run.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use sweep_core::protocol::events::WorkerEvent;
use sweep_core::worker_command::WorkerCommand;

/// How the command ended.
pub(crate) struct Ended {
    pub status: ExitStatus,
    /// A stop was asked for (SIGTERM or SIGINT) while it ran.
    pub stop_requested: bool,
    /// The message of a `failed` event it printed, if any.
    pub reported: Option<String>,
    /// The parameter count its `started` event gave, if it printed one.
    pub params: Option<u64>,
    pub seconds: f64,
}

/// The argument vector to start: the program found, `code` arguments made
/// absolute.
pub(crate) fn argv(
    worker: &WorkerCommand,
    folder: &Path,
) -> Result<(PathBuf, Vec<String>), String> {
    let program = worker.program(folder)?;
    let args = worker.command[1..]
        .iter()
        .map(|arg| {
            let plain = arg.trim_end_matches('/');
            let plain = plain.strip_prefix("./").unwrap_or(plain);
            if worker.code.iter().any(|c| c == plain) {
                folder.join(plain).to_string_lossy().into_owned()
            } else {
                arg.clone()
            }
        })
        .collect();
    Ok((program, args))
}

/// Runs `program args` in `run_dir` to its end, relaying its events.
pub(crate) fn run(
    program: &Path,
    args: &[String],
    run_dir: &Path,
    env: &[(&str, PathBuf)],
    stops: &StopRequests,
) -> Result<Ended, String> {
    let started = std::time::Instant::now();
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(run_dir)
        .envs(env.iter().map(|(k, v)| (*k, v.as_os_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    die_with_parent(&mut command);
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
    stops.follow(child.id());
    let Relayed { reported, params } = child.stdout.take().map(relay).unwrap_or_default();
    let status = child
        .wait()
        .map_err(|e| format!("waiting for {}: {e}", program.display()))?;
    stops.forget();
    Ok(Ended {
        status,
        stop_requested: stops.asked(),
        reported,
        params,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// On Linux, has the kernel kill the command when this process dies.
fn die_with_parent(command: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl(2) is async-signal-safe and touches no memory of
        // the parent; it only sets the child's parent-death signal.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
}

/// Stop requests (SIGTERM, SIGINT) to the adapter, from the moment it
/// starts: remembered while it prepares the inputs (so a Ctrl-C then stops
/// the run cleanly instead of killing the adapter), and passed on to the
/// command once it runs.
pub(crate) struct StopRequests {
    /// The running command's pid, 0 while there is none.
    pid: Arc<AtomicI32>,
    asked: Arc<AtomicBool>,
}

impl StopRequests {
    /// Takes over SIGTERM and SIGINT for this process.
    pub(crate) fn listen() -> StopRequests {
        let stops = StopRequests {
            pid: Arc::new(AtomicI32::new(0)),
            asked: Arc::new(AtomicBool::new(false)),
        };
        let signals = signal_hook::iterator::Signals::new([
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGINT,
        ]);
        if let Ok(mut signals) = signals {
            let (pid, flag) = (Arc::clone(&stops.pid), Arc::clone(&stops.asked));
            std::thread::spawn(move || {
                for signal in signals.forever() {
                    flag.store(true, Ordering::SeqCst);
                    let target = pid.load(Ordering::SeqCst);
                    if target > 0 {
                        // SAFETY: kill(2) with a valid signal has no memory effects.
                        unsafe { libc::kill(target, signal) };
                    }
                }
            });
        }
        stops
    }

    /// A stop was asked for.
    pub(crate) fn asked(&self) -> bool {
        self.asked.load(Ordering::SeqCst)
    }

    /// Passes later requests on to `pid`, and this one now if one came
    /// while the command was starting.
    fn follow(&self, pid: u32) {
        let pid = i32::try_from(pid).unwrap_or(0);
        self.pid.store(pid, Ordering::SeqCst);
        if self.asked() && pid > 0 {
            // SAFETY: as above.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
    }

    /// The command is gone: nothing to pass on any more.
    fn forget(&self) {
        self.pid.store(0, Ordering::SeqCst);
    }
}

/// What the command's stdout said besides progress.
#[derive(Debug, Default, PartialEq)]
struct Relayed {
    /// The message of a `failed` event.
    reported: Option<String>,
    /// `params` of the last `started` event, unless 0 (not given).
    params: Option<u64>,
}

/// Relays progress events to stdout and everything else to the log; keeps
/// the message of a `failed` event and the parameter count of a `started`
/// one (for `metrics.json`, so reports show the model's size).
fn relay(stdout: impl std::io::Read) -> Relayed {
    let mut relayed = Relayed::default();
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        match WorkerEvent::from_line(&line) {
            Some(event @ (WorkerEvent::Started { .. } | WorkerEvent::Epoch { .. })) => {
                // 0 is the helper's "not given" (python/sweep_run.py).
                if let WorkerEvent::Started { params, .. } = &event {
                    relayed.params = (*params > 0).then_some(*params);
                }
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{}", event.to_line());
                let _ = out.flush();
            }
            // sweep reports the end itself, from the metrics it computes.
            Some(WorkerEvent::Finished { .. }) => {}
            Some(WorkerEvent::Failed { message, .. }) => relayed.reported = Some(message),
            None => eprintln!("{line}"),
        }
    }
    relayed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_asked_before_the_command_starts_is_remembered_not_fatal() {
        let stops = StopRequests::listen();
        assert!(!stops.asked());
        // SAFETY: raise(3) sends a signal to this process, whose SIGTERM
        // `listen` has taken over; nothing else in the tests uses it.
        unsafe { libc::raise(libc::SIGTERM) };
        let t0 = std::time::Instant::now();
        while !stops.asked() && t0.elapsed().as_secs() < 5 {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(stops.asked(), "the SIGTERM was not seen");
    }

    #[test]
    fn the_started_events_parameter_count_and_a_failure_message_are_kept() {
        let out = concat!(
            "loading data\n",
            r#"{"event": "started", "key": "k", "device": "cpu", "params": 120345, "train_samples": 10, "val_samples": 5, "epochs": 2}"#,
            "\n",
            r#"{"event": "failed", "kind": "crashed", "message": "disk full"}"#,
            "\n",
        );
        assert_eq!(
            relay(out.as_bytes()),
            Relayed {
                reported: Some("disk full".into()),
                params: Some(120_345),
            }
        );
        assert_eq!(relay("no events\n".as_bytes()), Relayed::default());
    }

    #[test]
    fn code_arguments_become_absolute_and_others_stay_as_written() {
        let worker = WorkerCommand {
            command: ["sh", "./train.py", "--data", "train.py.bak", "lib/"]
                .map(String::from)
                .to_vec(),
            code: vec!["train.py".into(), "lib".into()],
            folder: None,
        };
        let folder = Path::new("/project");
        let (program, args) = argv(&worker, folder).unwrap();
        assert!(program.ends_with("sh"), "{}", program.display());
        assert_eq!(
            args,
            [
                "/project/train.py",
                "--data",
                "train.py.bak",
                "/project/lib"
            ]
        );
    }
}
