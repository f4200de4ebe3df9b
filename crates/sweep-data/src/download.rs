//! Downloading official MedMNIST files, resumably and verified.
//!
//! MedMNIST's files live on Zenodo and run up to gigabytes at 224 px, over
//! connections that drop. A scientist must never end up training on half a
//! file, and should not have to start a 1.5 GB download over because Wi-Fi
//! blinked. So a download here:
//!
//! * writes to `<file>.part` next to the destination, locked against a second
//!   concurrent download of the same file;
//! * resumes an existing `.part` with `Range: bytes=N-`, appending on
//!   `206 Partial Content` and starting over on `200 OK` (a server that
//!   ignores ranges);
//! * retries dropped connections a bounded number of times, resuming each
//!   time, and keeps the `.part` if it still fails, so the next run resumes;
//! * checks the MD5 of the complete `.part` against the expected one, deletes
//!   it on a mismatch, and otherwise fsyncs and renames it to the final name.
//!   Nothing ever appears under the final name unless its MD5 matched.
//!
//! The expected MD5 is a parameter: `sweep data pull` passes the catalog's
//! official checksum, tests pass the checksum of the file they serve.
//! [`download_checked`] takes a [`Checksum`] instead, for files published
//! with a SHA-256 prefix in their name (torchvision's weights, pulled by
//! `sweep weights`): the same protocol, another digest.
//!
//! Only available with the `download` feature, which brings in the HTTP
//! client (ureq with rustls).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ureq::Agent;

use crate::error::DataError;
use crate::fingerprint::file_fingerprint;
use crate::verify::{Md5Memo, file_md5, is_md5_hex};

/// Where MedMNIST+ (v3) publishes its files: Zenodo record 10519652.
pub const DEFAULT_BASE_URL: &str = "https://zenodo.org/records/10519652/files/";

/// Environment variable that overrides [`DEFAULT_BASE_URL`] (a mirror, or a
/// local server in tests).
pub const BASE_URL_ENV: &str = "SWEEP_DATA_URL";

/// Suffix of the partial file kept beside the destination.
pub const PART_SUFFIX: &str = ".part";

const CHUNK_BYTES: usize = 256 * 1024;

/// The download URL of `file_name` under `base`: `base` (a `/` is added if
/// missing) + `file_name` + `?download=1`, as Zenodo serves files.
pub fn file_url(base: &str, file_name: &str) -> String {
    let slash = if base.ends_with('/') { "" } else { "/" };
    format!("{base}{slash}{file_name}?download=1")
}

/// The partial file for `dest`: `dest` with `.part` appended.
pub fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.as_os_str().to_owned();
    name.push(PART_SUFFIX);
    PathBuf::from(name)
}

/// What a download's bytes must hash to before they are put in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum<'a> {
    /// The whole MD5, 32 hexadecimal digits (MedMNIST's published sums).
    Md5(&'a str),
    /// The first hexadecimal digits (at least 8) of the SHA-256, as
    /// torchvision puts them in its weight files' names; an empty prefix
    /// checks nothing (the caller records the full digest instead).
    Sha256Prefix(&'a str),
}

impl Checksum<'_> {
    /// `MD5` or `SHA-256`, for messages.
    pub fn algorithm(&self) -> &'static str {
        match self {
            Checksum::Md5(_) => "MD5",
            Checksum::Sha256Prefix(_) => "SHA-256",
        }
    }

    fn expected(&self) -> String {
        match self {
            Checksum::Md5(h) | Checksum::Sha256Prefix(h) => h.to_ascii_lowercase(),
        }
    }

    fn check_well_formed(&self) -> Result<(), DownloadError> {
        match self {
            Checksum::Md5(h) if !is_md5_hex(h) => Err(DownloadError::BadExpectedMd5(h.to_string())),
            Checksum::Sha256Prefix(h)
                if !(h.is_empty()
                    || (8..=64).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_hexdigit())) =>
            {
                Err(DownloadError::BadExpectedSha256(h.to_string()))
            }
            _ => Ok(()),
        }
    }

    /// The full lower-case digest of `path` in this checksum's algorithm.
    fn digest(&self, path: &Path) -> Result<String, DataError> {
        match self {
            Checksum::Md5(_) => file_md5(path),
            Checksum::Sha256Prefix(_) => file_fingerprint(path),
        }
    }

    /// Whether a full digest satisfies this checksum.
    fn matches(&self, actual: &str) -> bool {
        actual.starts_with(&self.expected())
    }
}

