//! `sweep data list | pull | verify`: getting the official MedMNIST files
//! into the data folder and knowing they are intact.
//!
//! A sweep only reads files; this command is how they get there. `list`
//! shows every 2D dataset and size with its local state, `pull` downloads
//! from MedMNIST's Zenodo record (resumable, MD5-verified, atomically put in
//! place), and `verify` re-checks files byte for byte and with the same
//! layout checks training uses. MD5s are memoised by path, size and mtime in
//! the user's cache folder so listing stays instant after the first time.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use sweep_data::catalog::{self, DatasetRef, SIZES, Source};
use sweep_data::download::{
    BASE_URL_ENV, DEFAULT_BASE_URL, DownloadError, DownloadEvent, DownloadOptions, PullOutcome,
    file_url, part_path, pull,
};
use sweep_data::verify::{LocalState, Md5Memo, local_state, splits_text, verify_file};
use tabled::settings::Style;
use tabled::{Table, Tabled};

const EXAMPLES: &str = "\
Examples:
  sweep data list                          what is here, for every dataset and size
  sweep data pull breastmnist retinamnist_128
  sweep data verify                        re-check every file in the data folder

Names are `<dataset>` (28 px) or `<dataset>_<size>` with size 64, 128 or 224.
Files are read from and written to --data-dir, else $SWEEP_DATA_DIR, else
~/.cache/sweep/medmnist. MedMNIST is CC BY 4.0 (DermaMNIST CC BY-NC 4.0);
cite Yang et al., Scientific Data 10, 41 (2023).";

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub(crate) struct DataArgs {
    #[command(subcommand)]
    pub command: DataCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DataCommand {
    /// Every MedMNIST 2D file (all sizes): facts and local state
    /// (missing, present, verified, corrupt).
    List(ListArgs),
    /// Download official files from MedMNIST's Zenodo record: resumable,
    /// MD5-verified, put in place only when intact.
    Pull(PullArgs),
    /// Check files against the official MD5 and the layout checks training
    /// uses; exits non-zero if any fails.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub(crate) struct DataDirArg {
    /// Data folder (default: $SWEEP_DATA_DIR, else ~/.cache/sweep/medmnist).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

impl DataDirArg {
    fn resolve(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(sweep_core::experiment::default_data_root)
    }
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    pub dir: DataDirArg,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Do not read files: a file whose MD5 is not memoised shows as `present`.
    #[arg(long)]
    pub quick: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PullArgs {
    /// Datasets to download, e.g. `breastmnist` (28 px) or `retinamnist_128`.
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
    #[command(flatten)]
    pub dir: DataDirArg,
    /// Where the files are served: `<base-url><file>?download=1`.
    #[arg(long, env = BASE_URL_ENV, default_value = DEFAULT_BASE_URL)]
    pub base_url: String,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Datasets to check (default: every MedMNIST file in the data folder).
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    #[command(flatten)]
    pub dir: DataDirArg,
}

pub(crate) fn run(args: &DataArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        DataCommand::List(a) => list(a),
        DataCommand::Pull(a) => pull_all(a),
        DataCommand::Verify(a) => verify(a),
    }
}

/// The MD5 memo in the user's cache folder (`$XDG_CACHE_HOME/sweep`, else
/// `~/.cache/sweep`), shared by every data folder since entries are keyed by
/// canonical path.
fn memo() -> Md5Memo {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
    match cache {
        Some(dir) => Md5Memo::new(dir.join("sweep")),
        None => Md5Memo::disabled(),
    }
}

/// Every file-backed dataset reference in catalog order, all sizes.
fn every_file() -> Vec<DatasetRef> {
    catalog::all()
        .iter()
        .flat_map(|info| {
            SIZES.iter().map(move |&size| DatasetRef {
                info,
                size,
                source: Source::File,
            })
        })
        .collect()
}

/// Parses command-line names (`breastmnist`, `retinamnist_128`, also with a
/// `.npz` suffix), rejecting synthetic ones and dropping repeats.
fn parse_names(names: &[String]) -> anyhow::Result<Vec<DatasetRef>> {
    let mut out: Vec<DatasetRef> = Vec::new();
    for name in names {
        let text = name.strip_suffix(".npz").unwrap_or(name);
        let dataset = DatasetRef::parse(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        if dataset.source == Source::Synthetic {
            bail!("`{name}` is generated in memory and needs no file");
        }
        if !out.contains(&dataset) {
            out.push(dataset);
        }
    }
    Ok(out)
}

// ------------------------------------------------------------------- list

/// One row of `sweep data list`: a file under the name `grid.dataset`
/// takes (`pathmnist_64`), its image size, facts and local state.
#[derive(Tabled)]
struct Row {
    name: String,
    /// Image side in pixels (28, 64, 128 or 224).
    px: u32,
    task: String,
    classes: usize,
    #[tabled(rename = "ch")]
    channels: u8,
    train: usize,
    val: usize,
    test: usize,
    licence: &'static str,
    state: String,
    /// The file's size on disk.
    #[tabled(rename = "file size")]
    file_size: String,
}

/// One file's facts and local state, for the table and the JSON.
struct Listed {
    dataset: DatasetRef,
    path: PathBuf,
    state: Result<LocalState, String>,
    bytes: Option<u64>,
    part_bytes: Option<u64>,
}

impl Listed {
    fn state_label(&self) -> &'static str {
        match &self.state {
            Ok(s) => s.label(),
            Err(_) => "unreadable",
        }
    }
}

fn list(args: &ListArgs) -> anyhow::Result<ExitCode> {
    let root = args.dir.resolve();
    let memo = memo();
    let hash = !args.quick;
    let show_hashing = hash && !args.json && std::io::stderr().is_terminal();
    let listed: Vec<Listed> = every_file()
        .into_iter()
        .map(|dataset| {
            let path = root.join(dataset.file_name());
            let bytes = std::fs::metadata(&path)
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len());
            let part_bytes = std::fs::metadata(part_path(&path)).ok().map(|m| m.len());
            let spinner = (show_hashing && bytes.is_some() && memo.cached(&path).is_none())
                .then(|| spinner(format!("checking MD5 of {}", dataset.file_name())));
            let state =
                local_state(&path, dataset.official_md5(), &memo, hash).map_err(|e| e.to_string());
            if let Some(s) = spinner {
                s.finish_and_clear();
            }
            Listed {
                dataset,
                path,
                state,
                bytes,
                part_bytes,
            }
        })
        .collect();

    if args.json {
        let files: Vec<serde_json::Value> = listed.iter().map(listed_json).collect();
        let out = serde_json::json!({ "data_root": root, "files": files });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).context("serialising the list")?
        );
        return Ok(ExitCode::SUCCESS);
    }

    println!(
        "{}",
        Table::new(listed.iter().map(listed_row)).with(Style::sharp())
    );
    let count = |label: &str| listed.iter().filter(|l| l.state_label() == label).count();
    println!(
        "{}: {} verified, {} present, {} corrupt, {} missing",
        root.display(),
        count("verified"),
        count("present"),
        count("corrupt"),
        count("missing"),
    );
    for l in &listed {
        match &l.state {
            Ok(LocalState::Corrupt { actual_md5 }) => println!(
                "note: {} has MD5 {actual_md5}, not the official {}; `sweep data pull {}` replaces it",
                l.path.display(),
                l.dataset.official_md5(),
                l.dataset
            ),
            Err(e) => println!("note: {e}"),
            _ => {}
        }
    }
    if listed
        .iter()
        .any(|l| l.bytes.is_none() && l.part_bytes.is_some())
    {
        println!("note: `partial` downloads resume with `sweep data pull NAME`");
    }
    Ok(ExitCode::SUCCESS)
}

