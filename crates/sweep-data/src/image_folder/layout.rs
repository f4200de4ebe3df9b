//! Which files of an image folder are samples, and what their labels are.
//!
//! The listing is sorted (class order, then file name) so that it, the
//! fingerprint and the decoded array are the same on every machine whatever
//! order the file system returns entries in.

use std::fs;
use std::path::{Path, PathBuf};

use super::{IMAGE_EXTENSIONS, ImageFolderDef, Labelling, MAX_CLASSES};

/// One image and its label row (a class index, or 0/1 per label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageEntry {
    /// Path relative to the folder, with `/` separators.
    pub relative: String,
    pub label: Vec<u8>,
}

/// Why a folder could not be listed; always names the offending path.
pub(super) type LayoutError = String;

/// The class names found in `folder`: its visible sub-folders, sorted for
/// class folders, or the label columns of the CSV header.
pub fn discover_classes(folder: &Path, labelling: &Labelling) -> Result<Vec<String>, LayoutError> {
    match labelling {
        Labelling::ClassFolders => {
            let classes = sub_folders(folder)?;
            if classes.len() < 2 {
                return Err(format!(
                    "{}: expected one sub-folder per class (at least 2), found {}",
                    folder.display(),
                    classes.len()
                ));
            }
            if classes.len() > MAX_CLASSES {
                return Err(format!(
                    "{}: {} class folders; at most {MAX_CLASSES} are supported",
                    folder.display(),
                    classes.len()
                ));
            }
            Ok(classes)
        }
        Labelling::Csv { file } => {
            let path = folder.join(file);
            let mut reader = csv_reader(&path)?;
            let header = reader
                .headers()
                .map_err(|e| format!("{}: cannot read the header: {e}", path.display()))?;
            let labels: Vec<String> = header.iter().skip(1).map(str::to_string).collect();
            if labels.is_empty() {
                return Err(format!(
                    "{}: the header needs an image column and at least one label column",
                    path.display()
                ));
            }
            Ok(labels)
        }
    }
}

/// Every image of the dataset with its label, in a stable order.
pub fn list_images(folder: &Path, def: &ImageFolderDef) -> Result<Vec<ImageEntry>, LayoutError> {
    if !folder.is_dir() {
        return Err(format!("{}: not a folder", folder.display()));
    }
    match &def.labelling {
        Labelling::ClassFolders => list_class_folders(folder, &def.classes),
        Labelling::Csv { file } => list_csv(folder, file, &def.classes),
    }
}

fn list_class_folders(folder: &Path, classes: &[String]) -> Result<Vec<ImageEntry>, LayoutError> {
    let present = sub_folders(folder)?;
    if let Some(extra) = present.iter().find(|p| !classes.contains(p)) {
        return Err(format!(
            "{}: sub-folder `{extra}` is not one of the declared classes ({}); move it out or list it under `classes`",
            folder.display(),
            classes.join(", ")
        ));
    }
    let mut entries = Vec::new();
    for (index, class) in classes.iter().enumerate() {
        let dir = folder.join(class);
        if !dir.is_dir() {
            return Err(format!(
                "{}: class folder for `{class}` is missing",
                dir.display()
            ));
        }
        let mut names: Vec<String> = read_dir(&dir)?
            .into_iter()
            .filter(|(name, is_dir)| !is_dir && is_image_name(name))
            .map(|(name, _)| name)
            .collect();
        if names.is_empty() {
            return Err(format!(
                "{}: no images (.png, .jpg, .jpeg) for class `{class}`",
                dir.display()
            ));
        }
        names.sort();
        entries.extend(names.into_iter().map(|name| ImageEntry {
            relative: format!("{class}/{name}"),
            label: vec![index as u8],
        }));
    }
    Ok(entries)
}

