#!/usr/bin/env bash
# Side by side: pair import (JSONL and Parquet, SQLite) under builds and allocator settings.
#   bench/import_allocator_ab.sh PAIRS.jsonl PAIRS.parquet LABEL=BINARY[:ENV=VALUE...] ...
# e.g. bench/import_allocator_ab.sh in.jsonl in.parquet main=/tmp/old now=target/release/pairwise \
#      now-keep=target/release/pairwise:MIMALLOC_PURGE_DELAY=-1
# Each run imports both files into a fresh database in a temporary folder; prints one line per
# run: label, seconds and peak RSS (KB) of each import. The inputs: `pairwise bench datasets`
# writes the same JSONL (1,000,000 pairs); the Parquet file is its TRL export.
set -euo pipefail
jsonl=$1 parquet=$2; shift 2
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
for spec in "$@"; do
    label=${spec%%=*} rest=${spec#*=}
    IFS=: read -r -a parts <<< "$rest"
    bin=${parts[0]} envs=("${parts[@]:1}")
    rm -f "$dir"/ab.db*
    db="sqlite://$dir/ab.db?mode=rwc"
    run() { env PAIRWISE_LOG=warn "${envs[@]}" "$bin" --database-url "$db" "$@"; }
    timed() { { env PAIRWISE_LOG=warn "${envs[@]}" /usr/bin/time -f "%e %M" "$bin" --database-url "$db" "$@" >/dev/null; } 2>&1 | tail -1; }
    run project create --name a >/dev/null
    j=$(timed import pairs "$jsonl" --project a --format trl)
    run project create --name b >/dev/null
    q=$(timed import pairs "$parquet" --project b --format trl)
    echo "$label jsonl: $j parquet: $q"
done
