//! A network the user scripted or traced in PyTorch and saved
//! (`arch: {torchscript: PATH}`), trained by sweep's own loop.
//!
//! libtorch loads the module; its parameters are registered in the run's
//! `VarStore` (they are the module's own tensors, not copies), so the
//! optimisers, checkpoints and resume work on it as on a zoo model.
//!
//! TorchScript exposes a module's parameters but not its buffers (a batch
//! norm's running mean and variance), which would leave them out of the
//! checkpoint: the kept best epoch would be evaluated with the last epoch's
//! statistics, and a resumed run would restart them from the file. So the
//! archive is rewritten before loading, listing every buffer among the
//! parameters of its class: they then enter the `VarStore` as variables
//! without gradients, saved and restored with the weights, while the
//! module's code, which reads them as attributes, is unchanged.
//!
//! Before training, [`TorchScriptNet::check_shapes`] runs one batch of the
//! dataset through the module, so a module written for other images or
//! another number of classes fails up front, naming both shapes.

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tch::{Tensor, TrainableCModule, nn};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::ModelError;

/// A loaded TorchScript module and the mode it was last switched to.
pub struct TorchScriptNet {
    file: PathBuf,
    module: Mutex<Loaded>,
}

struct Loaded {
    module: TrainableCModule,
    training: bool,
}

impl std::fmt::Debug for TorchScriptNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TorchScriptNet({})", self.file.display())
    }
}

impl TorchScriptNet {
    /// Loads the module saved in `file` onto `p`'s device and registers its
    /// parameters, and its buffers as variables without gradients, under `p`.
    pub fn load(file: &Path, p: &nn::Path) -> Result<TorchScriptNet, ModelError> {
        let error = |reason: String| ModelError::TorchScript {
            file: file.to_path_buf(),
            reason,
        };
        let bytes = std::fs::read(file).map_err(|e| error(e.to_string()))?;
        let archive = buffers_as_parameters(&bytes)
            .map_err(|e| error(format!("not a saved TorchScript module ({e})")))?;
        let mut module = TrainableCModule::load_data(&mut Cursor::new(archive), p.clone())
            .map_err(|e| error(torch_reason(&e.to_string())))?;
        module.set_eval();
        Ok(TorchScriptNet {
            file: file.to_path_buf(),
            module: Mutex::new(Loaded {
                module,
                training: false,
            }),
        })
    }

    /// The same module, named `file` in its messages (the user's file
    /// rather than the staged copy it was loaded from).
    pub fn shown_as(mut self, file: &Path) -> TorchScriptNet {
        self.file = file.to_path_buf();
        self
    }

    /// Runs `batch` (images as the trainer feeds them) through the module in
    /// evaluation mode and checks that it gives `num_outputs` logits per image.
    pub fn check_shapes(&self, batch: &Tensor, num_outputs: i64) -> Result<(), ModelError> {
        let n = batch.size()[0];
        let expected = [n, num_outputs];
        let error = |reason: String| ModelError::TorchScript {
            file: self.file.clone(),
            reason,
        };
        let logits = tch::no_grad(|| self.forward(batch, false)).map_err(|e| {
            error(format!(
                "the dataset's images, shaped {:?} (batch, channels, height, width), fail in its \
                 forward pass: {}",
                batch.size(),
                torch_reason(&e)
            ))
        })?;
        if logits.size() != expected {
            return Err(error(format!(
                "it maps images shaped {:?} (batch, channels, height, width) to outputs shaped \
                 {:?}; the dataset needs {expected:?}, {num_outputs} per image",
                batch.size(),
                logits.size()
            )));
        }
        Ok(())
    }

    /// The module's forward pass in training or evaluation mode.
    fn forward(&self, xs: &Tensor, train: bool) -> Result<Tensor, String> {
        let mut loaded = self
            .module
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if loaded.training != train {
            if train {
                loaded.module.f_set_train()
            } else {
                loaded.module.f_set_eval()
            }
            .map_err(|e| e.to_string())?;
            loaded.training = train;
        }
        loaded.module.forward_ts(&[xs]).map_err(|e| e.to_string())
    }
}

impl nn::ModuleT for TorchScriptNet {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        // The trait returns a tensor; the worker turns this panic into the
        // run's failure with the message's first line.
        self.forward(xs, train).unwrap_or_else(|e| {
            panic!(
                "TorchScript module {}: {}",
                self.file.display(),
                torch_reason(&e)
            )
        })
    }
}

/// The line of a TorchScript error that says what went wrong: the
/// interpreter prints a traceback first and the exception last.
fn torch_reason(message: &str) -> String {
    let lines = message.lines().map(str::trim).filter(|l| !l.is_empty());
    lines
        .clone()
        .rfind(|l| l.contains("Error: "))
        .or_else(|| lines.clone().next())
        .unwrap_or(message)
        .to_string()
}