/// Network settings. Every wait is bounded.
#[derive(Debug, Clone)]
pub struct DownloadOptions {
    /// Limit for resolving the host and establishing the connection (TLS included).
    pub connect_timeout: Duration,
    /// Limit for the response headers to arrive, and for each read of the
    /// body: a stalled connection fails after this long without data.
    pub read_timeout: Duration,
    /// How many times a failed attempt (dropped connection, timeout, HTTP
    /// 429 or 5xx) is retried within one call, resuming where it stopped.
    pub retries: u32,
    /// Pause before the first retry; doubled for each further one.
    pub retry_delay: Duration,
    /// Honour `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` and `NO_PROXY`.
    pub use_env_proxy: bool,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        DownloadOptions {
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
            retries: 3,
            retry_delay: Duration::from_secs(2),
            use_env_proxy: true,
        }
    }
}

/// What a download is doing, for progress displays.
#[derive(Debug)]
pub enum DownloadEvent<'a> {
    /// The server answered; the body starts at byte `offset` (non-zero when
    /// resuming) of `total` bytes (when the server says).
    Started { offset: u64, total: Option<u64> },
    /// `done` bytes of the file are now in the `.part`.
    Progress { done: u64 },
    /// An attempt failed and another follows after `delay`.
    Retrying {
        attempt: u32,
        delay: Duration,
        error: &'a DownloadError,
    },
    /// All bytes are in; the MD5 is being computed.
    Verifying { bytes: u64 },
}

/// A finished, verified download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// The final file.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Bytes that were already in the `.part` when this call started and
    /// were kept (0 for a fresh download, or when the server forced a restart).
    pub resumed_from: u64,
    /// Its MD5 (equal to the expected one, lower case); for a
    /// [`Checksum::Sha256Prefix`] download, its full SHA-256.
    pub md5: String,
    /// HTTP requests made (1 unless a retry or restart was needed).
    pub requests: u32,
}

/// What [`pull`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullOutcome {
    /// The destination already had the expected MD5; nothing was downloaded.
    AlreadyVerified,
    /// The destination was missing and has been downloaded.
    Downloaded(Downloaded),
    /// The destination had another MD5 (`previous_md5`) and has been replaced
    /// by a verified download.
    Replaced {
        previous_md5: String,
        download: Downloaded,
    },
}

/// Why a download failed. Every message names the URL or file concerned.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The expected checksum is not an MD5.
    #[error("expected MD5 `{0}` is not 32 hexadecimal digits")]
    BadExpectedMd5(String),

    /// The expected SHA-256 prefix is not 8 to 64 hexadecimal digits.
    #[error("expected SHA-256 prefix `{0}` is not 8 to 64 hexadecimal digits")]
    BadExpectedSha256(String),

    /// The server answered with an error status.
    #[error("GET {url}: HTTP {status}{}", reason_suffix(*status))]
    Status { url: String, status: u16 },

    /// The connection failed, stalled or closed before the whole file came.
    #[error("GET {url}: {detail}{}", kept_suffix(part, *kept))]
    Transport {
        url: String,
        detail: String,
        part: PathBuf,
        kept: u64,
    },

    /// The server's answer made no sense (a range other than the one asked
    /// for, more bytes than announced).
    #[error("GET {url}: {detail}")]
    Protocol { url: String, detail: String },

    /// The downloaded bytes do not have the expected checksum (MD5, or a
    /// SHA-256 prefix). The `.part` has been deleted.
    #[error(
        "{}: {algorithm} mismatch: expected {expected}, got {actual} ({bytes} bytes from {url}); the download was deleted",
        path.display()
    )]
    Checksum {
        algorithm: &'static str,
        path: PathBuf,
        url: String,
        expected: String,
        actual: String,
        bytes: u64,
    },

    /// Another process holds the lock on the `.part`.
    #[error(
        "{}: another process is downloading this file; wait for it to finish",
        part.display()
    )]
    Busy { part: PathBuf },

    /// A local file operation failed.
    #[error("{}: cannot {action}: {source}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: io::Error,
    },
}

