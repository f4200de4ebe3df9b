//! The scheduling loop's decisions, tested with scripted workers.
//!
//! [`FakeLauncher`] starts no process: each worker follows a [`Script`]
//! (train for a while, fail with a kind, stop only when asked, or ignore
//! that) and logs what happened to it. The tests then assert which slot each
//! run got, how often it was tried, what Ctrl-C and fail-fast did, and how
//! GPU admission placed runs.

use std::collections::{HashMap, HashSet};
use std::io::{self, Cursor};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::engine::{Loop, ScheduleOptions, Summary};
use super::gpu_memory::{Footprints, GpuMemoryProbe, GpuPacking, GpuReading, memory_shape};
use super::job::Job;
use super::launcher::{Launcher, RunningWorker};
use super::policy::RetryPolicy;
use super::progress::{Progress, Reporter};
use super::slots::{Slot, SlotDevice};
use crate::fingerprints::{Fingerprint, FingerprintError, Fingerprints};
use crate::hash::RunKey;
use crate::plan::plan;
use crate::protocol::events::WorkerEvent;
use crate::protocol::exit::INTERRUPTED_EXIT_CODE;
use crate::protocol::lease::{Acquire, Lease};
use crate::protocol::thread_grant::{GRANT_FILE, read_grant};
use crate::store::{FailureKind, RunStatus, Store};
use sweep_data::catalog::DatasetRef;

/// What a scripted worker does in one attempt.
#[derive(Debug, Clone, Copy)]
enum Script {
    /// Trains for this many milliseconds, marks its run complete, exits 0.
    Train(u64),
    /// Reports this failure after a few milliseconds and exits 1.
    Fail(FailureKind),
    /// Runs until asked to stop (then exits as an interrupted worker does)
    /// or killed.
    UntilStopped,
    /// Ignores requests to stop: only a kill ends it.
    Stubborn,
}

/// What happened to the scripted workers, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Happened {
    Started {
        label: String,
        slot: usize,
        attempt: usize,
    },
    AskedToStop(String),
    Killed(String),
    Ended(String),
    /// A training worker found this grown thread budget when it ended.
    Granted(String, String),
}

type Log = Arc<Mutex<Vec<Happened>>>;

struct FakeLauncher {
    /// Per job label, the script of each attempt; the last one repeats.
    scripts: HashMap<String, Vec<Script>>,
    attempts: Mutex<HashMap<String, usize>>,
    log: Log,
    /// Told each label as its worker starts.
    started: mpsc::UnboundedSender<String>,
}

impl Launcher for FakeLauncher {
    type Worker = FakeWorker;

    fn start(&self, job: &Job, slot: &Slot, run_dir: &Path) -> io::Result<FakeWorker> {
        let label = job.label.clone();
        let attempt = {
            let mut attempts = self.attempts.lock().unwrap();
            let n = attempts.entry(label.clone()).or_default();
            *n += 1;
            *n
        };
        let scripts = &self.scripts[&label];
        let script = scripts[(attempt - 1).min(scripts.len() - 1)];
        let output = match script {
            Script::Fail(kind) => {
                let failed = WorkerEvent::Failed {
                    kind,
                    message: format!("scripted {kind}"),
                };
                format!("{}\n", failed.to_line())
            }
            _ => String::new(),
        };
        self.log.lock().unwrap().push(Happened::Started {
            label: label.clone(),
            slot: slot.id,
            attempt,
        });
        let _ = self.started.send(label.clone());
        Ok(FakeWorker {
            label,
            script,
            run_dir: run_dir.to_path_buf(),
            key: job.key().clone(),
            output: Some(Cursor::new(output.into_bytes())),
            started: Instant::now(),
            asked: false,
            killed: false,
            log: self.log.clone(),
        })
    }
}

struct FakeWorker {
    label: String,
    script: Script,
    run_dir: PathBuf,
    key: RunKey,
    output: Option<Cursor<Vec<u8>>>,
    started: Instant,
    asked: bool,
    killed: bool,
    log: Log,
}

fn exit_code(code: i32) -> ExitStatus {
    ExitStatus::from_raw(code << 8)
}

