//! Writing `.npz` archives of `uint8` arrays, for caches `sweep` makes itself
//! (decoded image folders). The output is what `numpy.savez` writes (stored
//! members, `.npy` format 1.0 headers), so users can open it with NumPy, and
//! it is read back with this crate's bounded [`crate::npz`] reader.
//!
//! Arrays are streamed through [`crate::atomic`] (temporary file, fsync,
//! rename, fsync of the folder), so a crash never leaves a truncated cache
//! that looks finished.

use std::io::{self, Write};
use std::path::Path;

use zip::CompressionMethod;
use zip::write::{SimpleFileOptions, ZipWriter};

/// One array to write: `<key>.npy` with `shape` and row-major `data`.
pub struct U8Array<'a> {
    pub key: &'a str,
    pub shape: &'a [usize],
    pub data: &'a [u8],
}

/// The `.npy` header (magic, version, padded dictionary) for an array of
/// `descr` with `shape`. Version 1 unless the header needs version 2's
/// longer length field.
pub fn npy_header(descr: &str, fortran_order: bool, shape: &[usize], version: u8) -> Vec<u8> {
    let dims = match shape {
        [] => "()".to_string(),
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let order = if fortran_order { "True" } else { "False" };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {dims}, }}");
    let prefix_len = if version == 1 { 10 } else { 12 };
    while (prefix_len + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY".to_vec();
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(dict.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out
}

/// Writes `arrays` to `path` atomically (see [`crate::atomic`]), creating
/// its folder if needed.
pub fn write_u8_npz(path: &Path, arrays: &[U8Array<'_>]) -> io::Result<()> {
    for a in arrays {
        let expected: usize = a.shape.iter().product();
        if expected != a.data.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "array `{}`: shape {:?} needs {expected} bytes, got {}",
                    a.key,
                    a.shape,
                    a.data.len()
                ),
            ));
        }
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    crate::atomic::write_atomic_with(path, |file| {
        let mut zip = ZipWriter::new(io::BufWriter::new(file));
        // Large members need the zip64 extension (> 4 GiB).
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .large_file(
                arrays
                    .iter()
                    .any(|a| a.data.len() as u64 >= u32::MAX as u64 / 2),
            );
        for a in arrays {
            zip.start_file(format!("{}.npy", a.key), options)?;
            zip.write_all(&npy_header("|u1", false, a.shape, 1))?;
            zip.write_all(a.data)?;
        }
        let mut writer = zip.finish()?;
        writer.flush()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_archives_read_back_with_the_bounded_reader() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.npz");
        let images: Vec<u8> = (0..2 * 3 * 3).map(|v| v as u8).collect();
        write_u8_npz(
            &path,
            &[
                U8Array {
                    key: "images",
                    shape: &[2, 3, 3, 1],
                    data: &images,
                },
                U8Array {
                    key: "labels",
                    shape: &[2, 1],
                    data: &[0, 5],
                },
            ],
        )
        .unwrap();
        let arrays = crate::npz::read_npz(&path, &["images", "labels"]).unwrap();
        assert_eq!(arrays[0].shape, vec![2, 3, 3, 1]);
        assert_eq!(arrays[0].data, images);
        assert_eq!(arrays[1].data, vec![0, 5]);
        // Nothing but the archive is left in the folder.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_shape_that_does_not_match_the_data_is_refused_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.npz");
        let err = write_u8_npz(
            &path,
            &[U8Array {
                key: "images",
                shape: &[2, 2],
                data: &[1, 2, 3],
            }],
        )
        .unwrap_err();
        assert!(err.to_string().contains("needs 4 bytes, got 3"));
        assert!(!path.exists());
    }
}
