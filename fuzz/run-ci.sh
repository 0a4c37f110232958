#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (CI smoke fuzzing).
#
#   bash fuzz/run-ci.sh              # each target FUZZ_SECONDS (default 20) seconds
#   FUZZ_SECONDS=300 bash fuzz/run-ci.sh spec_parser diff
#
# Targets are built as cargo-fuzz does by default: optimized, with debug
# assertions and overflow checks, under AddressSanitizer.
#
# Needs the nightly toolchain (libFuzzer's sanitizer flags) and a C++
# compiler. cargo-fuzz is installed when missing with `cargo install`, into
# the default cargo bin directory ($CARGO_HOME/bin, ~/.cargo/bin). The build
# lives in ~/.cache/catalyst/fuzz-target (stays warm between runs); the
# corpus each run grows in ~/.cache/catalyst/fuzz-corpus/<target>, seeded
# from fuzz/corpus/<target> (which the run never writes to). A crash fails
# the script and leaves its input in fuzz/artifacts/<target>/: add it as a
# regression test (compiler/catalyst-cli/tests/fuzz_corpus.rs runs every
# file there) and fix the bug.
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TERM_COLOR=never
export CARGO_TARGET_DIR="${CATALYST_FUZZ_TARGET_DIR:-$HOME/.cache/catalyst/fuzz-target}"
corpus_root="$HOME/.cache/catalyst/fuzz-corpus"
seconds="${FUZZ_SECONDS:-20}"
rss_mb="${FUZZ_RSS_MB:-2048}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(spec_parser blueprint_loader chart_archive diff yaml_fast)

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "fuzz: the nightly toolchain is missing (rustup toolchain install nightly)" >&2
  exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz (into ${CARGO_HOME:-$HOME/.cargo}/bin)"
  cargo install --locked cargo-fuzz
fi

t0=$(date +%s)
cargo +nightly fuzz build
echo "fuzz: built in $(( $(date +%s) - t0 ))s"

status=0
for t in "${targets[@]}"; do
  mkdir -p "$corpus_root/$t" "artifacts/$t"
  log="$corpus_root/$t.$$.log"
  s=$(date +%s)
  # The first corpus folder receives new inputs; the seeds are only read.
  if cargo +nightly fuzz run "$t" "$corpus_root/$t" "corpus/$t" -- \
      -max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout=30 -print_final_stats=1 >"$log" 2>&1; then
    runs=$(grep -a -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    echo "fuzz: $t ok, $runs runs in $(( $(date +%s) - s ))s"
  else
    status=1
    echo "fuzz: $t FAILED after $(( $(date +%s) - s ))s; the input is in fuzz/artifacts/$t/:" >&2
    ls -1 "artifacts/$t" >&2 || true
    tail -60 "$log" >&2
  fi
  rm -f "$log"
done
exit "$status"