fn listed_row(l: &Listed) -> Row {
    let info = l.dataset.info;
    Row {
        name: l.dataset.to_string(),
        px: l.dataset.size,
        task: info.task.to_string(),
        classes: info.num_classes(),
        channels: info.channels,
        train: info.splits[0],
        val: info.splits[1],
        test: info.splits[2],
        licence: info.license,
        state: l.state_label().to_string(),
        file_size: match (l.bytes, l.part_bytes) {
            (Some(b), _) => HumanBytes(b).to_string(),
            (None, Some(p)) => format!("{} partial", HumanBytes(p)),
            (None, None) => "-".to_string(),
        },
    }
}

fn listed_json(l: &Listed) -> serde_json::Value {
    let info = l.dataset.info;
    let mut value = serde_json::json!({
        "name": l.dataset.to_string(),
        "file": l.dataset.file_name(),
        "path": l.path,
        "dataset": info.name,
        "size": l.dataset.size,
        "task": info.task,
        "classes": info.num_classes(),
        "channels": info.channels,
        "splits": { "train": info.splits[0], "val": info.splits[1], "test": info.splits[2] },
        "license": info.license,
        "md5": l.dataset.official_md5(),
        "state": l.state_label(),
        "bytes": l.bytes,
        "partial_bytes": l.part_bytes,
    });
    match &l.state {
        Ok(LocalState::Corrupt { actual_md5 }) => value["actual_md5"] = actual_md5.clone().into(),
        Err(e) => value["error"] = e.clone().into(),
        Ok(_) => {}
    }
    value
}