impl DownloadError {
    /// Whether another attempt might succeed: dropped connections, timeouts,
    /// HTTP 408, 429 and 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            DownloadError::Transport { .. } => true,
            DownloadError::Status { status, .. } => {
                matches!(status, 408 | 429) || (500..600).contains(status)
            }
            _ => false,
        }
    }
}

fn reason_suffix(status: u16) -> String {
    let reason = match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        410 => "Gone",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => return String::new(),
    };
    format!(" {reason}")
}

fn kept_suffix(part: &Path, kept: u64) -> String {
    if kept == 0 {
        String::new()
    } else {
        format!(
            "; {kept} bytes kept in {} (run again to resume)",
            part.display()
        )
    }
}

/// Makes sure `dest` holds a file with MD5 `expected_md5`: skips the
/// download when it already does (asking `memo` first, so an unchanged
/// verified file is not re-read), else [`download`]s it and records the new
/// file's MD5 in `memo`. A destination with another MD5 is replaced only
/// once the new download has verified.
pub fn pull(
    url: &str,
    dest: &Path,
    expected_md5: &str,
    memo: &Md5Memo,
    options: &DownloadOptions,
    on_event: &mut dyn FnMut(DownloadEvent<'_>),
) -> Result<PullOutcome, DownloadError> {
    if !is_md5_hex(expected_md5) {
        return Err(DownloadError::BadExpectedMd5(expected_md5.to_string()));
    }
    let previous = if dest.is_file() {
        let md5 = memo
            .md5(dest)
            .map_err(|e| hash_error(dest, "hash the existing file", e))?;
        if md5.eq_ignore_ascii_case(expected_md5) {
            return Ok(PullOutcome::AlreadyVerified);
        }
        Some(md5)
    } else {
        None
    };
    let done = download(url, dest, expected_md5, options, on_event)?;
    // The memo only saves time later; failing to write it changes nothing.
    let _ = memo.record(dest, &done.md5);
    Ok(match previous {
        None => PullOutcome::Downloaded(done),
        Some(previous_md5) => PullOutcome::Replaced {
            previous_md5,
            download: done,
        },
    })
}

/// Downloads `url` to `dest` through `dest.part`, resuming a `.part` left by
/// an earlier attempt, and renames it to `dest` only if its MD5 equals
/// `expected_md5` (see the module docs for the whole protocol). An existing
/// `dest` is atomically replaced on success and untouched on failure.
pub fn download(
    url: &str,
    dest: &Path,
    expected_md5: &str,
    options: &DownloadOptions,
    on_event: &mut dyn FnMut(DownloadEvent<'_>),
) -> Result<Downloaded, DownloadError> {
    download_checked(url, dest, Checksum::Md5(expected_md5), options, on_event)
}

/// [`download`], with the bytes checked against `checksum` (an MD5 or a
/// SHA-256 prefix) before they are renamed to `dest`.
pub fn download_checked(
    url: &str,
    dest: &Path,
    checksum: Checksum<'_>,
    options: &DownloadOptions,
    on_event: &mut dyn FnMut(DownloadEvent<'_>),
) -> Result<Downloaded, DownloadError> {
    checksum.check_well_formed()?;
    let expected = checksum.expected();
    let part = part_path(dest);
    let io_err = |path: &Path, action: &'static str| {
        let path = path.to_path_buf();
        move |source| DownloadError::Io {
            path,
            action,
            source,
        }
    };
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(io_err(parent, "create the data folder"))?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&part)
        .map_err(io_err(&part, "open"))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => return Err(DownloadError::Busy { part }),
        Err(fs::TryLockError::Error(e)) => return Err(io_err(&part, "lock")(e)),
    }
    let resumed_from = file.metadata().map_err(io_err(&part, "stat"))?.len();

    let agent = agent(options);
    let mut session = Session {
        agent: &agent,
        read_timeout: options.read_timeout,
        url,
        part: &part,
        file: &mut file,
        kept_from_start: resumed_from,
    };
    let fetched = session.fetch(options, &checksum, on_event);
    let resumed_from = session.kept_from_start;
    let (bytes, requests) = match fetched {
        Ok(done) => done,
        Err(e) => {
            // Keep a `.part` with bytes in it for the next run to resume;
            // an empty one is just clutter.
            if file.metadata().is_ok_and(|m| m.len() == 0) {
                let _ = fs::remove_file(&part);
            }
            return Err(e);
        }
    };

    on_event(DownloadEvent::Verifying { bytes });
    file.sync_all().map_err(io_err(&part, "flush"))?;
    let actual = checksum
        .digest(&part)
        .map_err(|e| hash_error(&part, "hash", e))?;
    if !checksum.matches(&actual) {
        drop(file);
        let _ = fs::remove_file(&part);
        return Err(DownloadError::Checksum {
            algorithm: checksum.algorithm(),
            path: dest.to_path_buf(),
            url: url.to_string(),
            expected,
            actual,
            bytes,
        });
    }
    fs::rename(&part, dest).map_err(io_err(dest, "move the verified download into place"))?;
    drop(file);
    // The same durability rule as every other file `sweep` writes.
    crate::atomic::sync_parent_folder(dest);
    Ok(Downloaded {
        path: dest.to_path_buf(),
        bytes,
        resumed_from,
        md5: actual,
        requests,
    })
}

