//! The scheduling loop: pending runs → free slots → worker processes.
//!
//! ```text
//!  queue ──▶ free slot? ──▶ probe lease ──busy──▶ waiting (re-probed every second)
//!                               │ free
//!                               ▼
//!                     spawn `sweep-worker <dir>` (own process group, slot env)
//!                               │ stdout events ──▶ reporter
//!                               ▼ exit
//!            done │ busy (lost a race) → waiting │ failed → retry policy → queue / summary
//! ```
//!
//! Workers run in their own process group, so a Ctrl-C at the terminal
//! reaches only this loop: the first stops new launches and asks running
//! workers (SIGTERM) to stop after their current epoch, which they save; the
//! second kills them. Either way their folders stay incomplete, are never
//! marked done, and continue from the last saved epoch next time.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::gpu_memory::{Admission, GpuPacking, Packer, memory_shape};
use super::lease::{Acquire, Lease};
use super::policy::RetryPolicy;
use super::slots::{Slot, SlotDevice};
use crate::events::WorkerEvent;
use crate::hash::RunKey;
use crate::launch::{BUSY_EXIT_CODE, INTERRUPTED_EXIT_CODE, describe_exit};
use crate::plan::PlannedRun;
use crate::store::{FailureKind, LOG_FILE, RunStatus, SpecFile, Store};

/// One run to execute.
#[derive(Debug, Clone)]
pub struct Job {
    pub spec: SpecFile,
    /// Short human description (dataset, arch, lr, fold…).
    pub label: String,
}

impl Job {
    /// The job that trains a planned run of `experiment`; `None` when the
    /// run has no key (its dataset could not be fingerprinted).
    pub fn planned(run: &PlannedRun, experiment: &str, label: String) -> Option<Job> {
        Some(Job {
            spec: SpecFile {
                key: run.key.clone()?,
                input: run.input.clone()?,
                data_file: run.data_file.clone(),
                experiments: vec![experiment.to_string()],
            },
            label,
        })
    }

    pub fn key(&self) -> &RunKey {
        &self.spec.key
    }
}

/// How to start workers and what to do when they fail.
#[derive(Debug, Clone)]
pub struct Options {
    /// The worker executable (normally `sweep-worker` beside `sweep`).
    pub program: PathBuf,
    /// Arguments before the run folder (normally none).
    pub args: Vec<String>,
    pub policy: RetryPolicy,
    /// Kill an attempt that runs longer than this.
    pub timeout: Option<Duration>,
    /// How GPU slots are filled.
    pub packing: GpuPacking,
}

/// How a running GPU run was placed, to undo when it ends.
#[derive(Debug, Clone, Copy)]
enum Placement {
    /// Holds this many MiB of its GPU's budget.
    Packed(u64),
    /// Alone on its GPU, being measured.
    Measured,
}

/// What the loop tells its reporter.
#[derive(Debug, Clone)]
pub enum Progress {
    Started {
        slot: usize,
        device: String,
        key: RunKey,
        label: String,
        attempt: u32,
    },
    Worker {
        slot: usize,
        key: RunKey,
        event: WorkerEvent,
    },
    /// Another process is training this run; it will be picked up when done.
    Waiting {
        key: RunKey,
        label: String,
        holder: Option<u32>,
    },
    /// Another process finished this run while we waited.
    CachedByOther {
        key: RunKey,
        label: String,
    },
    Finished {
        slot: usize,
        key: RunKey,
        label: String,
        result: Result<(), (FailureKind, String)>,
        seconds: f64,
        will_retry: bool,
    },
    Interrupted {
        killing: bool,
    },
    /// A run measured alone on a GPU: runs of its shape now take this much.
    Measured {
        key: RunKey,
        label: String,
        gpu: u32,
        mib: u64,
    },
}

pub trait Reporter {
    fn report(&mut self, progress: &Progress);
}

