//! Command-line arguments: what each command takes, with help that teaches.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  sweep validate experiments/*.yaml          check files, report every problem
  sweep plan experiments/chestmnist_cnn.yaml  list runs, their keys and status
  sweep run experiments/smoke.yaml            train every pending run
  sweep run experiments/smoke.yaml --smoke    the tiny CI version of each run
  sweep run experiments/x.yaml --set train.epochs=50   override a value of the file
  sweep report --table                        every experiment run into ./results
  sweep explain experiments/x.yaml            why each run is pending or stale

Data: MedMNIST .npz files are read from the experiment's `data.root`, else
$SWEEP_DATA_DIR, else ~/.cache/sweep/medmnist. `synthetic:<name>` datasets
need no files. Results go to ./results (content-addressed by run key).";

#[derive(Debug, Parser)]
#[command(
    name = "sweep",
    version,
    about = "Declarative experiment sweeps for CNN studies on MedMNIST",
    long_about = "Expands a YAML grid of experiments into runs, caches each run under \
                  the hash of its fully resolved configuration, trains what is missing \
                  and keeps every finished result.",
    after_help = EXAMPLES
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check experiment files and report every problem with file:line:column.
    Validate {
        /// Experiment files (YAML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Show the runs an experiment expands to, with keys and cache status.
    Plan(PlanArgs),
    /// Train every pending run of an experiment, skipping cached ones.
    Run(RunArgs),
    /// Comparison tables from the results: terminal, Markdown, CSV, LaTeX, JSON, or an HTML page with figures.
    Report(ReportArgs),
    /// What is done, running (and by which process), failed and pending.
    Status(StatusArgs),
    /// Why runs are pending or stale: what differs from the nearest finished run.
    Explain(ExplainArgs),
    /// The results as a tidy table for pandas, polars or R: long CSV or JSON lines, final metrics or per epoch.
    Export(ExportArgs),
    /// Cancel the Slurm jobs that `sweep run --backend slurm` submitted for an experiment.
    Cancel(CancelArgs),
    /// List, download and verify MedMNIST files.
    Data(crate::commands::data::DataArgs),
    /// List, download, verify and import pretrained weights (ImageNet ResNets, DenseNets, ViTs).
    Weights(crate::commands::weights::WeightsArgs),
    /// Print the JSON Schema of experiment files, for editor completion (docs/spec.md).
    Schema,
    /// Train one prepared run folder with `sweep-worker` (used by Slurm job scripts; not for direct use).
    #[command(hide = true)]
    Worker {
        /// A results folder containing spec.json.
        run_dir: PathBuf,
    },
}

#[derive(Debug, Args)]
pub(crate) struct Common {
    /// Experiment file (YAML).
    pub file: PathBuf,
    #[command(flatten)]
    pub options: ExperimentOptions,
}

