//! `sweep weights list | pull | verify | import`: pretrained weights a run
//! can start from, without Python, checked and converted once.
//!
//! The counterpart of `sweep data` for weights, on the same download
//! machinery (resumable, checksummed, atomically put in place). A pulled
//! file is converted into the zoo's safetensors layout by `sweep-worker
//! convert-weights` (reading a PyTorch checkpoint needs libtorch, which only
//! the worker links), then its SHA-256 is recorded beside it; `verify`
//! checks files against those records. See docs/weights.md for what is
//! pinned and what is trusted on first use.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use indicatif::HumanBytes;
use sweep_data::download::{Checksum, DownloadOptions, download_checked};
use sweep_data::fingerprint::file_fingerprint;
use sweep_data::weights::cache::{DIR_ENV, URL_ENV};
use sweep_data::weights::catalog::{self, Layout, WeightsEntry};
use sweep_data::weights::{Check, WeightsCache, WeightsRecord, WeightsState};
use tabled::settings::Style;
use tabled::{Table, Tabled};

use super::data::{PullProgress, resumed_text, spinner};

const EXAMPLES: &str = "\
Examples:
  sweep weights list                          every published file and what is here
  sweep weights pull resnet18_imagenet vit_b16_in21k
  sweep weights verify                        re-check every converted file
  sweep weights import my_resnet.pth --arch resnet50 --name my_resnet