/// The archive `bytes` with every class's `__buffers__` moved into its
/// `__parameters__`; debug files, whose source positions would no longer
/// match the code, are left out.
fn buffers_as_parameters(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let mut out = ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let mut saw_code = false;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| e.to_string())?;
        let name = entry.name().map_err(|e| e.to_string())?.to_string();
        if name.ends_with(".debug_pkl") {
            continue;
        }
        let mut content = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut content)
            .map_err(|e| format!("{name}: {e}"))?;
        if name.contains("/code/") && name.ends_with(".py") {
            saw_code = true;
            let code = String::from_utf8(content).map_err(|e| format!("{name}: {e}"))?;
            content = list_buffers_as_parameters(&code).into_bytes();
        }
        out.start_file(name.as_str(), stored)
            .and_then(|()| out.write_all(&content).map_err(Into::into))
            .map_err(|e| format!("{name}: {e}"))?;
    }
    if !saw_code {
        return Err(
            "no TorchScript code in the archive; a state dict saved with torch.save \
                    is not a module: save torch.jit.script(model) with torch.jit.save"
                .into(),
        );
    }
    let out = out.finish().map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

/// TorchScript class source with each class's `__buffers__ = [..]` list
/// appended to its `__parameters__ = [..]` list (written just before it).
fn list_buffers_as_parameters(code: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    // Index in `out` of the current class's `__parameters__` line.
    let mut parameters: Option<usize> = None;
    for line in code.lines() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        if let Some(list) = list_of(trimmed, "__parameters__") {
            parameters = Some(out.len());
            out.push(format!("{indent}__parameters__ = [{list}]"));
            continue;
        }
        if let Some(buffers) = list_of(trimmed, "__buffers__")
            && !buffers.trim().is_empty()
            && let Some(at) = parameters.take()
        {
            let mut before = list_of(out[at].trim_start(), "__parameters__")
                .unwrap_or_default()
                .trim_end()
                .to_string();
            if !before.is_empty() && !before.ends_with(',') {
                before.push(',');
            }
            if !before.is_empty() {
                before.push(' ');
            }
            out[at] = format!("{indent}__parameters__ = [{before}{buffers}]");
            out.push(format!("{indent}__buffers__ = []"));
            continue;
        }
        out.push(line.to_string());
    }
    let mut text = out.join("\n");
    if code.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// The inside of `NAME = [..]` when `line` is that assignment.
fn list_of<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.strip_prefix(name)?
        .trim_start()
        .strip_prefix('=')?
        .trim()
        .strip_prefix('[')?
        .strip_suffix(']')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_join_the_parameters_of_their_class_only() {
        let code = "class BatchNorm2d(Module):\n  __parameters__ = [\"weight\", \"bias\", ]\n  \
                    __buffers__ = [\"running_mean\", \"running_var\", ]\n  weight : Tensor\n\
                    class Linear(Module):\n  __parameters__ = [\"weight\", ]\n  __buffers__ = []\n";
        assert_eq!(
            list_buffers_as_parameters(code),
            "class BatchNorm2d(Module):\n  __parameters__ = [\"weight\", \"bias\", \
             \"running_mean\", \"running_var\", ]\n  __buffers__ = []\n  weight : Tensor\n\
             class Linear(Module):\n  __parameters__ = [\"weight\", ]\n  __buffers__ = []\n"
        );
    }

    #[test]
    fn the_exception_line_of_a_torchscript_error_is_kept() {
        let message = "The following operation failed in the TorchScript interpreter.\n\
                       Traceback of TorchScript (most recent call last):\n  File \"code/x.py\"\n\
                       RuntimeError: expected input[2, 1, 28, 28] to have 3 channels\n";
        assert_eq!(
            torch_reason(message),
            "RuntimeError: expected input[2, 1, 28, 28] to have 3 channels"
        );
        assert_eq!(torch_reason("one line"), "one line");
    }

    #[test]
    fn a_file_that_is_not_an_archive_is_refused_with_the_file_named() {
        let tmp = std::env::temp_dir().join(format!("sweep-ts-{}.pt", std::process::id()));
        std::fs::write(&tmp, b"not a zip").unwrap();
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let err = TorchScriptNet::load(&tmp, &vs.root())
            .unwrap_err()
            .to_string();
        let _ = std::fs::remove_file(&tmp);
        assert!(
            err.starts_with(&format!(
                "TorchScript module {}: not a saved TorchScript module",
                tmp.display()
            )),
            "{err}"
        );
    }
}