/// A hashing failure as a download error, without repeating the path.
fn hash_error(path: &Path, action: &'static str, e: DataError) -> DownloadError {
    let source = match e {
        DataError::Io { source, .. } => source,
        other => io::Error::other(other.to_string()),
    };
    DownloadError::Io {
        path: path.to_path_buf(),
        action,
        source,
    }
}

fn agent(options: &DownloadOptions) -> Agent {
    let mut config = Agent::config_builder()
        .http_status_as_error(false)
        .timeout_resolve(Some(options.connect_timeout))
        .timeout_connect(Some(options.connect_timeout))
        .timeout_send_request(Some(options.connect_timeout))
        .timeout_recv_response(Some(options.read_timeout))
        .timeout_per_read(Some(options.read_timeout))
        .max_redirects(10)
        .user_agent(concat!("sweep/", env!("CARGO_PKG_VERSION")));
    if !options.use_env_proxy {
        config = config.proxy(None);
    }
    config.build().into()
}

/// One download's state across attempts.
struct Session<'a> {
    agent: &'a Agent,
    read_timeout: Duration,
    url: &'a str,
    part: &'a Path,
    file: &'a mut File,
    /// Bytes of the original `.part` still in use (drops to 0 when the server
    /// makes us start over).
    kept_from_start: u64,
}

/// How one attempt ended, when it did not fail.
enum Attempt {
    /// The whole body is in the `.part`.
    Complete(u64),
    /// The server refused the range (416): the `.part` may already be
    /// complete.
    RangeRefused,
    /// The server answered a range request with a different range; the
    /// `.part` was emptied and the next attempt starts from zero.
    Restart,
}

