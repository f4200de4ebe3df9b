//! The scheduling loop: pending runs → free slots → worker processes.
//!
//! ```text
//!  queue ──▶ free slot? ──▶ probe lease ──busy──▶ waiting (re-probed every half second)
//!                               │ free
//!                               ▼
//!                     start `sweep-worker <dir>` (own process group, slot env)
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
//!
//! The loop is `Loop`: its state is named fields, and each thing that
//! can wake it (a worker exit, a worker event, Ctrl-C, the lease poll, a
//! memory sample) has its own method. Processes are started through a
//! `Launcher`, so the decisions here are tested with scripted workers.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::attempt::{Attempt, AttemptExit, StopRequest, Verdict, WorkerLine};
use super::gpu_book::{GpuBook, Outcome, SlotChoice};
use super::gpu_memory::GpuPacking;
use super::job::{Job, QueuedJob};
use super::launcher::{Launcher, ProcessLauncher};
use super::policy::RetryPolicy;
use super::progress::{Progress, Reporter};
use super::slots::{CoreShare, Slot, SlotDevice, StartingRun};
use crate::hash::RunKey;
use crate::protocol::lease::{Acquire, Lease};
use crate::protocol::thread_grant::{clear_grant, write_grant};
use crate::store::{FailureKind, RunStatus, Store};

/// How to start workers and what to do when they fail.
#[derive(Debug, Clone)]
pub struct ScheduleOptions {
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

/// Runs every job, at most one per slot at a time, each in a worker
/// process started from `opts.program`. Blocks until done.
pub fn run(
    store: &Store,
    jobs: Vec<Job>,
    slots: Vec<Slot>,
    opts: &ScheduleOptions,
    reporter: &mut dyn Reporter,
) -> Summary {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let launcher = ProcessLauncher::new(opts.program.clone(), opts.args.clone());
    runtime.block_on(async {
        let interrupts = ctrl_c_presses();
        Loop::new(store, opts, &launcher, reporter)
            .schedule(jobs, slots, interrupts)
            .await
    })
}

/// Every Ctrl-C at the terminal, as a message.
fn ctrl_c_presses() -> mpsc::UnboundedReceiver<()> {
    let (presses, received) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            if presses.send(()).is_err() {
                break;
            }
        }
    });
    received
}

/// Whether a run's lease, probed before launching, lets this pass start it.
enum Claim {
    /// Free and prepared: start the worker on this folder.
    Ready(PathBuf),
    /// Another process holds it (its pid, if it wrote one).
    Busy(Option<u32>),
    /// Another process finished the run.
    DoneByOther,
    /// The folder or its lease cannot be used.
    Unusable(String),
}

/// What woke the loop.
enum Wake {
    Exited(Box<AttemptExit>),
    /// An attempt's task panicked: nothing is known of its run.
    Lost,
    Line(WorkerLine),
    Interrupt,
    PollWaiting,
    SampleMemory,
}

/// The state of one scheduling pass.
pub(crate) struct Loop<'a, L: Launcher> {
    store: &'a Store,
    options: &'a ScheduleOptions,
    launcher: &'a L,
    reporter: &'a mut dyn Reporter,
    /// Runs ready to start, in order.
    queue: VecDeque<QueuedJob>,
    /// Runs whose lease another process holds, re-probed on each poll.
    waiting: Vec<QueuedJob>,
    /// Slots with no worker; the last fitting one is taken first.
    free: Vec<Slot>,
    gpus: GpuBook,
    running: JoinSet<AttemptExit>,
    lines_in: mpsc::UnboundedSender<WorkerLine>,
    lines_out: mpsc::UnboundedReceiver<WorkerLine>,
    stop: watch::Sender<StopRequest>,
    summary: Summary,
    /// No new launches: after Ctrl-C, or a failure under fail-fast.
    stopping: bool,
    interrupts: u32,
    /// How the shared CPU slots (`SlotDevice::CpuShare`) divide the
    /// cores, when budgets follow the queue.
    core_share: Option<CoreShare>,
    /// Runs still to start in a wide first wave ([`CoreShare::budget`]).
    wide_left: u32,
    /// Runs started from shared CPU slots, by slot id: their budget now.
    cpu_budgets: HashMap<usize, CpuBudget>,
}

/// The thread budget of a run started in a shared CPU slot.
struct CpuBudget {
    threads: u32,
    run_dir: PathBuf,
}

