//! The `sweep` binary: parse arguments, run one command, map its result to an
//! exit code. Errors are printed once, here.

mod cli;
mod commands;
mod progress;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Validate { files } => commands::validate::run(&files),
        cli::Command::Plan(args) => commands::plan::run(&args),
        cli::Command::Run(args) => commands::run::run(&args),
        cli::Command::Report(args) => commands::report::run(&args),
        cli::Command::Status(args) => commands::status::run(&args),
        cli::Command::Explain(args) => commands::explain::run(&args),
        cli::Command::Export(args) => commands::export::run(&args),
        cli::Command::Cancel(args) => commands::cancel::run(&args),
        cli::Command::Data(args) => commands::data::run(&args),
        cli::Command::Weights(args) => commands::weights::run(&args),
        cli::Command::Schema => commands::schema::run(),
        cli::Command::Worker { run_dir } => commands::worker::run(&run_dir),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