impl FakeWorker {
    async fn run(&mut self) -> ExitStatus {
        if self.killed {
            return ExitStatus::from_raw(libc::SIGKILL);
        }
        match self.script {
            Script::Stubborn => std::future::pending().await,
            _ if self.asked => exit_code(INTERRUPTED_EXIT_CODE),
            Script::UntilStopped => std::future::pending().await,
            Script::Train(ms) => {
                tokio::time::sleep_until(self.started + Duration::from_millis(ms)).await;
                if let Some(grant) = read_grant(&self.run_dir) {
                    let granted = Happened::Granted(self.label.clone(), grant.to_string());
                    self.log.lock().unwrap().push(granted);
                }
                Store::complete(&self.run_dir, &self.key, &[]).expect("completion marker");
                exit_code(0)
            }
            Script::Fail(_) => {
                tokio::time::sleep_until(self.started + Duration::from_millis(5)).await;
                exit_code(1)
            }
        }
    }
}

impl RunningWorker for FakeWorker {
    type Output = Cursor<Vec<u8>>;

    fn take_output(&mut self) -> Option<Cursor<Vec<u8>>> {
        self.output.take()
    }

    async fn wait(&mut self) -> io::Result<ExitStatus> {
        let status = self.run().await;
        let ended = Happened::Ended(self.label.clone());
        self.log.lock().unwrap().push(ended);
        Ok(status)
    }

    fn ask_to_stop(&mut self) {
        self.asked = true;
        let asked = Happened::AskedToStop(self.label.clone());
        self.log.lock().unwrap().push(asked);
    }

    fn kill(&mut self) {
        self.killed = true;
        let killed = Happened::Killed(self.label.clone());
        self.log.lock().unwrap().push(killed);
    }
}

#[derive(Default)]
struct Recorder(Vec<Progress>);

impl Reporter for Recorder {
    fn report(&mut self, progress: &Progress) {
        self.0.push(progress.clone());
    }
}

struct SyntheticData;

impl Fingerprints for SyntheticData {
    fn fingerprint(&self, _: &DatasetRef, _: &Path) -> Result<Fingerprint, FingerprintError> {
        Ok(("0".repeat(64), None))
    }
}

/// A results folder and `n` jobs of one memory shape, labelled a, b, c…
struct Sweep {
    _tmp: tempfile::TempDir,
    store: Store,
    jobs: Vec<Job>,
}

fn sweep(n: usize) -> Sweep {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path().join("results"));
    let seeds: Vec<String> = (0..n).map(|s| s.to_string()).collect();
    let yaml = format!(
        "name: t\ngrid:\n  dataset: synthetic:breastmnist\n  arch: small_cnn\n  lr: 0.001\n  seed: [{}]\n",
        seeds.join(", ")
    );
    let exp = crate::spec::load_str(&yaml, Path::new("t.yaml")).expect("valid");
    let jobs: Vec<Job> = plan(
        &exp,
        Default::default(),
        Path::new("."),
        &store,
        &SyntheticData,
    )
    .runs
    .iter()
    .zip('a'..)
    .map(|(run, label)| Job::planned(run, "t", label.to_string()).expect("keyed"))
    .collect();
    assert_eq!(jobs.len(), n);
    Sweep {
        _tmp: tmp,
        store,
        jobs,
    }
}

impl Sweep {
    fn job(&self, label: &str) -> &Job {
        self.jobs.iter().find(|j| j.label == label).unwrap()
    }
}

fn options(policy: RetryPolicy) -> ScheduleOptions {
    ScheduleOptions {
        program: PathBuf::from("not-started-by-the-fake-launcher"),
        args: Vec::new(),
        policy,
        timeout: None,
        packing: GpuPacking::Fixed,
    }
}

fn cpu_slots(n: usize) -> Vec<Slot> {
    (0..n)
        .map(|id| Slot {
            id,
            device: SlotDevice::Cpu { threads: 1 },
        })
        .collect()
}

