//! The folder a run's event files go in, under `results/<key>/tb/`.
//! TensorBoard names a run by the path of the folder that holds its event
//! files, relative to `--logdir`, so with `tensorboard --logdir results` a
//! run shows as `<key>/tb/<label>`, where the label is the one `sweep run`
//! reports the run under (dataset, architecture, the fields that vary,
//! fold and seed). The filter box of TensorBoard's run list then finds runs
//! by what they are (`lr=0.001`, `fold 2`).

use std::path::{Path, PathBuf};

/// The folder under a run folder that holds its TensorBoard files.
pub const TB_DIR: &str = "tb";

/// The longest folder name made from a label, in bytes (file systems allow
/// 255).
const MAX_NAME_BYTES: usize = 200;

/// Where the event files of the run in `run_dir` go: `tb/<label as a
/// folder name>`, or `tb` itself when the run has no label (a run folder
/// prepared by an older `sweep`).
pub fn event_dir(run_dir: &Path, label: Option<&str>) -> PathBuf {
    let tb = run_dir.join(TB_DIR);
    match label.map(folder_name) {
        Some(name) if !name.is_empty() => tb.join(name),
        _ => tb,
    }
}

/// A label made into one portable folder name: `fold 2/5` reads `fold 2 of
/// 5` (a slash would nest folders), characters that some file systems
/// refuse (`\ : * ? " < > |`, control characters) become `_`, a leading dot
/// (a hidden folder) becomes `_`, and the name is cut to 200 bytes.
pub fn folder_name(label: &str) -> String {
    let mut name = String::new();
    for c in label.trim().chars() {
        match c {
            '/' => name.push_str(" of "),
            '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => name.push('_'),
            c if c.is_control() => name.push('_'),
            c => name.push(c),
        }
    }
    if name.starts_with('.') {
        name.replace_range(..1, "_");
    }
    let mut end = name.len().min(MAX_NAME_BYTES);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name.truncate(end);
    name.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_become_one_readable_portable_folder() {
        assert_eq!(
            folder_name("synthetic:chestmnist chest_cnn lr=0.001 fold 2/5 seed 0"),
            "synthetic_chestmnist chest_cnn lr=0.001 fold 2 of 5 seed 0"
        );
        assert_eq!(folder_name("..\\a\tb"), "_._a_b");
        let long = "é".repeat(150);
        let cut = folder_name(&long);
        assert!(cut.len() <= MAX_NAME_BYTES && cut.chars().all(|c| c == 'é'));
        let run = Path::new("results/abc");
        assert_eq!(
            event_dir(run, Some("arch=resnet18 fold 1/2")),
            Path::new("results/abc/tb/arch=resnet18 fold 1 of 2")
        );
        assert_eq!(event_dir(run, None), Path::new("results/abc/tb"));
        assert_eq!(event_dir(run, Some("  ")), Path::new("results/abc/tb"));
    }
}
