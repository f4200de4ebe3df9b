//! Decoding an image folder once into an `.npz` of bytes, and loading it.
//!
//! The cache file is named by the folder's content fingerprint plus the
//! decode settings (size, channels), so a changed image, or a different
//! target size, simply names a file that does not exist yet. It holds
//! `images` `(N, size, size, channels)` and `labels` `(N, label width)` in
//! the order of [`super::list_images`].

use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use rayon::prelude::*;

use super::ImageFolderDef;
use super::layout::list_images;
use crate::medmnist::SplitArrays;
use crate::npz_write::{U8Array, write_u8_npz};

/// How many undecodable images are named in the error before "and N more".
const MAX_LISTED_CORRUPT: usize = 20;

/// `<fingerprint prefix>-<size>px-<channels>ch.npz`.
pub fn decoded_file_name(fingerprint: &str, def: &ImageFolderDef) -> String {
    let prefix = &fingerprint[..fingerprint.len().min(32)];
    format!("{prefix}-{}px-{}ch.npz", def.size, def.channels)
}

/// Returns the decoded cache of `folder` in `cache_dir`, decoding every
/// image first if it does not exist yet. `fingerprint` must be the folder's
/// current [`super::folder_fingerprint`]. Every undecodable image is named in
/// the error (nothing is written then).
pub fn ensure_decoded(
    folder: &Path,
    def: &ImageFolderDef,
    fingerprint: &str,
    cache_dir: &Path,
) -> Result<PathBuf, String> {
    let path = cache_dir.join(decoded_file_name(fingerprint, def));
    if path.is_file() {
        return Ok(path);
    }
    let entries = list_images(folder, def)?;
    let side = def.size as usize;
    let image_len = side * side * usize::from(def.channels);
    let decoded: Vec<Result<Vec<u8>, String>> = entries
        .par_iter()
        .map(|e| decode_one(&folder.join(&e.relative), def))
        .collect();
    let mut images = Vec::with_capacity(entries.len() * image_len);
    let mut corrupt = Vec::new();
    for (entry, result) in entries.iter().zip(decoded) {
        match result {
            Ok(pixels) => images.extend_from_slice(&pixels),
            Err(why) => corrupt.push(format!(
                "  {}: {why}",
                folder.join(&entry.relative).display()
            )),
        }
    }
    if !corrupt.is_empty() {
        let count = corrupt.len();
        let more = count.saturating_sub(MAX_LISTED_CORRUPT);
        corrupt.truncate(MAX_LISTED_CORRUPT);
        if more > 0 {
            corrupt.push(format!("  ... and {more} more"));
        }
        return Err(format!(
            "{}: {count} image{} could not be decoded; fix or remove {}:\n{}",
            folder.display(),
            if count == 1 { "" } else { "s" },
            if count == 1 { "it" } else { "them" },
            corrupt.join("\n")
        ));
    }
    let labels: Vec<u8> = entries
        .iter()
        .flat_map(|e| e.label.iter().copied())
        .collect();
    write_u8_npz(
        &path,
        &[
            U8Array {
                key: "images",
                shape: &[entries.len(), side, side, usize::from(def.channels)],
                data: &images,
            },
            U8Array {
                key: "labels",
                shape: &[entries.len(), def.label_width()],
                data: &labels,
            },
        ],
    )
    .map_err(|e| format!("{}: cannot write the decoded images: {e}", path.display()))?;
    Ok(path)
}

/// Pixels of one image, converted to the channel count and resized
/// (bilinear, aspect ratio not kept) to `size` × `size`, channels last.
fn decode_one(path: &Path, def: &ImageFolderDef) -> Result<Vec<u8>, String> {
    let image = image::ImageReader::open(path)
        .map_err(|e| e.to_string())?
        .with_guessed_format()
        .map_err(|e| e.to_string())?
        .decode()
        .map_err(|e| e.to_string())?;
    let size = def.size;
    let resize = |w: u32, h: u32| w != size || h != size;
    Ok(if def.channels == 1 {
        let gray = image.into_luma8();
        if resize(gray.width(), gray.height()) {
            image::imageops::resize(&gray, size, size, FilterType::Triangle).into_raw()
        } else {
            gray.into_raw()
        }
    } else {
        let rgb = image.into_rgb8();
        if resize(rgb.width(), rgb.height()) {
            image::imageops::resize(&rgb, size, size, FilterType::Triangle).into_raw()
        } else {
            rgb.into_raw()
        }
    })
}

/// Reads a decoded cache back as one array of every image, checking that
/// it matches the definition.
pub fn load_decoded(path: &Path, def: &ImageFolderDef) -> Result<SplitArrays, String> {
    let arrays = crate::npz::read_npz(path, &["images", "labels"]).map_err(|e| e.to_string())?;
    let [images, labels] = <[_; 2]>::try_from(arrays).map_err(|_| "two arrays".to_string())?;
    let side = def.size as usize;
    let channels = usize::from(def.channels);
    let n = images.shape.first().copied().unwrap_or(0);
    if images.shape != [n, side, side, channels] {
        return Err(format!(
            "{}: key `images`: expected (N, {side}, {side}, {channels}), found {:?}",
            path.display(),
            images.shape
        ));
    }
    if labels.shape != [n, def.label_width()] {
        return Err(format!(
            "{}: key `labels`: expected ({n}, {}), found {:?}",
            path.display(),
            def.label_width(),
            labels.shape
        ));
    }
    Ok(SplitArrays {
        images: images.data,
        n,
        height: side,
        width: side,
        channels,
        labels: labels.data,
        label_width: def.label_width(),
    })
}