/// `n` CPU slots sharing `cores`, budgets following the queue.
fn shared_cpu_slots(n: usize, cores: u32, grow: bool) -> Vec<Slot> {
    (0..n)
        .map(|id| Slot {
            id,
            device: SlotDevice::CpuShare {
                cores,
                max_threads: cores,
                grow,
            },
        })
        .collect()
}

/// Schedules `sweep` on two CPU slots sharing `cores`, with default retries.
fn two_shared_slots(sweep: &Sweep, cores: u32, grow: bool, scripts: &[(&str, &[Script])]) -> Ran {
    schedule(
        sweep,
        shared_cpu_slots(2, cores, grow),
        &options(RetryPolicy::default()),
        scripts,
        CtrlC::Never,
    )
}

fn gpu_slots(n: usize) -> Vec<Slot> {
    (0..n)
        .map(|id| Slot {
            id,
            device: SlotDevice::Gpu { index: 0 },
        })
        .collect()
}

/// When the test presses Ctrl-C.
#[derive(Debug, Clone, Copy)]
enum CtrlC {
    Never,
    /// `presses` times, 100 ms apart, once `starts` workers have started.
    AfterStarts {
        starts: usize,
        presses: usize,
    },
}

/// What a pass did.
struct Ran {
    summary: Summary,
    progress: Vec<Progress>,
    happened: Vec<Happened>,
}

impl Ran {
    fn labels(jobs: &[Job]) -> Vec<&str> {
        jobs.iter().map(|j| j.label.as_str()).collect()
    }

    fn started(&self) -> Vec<(&str, usize, usize)> {
        self.happened
            .iter()
            .filter_map(|h| match h {
                Happened::Started {
                    label,
                    slot,
                    attempt,
                } => Some((label.as_str(), *slot, *attempt)),
                _ => None,
            })
            .collect()
    }

    /// `will_retry` of each `Finished` of `label`, in order.
    fn retries_of(&self, label: &str) -> Vec<bool> {
        self.progress
            .iter()
            .filter_map(|p| match p {
                Progress::Finished {
                    label: l,
                    will_retry,
                    ..
                } if l == label => Some(*will_retry),
                _ => None,
            })
            .collect()
    }

    /// The thread grants sent to running runs, in order.
    fn grants(&self) -> Vec<&Happened> {
        self.happened
            .iter()
            .filter(|h| matches!(h, Happened::Granted(..)))
            .collect()
    }

    /// The device each start was reported on, in order.
    fn devices(&self) -> Vec<String> {
        self.progress
            .iter()
            .filter_map(|p| match p {
                Progress::Started { device, .. } => Some(device.clone()),
                _ => None,
            })
            .collect()
    }

    /// The workers running when each one started, by label and attempt.
    fn company_at_start(&self) -> Vec<(String, usize, HashSet<String>)> {
        let mut running = HashSet::new();
        let mut company = Vec::new();
        for h in &self.happened {
            match h {
                Happened::Started { label, attempt, .. } => {
                    company.push((label.clone(), *attempt, running.clone()));
                    running.insert(label.clone());
                }
                Happened::Ended(label) => {
                    running.remove(label);
                }
                _ => {}
            }
        }
        company
    }

    fn most_at_once(&self) -> usize {
        self.company_at_start()
            .iter()
            .map(|(_, _, others)| others.len() + 1)
            .max()
            .unwrap_or(0)
    }
}

