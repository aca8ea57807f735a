#!/usr/bin/env bash
# Instructions one implementation executes per corpus and chunking, under callgrind: a count
# that does not depend on the machine's load, for comparing two versions of the parser.
#
#   benches/callgrind.sh                                   sansse, every corpus and chunking
#   benches/callgrind.sh sse-stream llm-tokens whole,64    another driver, some cells
#
# Counts only the driver (`--toggle-collect` on its function in benches/src/contenders.rs),
# one run per cell without the checksum run, and leaves out the driver's `memset` calls: valgrind
# counts the zeroing of sansse's 128 KiB buffer (a `calloc`) as about 4.2 million
# instructions, which would drown the differences this is for. Needs valgrind.
set -euo pipefail
cd "$(dirname "$0")"
who=${1:-sansse}
corpora=${2:-llm-tokens,notifications,big-lf,big-crlf,tokens+ping}
chunks=${3:-whole,4096,64,7}
fn=${who//-/_}
cargo build -q --release
bin=target/release/sansse-bench
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '| corpus | chunk | instructions |\n|---|---|---:|\n'
for corpus in ${corpora//,/ }; do
  for chunk in ${chunks//,/ }; do
    file=$out/$corpus.$chunk
    valgrind --tool=callgrind --callgrind-out-file="$file" \
      --toggle-collect="sansse_bench::contenders::$fn*" \
      "$bin" --only "$who" --corpus "$corpus" --chunk "$chunk" --reps 1 --no-check \
      --timeout 1000 >/dev/null 2>&1
    callgrind_annotate "$file" 2>/dev/null | awk -v c="$corpus" -v k="$chunk" '
      /PROGRAM TOTALS/ && !total { gsub(",", "", $1); total = $1 }
      /__memset/ { gsub(",", "", $1); memset += $1 }
      END { printf "| %s | %s | %d |\n", c, k, total - memset }'
  done
done