fn list_csv(folder: &Path, file: &str, labels: &[String]) -> Result<Vec<ImageEntry>, LayoutError> {
    let path = folder.join(file);
    let mut reader = csv_reader(&path)?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("{}: cannot read the header: {e}", path.display()))?
        .iter()
        .skip(1)
        .map(str::to_string)
        .collect();
    if header != labels {
        return Err(format!(
            "{}: label columns are [{}] but the experiment declares [{}]",
            path.display(),
            header.join(", "),
            labels.join(", ")
        ));
    }
    let mut entries = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let line = row + 2;
        let record = record.map_err(|e| format!("{}:{line}: {e}", path.display()))?;
        let image = record.get(0).unwrap_or_default().trim();
        let escapes = Path::new(image)
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)));
        if image.is_empty() || escapes {
            return Err(format!(
                "{}:{line}: image path `{image}` must be a path inside the folder",
                path.display()
            ));
        }
        if !folder.join(image).is_file() {
            return Err(format!(
                "{}:{line}: image `{image}` does not exist",
                path.display()
            ));
        }
        let mut label = Vec::with_capacity(labels.len());
        for (column, value) in record.iter().skip(1).enumerate() {
            match value.trim() {
                "0" => label.push(0),
                "1" => label.push(1),
                other => {
                    return Err(format!(
                        "{}:{line}: column `{}`: expected 0 or 1, found `{other}`",
                        path.display(),
                        labels[column]
                    ));
                }
            }
        }
        entries.push(ImageEntry {
            relative: image.replace('\\', "/"),
            label,
        });
    }
    if entries.is_empty() {
        return Err(format!("{}: no rows", path.display()));
    }
    entries.sort_by(|a, b| a.relative.cmp(&b.relative));
    if let Some(pair) = entries.windows(2).find(|w| w[0].relative == w[1].relative) {
        return Err(format!(
            "{}: image `{}` is listed more than once",
            path.display(),
            pair[0].relative
        ));
    }
    Ok(entries)
}

fn csv_reader(path: &Path) -> Result<csv::Reader<fs::File>, LayoutError> {
    let file = fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    // Rows must have as many columns as the header: `flexible` stays off.
    Ok(csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(file))
}