fn schedule(
    sweep: &Sweep,
    slots: Vec<Slot>,
    options: &ScheduleOptions,
    scripts: &[(&str, &[Script])],
    ctrl_c: CtrlC,
) -> Ran {
    let (started, mut starts) = mpsc::unbounded_channel();
    let launcher = FakeLauncher {
        scripts: scripts
            .iter()
            .map(|(label, s)| (label.to_string(), s.to_vec()))
            .collect(),
        attempts: Mutex::new(HashMap::new()),
        log: Log::default(),
        started,
    };
    let mut recorder = Recorder::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (press, interrupts) = mpsc::unbounded_channel();
    let summary = runtime.block_on(async {
        if let CtrlC::AfterStarts { starts: n, presses } = ctrl_c {
            let press = press.clone();
            tokio::spawn(async move {
                for _ in 0..n {
                    starts.recv().await;
                }
                for i in 0..presses {
                    if i > 0 {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    let _ = press.send(());
                }
            });
        }
        Loop::new(&sweep.store, options, &launcher, &mut recorder)
            .schedule(sweep.jobs.clone(), slots, interrupts)
            .await
    });
    drop(press);
    let happened = launcher.log.lock().unwrap().clone();
    Ran {
        summary,
        progress: recorder.0,
        happened,
    }
}

#[test]
fn runs_take_free_slots_in_order_and_a_freed_slot_takes_the_next_run() {
    let sweep = sweep(3);
    let ran = schedule(
        &sweep,
        cpu_slots(2),
        &options(RetryPolicy::default()),
        &[
            ("a", &[Script::Train(50)]),
            ("b", &[Script::Train(600)]),
            ("c", &[Script::Train(50)]),
        ],
        CtrlC::Never,
    );
    assert_eq!(ran.started(), [("a", 0, 1), ("b", 1, 1), ("c", 0, 1)]);
    assert_eq!(ran.summary.trained.len(), 3);
    for job in &sweep.jobs {
        assert_eq!(sweep.store.status(job.key()), RunStatus::Done);
    }
    assert!(ran.summary.failed.is_empty() && ran.summary.not_run.is_empty());
}

#[test]
fn transient_failures_are_retried_as_the_policy_allows_and_deterministic_ones_never() {
    let sweep = sweep(3);
    let policy = RetryPolicy {
        max_retries: 2,
        fail_fast: false,
    };
    let ran = schedule(
        &sweep,
        cpu_slots(1),
        &options(policy),
        &[
            ("a", &[Script::Fail(FailureKind::Crashed)]),
            ("b", &[Script::Fail(FailureKind::Diverged)]),
            (
                "c",
                &[Script::Fail(FailureKind::Timeout), Script::Train(10)],
            ),
        ],
        CtrlC::Never,
    );
    assert_eq!(ran.retries_of("a"), [true, true, false]);
    assert_eq!(ran.retries_of("b"), [false]);
    assert_eq!(ran.retries_of("c"), [true, false]);
    let attempts_of_a: Vec<usize> = ran
        .started()
        .iter()
        .filter(|(label, ..)| *label == "a")
        .map(|(_, _, attempt)| *attempt)
        .collect();
    assert_eq!(attempts_of_a, [1, 2, 3]);
    let failed: Vec<(&str, FailureKind, &str)> = ran
        .summary
        .failed
        .iter()
        .map(|(job, kind, message)| (job.label.as_str(), *kind, message.as_str()))
        .collect();
    assert_eq!(
        failed,
        [
            ("b", FailureKind::Diverged, "scripted diverged"),
            ("a", FailureKind::Crashed, "scripted crashed"),
        ]
    );
    assert_eq!(ran.summary.trained, [sweep.job("c").key().clone()]);
    let RunStatus::Failed(recorded) = sweep.store.status(sweep.job("a").key()) else {
        panic!("the failure is recorded in the run folder");
    };
    assert_eq!(recorded.kind, FailureKind::Crashed);
}

#[test]
fn a_run_out_of_memory_is_retried_alone_on_its_gpu() {
    // Both runs run out of memory together; their retries may not share
    // the card, though two slots are free.
    let sweep = sweep(2);
    let ran = schedule(
        &sweep,
        gpu_slots(2),
        &options(RetryPolicy::default()),
        &[
            ("a", &[Script::Fail(FailureKind::Oom), Script::Train(150)]),
            ("b", &[Script::Fail(FailureKind::Oom), Script::Train(150)]),
        ],
        CtrlC::Never,
    );
    let company = ran.company_at_start();
    assert_eq!(company.len(), 4, "{company:?}");
    for (label, attempt, others) in &company {
        if *attempt == 2 {
            assert!(others.is_empty(), "{label}'s retry ran beside {others:?}");
        }
    }
    assert_eq!(ran.summary.trained.len(), 2);
}

#[test]
fn fail_fast_stops_new_launches_but_lets_running_workers_finish() {
    let sweep = sweep(4);
    let policy = RetryPolicy {
        max_retries: 1,
        fail_fast: true,
    };
    let ran = schedule(
        &sweep,
        cpu_slots(2),
        &options(policy),
        &[
            ("a", &[Script::Fail(FailureKind::Diverged)]),
            ("b", &[Script::Train(300)]),
            ("c", &[Script::Train(10)]),
            ("d", &[Script::Train(10)]),
        ],
        CtrlC::Never,
    );
    let started: Vec<&str> = ran.started().iter().map(|(label, ..)| *label).collect();
    assert_eq!(started, ["a", "b"]);
    assert!(!ran.happened.contains(&Happened::AskedToStop("b".into())));
    assert_eq!(ran.summary.trained, [sweep.job("b").key().clone()]);
    assert_eq!(ran.summary.failed.len(), 1);
    assert_eq!(Ran::labels(&ran.summary.not_run), ["c", "d"]);
    assert!(!ran.summary.interrupted);
}

#[test]
fn a_first_ctrl_c_asks_running_workers_to_stop_after_their_epoch() {
    let sweep = sweep(3);
    let ran = schedule(
        &sweep,
        cpu_slots(2),
        &options(RetryPolicy::default()),
        &[
            ("a", &[Script::UntilStopped]),
            ("b", &[Script::UntilStopped]),
            ("c", &[Script::Train(10)]),
        ],
        CtrlC::AfterStarts {
            starts: 2,
            presses: 1,
        },
    );
    for label in ["a", "b"] {
        assert!(ran.happened.contains(&Happened::AskedToStop(label.into())));
        assert!(!ran.happened.contains(&Happened::Killed(label.into())));
    }
    assert!(ran.summary.interrupted);
    let mut not_run = Ran::labels(&ran.summary.not_run);
    not_run.sort_unstable();
    assert_eq!(not_run, ["a", "b", "c"]);
    assert!(ran.summary.failed.is_empty() && ran.summary.trained.is_empty());
    assert!(
        !ran.progress
            .iter()
            .any(|p| matches!(p, Progress::Finished { .. })),
        "a stopped run is neither done nor failed"
    );
    assert!(matches!(
        sweep.store.status(sweep.job("a").key()),
        RunStatus::Stale(_)
    ));
    let interrupts: Vec<bool> = ran
        .progress
        .iter()
        .filter_map(|p| match p {
            Progress::Interrupted { killing } => Some(*killing),
            _ => None,
        })
        .collect();
    assert_eq!(interrupts, [false]);
}

#[test]
fn a_second_ctrl_c_kills_a_worker_that_keeps_running() {
    let sweep = sweep(1);
    let ran = schedule(
        &sweep,
        cpu_slots(1),
        &options(RetryPolicy::default()),
        &[("a", &[Script::Stubborn])],
        CtrlC::AfterStarts {
            starts: 1,
            presses: 2,
        },
    );
    let asked = Happened::AskedToStop("a".into());
    let killed = Happened::Killed("a".into());
    let position = |h: &Happened| ran.happened.iter().position(|x| x == h);
    let (asked_at, killed_at) = (position(&asked), position(&killed));
    assert!(
        asked_at.is_some() && killed_at.is_some(),
        "{:?}",
        ran.happened
    );
    assert!(asked_at < killed_at, "asked first, then killed");
    assert_eq!(Ran::labels(&ran.summary.not_run), ["a"]);
    assert!(
        ran.summary.failed.is_empty(),
        "a killed run is not a failure"
    );
    assert!(
        ran.progress
            .iter()
            .any(|p| matches!(p, Progress::Interrupted { killing: true }))
    );
}

#[test]
fn an_attempt_past_the_timeout_is_killed_failed_as_timeout_and_retried() {
    let sweep = sweep(1);
    let opts = ScheduleOptions {
        timeout: Some(Duration::from_millis(100)),
        ..options(RetryPolicy::default())
    };
    let ran = schedule(
        &sweep,
        cpu_slots(1),
        &opts,
        &[("a", &[Script::Stubborn, Script::Train(10)])],
        CtrlC::Never,
    );
    assert!(ran.happened.contains(&Happened::Killed("a".into())));
    let first = ran
        .progress
        .iter()
        .find_map(|p| match p {
            Progress::Finished { result, .. } => Some(result.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        first,
        Err((FailureKind::Timeout, "killed after 0s (--timeout)".into()))
    );
    assert_eq!(ran.retries_of("a"), [true, false]);
    assert_eq!(ran.summary.trained.len(), 1);
}

#[test]
fn a_run_another_process_trains_is_waited_for_then_counted_as_cached() {
    let sweep = sweep(2);
    let a = sweep.job("a").clone();
    let dir = sweep.store.run_dir(a.key());
    let Acquire::Held(lease) = Lease::try_acquire(&dir).unwrap() else {
        panic!("a fresh lease is free");
    };
    let (started, _starts) = mpsc::unbounded_channel();
    let launcher = FakeLauncher {
        scripts: HashMap::from([("b".to_string(), vec![Script::Train(10)])]),
        attempts: Mutex::new(HashMap::new()),
        log: Log::default(),
        started,
    };
    let mut recorder = Recorder::default();
    let options = options(RetryPolicy::default());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_press, interrupts) = mpsc::unbounded_channel();
    let summary = runtime.block_on(async {
        // The other process finishes the run and lets go of its lease.
        let other = {
            let (dir, key) = (dir.clone(), a.key().clone());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                Store::complete(&dir, &key, &[]).unwrap();
                drop(lease);
            })
        };
        let summary = Loop::new(&sweep.store, &options, &launcher, &mut recorder)
            .schedule(sweep.jobs.clone(), cpu_slots(1), interrupts)
            .await;
        other.await.unwrap();
        summary
    });
    assert_eq!(summary.cached_by_other, [a.key().clone()]);
    assert_eq!(summary.trained, [sweep.job("b").key().clone()]);
    let happened = launcher.log.lock().unwrap().clone();
    assert!(
        !happened
            .iter()
            .any(|h| matches!(h, Happened::Started { label, .. } if label == "a")),
        "{happened:?}"
    );
    assert!(recorder.0.iter().any(|p| matches!(
        p,
        Progress::Waiting { holder: Some(pid), .. } if *pid == std::process::id()
    )));
}

