//! Downloads against a local HTTP server, never the internet.
//!
//! `sweep data pull` must behave under the failures real downloads meet: a
//! connection dropped half-way (resume with a `Range` request), bytes that
//! do not match the checksum, a missing file, a server that ignores ranges,
//! a stalled connection. Each test starts a small HTTP/1.1 server on
//! 127.0.0.1 (hand-written on `TcpListener`, so it can misbehave on purpose),
//! serves a synthetic `.npz` built here, and takes the expected MD5 from that
//! file's bytes. Every server loop, socket and client wait has a time limit.
//!
//! Needs the `download` feature (on in workspace builds, since the `sweep`
//! binary enables it; alone: `cargo test -p sweep-data --features download`).

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use md5::{Digest, Md5};
use sweep_data::download::{
    DownloadError, DownloadEvent, DownloadOptions, Downloaded, PullOutcome, download, file_url,
    part_path, pull,
};
use sweep_data::{DatasetRef, Md5Memo, Split, verify_file};
use zip::write::{SimpleFileOptions, ZipWriter};

/// How long a test server lives at most, whatever the test does.
const SERVER_LIFETIME: Duration = Duration::from_secs(60);
/// Socket read/write limit inside the server.
const SERVER_IO_TIMEOUT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------- fixtures

/// A BreastMNIST-shaped `.npz` (28x28 grayscale, binary labels) with the
/// official split sizes, built in memory.
fn synthetic_npz() -> Vec<u8> {
    let splits = DatasetRef::parse("breastmnist").unwrap().info.splits;
    let mut zip = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default();
    // Noise-like pixels (a linear congruential sequence) so the archive does
    // not compress to nothing: about 0.6 MB, several reads per download.
    let mut state = 0x2545_f491_u32;
    let mut noise = move || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 24) as u8
    };
    for (split, n) in Split::ALL.into_iter().zip(splits) {
        let pixels: Vec<u8> = (0..n * 28 * 28).map(|_| noise()).collect();
        let labels: Vec<u8> = (0..n).map(|i| u8::from(i % 3 == 0)).collect();
        for (key, shape, data) in [
            (split.images_key(), format!("({n}, 28, 28)"), pixels),
            (split.labels_key(), format!("({n}, 1)"), labels),
        ] {
            zip.start_file(format!("{key}.npy"), options).unwrap();
            zip.write_all(&npy_u8(&shape, &data)).unwrap();
        }
    }
    zip.finish().unwrap().into_inner()
}

