#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 30). cargo-fuzz needs nightly features;
# RUSTC_BOOTSTRAP=1 unlocks them on stable. Usage: core/fuzz/run.sh [SECONDS]
set -euo pipefail
seconds="${1:-30}"
cd "$(dirname "$0")"
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
# No sanitizer: the decoders are safe Rust, and this keeps builds and runs fast.
# Debug assertions on: integer overflow is a bug worth finding.
for target in xml_response xml_call json_response json_call; do
    echo "== $target (${seconds}s)"
    mkdir -p "corpus/$target"
    cargo fuzz run --sanitizer none --debug-assertions "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048
done