impl Session<'_> {
    /// Runs attempts until the body is complete; returns its size and the
    /// number of requests made. At most `1 + retries` transient failures and
    /// two restarts, so this always ends.
    fn fetch(
        &mut self,
        options: &DownloadOptions,
        checksum: &Checksum<'_>,
        on_event: &mut dyn FnMut(DownloadEvent<'_>),
    ) -> Result<(u64, u32), DownloadError> {
        let mut requests = 0u32;
        let mut failures = 0u32;
        let mut restarts = 0u32;
        loop {
            requests += 1;
            let error = match self.attempt(on_event) {
                Ok(Attempt::Complete(bytes)) => return Ok((bytes, requests)),
                Ok(Attempt::RangeRefused) => {
                    let len = self.len()?;
                    if checksum
                        .digest(self.part)
                        .is_ok_and(|m| checksum.matches(&m))
                    {
                        return Ok((len, requests));
                    }
                    self.truncate()?;
                    restarts += 1;
                    None
                }
                Ok(Attempt::Restart) => {
                    restarts += 1;
                    None
                }
                Err(e) => Some(e),
            };
            match error {
                None if restarts <= 2 => continue,
                None => {
                    return Err(DownloadError::Protocol {
                        url: self.url.to_string(),
                        detail: "the server keeps answering range requests with other ranges"
                            .to_string(),
                    });
                }
                Some(e) if e.is_transient() && failures < options.retries => {
                    failures += 1;
                    let delay = options
                        .retry_delay
                        .saturating_mul(1 << (failures - 1).min(16));
                    on_event(DownloadEvent::Retrying {
                        attempt: failures,
                        delay,
                        error: &e,
                    });
                    std::thread::sleep(delay);
                }
                Some(e) => return Err(e),
            }
        }
    }

    fn len(&self) -> Result<u64, DownloadError> {
        self.file
            .metadata()
            .map(|m| m.len())
            .map_err(|source| self.io("stat", source))
    }

    fn truncate(&mut self) -> Result<(), DownloadError> {
        self.file
            .set_len(0)
            .map_err(|source| self.io("truncate", source))?;
        self.kept_from_start = 0;
        Ok(())
    }

    fn io(&self, action: &'static str, source: io::Error) -> DownloadError {
        DownloadError::Io {
            path: self.part.to_path_buf(),
            action,
            source,
        }
    }

    fn transport(&self, detail: String) -> DownloadError {
        DownloadError::Transport {
            url: self.url.to_string(),
            detail,
            part: self.part.to_path_buf(),
            kept: self.file.metadata().map_or(0, |m| m.len()),
        }
    }

    fn attempt(
        &mut self,
        on_event: &mut dyn FnMut(DownloadEvent<'_>),
    ) -> Result<Attempt, DownloadError> {
        let mut offset = self.len()?;
        let mut request = self.agent.get(self.url);
        if offset > 0 {
            request = request.header("Range", format!("bytes={offset}-"));
        }
        let response = request
            .call()
            .map_err(|e| self.transport(request_error_detail(&e, self.read_timeout)))?;
        let status = response.status().as_u16();
        let headers = response.headers();
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let total = match status {
            206 if offset > 0 => {
                let range = header("content-range").unwrap_or_default();
                match parse_content_range(&range) {
                    Some((start, total)) if start == offset => total,
                    _ => {
                        // Not the bytes asked for: start over rather than
                        // splice unrelated ranges together.
                        self.truncate()?;
                        return Ok(Attempt::Restart);
                    }
                }
            }
            200 => {
                if offset > 0 {
                    self.truncate()?;
                    offset = 0;
                }
                header("content-length").and_then(|v| v.trim().parse().ok())
            }
            416 if offset > 0 => return Ok(Attempt::RangeRefused),
            _ => {
                return Err(DownloadError::Status {
                    url: self.url.to_string(),
                    status,
                });
            }
        };
        self.file
            .seek(SeekFrom::Start(offset))
            .map_err(|source| self.io("seek", source))?;
        on_event(DownloadEvent::Started { offset, total });

        let mut body = response.into_body().into_reader();
        let mut buffer = vec![0u8; CHUNK_BYTES];
        let mut done = offset;
        loop {
            let n = match body.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.flush();
                    return Err(self.transport(format!(
                        "connection lost after {done}{} bytes: {}",
                        total.map(|t| format!(" of {t}")).unwrap_or_default(),
                        read_error_detail(&e, self.read_timeout)
                    )));
                }
            };
            if total.is_some_and(|t| done + n as u64 > t) {
                self.truncate()?;
                return Err(DownloadError::Protocol {
                    url: self.url.to_string(),
                    detail: format!(
                        "the server sent more than the {} bytes it announced",
                        total.unwrap_or_default()
                    ),
                });
            }
            self.file
                .write_all(&buffer[..n])
                .map_err(|source| self.io("write", source))?;
            done += n as u64;
            on_event(DownloadEvent::Progress { done });
        }
        if let Some(total) = total
            && done < total
        {
            self.flush();
            return Err(self.transport(format!("connection closed after {done} of {total} bytes")));
        }
        Ok(Attempt::Complete(done))
    }

    /// Pushes what was received to disk before reporting a failure, so a
    /// later resume starts from bytes that are really there.
    fn flush(&mut self) {
        let _ = self.file.flush();
        let _ = self.file.sync_data();
    }
}

/// `bytes START-END/TOTAL` (TOTAL may be `*`) → `(START, TOTAL)`.
fn parse_content_range(value: &str) -> Option<(u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let start: u64 = start.trim().parse().ok()?;
    let end: u64 = end.trim().parse().ok()?;
    if end < start {
        return None;
    }
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((start, total))
}