impl<'a, L: Launcher> Loop<'a, L> {
    pub(crate) fn new(
        store: &'a Store,
        options: &'a ScheduleOptions,
        launcher: &'a L,
        reporter: &'a mut dyn Reporter,
    ) -> Self {
        let (lines_in, lines_out) = mpsc::unbounded_channel();
        Loop {
            store,
            options,
            launcher,
            reporter,
            queue: VecDeque::new(),
            waiting: Vec::new(),
            free: Vec::new(),
            gpus: GpuBook::new(&options.packing, store.root()),
            running: JoinSet::new(),
            lines_in,
            lines_out,
            stop: watch::Sender::new(StopRequest::KeepRunning),
            summary: Summary::default(),
            stopping: false,
            interrupts: 0,
            core_share: None,
            wide_left: 0,
            cpu_budgets: HashMap::new(),
        }
    }

    /// Runs `jobs` in `slots` until all are settled, or until stopped and
    /// nothing runs any more. Each message on `interrupts` is one Ctrl-C.
    pub(crate) async fn schedule(
        mut self,
        jobs: Vec<Job>,
        slots: Vec<Slot>,
        mut interrupts: mpsc::UnboundedReceiver<()>,
    ) -> Summary {
        self.queue = jobs.into_iter().map(QueuedJob::first).collect();
        self.core_share = CoreShare::of(&slots);
        self.free = slots.into_iter().rev().collect();
        let mut poll = tokio::time::interval(Duration::from_millis(500));
        let mut memory_tick = tokio::time::interval(Duration::from_millis(250));
        memory_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            self.launch_ready();
            self.grow_running();
            if self.settled() {
                break;
            }
            let wake = tokio::select! {
                Some(joined) = self.running.join_next() => match joined {
                    Ok(exit) => Wake::Exited(Box::new(exit)),
                    Err(_) => Wake::Lost,
                },
                _ = memory_tick.tick(), if self.gpus.measuring() => Wake::SampleMemory,
                Some(line) = self.lines_out.recv() => Wake::Line(line),
                Some(()) = interrupts.recv() => Wake::Interrupt,
                _ = poll.tick(), if !self.waiting.is_empty() => Wake::PollWaiting,
            };
            match wake {
                Wake::Exited(exit) => self.on_exit(*exit),
                Wake::Lost => {}
                Wake::Line(line) => self.report_line(line),
                Wake::Interrupt => self.on_interrupt(),
                Wake::PollWaiting => self.on_poll(),
                Wake::SampleMemory => self.gpus.sample().await,
            }
        }
        // Runs still queued, and runs left waiting on another process's
        // lease when the loop stopped early, were not run by this sweep.
        let never_started = self.queue.into_iter().chain(self.waiting);
        self.summary
            .not_run
            .extend(never_started.map(|queued| queued.job));
        self.summary
    }

    /// Nothing runs, and nothing more will start.
    fn settled(&self) -> bool {
        self.running.is_empty()
            && (self.stopping || (self.queue.is_empty() && self.waiting.is_empty()))
    }

    fn report(&mut self, progress: Progress) {
        self.reporter.report(&progress);
    }

    fn report_line(&mut self, line: WorkerLine) {
        self.report(Progress::Worker {
            slot: line.slot,
            key: line.key,
            event: line.event,
        });
    }

    /// Starts queued runs, in order, while the head of the queue fits a
    /// free slot.
    fn launch_ready(&mut self) {
        while !self.stopping {
            let Some(next) = self.queue.front() else {
                break;
            };
            // Runs sharing the cores wait for one to be free, so budgets
            // never add up to more than the machine has.
            if self.core_share.is_some() && self.free_cores() == 0 {
                break;
            }
            let Some(choice) = self.gpus.choose(&self.free, next) else {
                break;
            };
            let queued = self.queue.pop_front().expect("the queue has a head");
            match self.claim(&queued.job) {
                Claim::Ready(dir) => self.launch(queued, choice, dir),
                Claim::Busy(holder) => {
                    self.report(Progress::Waiting {
                        key: queued.job.key().clone(),
                        label: queued.job.label.clone(),
                        holder,
                    });
                    self.waiting.push(queued);
                }
                Claim::DoneByOther => self.record_cached_by_other(queued.job),
                Claim::Unusable(message) => {
                    self.summary
                        .failed
                        .push((queued.job, FailureKind::Crashed, message));
                }
            }
        }
    }

    /// Probes `job`'s lease and, when it is free, prepares its folder.
    fn claim(&self, job: &Job) -> Claim {
        let dir = self.store.run_dir(job.key());
        match Lease::try_acquire(&dir) {
            Ok(Acquire::Busy(holder)) => Claim::Busy(holder),
            Ok(Acquire::Held(lease)) => {
                if self.store.status(job.key()) == RunStatus::Done {
                    return Claim::DoneByOther;
                }
                if let Err(e) = self.store.prepare(&job.spec) {
                    return Claim::Unusable(format!("cannot prepare run folder: {e}"));
                }
                drop(lease); // the worker takes it for the whole run
                Claim::Ready(dir)
            }
            Err(e) => Claim::Unusable(format!("cannot open lease: {e}")),
        }
    }

    fn record_cached_by_other(&mut self, job: Job) {
        self.summary.cached_by_other.push(job.key().clone());
        self.report(Progress::CachedByOther {
            key: job.key().clone(),
            label: job.label,
        });
    }

    /// Starts `queued`'s worker on its prepared folder `dir`, in the slot
    /// `choice` names.
    fn launch(&mut self, queued: QueuedJob, choice: SlotChoice, dir: PathBuf) {
        let mut slot = self.free.remove(choice.index);
        if let (SlotDevice::CpuShare { .. }, Some(share)) = (&slot.device, self.core_share) {
            slot = self.budget(&slot, share, &dir);
        }
        let mut device = slot.describe();
        if self.gpus.occupy(&slot, queued.alone, choice) {
            device.push_str(", alone: measuring its memory");
        }
        self.report(Progress::Started {
            slot: slot.id,
            device,
            key: queued.job.key().clone(),
            label: queued.job.label.clone(),
            attempt: queued.attempt,
        });
        let started = Instant::now();
        let worker = self.launcher.start(&queued.job, &slot, &dir);
        let attempt = Attempt {
            slot,
            queued,
            started,
        };
        self.running.spawn(attempt.follow(
            worker,
            self.options.timeout,
            self.lines_in.clone(),
            self.stop.subscribe(),
        ));
    }

    /// A worker ended: free its slot, settle its run, and close its GPU
    /// memory bookkeeping.
    fn on_exit(&mut self, exit: AttemptExit) {
        let gpu_run = self.gpus.vacate(&exit.slot);
        match (self.cpu_budgets.remove(&exit.slot.id), self.core_share) {
            (Some(budget), Some(share)) => {
                clear_grant(&budget.run_dir);
                self.free.push(Slot {
                    id: exit.slot.id,
                    device: share.slot_device(),
                })
            }
            _ => self.free.push(exit.slot.clone()),
        }
        // Deliver any lines still queued from this worker first.
        while let Ok(line) = self.lines_out.try_recv() {
            self.report_line(line);
        }
        let job = gpu_run.map(|_| exit.queued.job.clone());
        let outcome = self.settle(exit);
        if let (Some(run), Some(job)) = (gpu_run, job)
            && let Some(mib) = self.gpus.settle(run, outcome, &job)
        {
            self.report(Progress::Measured {
                key: job.key().clone(),
                label: job.label,
                gpu: run.gpu,
                mib,
            });
        }
    }

    /// Cores no run started from a shared CPU slot holds.
    fn free_cores(&self) -> u32 {
        let used: u32 = self.cpu_budgets.values().map(|b| b.threads).sum();
        self.core_share
            .map_or(0, |share| share.cores.saturating_sub(used))
    }

    /// The budget of a run about to start in the shared CPU slot `slot`
    /// (see [`CoreShare::budget`]). A grant left in `dir` by an earlier
    /// pass is removed, so the run starts on this budget.
    fn budget(&mut self, slot: &Slot, share: CoreShare, dir: &std::path::Path) -> Slot {
        let free_slots = self
            .free
            .iter()
            .filter(|s| matches!(s.device, SlotDevice::CpuShare { .. }))
            .count()
            + 1;
        let now = StartingRun {
            free_cores: self.free_cores(),
            free_slots: free_slots as u32,
            pending: (self.queue.len() + self.waiting.len() + 1) as u32,
        };
        let threads = share.budget(now, &mut self.wide_left);
        clear_grant(dir);
        self.cpu_budgets.insert(
            slot.id,
            CpuBudget {
                threads,
                run_dir: dir.to_path_buf(),
            },
        );
        slot.with_threads(threads)
    }

    /// At the tail of a sweep (nothing queued or waiting), with
    /// `grow_threads`: shares the cores no run uses between the runs still
    /// training, up to the cap, by writing each new budget to the run's
    /// grant file, which its worker reads at its next epoch boundary.
    fn grow_running(&mut self) {
        let Some(CoreShare {
            max_threads,
            grow: true,
            ..
        }) = self.core_share
        else {
            return;
        };
        if self.stopping || !self.queue.is_empty() || !self.waiting.is_empty() {
            return;
        }
        let mut spare = self.free_cores();
        let mut ids: Vec<usize> = self.cpu_budgets.keys().copied().collect();
        ids.sort_unstable();
        // Round-robin one core at a time, so the spare cores are shared
        // evenly and nobody passes the cap.
        let mut grown = false;
        while spare > 0 {
            let mut gave = false;
            for id in &ids {
                let budget = self.cpu_budgets.get_mut(id).expect("listed");
                if spare > 0 && budget.threads < max_threads {
                    budget.threads += 1;
                    spare -= 1;
                    gave = true;
                }
            }
            grown |= gave;
            if !gave {
                break;
            }
        }
        if !grown {
            return;
        }
        for budget in self.cpu_budgets.values() {
            // Best effort: a worker that does not see it keeps its budget.
            let _ = write_grant(&budget.run_dir, budget.threads);
        }
    }

    /// Records what the ended attempt amounts to.
    fn settle(&mut self, exit: AttemptExit) -> Outcome {
        match exit.verdict(self.store) {
            Verdict::LeaseBusy => {
                self.waiting.push(QueuedJob {
                    alone: false,
                    ..exit.queued
                });
                Outcome::Unfinished
            }
            Verdict::Stopped => {
                self.summary.not_run.push(exit.queued.job);
                Outcome::Unfinished
            }
            Verdict::Done => {
                let job = exit.queued.job;
                self.summary.trained.push(job.key().clone());
                self.report(Progress::Finished {
                    slot: exit.slot.id,
                    key: job.key().clone(),
                    label: job.label,
                    result: Ok(()),
                    seconds: exit.seconds,
                    will_retry: false,
                });
                Outcome::Done
            }
            Verdict::Failed { kind, message } => {
                self.on_failure(exit, kind, message);
                Outcome::Failed(kind)
            }
        }
    }

    /// A failed attempt: recorded in its folder, then retried or given up
    /// (which stops the pass under fail-fast).
    fn on_failure(&mut self, exit: AttemptExit, kind: FailureKind, message: String) {
        let job = &exit.queued.job;
        // Recording the failure in the folder is best effort: the summary
        // and the reporter carry it either way.
        let _ = Store::fail(&self.store.run_dir(job.key()), kind, &message);
        let policy = self.options.policy;
        let will_retry = !self.stopping && policy.should_retry(kind, exit.queued.attempt);
        self.report(Progress::Finished {
            slot: exit.slot.id,
            key: job.key().clone(),
            label: job.label.clone(),
            result: Err((kind, message.clone())),
            seconds: exit.seconds,
            will_retry,
        });
        if will_retry {
            // An out-of-memory run retries alone on its GPU (lower density).
            let alone = kind == FailureKind::Oom;
            self.queue.push_back(exit.queued.retry(alone));
        } else {
            self.summary.failed.push((exit.queued.job, kind, message));
            if policy.fail_fast {
                self.stopping = true;
            }
        }
    }

    /// Ctrl-C: no new launches; running workers are asked to stop after
    /// their epoch the first time, killed the second.
    fn on_interrupt(&mut self) {
        self.interrupts += 1;
        self.stopping = true;
        self.summary.interrupted = true;
        let killing = self.interrupts >= 2;
        self.stop.send_replace(if killing {
            StopRequest::Kill
        } else {
            StopRequest::AfterEpoch
        });
        self.report(Progress::Interrupted { killing });
    }

    /// Re-probes the leases of runs another process was training.
    fn on_poll(&mut self) {
        for queued in std::mem::take(&mut self.waiting) {
            let dir = self.store.run_dir(queued.job.key());
            match Lease::try_acquire(&dir) {
                Ok(Acquire::Held(_)) => {
                    if self.store.status(queued.job.key()) == RunStatus::Done {
                        self.record_cached_by_other(queued.job);
                    } else if self.stopping {
                        self.summary.not_run.push(queued.job);
                    } else {
                        self.queue.push_back(queued);
                    }
                }
                _ if self.stopping => self.summary.not_run.push(queued.job),
                _ => self.waiting.push(queued),
            }
        }
    }
}