/// How an experiment is read and where its results are: what every command
/// that names an experiment (by file, or by a run's key) shares.
#[derive(Debug, Clone, Args)]
pub(crate) struct ExperimentOptions {
    /// Apply the file's `smoke:` block: tiny runs for CI and quick checks.
    #[arg(long)]
    pub smoke: bool,
    /// Use generated look-alikes of every dataset (`synthetic:<name>`): try a
    /// sweep end to end before downloading anything.
    #[arg(long)]
    pub synthetic: bool,
    /// Results folder (content-addressed cache).
    #[arg(long, default_value = sweep_core::store::DEFAULT_RESULTS_DIR, env = "SWEEP_RESULTS_DIR")]
    pub results: PathBuf,
    /// Data folder, overriding the experiment's `data.root` and $SWEEP_DATA_DIR.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Override a value of the experiment file: PATH=VALUE, the value read
    /// as YAML, e.g. --set train.epochs=50 --set grid.lr=[1e-3,3e-4]
    /// --set train.batch_size=64. Repeatable; later ones win. The result
    /// is checked like the file, and caches and reports like any experiment.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    pub common: Common,
    /// Print JSON (one object with every run) instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub common: Common,
    /// Where to train: auto (GPUs if any, else CPU), cpu, cuda, cuda:0,1.
    #[arg(long)]
    pub devices: Option<String>,
    /// Concurrent runs per GPU. Default: the file's resources.runs_per_gpu;
    /// else packed by memory: the first run of each model/dataset/batch shape
    /// runs alone while its GPU memory is measured (kept in
    /// results/gpu_footprints.json), then runs share a GPU as memory allows,
    /// at most 8 (2 when nvidia-smi cannot report memory).
    #[arg(long)]
    pub runs_per_gpu: Option<u32>,
    /// Fix the number of concurrent CPU runs (threads per run = cores / jobs
    /// unless the file says). Without it, each CPU run's thread budget is
    /// chosen as it starts from the cores the running runs leave free, so a
    /// lone run uses every core (up to 8); see docs/spec.md, "CPU threads".
    #[arg(long)]
    pub jobs: Option<u32>,
    /// Download missing MedMNIST files and pretrained weights first (what
    /// `sweep data pull` and `sweep weights pull` do: resumable, checked),
    /// then run.
    #[arg(long)]
    pub pull: bool,
    /// Where `--pull` downloads from: `<base-url><file>?download=1`.
    #[arg(long, env = sweep_data::download::BASE_URL_ENV, default_value = sweep_data::download::DEFAULT_BASE_URL, hide = true)]
    pub base_url: String,
    /// Only runs with FIELD=VALUE, the value read as the experiment file reads
    /// it (lr=1e-3 matches 0.001; fold counts from 1), e.g. --only arch=resnet18
    /// --only fold=1. Repeatable: different fields must all hold, a repeated
    /// field accepts any of its values; one argument may hold several,
    /// comma-separated (--only arch=resnet18,fold=1). The same rules as
    /// `report --where`.
    #[arg(long, value_name = "FIELD=VALUE")]
    pub only: Vec<String>,
    /// Retries after a crash, out-of-memory or timeout (divergence and bad data are never retried).
    #[arg(long, default_value_t = 1)]
    pub max_retries: u32,
    /// Kill an attempt that runs longer than this (e.g. 30m, 2h).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub timeout: Option<std::time::Duration>,
    /// Retrain runs even if cached.
    #[arg(long)]
    pub force: bool,
    /// Also retry runs whose last attempt failed (otherwise they are reported and skipped).
    #[arg(long)]
    pub retry_failed: bool,
    /// Stop starting new runs after the first failure.
    #[arg(long)]
    pub fail_fast: bool,
    /// Print one JSON event per line instead of human progress.
    #[arg(long)]
    pub json: bool,
    /// Where pending runs train: `local` worker processes (the default), or
    /// one `slurm` job array (see "Running on a cluster" in the README).
    #[arg(long, value_enum, help_heading = "Cluster")]
    pub backend: Option<Backend>,
    /// sbatch --partition for every run.
    #[arg(long, requires = "backend", help_heading = "Cluster")]
    pub partition: Option<String>,
    /// sbatch --account.
    #[arg(long, requires = "backend", help_heading = "Cluster")]
    pub account: Option<String>,
    /// sbatch --time per array task (HH:MM:SS, D-HH:MM:SS; covers --runs-per-task runs).
    #[arg(
        long,
        value_name = "HH:MM:SS",
        requires = "backend",
        help_heading = "Cluster"
    )]
    pub time: Option<String>,
    /// GPUs per run (sbatch --gres=gpu:N); 0 (the default) trains on the CPU.
    #[arg(long, requires = "backend", help_heading = "Cluster")]
    pub gpus_per_run: Option<u32>,
    /// CPU cores per run (sbatch --cpus-per-task; also the worker's threads).
    #[arg(long, requires = "backend", help_heading = "Cluster")]
    pub cpus_per_run: Option<u32>,
    /// Memory per run (sbatch --mem), e.g. 8G.
    #[arg(long, requires = "backend", help_heading = "Cluster")]
    pub mem: Option<String>,
    /// At most K array tasks at once (--array=0-(N-1)%K).
    #[arg(long, value_name = "K", requires = "backend", help_heading = "Cluster")]
    pub array_parallelism: Option<u32>,
    /// Runs each array task trains one after the other (fewer, longer tasks; default 1).
    #[arg(long, value_name = "K", requires = "backend", help_heading = "Cluster")]
    pub runs_per_task: Option<u32>,
    /// Extra sbatch option, passed verbatim as one argument (repeatable), e.g. --sbatch-arg=--qos=high.
    #[arg(
        long,
        value_name = "ARG",
        allow_hyphen_values = true,
        requires = "backend",
        help_heading = "Cluster"
    )]
    pub sbatch_arg: Vec<String>,
    /// Wait until the job array has finished, then exit like a local sweep (0 only if every run is done).
    #[arg(long, requires = "backend", help_heading = "Cluster")]
    pub wait: bool,
    /// Also submit `sweep report FILE --format md` to run after the array (afterany).
    #[arg(long, requires = "backend", help_heading = "Cluster")]
    pub dependency_report: bool,
}