#[test]
fn a_run_left_waiting_on_another_process_when_ctrl_c_stops_the_loop_is_not_run() {
    // Ctrl-C comes while this sweep's only run is held by another process:
    // nothing of its own runs, so the loop ends at once, and the run it was
    // waiting for must still be reported as not run.
    let sweep = sweep(1);
    let a = sweep.job("a").clone();
    let Acquire::Held(_held_elsewhere) = Lease::try_acquire(&sweep.store.run_dir(a.key())).unwrap()
    else {
        panic!("a fresh lease is free");
    };
    let (started, _starts) = mpsc::unbounded_channel();
    let launcher = FakeLauncher {
        scripts: HashMap::new(),
        attempts: Mutex::new(HashMap::new()),
        log: Log::default(),
        started,
    };
    let mut recorder = Recorder::default();
    let options = options(RetryPolicy::default());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (press, interrupts) = mpsc::unbounded_channel();
    press.send(()).unwrap();
    let summary = runtime.block_on(
        Loop::new(&sweep.store, &options, &launcher, &mut recorder).schedule(
            sweep.jobs.clone(),
            cpu_slots(1),
            interrupts,
        ),
    );
    assert!(summary.interrupted);
    assert_eq!(Ran::labels(&summary.not_run), ["a"]);
    assert!(summary.cached_by_other.is_empty() && summary.trained.is_empty());
}