/// The end of a scheduling pass.
#[derive(Debug, Default)]
pub struct Summary {
    pub trained: Vec<RunKey>,
    pub cached_by_other: Vec<RunKey>,
    pub failed: Vec<(Job, FailureKind, String)>,
    /// Runs never started or killed because of Ctrl-C or --fail-fast.
    pub not_run: Vec<Job>,
    pub interrupted: bool,
}

/// What running workers are told after Ctrl-C.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Run,
    AfterEpoch,
    Kill,
}

struct Exit {
    slot: Slot,
    job: Job,
    attempt: u32,
    status: std::io::Result<ExitStatus>,
    reported: Option<(FailureKind, String)>,
    timed_out: bool,
    killed: bool,
    seconds: f64,
}

/// Runs every job, at most one per slot at a time. Blocks until done.
pub fn run(
    store: &Store,
    jobs: Vec<Job>,
    slots: Vec<Slot>,
    opts: &Options,
    reporter: &mut dyn Reporter,
) -> Summary {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(schedule(store, jobs, slots, opts, reporter))
}

async fn schedule(
    store: &Store,
    jobs: Vec<Job>,
    slots: Vec<Slot>,
    opts: &Options,
    reporter: &mut dyn Reporter,
) -> Summary {
    let mut queue: VecDeque<(Job, u32, bool)> = jobs.into_iter().map(|j| (j, 1, false)).collect();
    let mut waiting: Vec<(Job, u32, bool)> = Vec::new();
    let mut free: Vec<Slot> = slots.into_iter().rev().collect();
    let mut busy_gpu: HashMap<u32, usize> = HashMap::new();
    let mut exclusive_gpu: HashSet<u32> = HashSet::new();
    let mut running: JoinSet<Exit> = JoinSet::new();
    let (events_tx, mut events_rx) = mpsc::unbounded_channel::<(usize, RunKey, WorkerEvent)>();
    let (kill_tx, kill_rx) = watch::channel(Stop::Run);
    let mut summary = Summary::default();
    let mut stopping = false;
    let mut interrupts = 0;
    let mut poll = tokio::time::interval(Duration::from_millis(500));
    let mut packer = match &opts.packing {
        GpuPacking::Fixed => None,
        GpuPacking::ByMemory { probe, readings } => {
            Some(Packer::new(probe.clone(), store.root(), readings))
        }
    };
    let mut placements: HashMap<usize, (u32, Placement)> = HashMap::new();
    let mut memory_tick = tokio::time::interval(Duration::from_millis(250));
    memory_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

    loop {
        // Launch what fits.
        while !stopping && !queue.is_empty() {
            let shape = packer
                .as_ref()
                .map(|_| memory_shape(&queue[0].0.spec.input.run));
            let gpus = GpuState {
                busy: &busy_gpu,
                exclusive: &exclusive_gpu,
                packer: packer.as_ref().zip(shape.as_deref()),
            };
            let Some((pos, admission)) = pick_slot(&free, &queue[0], &gpus) else {
                break;
            };
            let (job, attempt, exclusive) = queue.pop_front().expect("non-empty");
            let dir = store.run_dir(job.key());
            match Lease::try_acquire(&dir) {
                Ok(Acquire::Busy(holder)) => {
                    reporter.report(&Progress::Waiting {
                        key: job.key().clone(),
                        label: job.label.clone(),
                        holder,
                    });
                    waiting.push((job, attempt, exclusive));
                    continue;
                }
                Ok(Acquire::Held(lease)) => {
                    if store.status(job.key()) == RunStatus::Done {
                        summary.cached_by_other.push(job.key().clone());
                        reporter.report(&Progress::CachedByOther {
                            key: job.key().clone(),
                            label: job.label.clone(),
                        });
                        continue;
                    }
                    if let Err(e) = store.prepare(&job.spec) {
                        summary.failed.push((
                            job,
                            FailureKind::Crashed,
                            format!("cannot prepare run folder: {e}"),
                        ));
                        continue;
                    }
                    drop(lease); // the worker takes it for the whole run
                }
                Err(e) => {
                    summary.failed.push((
                        job,
                        FailureKind::Crashed,
                        format!("cannot open lease: {e}"),
                    ));
                    continue;
                }
            }
            let slot = free.remove(pos);
            let mut device = slot.describe();
            if let SlotDevice::Gpu { index } = slot.device {
                *busy_gpu.entry(index).or_default() += 1;
                match (packer.as_mut(), admission) {
                    (Some(p), Some(Admission::Measure)) => {
                        p.start_measuring(index, shape.as_deref().unwrap_or_default());
                        placements.insert(slot.id, (index, Placement::Measured));
                        exclusive_gpu.insert(index);
                        device.push_str(", alone: measuring its memory");
                    }
                    (Some(p), Some(Admission::Packed { reserve_mib })) => {
                        p.reserve(index, reserve_mib);
                        placements.insert(slot.id, (index, Placement::Packed(reserve_mib)));
                    }
                    _ => {}
                }
                if exclusive {
                    exclusive_gpu.insert(index);
                }
            }
            reporter.report(&Progress::Started {
                slot: slot.id,
                device,
                key: job.key().clone(),
                label: job.label.clone(),
                attempt,
            });
            running.spawn(attempt_run(
                slot,
                job,
                attempt,
                opts.clone(),
                dir,
                events_tx.clone(),
                kill_rx.clone(),
            ));
        }
        if running.is_empty() && (queue.is_empty() || stopping) && waiting.is_empty() {
            break;
        }
        if running.is_empty() && stopping {
            break;
        }

        tokio::select! {
            Some(joined) = running.join_next() => {
                let Ok(exit) = joined else { continue };
                if let SlotDevice::Gpu { index } = exit.slot.device {
                    if let Some(n) = busy_gpu.get_mut(&index) { *n = n.saturating_sub(1); }
                    exclusive_gpu.remove(&index);
                }
                let slot_id = exit.slot.id;
                free.push(exit.slot.clone());
                // Deliver any events still queued from this worker first.
                while let Ok((s, key, event)) = events_rx.try_recv() {
                    reporter.report(&Progress::Worker { slot: s, key, event });
                }
                // What packing needs to know of the run once `exit` is consumed.
                let packed = placements.remove(&slot_id).map(|placement| {
                    (placement, exit.job.clone())
                });
                let ended = handle_exit(exit, slot_id, store, opts, &mut queue, &mut waiting, &mut summary, &mut stopping, reporter);
                if let (Some(p), Some(((gpu, placement), job))) = (packer.as_mut(), packed) {
                    match placement {
                        Placement::Packed(mib) => p.release(gpu, mib),
                        Placement::Measured => {
                            if let Some(mib) = p.finish_measuring(gpu, ended == Ended::Done) {
                                reporter.report(&Progress::Measured { key: job.key().clone(), label: job.label, gpu, mib });
                            }
                        }
                    }
                    if ended == Ended::Failed(FailureKind::Oom) {
                        p.forget(&memory_shape(&job.spec.input.run));
                    }
                }
            }
            _ = memory_tick.tick(), if packer.as_ref().is_some_and(Packer::measuring) => {
                if let Some(p) = packer.as_mut() {
                    p.sample().await;
                }
            }
            Some((slot, key, event)) = events_rx.recv() => {
                reporter.report(&Progress::Worker { slot, key, event });
            }
            _ = tokio::signal::ctrl_c() => {
                interrupts += 1;
                stopping = true;
                summary.interrupted = true;
                let killing = interrupts >= 2;
                let _ = kill_tx.send(if killing { Stop::Kill } else { Stop::AfterEpoch });
                reporter.report(&Progress::Interrupted { killing });
            }
            _ = poll.tick(), if !waiting.is_empty() => {
                // Re-probe leases of runs another process was training.
                let mut still = Vec::new();
                for (job, attempt, exclusive) in waiting.drain(..) {
                    let dir = store.run_dir(job.key());
                    match Lease::try_acquire(&dir) {
                        Ok(Acquire::Held(_)) => {
                            if store.status(job.key()) == RunStatus::Done {
                                summary.cached_by_other.push(job.key().clone());
                                reporter.report(&Progress::CachedByOther { key: job.key().clone(), label: job.label.clone() });
                            } else if stopping {
                                summary.not_run.push(job);
                            } else {
                                queue.push_back((job, attempt, exclusive));
                            }
                        }
                        _ if stopping => summary.not_run.push(job),
                        _ => still.push((job, attempt, exclusive)),
                    }
                }
                waiting = still;
            }
        }
    }
    summary.not_run.extend(queue.into_iter().map(|(j, _, _)| j));
    summary
}

