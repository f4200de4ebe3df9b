//! Builders for small `.npy`/`.npz` files, so unit tests exercise the reader
//! against bytes laid out the way NumPy writes them without needing NumPy or
//! the real MedMNIST files.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use zip::CompressionMethod;
use zip::write::{SimpleFileOptions, ZipWriter};

pub(crate) mod skip;

/// Encodes one array in `.npy` format `version` (1, 2 or 3), with the header
/// padded to a multiple of 64 bytes and ended by a newline, as NumPy does.
pub(crate) fn npy_bytes(
    version: u8,
    descr: &str,
    fortran_order: bool,
    shape: &[usize],
    data: &[u8],
) -> Vec<u8> {
    let mut out = crate::npz_write::npy_header(descr, fortran_order, shape, version);
    out.extend_from_slice(data);
    out
}

/// Writes a zip whose members are the given `(name, bytes, method)` entries.
pub(crate) fn write_zip(path: &Path, members: &[(&str, &[u8], CompressionMethod)]) {
    let mut zip = ZipWriter::new(File::create(path).unwrap());
    for (name, bytes, method) in members {
        let options = SimpleFileOptions::default().compression_method(*method);
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

/// One `.npz` member holding a `|u1` array, named `<key>.npy`.
pub(crate) struct U8Member {
    pub key: String,
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

/// Writes an `.npz` of `|u1` arrays, alternating deflate and stored members
/// so both code paths are covered.
pub(crate) fn write_u8_npz(path: &Path, members: &[U8Member]) {
    let encoded: Vec<(String, Vec<u8>)> = members
        .iter()
        .map(|m| {
            (
                format!("{}.npy", m.key),
                npy_bytes(1, "|u1", false, &m.shape, &m.data),
            )
        })
        .collect();
    let entries: Vec<(&str, &[u8], CompressionMethod)> = encoded
        .iter()
        .enumerate()
        .map(|(i, (name, bytes))| {
            let method = if i % 2 == 0 {
                CompressionMethod::Deflated
            } else {
                CompressionMethod::Stored
            };
            (name.as_str(), bytes.as_slice(), method)
        })
        .collect();
    write_zip(path, &entries);
}

/// Path of a real MedMNIST file from `SWEEP_DATA_DIR`, or `None` (after
/// recording the test as skipped, with why) when the directory is not
/// configured or lacks the file.
pub(crate) fn real_data_file(file_name: &str) -> Option<std::path::PathBuf> {
    let Some(dir) = std::env::var_os("SWEEP_DATA_DIR") else {
        skip::skip(&format!(
            "SWEEP_DATA_DIR not set (point it at a folder holding {file_name})"
        ));
        return None;
    };
    let path = Path::new(&dir).join(file_name);
    if !path.is_file() {
        skip::skip(&format!(
            "SWEEP_DATA_DIR={} has no {file_name}",
            Path::new(&dir).display()
        ));
        return None;
    }
    Some(path)
}

/// Sets a file's modification time, as an edit at `time` would.
pub(crate) fn set_mtime(path: &Path, time: std::time::SystemTime) {
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}
