//! `xenpool`: see `xenpool --help`.

use clap::Parser;

fn main() {
    let cli = xenpool_repl::cli::Cli::parse();
    std::process::exit(xenpool_repl::cli::main(cli));
}