/// What the loop knows about its GPUs when placing a run.
struct GpuState<'a> {
    /// Runs of this pass on each GPU.
    busy: &'a HashMap<u32, usize>,
    /// GPUs that a run has to itself.
    exclusive: &'a HashSet<u32>,
    /// When packing by memory: the packer and the run's memory shape.
    packer: Option<(&'a Packer, &'a str)>,
}

/// Index in `free` of a slot that may take `job`, if any, and (when
/// packing by memory on a GPU) how it is admitted there.
fn pick_slot(
    free: &[Slot],
    (_, _, exclusive): &(Job, u32, bool),
    gpus: &GpuState,
) -> Option<(usize, Option<Admission>)> {
    let mut admission = None;
    let pos = free.iter().rposition(|slot| match slot.device {
        SlotDevice::Cpu { .. } => {
            admission = None;
            true
        }
        SlotDevice::Gpu { index } => {
            let busy = gpus.busy.get(&index).copied().unwrap_or(0);
            if gpus.exclusive.contains(&index) || (*exclusive && busy > 0) {
                return false;
            }
            match gpus.packer {
                None => true,
                // A retry after running out of memory is measured again.
                Some((p, _)) if *exclusive => {
                    admission = Some(Admission::Measure);
                    !p.measuring_on(index)
                }
                Some((p, shape)) => {
                    let a = p.admit(index, busy, shape);
                    admission = Some(a);
                    a != Admission::Wait
                }
            }
        }
    })?;
    Some((pos, admission))
}