/// A `.npy` (format 1.0) of `|u1` values with the given shape text.
fn npy_u8(shape: &str, data: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '|u1', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

/// Short timeouts, no retries, no proxy from the environment (the server is
/// on loopback).
fn options() -> DownloadOptions {
    DownloadOptions {
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(5),
        retries: 0,
        retry_delay: Duration::from_millis(10),
        use_env_proxy: false,
    }
}

/// Collects event kinds (the events borrow, so keep strings).
#[derive(Default)]
struct Events(Vec<String>);

impl Events {
    fn sink(&mut self) -> impl FnMut(DownloadEvent<'_>) + '_ {
        |event| {
            let text = match event {
                DownloadEvent::Started { offset, total } => {
                    format!("started {offset} {total:?}")
                }
                DownloadEvent::Progress { .. } => "progress".to_string(),
                DownloadEvent::Retrying { attempt, .. } => format!("retrying {attempt}"),
                DownloadEvent::Verifying { bytes } => format!("verifying {bytes}"),
            };
            if self.0.last() != Some(&text) {
                self.0.push(text);
            }
        }
    }
}

// ------------------------------------------------------------------ server

/// How the server answers one path.
#[derive(Clone)]
enum Route {
    /// The file, honouring `Range: bytes=N-` (206, or 416 past the end).
    File(Vec<u8>),
    /// Like `File`, but the first request without a `Range` gets the full
    /// `Content-Length` and only `cut` bytes before the connection is closed.
    DropFirst { body: Vec<u8>, cut: usize },
    /// Like `DropFirst`, but instead of closing, the server goes silent for
    /// up to two seconds.
    StallFirst { body: Vec<u8>, cut: usize },
    /// The whole file with 200 OK, whatever the `Range` header says.
    IgnoreRange(Vec<u8>),
    /// `302 Found` to another path on this server (as Zenodo's
    /// `?download=1` links may redirect to storage).
    Redirect(String),
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    range: Option<String>,
}

struct Server {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(routes: Vec<(&str, Route)>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let routes: HashMap<String, Route> = routes
            .into_iter()
            .map(|(p, r)| (p.to_string(), r))
            .collect();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, stop) = (seen.clone(), stop.clone());
            std::thread::spawn(move || {
                let deadline = Instant::now() + SERVER_LIFETIME;
                let mut first_served: HashMap<String, bool> = HashMap::new();
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            serve(stream, &routes, &seen, &stop, &mut first_served);
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(2));
                        }
                        Err(_) => break,
                    }
                }
            })
        };
        Server {
            addr,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    fn base(&self) -> String {
        format!("http://{}/files/", self.addr)
    }

    fn url(&self, file: &str) -> String {
        file_url(&self.base(), file)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(
    mut stream: TcpStream,
    routes: &HashMap<String, Route>,
    seen: &Mutex<Vec<Seen>>,
    stop: &AtomicBool,
    first_served: &mut HashMap<String, bool>,
) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(SERVER_IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(SERVER_IO_TIMEOUT));
    let Some((path, headers)) = read_request(&mut stream) else {
        return;
    };
    let range = headers.get("range").cloned();
    seen.lock().unwrap().push(Seen {
        path: path.clone(),
        range: range.clone(),
    });
    let first = !first_served.contains_key(&path);
    first_served.insert(path.clone(), true);
    let start = range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse::<usize>().ok());

    let _ = match routes.get(path.strip_prefix("/files/").unwrap_or("")) {
        None => respond(&mut stream, "404 Not Found", &[], b"no such file\n"),
        Some(Route::IgnoreRange(body)) => respond(&mut stream, "200 OK", &[], body),
        Some(Route::Redirect(to)) => {
            respond(&mut stream, "302 Found", &[format!("Location: {to}")], b"")
        }
        Some(Route::DropFirst { body, cut }) if first && range.is_none() => {
            send_cut(&mut stream, body, *cut)
        }
        Some(Route::StallFirst { body, cut }) if first && range.is_none() => {
            let result = send_cut(&mut stream, body, *cut);
            let until = Instant::now() + Duration::from_secs(2);
            while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(10));
            }
            result
        }
        Some(
            Route::File(body) | Route::DropFirst { body, .. } | Route::StallFirst { body, .. },
        ) => match start {
            None => respond(&mut stream, "200 OK", &[], body),
            Some(n) if n >= body.len() => respond(
                &mut stream,
                "416 Range Not Satisfiable",
                &[format!("Content-Range: bytes */{}", body.len())],
                b"",
            ),
            Some(n) => respond(
                &mut stream,
                "206 Partial Content",
                &[format!(
                    "Content-Range: bytes {n}-{}/{}",
                    body.len() - 1,
                    body.len()
                )],
                &body[n..],
            ),
        },
    };
}

/// Reads the request head (at most 16 KiB); returns the path without the
/// query and the headers with lower-case names.
fn read_request(stream: &mut TcpStream) -> Option<(String, HashMap<String, String>)> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return None;
        }
        let n = stream.read(&mut byte).ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&byte[..n]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let target = lines.next()?.split(' ').nth(1)?.to_string();
    let path = target.split('?').next()?.to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some((path, headers))
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    extra: &[String],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n",
        body.len()
    );
    for line in extra {
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}

/// Announces the whole body but sends only `cut` bytes of it.
fn send_cut(stream: &mut TcpStream, body: &[u8], cut: usize) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(&body[..cut])?;
    stream.flush()
}

// ------------------------------------------------------------------- tests

fn assert_nothing_left(dest: &Path) {
    assert!(!dest.exists(), "{} must not exist", dest.display());
    let part = part_path(dest);
    assert!(!part.exists(), "{} must not exist", part.display());
}

fn dest_in(dir: &Path) -> PathBuf {
    dir.join("breastmnist.npz")
}

