//! `sweep validate`: every problem in every file, then a non-zero exit if any.

use std::path::PathBuf;
use std::process::ExitCode;

use sweep_core::expand::expand;

pub(crate) fn run(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut failed = 0;
    for file in files {
        let loaded = sweep_core::spec::validate::read_text(file).and_then(|text| {
            let exp = sweep_core::spec::load_str(&text, file)?;
            exp.check_programs(&text)?;
            Ok(exp)
        });
        match loaded {
            Ok(exp) => {
                let runs = expand(&exp, false).len();
                let smoke = expand(&exp, true).len();
                println!(
                    "ok: {} ({}: {runs} runs, {smoke} with --smoke)",
                    file.display(),
                    exp.name
                );
                let specs = expand(&exp, false);
                for line in super::plan::commands_to_run(specs.iter()) {
                    println!("{line}");
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("{e}\n");
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