/// Packing by memory on GPU 0, which had `free_mib` free before the pass;
/// its probe reads nothing, so measurements record no footprint.
fn by_memory(free_mib: u64) -> ScheduleOptions {
    let readings = HashMap::from([(
        0,
        GpuReading {
            used_mib: 1_000,
            total_mib: 1_000 + free_mib,
        },
    )]);
    ScheduleOptions {
        packing: GpuPacking::ByMemory {
            probe: GpuMemoryProbe {
                program: "/nonexistent/nvidia-smi".into(),
            },
            readings,
        },
        ..options(RetryPolicy::default())
    }
}

fn save_footprint(sweep: &Sweep, mib: u64) -> String {
    let shape = memory_shape(&sweep.jobs[0].spec.input.run);
    let mut footprints = Footprints::default();
    footprints.mib.insert(shape.clone(), mib);
    footprints.save(sweep.store.root()).unwrap();
    shape
}

#[test]
fn known_footprints_pack_as_many_runs_as_the_memory_budget_allows() {
    // 2,000 MiB measured, 2,300 with headroom: three fit in 9,000 MiB.
    let sweep = sweep(5);
    save_footprint(&sweep, 2_000);
    let train: &[Script] = &[Script::Train(200)];
    let ran = schedule(
        &sweep,
        gpu_slots(8),
        &by_memory(9_000),
        &[
            ("a", train),
            ("b", train),
            ("c", train),
            ("d", train),
            ("e", train),
        ],
        CtrlC::Never,
    );
    assert_eq!(ran.most_at_once(), 3);
    assert!(
        ran.devices().iter().all(|d| d == "cuda:0"),
        "{:?}",
        ran.devices()
    );
    assert_eq!(ran.summary.trained.len(), 5);
}