/// Where `sweep run` trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Backend {
    /// Worker processes on this machine.
    Local,
    /// A Slurm job array; every node must see the results folder and the
    /// sweep and sweep-worker executables.
    Slurm,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sweep export experiments/x.yaml > runs.csv                        final metrics, one row per run and metric
  sweep export experiments/x.yaml --format jsonl -o runs.jsonl      one JSON object per run
  sweep export experiments/x.yaml --per-epoch -o curves.csv         history.csv of every run, one row per run, epoch and column
  sweep export experiments/x.yaml --metrics val_auc,test_auc --where arch=resnet18

Columns: experiment, key, one per grid axis, fold, seed, [epoch,] metric, value
(long-csv); see docs/exports.md.")]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    pub common: Common,
    /// long-csv (one row per run and metric: `…, metric, value`) or jsonl
    /// (one JSON object per run, metrics as keys).
    #[arg(long, value_enum, default_value = "long-csv")]
    pub format: ExportFormatArg,
    /// Export every epoch of each run's history.csv instead of its final metrics.
    #[arg(long)]
    pub per_epoch: bool,
    /// Comma-separated final metrics, named as `report --metrics` names them
    /// (default: every number in metrics.json).
    #[arg(long, value_delimiter = ',', conflicts_with = "per_epoch")]
    pub metrics: Vec<String>,
    /// Keep only runs with FIELD=VALUE (the rules of `report --where`).
    #[arg(long = "where", value_name = "FIELD=VALUE")]
    pub filters: Vec<String>,
    /// Write to this file (replaced whole, only once complete) instead of stdout.
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,
}

/// `sweep export --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ExportFormatArg {
    /// One row per run and metric (and epoch).
    LongCsv,
    /// One JSON object per run (and epoch).
    Jsonl,
}