/// How an attempt ended, as far as packing cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Done,
    Failed(FailureKind),
    /// Busy elsewhere, interrupted or killed: neither done nor a failure.
    Neither,
}

#[allow(clippy::too_many_arguments)]
fn handle_exit(
    exit: Exit,
    slot: usize,
    store: &Store,
    opts: &Options,
    queue: &mut VecDeque<(Job, u32, bool)>,
    waiting: &mut Vec<(Job, u32, bool)>,
    summary: &mut Summary,
    stopping: &mut bool,
    reporter: &mut dyn Reporter,
) -> Ended {
    let key = exit.job.key().clone();
    let label = exit.job.label.clone();
    let dir = store.run_dir(&key);
    let code = exit.status.as_ref().ok().and_then(ExitStatus::code);
    if code == Some(BUSY_EXIT_CODE) {
        waiting.push((exit.job, exit.attempt, false));
        return Ended::Neither;
    }
    if code == Some(INTERRUPTED_EXIT_CODE) {
        summary.not_run.push(exit.job);
        return Ended::Neither;
    }
    let done = exit.status.as_ref().is_ok_and(ExitStatus::success)
        && store.status(&key) == RunStatus::Done;
    if done {
        summary.trained.push(key.clone());
        reporter.report(&Progress::Finished {
            slot,
            key,
            label,
            result: Ok(()),
            seconds: exit.seconds,
            will_retry: false,
        });
        return Ended::Done;
    }
    if exit.killed {
        summary.not_run.push(exit.job);
        return Ended::Neither;
    }
    let (kind, message) = if exit.timed_out {
        (
            FailureKind::Timeout,
            format!("killed after {:.0}s (--timeout)", exit.seconds),
        )
    } else if let Some(r) = exit.reported {
        r
    } else {
        let message = match &exit.status {
            Ok(status) if status.success() => {
                "worker exited 0 but the run did not verify as complete".to_string()
            }
            Ok(status) => describe_exit(status, &dir),
            Err(e) => format!("could not start worker: {e}"),
        };
        (FailureKind::Crashed, message)
    };
    // Recording the failure in the folder is best effort: the summary and
    // the reporter carry it either way.
    let _ = Store::fail(&dir, kind, &message);
    let will_retry = !*stopping && opts.policy.should_retry(kind, exit.attempt);
    reporter.report(&Progress::Finished {
        slot,
        key,
        label,
        result: Err((kind, message.clone())),
        seconds: exit.seconds,
        will_retry,
    });
    if will_retry {
        // An out-of-memory run retries alone on its GPU (lower density).
        queue.push_back((exit.job, exit.attempt + 1, kind == FailureKind::Oom));
    } else {
        summary.failed.push((exit.job, kind, message));
        if opts.policy.fail_fast {
            *stopping = true;
        }
    }
    Ended::Failed(kind)
}

