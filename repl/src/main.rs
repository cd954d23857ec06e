//! `xenpool`: see `xenpool --help`.

use clap::Parser;

fn main() {
    let cli =
        xenpool_repl::cli::Cli::parse_from(xenpool_repl::cli::normalise_args(std::env::args_os()));
    std::process::exit(xenpool_repl::cli::main(cli));
}
