#!/bin/bash
# A fuzz campaign, one target at a time (build first: cd fuzz && cargo +nightly fuzz build -O).
#
#   fuzz/campaign.sh run TARGET RUNS SECS [MAX_LEN]
#       fuzzes TARGET until RUNS executions or SECS seconds, whichever comes first, at a low
#       CPU priority (FUZZ_NICE, default 5), from the checked-in corpus into a scratch corpus
#       (FUZZ_SCRATCH/TARGET, default /tmp/fzc/TARGET); prints libFuzzer's last status line
#       (executions, cov: edges, ft: features) and its final stats; a crash leaves its input in
#       fuzz/artifacts/TARGET/.
#   fuzz/campaign.sh keep TARGET
#       minimises corpus/TARGET together with the scratch corpus: the seed-* and regress-*
#       files stay as they are, and of the others only a set that adds coverage is kept (a
#       libFuzzer -merge=1 into a fresh directory holding the named files).
set -euo pipefail
MODE=${1:?run or keep}
T=${2:?target}
cd "$(dirname "$0")"
BIN=target/x86_64-unknown-linux-gnu/release/$T
SCRATCH=${FUZZ_SCRATCH:-/tmp/fzc}/$T
[ -x "$BIN" ] || { echo "build first: cd fuzz && cargo +nightly fuzz build -O $T" >&2; exit 1; }
mkdir -p "$SCRATCH" "artifacts/$T"
case $MODE in
run)
  RUNS=${3:?runs}; SECS=${4:?seconds}; MAX_LEN=${5:-4096}
  LOG=$SCRATCH.log
  nice -n "${FUZZ_NICE:-5}" "$BIN" "$SCRATCH" "corpus/$T" -runs="$RUNS" -max_total_time="$SECS" \
    -max_len="$MAX_LEN" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
    -artifact_prefix="artifacts/$T/" > "$LOG" 2>&1 || echo "$T: libFuzzer exited with $?"
  grep -E '^#[0-9]+' "$LOG" | tail -1
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$LOG"
  ls "artifacts/$T"
  ;;
keep)
  NEW=$(mktemp -d "${TMPDIR:-/tmp}/fzkeep-$T.XXXX")
  find "corpus/$T" -maxdepth 1 -type f \( -name 'seed-*' -o -name 'regress-*' \) -exec cp {} "$NEW" \;
  "$BIN" -merge=1 -rss_limit_mb=2048 -timeout=20 "$NEW" "corpus/$T" "$SCRATCH" > "$SCRATCH.merge.log" 2>&1
  before=$(find "corpus/$T" -type f | wc -l)
  rm -rf "corpus/$T"
  mv "$NEW" "corpus/$T"
  chmod 755 "corpus/$T"
  echo "$T: $before files before, $(find "corpus/$T" -type f | wc -l) kept"
  ;;
*) echo "usage: $0 run TARGET RUNS SECS [MAX_LEN] | keep TARGET" >&2; exit 2 ;;
esac
