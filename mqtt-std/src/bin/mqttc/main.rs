//! `mqttc`: publish, subscribe, or drive a client with JSON lines. See `mqttc --help`.
//!
//! Exit status: 0 success, 1 failure at run time, 2 bad usage. Every failure is one line on
//! stderr.

mod args;
mod cli;
mod format;
mod props;
mod run;
mod script;
mod trace;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;
use clap::error::ErrorKind;

fn main() -> ExitCode {
    // clap would refuse an argument that is not UTF-8 too, but without naming it.
    let mut argv = Vec::new();
    for arg in std::env::args_os().skip(1) {
        match arg.into_string() {
            Ok(a) => argv.push(a),
            Err(bad) => {
                eprintln!("usage error: argument {bad:?} is not valid UTF-8");
                return ExitCode::from(2);
            }
        }
    }
    let parsed = cli::Cli::try_parse_from(std::iter::once("mqttc".to_owned()).chain(argv.clone()));
    let command = match parsed {
        Ok(c) => c.command,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            // Help and version go to stdout; a closed stdout is no reason to panic.
            return match e.print() {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::from(1),
            };
        }
        Err(e) => {
            eprintln!("usage error: {}", cli::one_line(&e, &argv));
            return ExitCode::from(2);
        }
    };
    let args = match command {
        cli::Command::Pub(p) => args::from_pub(p),
        cli::Command::Sub(s) => args::from_sub(s),
        cli::Command::Script => return script::run(),
        cli::Command::Completions { shell } => {
            let mut out = std::io::stdout().lock();
            return match out
                .write_all(&cli::completions(shell))
                .and_then(|()| out.flush())
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("cannot write the completion script: {e}");
                    ExitCode::from(1)
                }
            };
        }
    };
    match args {
        Ok(a) => match run::run(&a) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(1)
            }
        },
        Err(e) => {
            eprintln!("usage error: {e}");
            ExitCode::from(2)
        }
    }
}