async fn attempt_run(
    slot: Slot,
    job: Job,
    attempt: u32,
    opts: Options,
    dir: PathBuf,
    events: mpsc::UnboundedSender<(usize, RunKey, WorkerEvent)>,
    mut stop: watch::Receiver<Stop>,
) -> Exit {
    let started = Instant::now();
    let mut exit = Exit {
        slot: slot.clone(),
        job,
        attempt,
        status: Err(std::io::Error::other("not started")),
        reported: None,
        timed_out: false,
        killed: false,
        seconds: 0.0,
    };
    // Append: a worker of another sweep may still be writing this log.
    let log = match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(LOG_FILE))
    {
        Ok(f) => f,
        Err(e) => {
            exit.status = Err(e);
            return exit;
        }
    };
    let mut cmd = tokio::process::Command::new(&opts.program);
    cmd.args(&opts.args)
        .arg(&dir)
        .envs(slot.env())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .process_group(0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            exit.status = Err(e);
            return exit;
        }
    };
    let key = exit.job.key().clone();
    let stdout = child.stdout.take();
    let reader = async {
        let mut reported = None;
        if let Some(stdout) = stdout {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(event) = WorkerEvent::from_line(&line) {
                    if let WorkerEvent::Failed { kind, message } = &event {
                        reported = Some((*kind, message.clone()));
                    }
                    let _ = events.send((slot.id, key.clone(), event));
                }
            }
        }
        reported
    };
    let deadline = async {
        match opts.timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending::<()>().await,
        }
    };
    tokio::pin!(deadline);
    let pid = child.id();
    let (reported, wait) = tokio::join!(reader, async {
        let mut asked = false;
        loop {
            tokio::select! {
                status = child.wait() => return (status, false, false),
                _ = &mut deadline => {
                    let _ = child.start_kill();
                    return (child.wait().await, true, false);
                }
                changed = stop.changed() => {
                    if changed.is_err() {
                        return (child.wait().await, false, false);
                    }
                    let now = *stop.borrow();
                    match now {
                        Stop::Kill => {
                            let _ = child.start_kill();
                            return (child.wait().await, false, true);
                        }
                        Stop::AfterEpoch if !asked => {
                            asked = true;
                            if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
                                // SAFETY: kill(2) with a valid signal has no memory effects.
                                unsafe { libc::kill(pid, libc::SIGTERM) };
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    });
    exit.reported = reported;
    exit.status = wait.0;
    exit.timed_out = wait.1;
    exit.killed = wait.2;
    exit.seconds = started.elapsed().as_secs_f64();
    exit
}