#[test]
fn good_file_is_downloaded_verified_and_then_skipped() {
    let body = synthetic_npz();
    let expected = md5_hex(&body);
    let server = Server::start(vec![("breastmnist.npz", Route::File(body.clone()))]);
    let dir = tempfile::tempdir().unwrap();
    let dest = dest_in(&dir.path().join("data"));
    let memo = Md5Memo::new(dir.path().join("memo"));
    let url = server.url("breastmnist.npz");

    let mut events = Events::default();
    let outcome = pull(
        &url,
        &dest,
        &expected,
        &memo,
        &options(),
        &mut events.sink(),
    )
    .unwrap();
    let len = body.len() as u64;
    assert_eq!(
        outcome,
        PullOutcome::Downloaded(Downloaded {
            path: dest.clone(),
            bytes: len,
            resumed_from: 0,
            md5: expected.clone(),
            requests: 1,
        })
    );
    assert_eq!(fs::read(&dest).unwrap(), body);
    assert!(!part_path(&dest).exists());
    assert_eq!(
        events.0,
        [
            format!("started 0 Some({len})"),
            "progress".to_string(),
            format!("verifying {len}"),
        ]
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/files/breastmnist.npz");
    assert_eq!(seen[0].range, None);

    // The downloaded file passes the same checks `sweep data verify` runs.
    let dataset = DatasetRef::parse("breastmnist").unwrap();
    let verdict = verify_file(&dest, &dataset, &expected, &memo);
    assert!(verdict.ok(), "{:?}", verdict.problems());

    // Already verified: a second pull makes no request.
    let again = pull(&url, &dest, &expected, &memo, &options(), &mut |_| {}).unwrap();
    assert_eq!(again, PullOutcome::AlreadyVerified);
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn wrong_checksum_leaves_neither_file_nor_part() {
    let body = synthetic_npz();
    let expected = md5_hex(&body);
    let mut tampered = body.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x01;
    let actual = md5_hex(&tampered);
    let server = Server::start(vec![("breastmnist.npz", Route::File(tampered))]);
    let dir = tempfile::tempdir().unwrap();
    let dest = dest_in(dir.path());
    let url = server.url("breastmnist.npz");

    let err = download(&url, &dest, &expected, &options(), &mut |_| {}).unwrap_err();
    match &err {
        DownloadError::Checksum {
            expected: e,
            actual: a,
            bytes,
            ..
        } => {
            assert_eq!((e, a), (&expected, &actual));
            assert_eq!(*bytes, body.len() as u64);
        }
        other => panic!("expected a checksum error, got {other}"),
    }
    let message = err.to_string();
    for needle in [&expected, &actual, &url, &dest.display().to_string()] {
        assert!(
            message.contains(needle.as_str()),
            "{message} lacks {needle}"
        );
    }
    assert!(!err.is_transient());
    assert_nothing_left(&dest);
}

#[test]
fn dropped_connection_keeps_the_part_and_the_next_call_resumes_with_range() {
    let body = synthetic_npz();
    let expected = md5_hex(&body);
    let cut = body.len() / 2;
    let server = Server::start(vec![(
        "breastmnist.npz",
        Route::DropFirst {
            body: body.clone(),
            cut,
        },
    )]);
    let dir = tempfile::tempdir().unwrap();
    let dest = dest_in(dir.path());
    let url = server.url("breastmnist.npz");

    let err = download(&url, &dest, &expected, &options(), &mut |_| {}).unwrap_err();
    match &err {
        DownloadError::Transport { kept, part, .. } => {
            assert_eq!(*kept, cut as u64);
            assert_eq!(part, &part_path(&dest));
        }
        other => panic!("expected a transport error, got {other}"),
    }
    let message = err.to_string();
    assert!(
        message.contains(&url) && message.contains("resume"),
        "{message}"
    );
    assert!(!dest.exists());
    assert_eq!(fs::read(part_path(&dest)).unwrap(), &body[..cut]);

    let mut events = Events::default();
    let done = download(&url, &dest, &expected, &options(), &mut events.sink()).unwrap();
    assert_eq!(done.resumed_from, cut as u64);
    assert_eq!(done.requests, 1);
    assert_eq!(done.md5, expected);
    assert_eq!(
        events.0[0],
        format!("started {cut} Some({})", body.len()),
        "the bar starts where the part ended"
    );
    assert_eq!(fs::read(&dest).unwrap(), body);
    assert!(!part_path(&dest).exists());

    let seen = server.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].range, None);
    assert_eq!(
        seen[1].range.as_deref(),
        Some(format!("bytes={cut}-").as_str())
    );
}