#[derive(Debug, Args)]
pub(crate) struct CancelArgs {
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sweep report --table                                              every experiment `sweep run` ran into ./results, newest first
  sweep report --experiment chest_ablation --format md              one of them, as Markdown
  sweep report experiments/chestmnist_cnn.yaml                      comparison table (mean ± std over folds/seeds)
  sweep report experiments/x.yaml --set train.epochs=50             the runs of the file with a value overridden
  sweep report experiments/x.yaml --format latex > table.tex        booktabs table for a paper
  sweep report experiments/x.yaml --metrics val_auc,test_auc --group-by arch
  sweep report experiments/x.yaml --where lr=1e-3 --baseline arch=chest_cnn
  sweep report experiments/x.yaml --per-class --where arch=chest_cnn
  sweep report experiments/x.yaml --per-class --split val --where arch=densenet121   per-label val accuracy, sensitivity, specificity, AUC
  sweep report experiments/chestmnist_cnn.yaml --per-class --flatten --where lr=1e-3   report on y.ravel()
  sweep report experiments/chestmnist_cnn.yaml --metrics test_flat_auc,test_flat_accuracy,test_flat_f1_weighted
  sweep report experiments/x.yaml --prevalence
  sweep report experiments/x.yaml --format html --out report/      page with figures; open report/index.html

Reports never need the dataset files: runs whose data is absent are matched
to the runs the results folder recorded, so a results folder copied to
another machine reports the same table. Where the data is present and has
changed since a run finished, that run shows as stale.")]
pub(crate) struct ReportArgs {
    /// Experiment files whose runs to compare (their runs share one results
    /// folder). Without any: every experiment `sweep run` has run into the
    /// results folder (recorded in results/.experiments/), newest first.
    pub files: Vec<PathBuf>,
    /// Without FILE: only the recorded experiment of this name.
    #[arg(long, value_name = "NAME", conflicts_with = "files")]
    pub experiment: Option<String>,
    /// Report on the `--smoke` variant of the runs.
    #[arg(long)]
    pub smoke: bool,
    /// Report on the `--synthetic` variant of the runs.
    #[arg(long)]
    pub synthetic: bool,
    #[arg(long, default_value = sweep_core::store::DEFAULT_RESULTS_DIR, env = "SWEEP_RESULTS_DIR")]
    pub results: PathBuf,
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Print the comparison table (the default view).
    #[arg(long)]
    pub table: bool,
    /// table, md, csv, latex, json, or html (a page with figures, written to --out).
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Folder for --format html: index.html and figures/ (created when missing).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Comma-separated metrics (default: the architecture-study columns).
    #[arg(long, value_delimiter = ',')]
    pub metrics: Vec<String>,
    /// Fields that define rows (default: everything but fold and seed).
    #[arg(long, value_delimiter = ',')]
    pub group_by: Vec<String>,
    /// Keep only runs with FIELD=VALUE, the value read as the experiment file
    /// reads it (lr=1e-3 matches 0.001; fold counts from 1). Repeatable:
    /// different fields must all hold, a repeated field accepts any of its
    /// values; one argument may hold several, comma-separated. The same rules
    /// as `run --only`.
    #[arg(long = "where", value_name = "FIELD=VALUE")]
    pub filters: Vec<String>,
    /// Compare every row with the row matching FIELD=VALUE (paired t, Wilcoxon, Holm; DeLong on test AUC). Name the row by several fields with commas or by repeating the flag: --baseline lr=1e-3,pos_weight=none.
    #[arg(long, value_name = "FIELD=VALUE")]
    pub baseline: Vec<String>,
    /// Per-class TN/FP/FN/TP, accuracy, sensitivity, specificity, AUC and classification report for one configuration (choose it with --where or --key).
    #[arg(long)]
    pub per_class: bool,
    /// With --per-class: read the labels as one binary vector (y.ravel() against pred.ravel()), classes 0 and 1 as scikit-learn's classification_report prints them; binary and multi-label tasks.
    #[arg(long, requires = "per_class")]
    pub flatten: bool,
    /// Class prevalence per split.
    #[arg(long)]
    pub prevalence: bool,
    /// Split for --per-class: train, val or test.
    #[arg(long, default_value = "test")]
    pub split: String,
    /// A run key (or prefix) for --per-class.
    #[arg(long)]
    pub key: Option<String>,
    /// Decimals for scores and losses.
    #[arg(long, default_value_t = 4)]
    pub decimals: usize,
    /// Override a value of the experiment file: PATH=VALUE, the value read
    /// as YAML, e.g. --set train.epochs=50 --set grid.lr=[1e-3,3e-4]
    /// --set train.batch_size=64. Repeatable; later ones win. The result
    /// is checked like the file, and caches and reports like any experiment.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sweep explain experiments/x.yaml                       every run that is not done, and why
  sweep explain experiments/x.yaml --only arch=resnet18  some of them
  sweep explain experiments/x.yaml --set grid.lr=3e-4    what overriding a value would change
  sweep explain 3f9a2c                                   one run, by (a prefix of) its key

Each reason is one field of the hashed inputs (see results/<key>/spec.json)
that differs from the nearest finished run in the results folder (the one
differing in the fewest fields, of the same experiment first):
  lr 0.001 → 3e-4
  train.epochs 10 → 50
  data breastmnist.npz sha256 changed (4f2a91c0 → 0be17d3e)
  trainer version 3 → 4")]
pub(crate) struct ExplainArgs {
    /// An experiment file, or a run key (a prefix of at least 4 digits is enough).
    pub target: String,
    /// With a file: only runs with FIELD=VALUE (the rules of `run --only`).
    #[arg(long, value_name = "FIELD=VALUE")]
    pub only: Vec<String>,
    #[command(flatten)]
    pub options: ExperimentOptions,
}
