//! A run trained by the user's own program instead of sweep's trainer:
//! `worker: {command: [python3, train.py, --flag], code: [train.py, mylib/]}`.
//!
//! The command is an argument vector, started directly (never through a
//! shell), so what the experiment file says is exactly what runs. Its
//! program is found the way a shell would find it, but without one: a name
//! with a `/` is a path (relative to the experiment file's folder), any other
//! name is looked up on `PATH`. `code` lists the files and folders whose
//! content decides the results; their sha256 enters the run key (see
//! [`crate::fingerprints::code_fingerprint`]), so editing `train.py` gives
//! every run of that command a new key.
//!
//! What the command is given and must write back is the protocol of
//! `docs/protocol.md`; the adapter that speaks it is the `sweep-external`
//! crate.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The `worker:` of one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerCommand {
    /// Program and arguments, as written.
    pub command: Vec<String>,
    /// Files and folders (relative to the experiment file's folder, as
    /// written) whose content enters the key.
    #[serde(default)]
    pub code: Vec<String>,
    /// The experiment file's folder, where `code` and a relative program
    /// are found. Filled in when planning; never hashed or serialised, so
    /// moving a project folder keeps its keys.
    #[serde(skip)]
    pub folder: Option<PathBuf>,
}

impl WorkerCommand {
    /// The command as one line for people to read (`plan`, `validate`):
    /// arguments with spaces or quotes are quoted.
    pub fn display(&self) -> String {
        self.command
            .iter()
            .map(|a| quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Resolves the program against `folder` and `PATH` (see [`find_program`]).
    pub fn program(&self, folder: &Path) -> Result<PathBuf, String> {
        let name = self.command.first().ok_or("the command is empty")?;
        find_program(name, folder)
    }
}

/// Quotes an argument for display when a shell would split or expand it.
fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Where the program `name` is: a name with a `/` is a path (relative ones
/// against `folder`), any other name the first executable file of that name
/// on `PATH`. The error says which of the two was tried.
pub fn find_program(name: &str, folder: &Path) -> Result<PathBuf, String> {
    if name.is_empty() {
        return Err("the program name is empty".into());
    }
    if name.contains('/') {
        let path = if Path::new(name).is_absolute() {
            PathBuf::from(name)
        } else {
            folder.join(name.strip_prefix("./").unwrap_or(name))
        };
        return if is_executable(&path) {
            Ok(path)
        } else if path.is_file() {
            Err(format!("{} is not executable", path.display()))
        } else {
            Err(format!("program {} not found", path.display()))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| format!("program `{name}` not found on PATH"))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_on_path_or_beside_the_experiment() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(find_program("sh", tmp.path()).is_ok());
        assert_eq!(
            find_program("no-such-program-here", tmp.path()).unwrap_err(),
            "program `no-such-program-here` not found on PATH"
        );
        let script = tmp.path().join("run.sh");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        assert_eq!(
            find_program("./run.sh", tmp.path()).unwrap_err(),
            format!("{} is not executable", script.display())
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        assert_eq!(find_program("./run.sh", tmp.path()).unwrap(), script);
    }

    #[test]
    fn display_quotes_what_a_shell_would_split() {
        let w = WorkerCommand {
            command: vec!["python3".into(), "train.py".into(), "--note=a b".into()],
            code: vec![],
            folder: None,
        };
        assert_eq!(w.display(), "python3 train.py '--note=a b'");
    }
}