#[test]
fn dropped_connection_is_retried_within_one_call() {
    let body = synthetic_npz();
    let expected = md5_hex(&body);
    let cut = body.len() / 3;
    let server = Server::start(vec![(
        "breastmnist.npz",
        Route::DropFirst {
            body: body.clone(),
            cut,
        },
    )]);
    let dir = tempfile::tempdir().unwrap();
    let dest = dest_in(dir.path());
    let opts = DownloadOptions {
        retries: 2,
        ..options()
    };

    let mut events = Events::default();
    let done = download(
        &server.url("breastmnist.npz"),
        &dest,
        &expected,
        &opts,
        &mut events.sink(),
    )
    .unwrap();
    assert_eq!(done.requests, 2);
    assert_eq!(
        done.resumed_from, 0,
        "nothing was on disk when the call began"
    );
    assert!(
        events.0.contains(&"retrying 1".to_string()),
        "{:?}",
        events.0
    );
    assert!(
        !events.0.contains(&"retrying 2".to_string()),
        "{:?}",
        events.0
    );
    assert_eq!(fs::read(&dest).unwrap(), body);
    let ranges: Vec<_> = server.seen().into_iter().map(|s| s.range).collect();
    assert_eq!(ranges, [None, Some(format!("bytes={cut}-"))]);
}

#[test]
fn not_found_names_status_and_url() {
    let server = Server::start(vec![]);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("chestmnist_224.npz");
    let url = server.url("chestmnist_224.npz");
    let expected = "45bd33e6f06c3e8cdb481c74a89152aa";
    let opts = DownloadOptions {
        retries: 3,
        ..options()
    };

    let err = download(&url, &dest, expected, &opts, &mut |_| {}).unwrap_err();
    assert!(
        matches!(err, DownloadError::Status { status: 404, .. }),
        "{err}"
    );
    assert_eq!(err.to_string(), format!("GET {url}: HTTP 404 Not Found"));
    // Not retried: a missing file stays missing.
    assert_eq!(server.seen().len(), 1);
    assert_nothing_left(&dest);
}

#[test]
fn server_ignoring_range_restarts_from_zero() {
    let body = synthetic_npz();
    let expected = md5_hex(&body);
    let server = Server::start(vec![("breastmnist.npz", Route::IgnoreRange(body.clone()))]);
    let dir = tempfile::tempdir().unwrap();
    let dest = dest_in(dir.path());
    // A stale part from some other download.
    fs::write(part_path(&dest), vec![0xAB; 1000]).unwrap();

    let done = download(
        &server.url("breastmnist.npz"),
        &dest,
        &expected,
        &options(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(done.resumed_from, 0);
    assert_eq!(fs::read(&dest).unwrap(), body);
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].range.as_deref(), Some("bytes=1000-"));
}

