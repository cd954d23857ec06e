//! `xenpool`: see `xenpool --help`.

use clap::Parser;

/// mimalloc: a decoded `get_all_records` is hundreds of thousands of small strings and
/// maps, and the system allocator spends about a third of the decode on them (see
/// `core/benches/decode.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // The TLS stack's one-time seeding runs while the shell starts up.
    xenpool::tls::warm_up();
    let cli =
        xenpool_repl::cli::Cli::parse_from(xenpool_repl::cli::normalise_args(std::env::args_os()));
    std::process::exit(xenpool_repl::cli::main(cli));
}