fn is_image_name(name: &str) -> bool {
    !name.starts_with('.')
        && Path::new(name)
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Visible sub-folder names, sorted.
fn sub_folders(folder: &Path) -> Result<Vec<String>, LayoutError> {
    let mut names: Vec<String> = read_dir(folder)?
        .into_iter()
        .filter(|(name, is_dir)| *is_dir && !name.starts_with('.'))
        .map(|(name, _)| name)
        .collect();
    names.sort();
    Ok(names)
}

/// `(name, is_dir)` of every entry; names that are not UTF-8 are an error
/// (they could not be written into a label table or a report).
fn read_dir(dir: &Path) -> Result<Vec<(String, bool)>, LayoutError> {
    let fail = |e: std::io::Error| format!("{}: {e}", dir.display());
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(fail)? {
        let entry = entry.map_err(fail)?;
        let path: PathBuf = entry.path();
        let name = entry
            .file_name()
            .into_string()
            .map_err(|_| format!("{}: file name is not valid UTF-8", path.display()))?;
        // Follow symlinks: a class folder may link to images elsewhere.
        out.push((name, path.is_dir()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image_folder::RatioSplit;

    fn touch(path: &Path) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, b"x").unwrap();
    }

    fn folders_def(classes: &[&str]) -> ImageFolderDef {
        ImageFolderDef {
            name: "t".into(),
            labelling: Labelling::ClassFolders,
            classes: classes.iter().map(|c| c.to_string()).collect(),
            size: 8,
            channels: 1,
            split: RatioSplit::default(),
        }
    }

    #[test]
    fn class_folders_are_listed_in_class_then_name_order() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "b/2.PNG",
            "b/1.jpg",
            "a/z.jpeg",
            "a/notes.txt",
            "a/.hidden.png",
        ] {
            touch(&dir.path().join(f));
        }
        fs::create_dir_all(dir.path().join(".cache")).unwrap();
        let classes = discover_classes(dir.path(), &Labelling::ClassFolders).unwrap();
        assert_eq!(classes, ["a", "b"]);
        let entries = list_images(dir.path(), &folders_def(&["a", "b"])).unwrap();
        let listed: Vec<(&str, u8)> = entries
            .iter()
            .map(|e| (e.relative.as_str(), e.label[0]))
            .collect();
        assert_eq!(listed, [("a/z.jpeg", 0), ("b/1.jpg", 1), ("b/2.PNG", 1)]);
    }

    #[test]
    fn undeclared_missing_or_empty_class_folders_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        touch(&dir.path().join("a/1.png"));
        touch(&dir.path().join("b/1.png"));
        touch(&dir.path().join("c/1.png"));
        let err = list_images(dir.path(), &folders_def(&["a", "b"])).unwrap_err();
        assert!(
            err.contains("sub-folder `c` is not one of the declared classes"),
            "{err}"
        );
        let err = list_images(dir.path(), &folders_def(&["a", "b", "c", "d"])).unwrap_err();
        assert!(err.contains("class folder for `d` is missing"), "{err}");
        fs::create_dir_all(dir.path().join("d")).unwrap();
        let err = list_images(dir.path(), &folders_def(&["a", "b", "c", "d"])).unwrap_err();
        assert!(err.contains("no images") && err.contains("`d`"), "{err}");
        let err = discover_classes(&dir.path().join("a"), &Labelling::ClassFolders).unwrap_err();
        assert!(err.contains("at least 2"), "{err}");
    }

    #[test]
    fn csv_labels_are_read_checked_and_located_by_line() {
        let dir = tempfile::tempdir().unwrap();
        touch(&dir.path().join("img/1.png"));
        touch(&dir.path().join("img/2.png"));
        let csv = dir.path().join("labels.csv");
        fs::write(
            &csv,
            "image,effusion,nodule\nimg/2.png,1,0\nimg/1.png,0,1\n",
        )
        .unwrap();
        let labelling = Labelling::Csv {
            file: "labels.csv".into(),
        };
        let classes = discover_classes(dir.path(), &labelling).unwrap();
        assert_eq!(classes, ["effusion", "nodule"]);
        let def = ImageFolderDef {
            labelling,
            classes,
            ..folders_def(&[])
        };
        let entries = list_images(dir.path(), &def).unwrap();
        assert_eq!(entries[0].relative, "img/1.png");
        assert_eq!(entries[0].label, [0, 1]);
        assert_eq!(entries[1].label, [1, 0]);

        fs::write(&csv, "image,effusion,nodule\nimg/1.png,0,2\n").unwrap();
        let err = list_images(dir.path(), &def).unwrap_err();
        assert!(
            err.ends_with("labels.csv:2: column `nodule`: expected 0 or 1, found `2`"),
            "{err}"
        );
        fs::write(&csv, "image,effusion,nodule\nimg/9.png,0,1\n").unwrap();
        let err = list_images(dir.path(), &def).unwrap_err();
        assert!(
            err.contains(":2: image `img/9.png` does not exist"),
            "{err}"
        );
        fs::write(&csv, "image,effusion,nodule\n../x.png,0,1\n").unwrap();
        assert!(
            list_images(dir.path(), &def)
                .unwrap_err()
                .contains("inside the folder")
        );
        fs::write(&csv, "image,effusion,nodule\nimg/1.png,0\n").unwrap();
        assert!(
            list_images(dir.path(), &def)
                .unwrap_err()
                .contains("labels.csv:2")
        );
        fs::write(&csv, "image,effusion\nimg/1.png,0\n").unwrap();
        assert!(
            list_images(dir.path(), &def)
                .unwrap_err()
                .contains("label columns are [effusion]")
        );
    }
}