#[test]
fn complete_part_refused_with_416_is_verified_and_kept() {
    let body = synthetic_npz();
    let expected = md5_hex(&body);
    let server = Server::start(vec![("breastmnist.npz", Route::File(body.clone()))]);
    let dir = tempfile::tempdir().unwrap();
    let dest = dest_in(dir.path());
    // Interrupted between the last byte and the rename.
    fs::write(part_path(&dest), &body).unwrap();

    let done = download(
        &server.url("breastmnist.npz"),
        &dest,
        &expected,
        &options(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(done.resumed_from, body.len() as u64);
    assert_eq!(done.requests, 1);
    assert_eq!(fs::read(&dest).unwrap(), body);
    assert!(!part_path(&dest).exists());
    assert_eq!(
        server.seen()[0].range.as_deref(),
        Some(format!("bytes={}-", body.len()).as_str())
    );
}

#[test]
fn corrupt_destination_is_replaced_only_by_a_verified_download() {
    let body = synthetic_npz();
    let expected = md5_hex(&body);
    let mut tampered = body.clone();
    tampered[10] ^= 0xFF;
    let server = Server::start(vec![
        ("breastmnist.npz", Route::File(body.clone())),
        ("bad/breastmnist.npz", Route::File(tampered)),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let dest = dest_in(dir.path());
    let memo = Md5Memo::new(dir.path().join("memo"));
    fs::write(&dest, b"truncated copy").unwrap();
    let old_md5 = md5_hex(b"truncated copy");

    // A bad download leaves the old file exactly as it was.
    let bad_url = file_url(&format!("{}bad/", server.base()), "breastmnist.npz");
    let err = pull(&bad_url, &dest, &expected, &memo, &options(), &mut |_| {}).unwrap_err();
    assert!(matches!(err, DownloadError::Checksum { .. }), "{err}");
    assert_eq!(fs::read(&dest).unwrap(), b"truncated copy");
    assert!(!part_path(&dest).exists());

    let url = server.url("breastmnist.npz");
    match pull(&url, &dest, &expected, &memo, &options(), &mut |_| {}).unwrap() {
        PullOutcome::Replaced {
            previous_md5,
            download,
        } => {
            assert_eq!(previous_md5, old_md5);
            assert_eq!(download.md5, expected);
        }
        other => panic!("expected a replacement, got {other:?}"),
    }
    assert_eq!(fs::read(&dest).unwrap(), body);
    // The memo knows the new file, so listing will not re-read it.
    assert_eq!(memo.cached(&dest), Some(expected));
}

#[test]
fn concurrent_download_of_the_same_file_is_refused() {
    let body = synthetic_npz();
    let server = Server::start(vec![("breastmnist.npz", Route::File(body.clone()))]);
    let dir = tempfile::tempdir().unwrap();
    let dest = dest_in(dir.path());
    let holder = fs::File::create(part_path(&dest)).unwrap();
    holder.lock().unwrap();

    let err = download(
        &server.url("breastmnist.npz"),
        &dest,
        &md5_hex(&body),
        &options(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, DownloadError::Busy { .. }), "{err}");
    assert!(server.seen().is_empty());
    assert!(!dest.exists());
}

#[test]
fn refused_connection_is_a_clear_error_without_leftovers() {
    // A port that was free a moment ago: nothing listens there.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dest = dest_in(dir.path());
    let url = file_url(&format!("http://{addr}/files/"), "breastmnist.npz");
    let err = download(
        &url,
        &dest,
        "750601b1f35ba3300ea97c75c52ff8f6",
        &options(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(err, DownloadError::Transport { kept: 0, .. }),
        "{err}"
    );
    assert!(
        err.to_string().starts_with(&format!("GET {url}: ")),
        "{err}"
    );
    assert_nothing_left(&dest);
}

#[test]
fn stalled_connection_times_out_and_keeps_what_arrived() {
    let body = synthetic_npz();
    let expected = md5_hex(&body);
    let cut = body.len() / 4;
    let server = Server::start(vec![(
        "breastmnist.npz",
        Route::StallFirst {
            body: body.clone(),
            cut,
        },
    )]);
    let dir = tempfile::tempdir().unwrap();
    let dest = dest_in(dir.path());
    let opts = DownloadOptions {
        read_timeout: Duration::from_millis(300),
        ..options()
    };
    let url = server.url("breastmnist.npz");

    let started = Instant::now();
    let err = download(&url, &dest, &expected, &opts, &mut |_| {}).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2), "not bounded");
    assert!(
        matches!(err, DownloadError::Transport { kept, .. } if kept == cut as u64),
        "{err}"
    );
    assert!(!dest.exists());

    // The server is serial: once it gives up on the stalled connection the
    // resume goes through.
    let done = download(&url, &dest, &expected, &options(), &mut |_| {}).unwrap();
    assert_eq!(done.resumed_from, cut as u64);
    assert_eq!(fs::read(&dest).unwrap(), body);
}

#[test]
fn resume_survives_a_redirect_with_its_range_header() {
    let body = synthetic_npz();
    let expected = md5_hex(&body);
    let cut = body.len() / 2;
    let server = Server::start(vec![
        (
            "breastmnist.npz",
            Route::Redirect("/files/storage/breastmnist.npz?token=1".to_string()),
        ),
        (
            "storage/breastmnist.npz",
            Route::DropFirst {
                body: body.clone(),
                cut,
            },
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let dest = dest_in(dir.path());
    let url = server.url("breastmnist.npz");

    let err = download(&url, &dest, &expected, &options(), &mut |_| {}).unwrap_err();
    assert!(
        matches!(err, DownloadError::Transport { kept, .. } if kept == cut as u64),
        "{err}"
    );
    let done = download(&url, &dest, &expected, &options(), &mut |_| {}).unwrap();
    assert_eq!(done.resumed_from, cut as u64);
    assert_eq!(fs::read(&dest).unwrap(), body);

    let seen: Vec<(String, Option<String>)> = server
        .seen()
        .into_iter()
        .map(|s| (s.path, s.range))
        .collect();
    let range = Some(format!("bytes={cut}-"));
    assert_eq!(
        seen,
        [
            ("/files/breastmnist.npz".to_string(), None),
            ("/files/storage/breastmnist.npz".to_string(), None),
            ("/files/breastmnist.npz".to_string(), range.clone()),
            ("/files/storage/breastmnist.npz".to_string(), range),
        ]
    );
}
