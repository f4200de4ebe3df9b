//! The content fingerprint of an image folder.
//!
//! It is the SHA-256 over every listed image's relative path, label and the
//! SHA-256 of its bytes, so adding, removing, relabelling or editing one
//! image changes it, while copying the folder elsewhere does not.
//!
//! Reading 60,000 JPEGs for every `sweep plan` would be slow, so the result
//! is memoised per folder together with a digest of the listing's sizes and
//! modification times: an unchanged listing reuses the stored fingerprint,
//! any touched file makes it hash again. As for `.npz` files, the memo is
//! only written when the listing was the same before and after hashing.

use std::path::Path;
use std::time::UNIX_EPOCH;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::layout::{ImageEntry, LayoutError, list_images};
use super::{ImageFolderDef, Labelling};
use crate::fingerprint::file_fingerprint;

/// Format of the memo files; others are ignored.
const MEMO_FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Memo {
    format: u32,
    listing: String,
    content: String,
}

/// Hex SHA-256 of the folder's images and labels (see the module docs),
/// memoised in `cache_dir` when one is given.
pub fn folder_fingerprint(
    folder: &Path,
    def: &ImageFolderDef,
    cache_dir: Option<&Path>,
) -> Result<String, LayoutError> {
    let entries = list_images(folder, def)?;
    let before = listing_digest(folder, def, &entries)?;
    let memo_name = memo_name(folder);
    if let Some(dir) = cache_dir
        && let Ok(text) = std::fs::read_to_string(dir.join(&memo_name))
        && let Ok(memo) = serde_json::from_str::<Memo>(&text)
        && memo.format == MEMO_FORMAT
        && memo.listing == before
    {
        return Ok(memo.content);
    }

    let file_prints: Vec<String> = entries
        .par_iter()
        .map(|e| file_fingerprint(&folder.join(&e.relative)).map_err(|err| err.to_string()))
        .collect::<Result<_, _>>()?;
    let mut hasher = Sha256::new();
    hasher.update(b"sweep image folder v1\n");
    for (entry, print) in entries.iter().zip(&file_prints) {
        hasher.update(entry.relative.as_bytes());
        hasher.update([0]);
        hasher.update(&entry.label);
        hasher.update([0]);
        hasher.update(print.as_bytes());
        hasher.update(b"\n");
    }
    let content = hex::encode(hasher.finalize());

    if let Some(dir) = cache_dir
        && listing_digest(folder, def, &list_images(folder, def)?)? == before
    {
        let memo = Memo {
            format: MEMO_FORMAT,
            listing: before,
            content: content.clone(),
        };
        let bytes = serde_json::to_vec(&memo).expect("memo serialises");
        std::fs::create_dir_all(dir)
            .and_then(|()| crate::atomic::write_atomic(&dir.join(&memo_name), &bytes))
            .map_err(|e| format!("{}: cannot write fingerprint cache: {e}", dir.display()))?;
    }
    Ok(content)
}

/// One memo file per folder, named by its canonical path.
fn memo_name(folder: &Path) -> String {
    let canonical = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
    let digest = Sha256::digest(canonical.to_string_lossy().as_bytes());
    format!("image-folder-{}.json", &hex::encode(digest)[..24])
}

/// Digest of what the listing looks like without reading any image:
/// paths, labels, sizes and modification times (and the CSV's, if any).
fn listing_digest(
    folder: &Path,
    def: &ImageFolderDef,
    entries: &[ImageEntry],
) -> Result<String, LayoutError> {
    let mut hasher = Sha256::new();
    let mut add = |relative: &str, label: &[u8]| -> Result<(), LayoutError> {
        let path = folder.join(relative);
        let meta = std::fs::metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        hasher.update(relative.as_bytes());
        hasher.update([0]);
        hasher.update(label);
        hasher.update(format!("\0{}\0{mtime}\n", meta.len()).as_bytes());
        Ok(())
    };
    if let Labelling::Csv { file } = &def.labelling {
        add(file, &[])?;
    }
    for entry in entries {
        add(&entry.relative, &entry.label)?;
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image_folder::RatioSplit;
    use std::fs;

    fn def() -> ImageFolderDef {
        ImageFolderDef {
            name: "t".into(),
            labelling: Labelling::ClassFolders,
            classes: vec!["a".into(), "b".into()],
            size: 8,
            channels: 1,
            split: RatioSplit::default(),
        }
    }

    fn folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (f, bytes) in [
            ("a/1.png", b"one"),
            ("a/2.png", b"two"),
            ("b/1.png", b"thr"),
        ] {
            fs::create_dir_all(dir.path().join(f).parent().unwrap()).unwrap();
            fs::write(dir.path().join(f), bytes).unwrap();
        }
        dir
    }

    #[test]
    fn changes_with_content_additions_and_removals_not_with_location() {
        let dir = folder();
        let base = folder_fingerprint(dir.path(), &def(), None).unwrap();
        let copy = folder();
        assert_eq!(folder_fingerprint(copy.path(), &def(), None).unwrap(), base);

        fs::write(dir.path().join("a/2.png"), b"TWO").unwrap();
        let edited = folder_fingerprint(dir.path(), &def(), None).unwrap();
        assert_ne!(edited, base);
        fs::write(dir.path().join("b/9.jpg"), b"new").unwrap();
        let added = folder_fingerprint(dir.path(), &def(), None).unwrap();
        assert_ne!(added, edited);
        fs::remove_file(dir.path().join("b/9.jpg")).unwrap();
        assert_eq!(
            folder_fingerprint(dir.path(), &def(), None).unwrap(),
            edited
        );
        // Moving an image to the other class relabels it.
        fs::rename(dir.path().join("a/1.png"), dir.path().join("b/0.png")).unwrap();
        assert_ne!(
            folder_fingerprint(dir.path(), &def(), None).unwrap(),
            edited
        );
    }

    #[test]
    fn memo_is_reused_only_while_the_listing_is_unchanged() {
        let dir = folder();
        let cache = tempfile::tempdir().unwrap();
        let first = folder_fingerprint(dir.path(), &def(), Some(cache.path())).unwrap();
        let memo_file = cache.path().join(memo_name(dir.path()));
        assert!(memo_file.is_file());
        // A memo with a forged content value is returned as long as the
        // listing matches: proof that the images were not read again.
        let mut memo: Memo = serde_json::from_slice(&fs::read(&memo_file).unwrap()).unwrap();
        memo.content = "forged".into();
        fs::write(&memo_file, serde_json::to_vec(&memo).unwrap()).unwrap();
        assert_eq!(
            folder_fingerprint(dir.path(), &def(), Some(cache.path())).unwrap(),
            "forged"
        );
        // Touching a file (new size) invalidates it.
        fs::write(dir.path().join("b/1.png"), b"three").unwrap();
        let changed = folder_fingerprint(dir.path(), &def(), Some(cache.path())).unwrap();
        assert_ne!(changed, "forged");
        assert_ne!(changed, first);
    }
}