#[test]
fn runs_of_an_unknown_footprint_are_measured_alone() {
    let sweep = sweep(3);
    let train: &[Script] = &[Script::Train(50)];
    let ran = schedule(
        &sweep,
        gpu_slots(8),
        &by_memory(9_000),
        &[("a", train), ("b", train), ("c", train)],
        CtrlC::Never,
    );
    assert_eq!(ran.most_at_once(), 1);
    assert_eq!(
        ran.devices(),
        ["cuda:0, alone: measuring its memory"; 3],
        "the probe read nothing, so no footprint was learnt"
    );
    assert!(
        !ran.progress
            .iter()
            .any(|p| matches!(p, Progress::Measured { .. }))
    );
}

#[test]
fn running_out_of_memory_forgets_the_footprint_and_measures_the_retry_alone() {
    let sweep = sweep(2);
    let shape = save_footprint(&sweep, 100);
    let ran = schedule(
        &sweep,
        gpu_slots(8),
        &by_memory(9_000),
        &[
            ("a", &[Script::Fail(FailureKind::Oom), Script::Train(50)]),
            ("b", &[Script::Train(300)]),
        ],
        CtrlC::Never,
    );
    assert_eq!(
        ran.devices(),
        ["cuda:0", "cuda:0", "cuda:0, alone: measuring its memory"],
        "both packed at first; the retry measured"
    );
    let company = ran.company_at_start();
    let (label, attempt, others) = &company[2];
    assert_eq!((label.as_str(), *attempt), ("a", 2));
    assert!(others.is_empty(), "the retry waited for b: {others:?}");
    assert!(
        !Footprints::load(sweep.store.root())
            .mib
            .contains_key(&shape)
    );
    assert_eq!(ran.summary.trained.len(), 2);
}

