//! `bloc-graphql`: parse the command line and run what it asks for (`commands`).

use std::process::ExitCode;

use bloc_graphql::{cli::Cli, commands};
use clap::Parser;

/// mimalloc instead of glibc's malloc: allocation and freeing were about a quarter of the
/// instructions per request (BENCHMARKS.md, try 2).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    commands::run(Cli::parse()).await
}