In an experiment file: `train.pretrained: imagenet` (the default weights for
each run's architecture) or `pretrained: {weights: NAME}`. Files live in
--weights-dir, else $SWEEP_WEIGHTS_DIR, else $XDG_CACHE_HOME/sweep/weights
(~/.cache/sweep/weights). $SWEEP_WEIGHTS_URL points downloads at a mirror;
$SWEEP_WEIGHTS_CATALOG names a file of catalogue entries (docs/weights.md).";

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub(crate) struct WeightsArgs {
    #[command(subcommand)]
    pub command: WeightsCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum WeightsCommand {
    /// Every published weights file: architecture, source, size, checksum
    /// and local state (missing, present, verified, corrupt).
    List(ListArgs),
    /// Download, check and convert weights into the cache (resumable).
    Pull(PullArgs),
    /// Re-check converted files against the SHA-256 recorded when they were
    /// pulled; exits non-zero if any fails.
    Verify(VerifyArgs),
    /// Convert a state dict you already have (a torch.save .pth/.bin or a
    /// safetensors file), checking every tensor against the architecture.
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub(crate) struct DirArg {
    /// Weights folder (default: $SWEEP_WEIGHTS_DIR, else ~/.cache/sweep/weights).
    #[arg(long, env = DIR_ENV)]
    pub weights_dir: Option<PathBuf>,
}

impl DirArg {
    fn cache(&self) -> WeightsCache {
        match &self.weights_dir {
            Some(dir) => WeightsCache::new(dir),
            None => WeightsCache::from_env(),
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    pub dir: DirArg,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Do not read files: a file whose digest is not memoised shows as `present`.
    #[arg(long)]
    pub quick: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PullArgs {
    /// Catalogue names, e.g. `resnet18_imagenet` (see `sweep weights list`).
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
    #[command(flatten)]
    pub dir: DirArg,
    /// A mirror serving every file under its published name:
    /// `<base-url>/<file>` (default: each entry's own URL).
    #[arg(long, env = URL_ENV)]
    pub base_url: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Names to check (default: every converted file in the folder).
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    #[command(flatten)]
    pub dir: DirArg,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The state dict: torch.save (.pth, .pt, .bin) or .safetensors.
    pub file: PathBuf,
    /// The zoo architecture it is for (resnet18, densenet121, vit_b16, ...).
    #[arg(long)]
    pub arch: String,
    /// The name experiment files use (`pretrained: {weights: NAME}`);
    /// default: the file's stem.
    #[arg(long)]
    pub name: Option<String>,
    /// How its tensors are named: torchvision (the zoo's names) or hf_vit
    /// (a Hugging Face ViT).
    #[arg(long, default_value = "torchvision", value_parser = parse_layout)]
    pub layout: Layout,
    #[command(flatten)]
    pub dir: DirArg,
}

fn parse_layout(text: &str) -> Result<Layout, String> {
    match text {
        "torchvision" => Ok(Layout::Torchvision),
        "hf_vit" => Ok(Layout::HfVit),
        other => Err(format!("expected torchvision or hf_vit, got `{other}`")),
    }
}

pub(crate) fn run(args: &WeightsArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        WeightsCommand::List(a) => list(a),
        WeightsCommand::Pull(a) => pull_all(a),
        WeightsCommand::Verify(a) => verify(a),
        WeightsCommand::Import(a) => import(a),
    }
}

fn entries() -> anyhow::Result<Vec<WeightsEntry>> {
    catalog::from_env().map_err(|e| anyhow::anyhow!("{e}"))
}

/// `f37072fd… (published prefix)` or `trust on first use`.
fn pinned_text(entry: &WeightsEntry) -> String {
    if entry.is_pinned() {
        format!("{}… (published prefix)", entry.sha256_prefix)
    } else {
        "none published (trust on first use)".to_string()
    }
}

// ------------------------------------------------------------------- list

#[derive(Tabled)]
struct Row {
    name: String,
    arch: String,
    source: String,
    size: String,
    #[tabled(rename = "published sha256")]
    published: String,
    #[tabled(rename = "recorded sha256")]
    recorded: String,
    state: String,
}

fn list(args: &ListArgs) -> anyhow::Result<ExitCode> {
    let cache = args.dir.cache();
    let entries = entries()?;
    let mut names: Vec<(String, Option<&WeightsEntry>)> =
        entries.iter().map(|e| (e.name.clone(), Some(e))).collect();
    for name in cache.recorded_names() {
        if !entries.iter().any(|e| e.name == name) {
            names.push((name, None));
        }
    }
    let mut rows = Vec::new();
    let mut json = Vec::new();
    for (name, entry) in &names {
        let record = cache.read_record(name).ok().flatten();
        let check = if args.quick {
            Check::Quick
        } else {
            Check::Memoised
        };
        let state = cache.state(name, check).map_err(|e| e.to_string());
        let label = state.as_ref().map_or("unreadable", WeightsState::label);
        let bytes = std::fs::metadata(cache.weights_file(name))
            .ok()
            .map(|m| m.len());
        let arch = entry
            .map(|e| e.arch.clone())
            .or_else(|| record.as_ref().map(|r| r.arch.clone()))
            .unwrap_or_default();
        let source = entry.map_or_else(
            || {
                record
                    .as_ref()
                    .map_or(String::new(), |r| format!("imported from {}", r.source))
            },
            |e| e.source.clone(),
        );
        rows.push(Row {
            name: name.clone(),
            arch: arch.clone(),
            source: source.clone(),
            size: match (bytes, entry.and_then(|e| e.bytes)) {
                (Some(b), _) => HumanBytes(b).to_string(),
                (None, Some(published)) => format!("~{}", HumanBytes(published)),
                (None, None) => "-".into(),
            },
            published: entry.map_or("-".into(), pinned_text),
            recorded: record.as_ref().map_or("-".into(), |r| {
                format!("{}…", &r.sha256[..16.min(r.sha256.len())])
            }),
            state: label.to_string(),
        });
        let mut value = serde_json::json!({
            "name": name,
            "arch": arch,
            "source": source,
            "url": entry.map(|e| e.url.clone()),
            "file": entry.map(|e| e.file_name().to_string()),
            "layout": entry.map(|e| e.layout).or(record.as_ref().map(|r| r.layout)),
            "default": entry.is_some_and(|e| e.default),
            "published_sha256_prefix": entry.map(|e| e.sha256_prefix.clone()),
            "published_bytes": entry.and_then(|e| e.bytes),
            "path": cache.weights_file(name),
            "bytes": bytes,
            "sha256": record.as_ref().map(|r| r.sha256.clone()),
            "source_sha256": record.as_ref().map(|r| r.source_sha256.clone()),
            "state": label,
        });
        match &state {
            Ok(WeightsState::Corrupt { actual, .. }) => {
                value["actual_sha256"] = actual.clone().into()
            }
            Err(e) => value["error"] = e.clone().into(),
            Ok(_) => {}
        }
        json.push(value);
    }
    if args.json {
        let out = serde_json::json!({ "weights_dir": cache.dir(), "weights": json });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).context("serialising the list")?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("{}", Table::new(&rows).with(Style::sharp()));
    let count = |label: &str| rows.iter().filter(|r| r.state == label).count();
    println!(
        "{}: {} verified, {} present, {} corrupt, {} missing",
        cache.dir().display(),
        count("verified"),
        count("present"),
        count("corrupt"),
        count("missing"),
    );
    for row in rows.iter().filter(|r| r.state == "corrupt") {
        println!(
            "note: {} no longer has the SHA-256 recorded when it was pulled; `sweep weights pull {}` replaces it",
            cache.weights_file(&row.name).display(),
            row.name
        );
    }
    Ok(ExitCode::SUCCESS)
}

// ------------------------------------------------------------------- pull

fn pull_all(args: &PullArgs) -> anyhow::Result<ExitCode> {
    let entries = entries()?;
    let mut chosen: Vec<&WeightsEntry> = Vec::new();
    for name in &args.names {
        let entry = entries
            .iter()
            .find(|e| &e.name == name)
            .ok_or_else(|| anyhow::anyhow!("{}", catalog::unknown_name(&entries, name)))?;
        if !chosen.iter().any(|c| c.name == entry.name) {
            chosen.push(entry);
        }
    }
    let ok = pull_weights(&chosen, &args.dir.cache(), args.base_url.as_deref());
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Pulls every entry not yet verified in `cache`, reporting as it goes;
/// `false` if any failed. `sweep run --pull` calls it too.
pub(crate) fn pull_weights(
    entries: &[&WeightsEntry],
    cache: &WeightsCache,
    base_url: Option<&str>,
) -> bool {
    let mut failed = 0usize;
    for entry in entries {
        match pull_one(entry, cache, base_url) {
            Ok(line) => println!("{line}"),
            Err(e) => {
                failed += 1;
                eprintln!("error: {}: {e:#}", entry.name);
            }
        }
    }
    if failed > 0 {
        eprintln!(
            "{failed} of {} weights could not be pulled; run the same command again to retry (partial downloads resume)",
            entries.len()
        );
    }
    failed == 0
}

/// Downloads, checks and converts one entry; the line to print.
fn pull_one(
    entry: &WeightsEntry,
    cache: &WeightsCache,
    base_url: Option<&str>,
) -> anyhow::Result<String> {
    let name = &entry.name;
    if cache.usable(name).is_ok() {
        return Ok(format!(
            "{name}: already here and verified ({})",
            cache.weights_file(name).display()
        ));
    }
    let url = entry.url_under(base_url);
    let raw = cache.download_file(name, entry.file_name());
    let checksum = Checksum::Sha256Prefix(&entry.sha256_prefix);
    let tty = std::io::stderr().is_terminal();
    let mut progress = PullProgress::new(name.clone(), url.clone(), tty).checking("SHA-256");
    let downloaded = download_checked(
        &url,
        &raw,
        checksum,
        &DownloadOptions::default(),
        &mut |event| progress.event(event),
    );
    progress.finish();
    let downloaded = downloaded?;
    let converted = convert_into_cache(
        &raw,
        entry.layout,
        &entry.arch,
        name,
        &url,
        &downloaded.md5,
        cache,
    );
    // The published file is only an input to the conversion.
    let _ = std::fs::remove_file(&raw);
    let record = converted?;
    let checked = if entry.is_pinned() {
        format!("SHA-256 starts with the published {}", entry.sha256_prefix)
    } else {
        format!(
            "no published checksum: SHA-256 {} recorded on first use",
            downloaded.md5
        )
    };
    Ok(format!(
        "{name}: downloaded {}{}, {checked}; converted {} tensors -> {} (SHA-256 {})",
        HumanBytes(downloaded.bytes),
        resumed_text(downloaded.resumed_from),
        record.tensors,
        cache.weights_file(name).display(),
        record.sha256
    ))
}

/// Converts `src` with `sweep-worker convert-weights` into the cache under
/// `name`, then records the result's SHA-256 (after the file is in place).
fn convert_into_cache(
    src: &Path,
    layout: Layout,
    arch: &str,
    name: &str,
    source: &str,
    source_sha256: &str,
    cache: &WeightsCache,
) -> anyhow::Result<WeightsRecord> {
    std::fs::create_dir_all(cache.dir())
        .with_context(|| format!("cannot create {}", cache.dir().display()))?;
    let dest = cache.weights_file(name);
    let program = super::worker::worker_program()?;
    let bar = std::io::stderr()
        .is_terminal()
        .then(|| spinner(format!("{name}: converting to the zoo's layout")));
    let output = Command::new(&program)
        .arg("convert-weights")
        .args(["--arch", arch, "--layout", layout.as_str()])
        .arg(src)
        .arg(&dest)
        .output()
        .with_context(|| format!("cannot start {}", program.display()))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if !output.status.success() {
        let why = String::from_utf8_lossy(&output.stderr).trim().to_string();
        bail!("{}: refused for `{arch}`: {why}", src.display());
    }
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("{} printed no summary", program.display()))?;
    let sha256 = file_fingerprint(&dest).map_err(|e| anyhow::anyhow!("{e}"))?;
    let record = WeightsRecord {
        name: name.to_string(),
        arch: arch.to_string(),
        layout,
        source: source.to_string(),
        source_sha256: source_sha256.to_string(),
        sha256,
        bytes: std::fs::metadata(&dest).map_or(0, |m| m.len()),
        tensors: summary["tensors"].as_u64().unwrap_or(0) as usize,
        converted_by: concat!("sweep ", env!("CARGO_PKG_VERSION")).to_string(),
    };
    cache
        .write_record(&record)
        .with_context(|| format!("cannot write {}", cache.record_file(name).display()))?;
    Ok(record)
}

// ----------------------------------------------------------------- verify

fn verify(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let cache = args.dir.cache();
    let names = if args.names.is_empty() {
        cache.recorded_names()
    } else {
        args.names.clone()
    };
    if names.is_empty() {
        println!(
            "no converted weights in {}; get some with `sweep weights pull NAME`",
            cache.dir().display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut failed = 0usize;
    for name in &names {
        let path = cache.weights_file(name);
        match cache.state(name, Check::Fresh) {
            Ok(WeightsState::Verified) => {
                let sha = cache
                    .read_record(name)
                    .ok()
                    .flatten()
                    .map_or(String::new(), |r| r.sha256);
                println!("ok      {name}  SHA-256 {sha}");
            }
            Ok(WeightsState::Missing) => {
                failed += 1;
                println!("FAILED  {name}");
                println!(
                    "        {} not found; get it with `sweep weights pull {name}`",
                    path.display()
                );
            }
            Ok(WeightsState::Present) => {
                failed += 1;
                println!("FAILED  {name}");
                println!(
                    "        {} has no record of its SHA-256; `sweep weights pull {name}` converts it again",
                    path.display()
                );
            }
            Ok(WeightsState::Corrupt { expected, actual }) => {
                failed += 1;
                println!("FAILED  {name}");
                println!(
                    "        {}: SHA-256 {actual}, recorded {expected}; `sweep weights pull {name}` replaces it",
                    path.display()
                );
            }
            Err(e) => {
                failed += 1;
                println!("FAILED  {name}");
                println!("        {e}");
            }
        }
    }
    println!(
        "{}: {} checked, {} ok, {failed} failed",
        cache.dir().display(),
        names.len(),
        names.len() - failed
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

// ----------------------------------------------------------------- import

fn import(args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let cache = args.dir.cache();
    let name = match &args.name {
        Some(n) => n.clone(),
        None => args
            .file
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_string)
            .ok_or_else(|| anyhow::anyhow!("{}: give the weights a --name", args.file.display()))?,
    };
    if name.is_empty()
        || name == catalog::IMAGENET
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        bail!("--name `{name}`: use letters, digits, `_`, `-` and `.` (and not `imagenet`)");
    }
    if !args.file.is_file() {
        bail!("{} not found", args.file.display());
    }
    let source_sha256 = file_fingerprint(&args.file).map_err(|e| anyhow::anyhow!("{e}"))?;
    // Importing under a catalogue name: the published checksum still applies.
    if let Some(entry) = entries()?.into_iter().find(|e| e.name == name) {
        if !source_sha256.starts_with(&entry.sha256_prefix) {
            bail!(
                "{}: SHA-256 {source_sha256} does not start with the {} published for `{name}`; import it under another --name",
                args.file.display(),
                entry.sha256_prefix
            );
        }
        if entry.arch != catalog::weights_arch(&args.arch) {
            bail!(
                "`{name}` is the catalogue's name for `{}` weights",
                entry.arch
            );
        }
    }
    let source = std::path::absolute(&args.file).unwrap_or_else(|_| args.file.clone());
    let record = convert_into_cache(
        &args.file,
        args.layout,
        catalog::weights_arch(&args.arch),
        &name,
        &source.display().to_string(),
        &source_sha256,
        &cache,
    )?;
    println!(
        "{name}: imported {} tensors for `{}` -> {} (SHA-256 {}); use it with `pretrained: {{weights: {name}}}`",
        record.tensors,
        record.arch,
        cache.weights_file(&name).display(),
        record.sha256
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_entries_show_their_prefix_and_others_say_trust_on_first_use() {
        let entries = catalog::builtin();
        let r18 = entries
            .iter()
            .find(|e| e.name == "resnet18_imagenet")
            .unwrap();
        assert_eq!(pinned_text(r18), "f37072fd… (published prefix)");
        let hf = entries.iter().find(|e| e.name == "vit_b16_in21k").unwrap();
        assert_eq!(pinned_text(hf), "none published (trust on first use)");
    }

    #[test]
    fn layouts_parse_by_name() {
        assert_eq!(parse_layout("hf_vit"), Ok(Layout::HfVit));
        assert!(parse_layout("keras").unwrap_err().contains("keras"));
    }
}