#[test]
fn a_lone_run_gets_every_core_and_an_odd_run_out_goes_first_on_every_core() {
    let one = sweep(1);
    let ran = two_shared_slots(&one, 2, false, &[("a", &[Script::Train(20)])]);
    assert_eq!(ran.devices(), ["cpu×2"]);

    let three = sweep(3);
    let ran = two_shared_slots(
        &three,
        2,
        false,
        &[
            ("a", &[Script::Train(50)]),
            ("b", &[Script::Train(400)]),
            ("c", &[Script::Train(50)]),
        ],
    );
    // Three runs on two cores: a first, alone, on both; then b and c on a
    // core each, so no core idles at the end.
    assert_eq!(ran.devices(), ["cpu×2", "cpu×1", "cpu×1"]);
    let company = ran.company_at_start();
    assert!(
        company[0].2.is_empty() && company[1].2.is_empty(),
        "{company:?}"
    );
    assert_eq!(company[2].2, HashSet::from(["b".to_string()]));
    assert_eq!(ran.most_at_once(), 2);
    assert_eq!(ran.summary.trained.len(), 3);

    // Eight cores, two slots, three runs: a on all 8, then b and c on 4.
    let fresh = sweep(3);
    let ran = two_shared_slots(
        &fresh,
        8,
        false,
        &[
            ("a", &[Script::Train(50)]),
            ("b", &[Script::Train(400)]),
            ("c", &[Script::Train(50)]),
        ],
    );
    assert_eq!(ran.devices(), ["cpu×8", "cpu×4", "cpu×4"]);

    // Five runs on two cores: the odd one first on both, then two waves.
    let five = sweep(5);
    let ran = two_shared_slots(
        &five,
        2,
        false,
        &[
            ("a", &[Script::Train(50)]),
            ("b", &[Script::Train(50)]),
            ("c", &[Script::Train(50)]),
            ("d", &[Script::Train(50)]),
            ("e", &[Script::Train(50)]),
        ],
    );
    assert_eq!(ran.devices(), ["cpu×2", "cpu×1", "cpu×1", "cpu×1", "cpu×1"]);
    let company = ran.company_at_start();
    assert!(
        company.iter().all(|(_, _, others)| !others.contains("a")),
        "a run started beside the wide one: {company:?}"
    );
    assert_eq!(ran.most_at_once(), 2);

    // Four runs on two cores fill whole waves: one core each throughout.
    let four = sweep(4);
    let ran = two_shared_slots(
        &four,
        2,
        false,
        &[
            ("a", &[Script::Train(50)]),
            ("b", &[Script::Train(200)]),
            ("c", &[Script::Train(50)]),
            ("d", &[Script::Train(50)]),
        ],
    );
    assert_eq!(ran.devices(), ["cpu×1"; 4]);
}

#[test]
fn no_run_starts_while_running_runs_hold_every_core() {
    // 3 runs on 2 cores: while the wide first run holds both cores, the
    // second slot stays empty rather than oversubscribe.
    let sweep = sweep(3);
    let ran = two_shared_slots(
        &sweep,
        2,
        false,
        &[
            ("a", &[Script::Train(300)]),
            ("b", &[Script::Train(50)]),
            ("c", &[Script::Train(50)]),
        ],
    );
    let company = ran.company_at_start();
    assert_eq!(company[0].0, "a");
    assert!(
        company[1..]
            .iter()
            .all(|(_, _, others)| !others.contains("a")),
        "b or c started beside a: {company:?}"
    );
}

#[test]
fn runs_grow_into_freed_cores_at_the_tail_only_with_grow_threads() {
    let scripts: &[(&str, &[Script])] =
        &[("a", &[Script::Train(50)]), ("b", &[Script::Train(400)])];
    for grow in [false, true] {
        let sweep = sweep(2);
        let ran = two_shared_slots(&sweep, 2, grow, scripts);
        assert_eq!(ran.devices(), ["cpu×1", "cpu×1"]);
        let granted = ran.grants();
        if grow {
            // a ended with nothing waiting: b may use both cores.
            assert_eq!(granted, [&Happened::Granted("b".into(), "2".into())]);
        } else {
            assert!(granted.is_empty(), "{granted:?}");
        }
        // The grant is not left in the results.
        let b = sweep.store.run_dir(sweep.job("b").key());
        assert!(!b.join(GRANT_FILE).exists());
    }
}

#[test]
fn runs_do_not_grow_while_runs_wait() {
    let sweep = sweep(4);
    let ran = two_shared_slots(
        &sweep,
        2,
        true,
        &[
            ("a", &[Script::Train(50)]),
            ("b", &[Script::Train(400)]),
            ("c", &[Script::Train(100)]),
            ("d", &[Script::Train(100)]),
        ],
    );
    // When a ends, c takes its core; when c ends, d does; only when d
    // ends, with nothing left waiting, does b grow.
    assert_eq!(ran.devices(), ["cpu×1"; 4]);
    let granted = ran.grants();
    assert_eq!(granted, [&Happened::Granted("b".into(), "2".into())]);
}