/// Why a request got no response, in words.
fn request_error_detail(e: &ureq::Error, read_timeout: Duration) -> String {
    match e {
        ureq::Error::Timeout(ureq::Timeout::PerRead) => {
            format!("no data for {}", seconds(read_timeout))
        }
        ureq::Error::Timeout(phase) => format!("timed out ({phase})"),
        ureq::Error::HostNotFound => "host not found (no network, or a wrong URL?)".to_string(),
        ureq::Error::ConnectionFailed => "cannot connect".to_string(),
        ureq::Error::Io(io) => format!("request failed: {io}"),
        other => format!("request failed: {other}"),
    }
}

/// Why reading the body failed, in words. ureq wraps its own errors in
/// `io::Error` when the body is read through a reader.
fn read_error_detail(e: &io::Error, read_timeout: Duration) -> String {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ureq::Error>())
    {
        Some(inner) => request_error_detail(inner, read_timeout),
        None => match e.get_ref() {
            Some(inner) => inner.to_string(),
            None => e.to_string(),
        },
    }
}

/// `1.5 s`, `300 ms`.
fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_part_paths() {
        assert_eq!(
            file_url(DEFAULT_BASE_URL, "retinamnist_128.npz"),
            "https://zenodo.org/records/10519652/files/retinamnist_128.npz?download=1"
        );
        assert_eq!(
            file_url("http://127.0.0.1:8000/m", "a.npz"),
            "http://127.0.0.1:8000/m/a.npz?download=1"
        );
        assert_eq!(
            part_path(Path::new("/d/chestmnist.npz")),
            Path::new("/d/chestmnist.npz.part")
        );
    }

    #[test]
    fn content_range_parsing() {
        assert_eq!(
            parse_content_range("bytes 100-199/200"),
            Some((100, Some(200)))
        );
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, None)));
        assert_eq!(parse_content_range("bytes */200"), None);
        assert_eq!(parse_content_range("bytes 9-5/200"), None);
        assert_eq!(parse_content_range("items 0-1/2"), None);
    }

    #[test]
    fn messages_name_status_url_and_checksums() {
        let e = DownloadError::Status {
            url: "http://h/x.npz".into(),
            status: 404,
        };
        assert_eq!(e.to_string(), "GET http://h/x.npz: HTTP 404 Not Found");
        assert!(!e.is_transient());
        let e = DownloadError::Status {
            url: "u".into(),
            status: 503,
        };
        assert!(e.is_transient());
        let e = DownloadError::Transport {
            url: "u".into(),
            detail: "connection closed after 5 of 10 bytes".into(),
            part: PathBuf::from("/d/x.npz.part"),
            kept: 5,
        };
        assert_eq!(
            e.to_string(),
            "GET u: connection closed after 5 of 10 bytes; 5 bytes kept in /d/x.npz.part (run again to resume)"
        );
        let e = DownloadError::Checksum {
            algorithm: "MD5",
            path: PathBuf::from("/d/x.npz"),
            url: "u".into(),
            expected: "a".repeat(32),
            actual: "b".repeat(32),
            bytes: 10,
        };
        let text = e.to_string();
        assert!(text.contains(&"a".repeat(32)) && text.contains(&"b".repeat(32)));
        assert!(text.contains("MD5 mismatch"), "{text}");
    }

    #[test]
    fn sha256_prefixes_match_the_start_of_the_digest_only() {
        let prefix = Checksum::Sha256Prefix("BA7816BF");
        assert_eq!(prefix.algorithm(), "SHA-256");
        assert!(prefix.check_well_formed().is_ok());
        assert!(prefix.matches("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        assert!(
            !prefix.matches("ca7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert!(Checksum::Sha256Prefix("").matches("anything"));
        for bad in ["ba78", "not-hex!", &"a".repeat(65)] {
            assert!(
                matches!(
                    Checksum::Sha256Prefix(bad).check_well_formed(),
                    Err(DownloadError::BadExpectedSha256(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn rejects_a_malformed_expected_md5_before_touching_anything() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("x.npz");
        let err = download(
            "http://127.0.0.1:9/x.npz",
            &dest,
            "not-an-md5",
            &DownloadOptions::default(),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(matches!(err, DownloadError::BadExpectedMd5(_)), "{err}");
        assert!(!part_path(&dest).exists());
    }
}