pub(crate) fn spinner(message: String) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

// ------------------------------------------------------------------- pull

fn pull_all(args: &PullArgs) -> anyhow::Result<ExitCode> {
    let datasets = parse_names(&args.names)?;
    Ok(
        if pull_datasets(&datasets, &args.dir.resolve(), &args.base_url) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}

/// Downloads each dataset into `root` (unless already there and verified),
/// reporting as it goes. `false` if any download failed.
pub(crate) fn pull_datasets(
    datasets: &[DatasetRef],
    root: &std::path::Path,
    base_url: &str,
) -> bool {
    let memo = memo();
    let options = DownloadOptions::default();
    let tty = std::io::stderr().is_terminal();
    let mut failed = 0usize;
    let mut may_resume = false;
    for dataset in datasets {
        let file = dataset.file_name();
        let dest = root.join(&file);
        let url = file_url(base_url, &file);
        let mut progress = PullProgress::new(file.clone(), url.clone(), tty);
        let result = pull(
            &url,
            &dest,
            dataset.official_md5(),
            &memo,
            &options,
            &mut |event| progress.event(event),
        );
        progress.finish();
        let licence = dataset.info.license;
        match result {
            Ok(PullOutcome::AlreadyVerified) => {
                println!("{file}: already here and verified ({})", dest.display());
            }
            Ok(PullOutcome::Downloaded(d)) => println!(
                "{file}: downloaded {}{}, MD5 verified -> {} (licence {licence})",
                HumanBytes(d.bytes),
                resumed_text(d.resumed_from),
                dest.display()
            ),
            Ok(PullOutcome::Replaced {
                previous_md5,
                download: d,
            }) => println!(
                "{file}: replaced a copy with MD5 {previous_md5} by the official file ({}{}, MD5 verified) -> {} (licence {licence})",
                HumanBytes(d.bytes),
                resumed_text(d.resumed_from),
                dest.display()
            ),
            Err(e) => {
                failed += 1;
                may_resume |= e.is_transient();
                eprintln!("error: {file}: {e}");
            }
        }
    }
    if failed > 0 {
        eprintln!(
            "{failed} of {} downloads failed{}",
            datasets.len(),
            if may_resume {
                "; run the same command again to retry (partial downloads resume)"
            } else {
                ""
            }
        );
        return false;
    }
    true
}

pub(crate) fn resumed_text(from: u64) -> String {
    if from == 0 {
        String::new()
    } else {
        format!(" (resumed after {})", HumanBytes(from))
    }
}

/// Shows one download: a byte bar on a terminal, else a line at start, every
/// 10 % (or 30 s when the size is unknown), on retries and when verifying.
pub(crate) struct PullProgress {
    file: String,
    url: String,
    bar: Option<ProgressBar>,
    tty: bool,
    total: Option<u64>,
    last_line: Instant,
    last_tenth: u64,
    /// The digest checked once the bytes are in (`MD5` unless told).
    algorithm: &'static str,
}

impl PullProgress {
    pub(crate) fn new(file: String, url: String, tty: bool) -> Self {
        PullProgress {
            file,
            url,
            bar: None,
            tty,
            total: None,
            last_line: Instant::now(),
            last_tenth: 0,
            algorithm: "MD5",
        }
    }

    /// Names another digest in the "checking" messages (`SHA-256`).
    pub(crate) fn checking(mut self, algorithm: &'static str) -> Self {
        self.algorithm = algorithm;
        self
    }

    pub(crate) fn event(&mut self, event: DownloadEvent<'_>) {
        match event {
            DownloadEvent::Started { offset, total } => {
                self.total = total;
                if self.tty {
                    let bar = self.bar.get_or_insert_with(|| {
                        let bar = ProgressBar::new(0);
                        bar.set_style(
                            ProgressStyle::with_template(
                                "{msg} {bar:30.cyan/blue} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                            )
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                        );
                        bar
                    });
                    bar.set_message(self.file.clone());
                    bar.set_length(total.unwrap_or(0));
                    bar.set_position(offset);
                    bar.reset_eta();
                } else {
                    let size =
                        total.map_or("size unknown".to_string(), |t| HumanBytes(t).to_string());
                    let from = if offset > 0 {
                        format!(", resuming at {}", HumanBytes(offset))
                    } else {
                        String::new()
                    };
                    eprintln!("{}: downloading {} ({size}{from})", self.file, self.url);
                    self.last_tenth = total.map_or(0, |t| tenths(offset, t));
                    self.last_line = Instant::now();
                }
            }
            DownloadEvent::Progress { done } => {
                if let Some(bar) = &self.bar {
                    bar.set_position(done);
                    return;
                }
                let line = match self.total {
                    Some(total) => {
                        let tenth = tenths(done, total);
                        (tenth > self.last_tenth).then(|| {
                            self.last_tenth = tenth;
                            format!(
                                "{}% ({} of {})",
                                tenth * 10,
                                HumanBytes(done),
                                HumanBytes(total)
                            )
                        })
                    }
                    None => (self.last_line.elapsed() >= Duration::from_secs(30))
                        .then(|| HumanBytes(done).to_string()),
                };
                if let Some(line) = line {
                    eprintln!("{}: {line}", self.file);
                    self.last_line = Instant::now();
                }
            }
            DownloadEvent::Retrying {
                attempt,
                delay,
                error,
            } => {
                // The error's own advice ("run again to resume") does not
                // apply while retrying: only say what happened.
                let what = match error {
                    DownloadError::Transport { detail, .. } => detail.clone(),
                    other => other.to_string(),
                };
                let text = format!(
                    "{}: {what}; retry {attempt} in {}",
                    self.file,
                    humantime::format_duration(delay)
                );
                match &self.bar {
                    Some(bar) => bar.println(text),
                    None => eprintln!("{text}"),
                }
            }
            DownloadEvent::Verifying { bytes } => match &self.bar {
                Some(bar) => {
                    bar.set_message(format!("{} (checking {})", self.file, self.algorithm))
                }
                None => eprintln!(
                    "{}: checking {} of {}",
                    self.file,
                    self.algorithm,
                    HumanBytes(bytes)
                ),
            },
        }
    }

    pub(crate) fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// Completed tenths of `total` (0..=10).
fn tenths(done: u64, total: u64) -> u64 {
    if total == 0 {
        10
    } else {
        (u128::from(done) * 10 / u128::from(total)).min(10) as u64
    }
}

// ----------------------------------------------------------------- verify

fn verify(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let root = args.dir.resolve();
    let named = !args.names.is_empty();
    let datasets = if named {
        parse_names(&args.names)?
    } else {
        every_file()
            .into_iter()
            .filter(|d| root.join(d.file_name()).is_file())
            .collect()
    };
    if datasets.is_empty() {
        println!(
            "no MedMNIST files in {}; get some with `sweep data pull NAME`",
            root.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let memo = memo();
    let tty = std::io::stderr().is_terminal();
    let mut failed = 0usize;
    for dataset in &datasets {
        let file = dataset.file_name();
        let path = root.join(&file);
        if !path.is_file() {
            failed += 1;
            println!("FAILED  {file}");
            println!(
                "        {} not found; get it with `sweep data pull {dataset} --data-dir {}`",
                path.display(),
                root.display()
            );
            continue;
        }
        let spinner = tty.then(|| spinner(format!("checking {file}")));
        let verdict = verify_file(&path, dataset, dataset.official_md5(), &memo);
        if let Some(s) = spinner {
            s.finish_and_clear();
        }
        if verdict.ok() {
            println!(
                "ok      {file}  MD5 {}  {} samples",
                dataset.official_md5(),
                splits_text(&dataset.info.splits)
            );
        } else {
            failed += 1;
            println!("FAILED  {file}");
            for problem in verdict.problems() {
                println!("        {problem}");
            }
        }
    }
    println!(
        "{}: {} checked, {} ok, {failed} failed",
        root.display(),
        datasets.len(),
        datasets.len() - failed
    );
    if failed > 0 {
        println!("`sweep data pull NAME` downloads a fresh official copy of a failed file");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_with_sizes_suffixes_and_repeats() {
        let names: Vec<String> = ["breastmnist", "retinamnist_128.npz", "breastmnist_28"]
            .map(String::from)
            .to_vec();
        let parsed = parse_names(&names).unwrap();
        let files: Vec<String> = parsed.iter().map(|d| d.file_name()).collect();
        assert_eq!(files, ["breastmnist.npz", "retinamnist_128.npz"]);
    }

    #[test]
    fn names_that_need_no_or_no_such_file_are_refused() {
        let err = parse_names(&["synthetic:chestmnist".to_string()]).unwrap_err();
        assert!(err.to_string().contains("needs no file"), "{err}");
        let err = parse_names(&["chestmnist_32".to_string()]).unwrap_err();
        assert!(err.to_string().contains("no 32 px variant"), "{err}");
        let err = parse_names(&["cifar10".to_string()]).unwrap_err();
        assert!(err.to_string().contains("unknown dataset"), "{err}");
    }

    #[test]
    fn every_dataset_and_size_is_listed_once() {
        let files = every_file();
        assert_eq!(files.len(), catalog::all().len() * SIZES.len());
        let mut names: Vec<String> = files.iter().map(|d| d.file_name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), files.len());
        assert!(names.contains(&"retinamnist_128.npz".to_string()));
        assert!(names.contains(&"chestmnist.npz".to_string()));
        assert!(files.iter().all(|d| d.official_md5().len() == 32));
    }

    #[test]
    fn tenths_are_bounded() {
        assert_eq!(tenths(0, 100), 0);
        assert_eq!(tenths(55, 100), 5);
        assert_eq!(tenths(100, 100), 10);
        assert_eq!(tenths(200, 100), 10);
        assert_eq!(tenths(5, 0), 10);
        assert_eq!(tenths(u64::MAX, u64::MAX), 10);
    }

    #[test]
    fn list_rows_name_each_file_as_grid_dataset_does_with_its_image_size() {
        let rows: Vec<(String, u32)> = every_file()
            .into_iter()
            .filter(|d| d.info.name == "pathmnist")
            .map(|dataset| {
                let row = listed_row(&Listed {
                    path: PathBuf::from(dataset.file_name()),
                    dataset,
                    state: Ok(LocalState::Missing),
                    bytes: None,
                    part_bytes: None,
                });
                (row.name, row.px)
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("pathmnist".to_string(), 28),
                ("pathmnist_64".to_string(), 64),
                ("pathmnist_128".to_string(), 128),
                ("pathmnist_224".to_string(), 224),
            ]
        );
        // Each name is one `grid.dataset` accepts, for that very file.
        for (name, px) in &rows {
            let parsed = DatasetRef::parse(name).unwrap();
            assert_eq!((parsed.info.name, parsed.size), ("pathmnist", *px));
        }
    }

    #[test]
    fn listed_json_has_state_and_facts() {
        let dataset = DatasetRef::parse("retinamnist_128").unwrap();
        let l = Listed {
            dataset,
            path: PathBuf::from("/d/retinamnist_128.npz"),
            state: Ok(LocalState::Corrupt {
                actual_md5: "0".repeat(32),
            }),
            bytes: Some(10),
            part_bytes: None,
        };
        let v = listed_json(&l);
        assert_eq!(v["name"], "retinamnist_128");
        assert_eq!(v["state"], "corrupt");
        assert_eq!(v["actual_md5"], "0".repeat(32));
        assert_eq!(v["md5"], "e48e916a24454daf90583d4e6efb1a18");
        assert_eq!(v["task"], "ordinal");
        assert_eq!(v["splits"]["test"], 400);
        assert_eq!(v["channels"], 3);
    }
}
