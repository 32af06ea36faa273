//! `keyward`: parse the command line, run it, print a failure as one line.

use std::process::ExitCode;

use clap::Parser;
use keyward::Cli;

/// mimalloc instead of the system allocator: every request allocates a few dozen small
/// blocks on one worker and frees some on another; see `docs/adr/0017-mimalloc.md`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("keyward: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(keyward::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("keyward: {err}");
            ExitCode::FAILURE
        }
    }
}
