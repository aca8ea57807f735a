#!/usr/bin/env bash
# Footprint of sansse in firmware: flash, static RAM and stack high-water mark of the builds in
# examples/firmware/footprint, for a Cortex-M4F (thumbv7em-none-eabihf) at opt-level "s" and "z"
# (fat LTO, one codegen unit, panic=abort, a panic handler that parks).
#
#   benches/footprint.sh                    print the Markdown table, check it against the budget
#   benches/footprint.sh --update           write measured + 10% as the budget of every build
#   benches/footprint.sh --update B [B..]   the same for builds B only; other lines are kept
#
# Columns, in bytes:
#   flash        .text + .rodata + .data (the vector table, 1 KiB from cortex-m-rt, is left out)
#   over base    flash minus the `baseline` build (same runtime, no sansse): what sansse costs
#   static RAM   .data + .bss + .uninit
#   stack        deepest stack use of the workload, measured under QEMU (mps2-an386) by painting
#                the free stack before the run and finding the lowest overwritten word
#   beyond bufs  static RAM + stack - the buffers the application lends (parser buffer, client
#                storage, ring, head storage, transmit buffer; each build reports its own): the
#                RAM the library needs of its own
#
# Every build is a binary in examples/firmware/footprint/src/bin that hands its workload to the
# package's `run`. Adding a row is adding its binary, its name to BUILDS below, and its lines
# to the budget file (`--update NAME`).
#
# Needs the thumbv7em-none-eabihf target, llvm-tools (rustup installs both here if missing) and
# qemu-system-arm (.ci/firmware installs it).
set -euo pipefail

BUILDS=(baseline parser client server)
OPTS=(s z)
# Targets from the issue, reported, not enforced: flash over the baseline, and RAM beyond the
# application's buffers.
declare -A GOAL=([parser]=6144 [client]=24576)
declare -A RAM_GOAL=([client]=2048)

root=$(cd "$(dirname "$0")/.." && pwd)
package=$root/examples/firmware/footprint
budget_file=$root/examples/firmware/budget.txt
target=thumbv7em-none-eabihf
update=false
declare -A to_update=()
case "${1:-}" in
  "") ;;
  --update)
    update=true
    shift
    [ "$#" -gt 0 ] || set -- "${BUILDS[@]}"
    for build in "$@"; do
      [[ " ${BUILDS[*]} " == *" $build "* ]] || { echo "footprint: no build named $build" >&2; exit 2; }
      to_update[$build]=1
    done
    ;;
  *) echo "usage: $0 [--update [BUILD...]]" >&2; exit 2 ;;
esac

rustup target add "$target" >/dev/null 2>&1 || true
host=$(rustc -vV | sed -n 's/^host: //p')
llvm_size=$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-size
if [ ! -x "$llvm_size" ]; then
  rustup component add llvm-tools-preview >/dev/null
fi
command -v qemu-system-arm >/dev/null || { echo "footprint: qemu-system-arm is missing" >&2; exit 1; }

cd "$package"
# Run from inside the package so examples/firmware/.cargo/config.toml applies (runner, linker
# script, shared target directory).
out_dir=$(cd .. && pwd)/target/$target

# section NAME ELF: the size of one section, 0 when absent.
section() {
  "$llvm_size" -A "$2" | awk -v s="$1" '$1 == s { print $2; found = 1 } END { if (!found) print 0 }'
}

declare -A flash ram stack buffers
bins=()
for build in "${BUILDS[@]}"; do bins+=(--bin "$build"); done
for opt in "${OPTS[@]}"; do
  # All builds at once (one cargo call), measured before the stack builds overwrite the ELFs.
  cargo build -q --profile "size-$opt" "${bins[@]}"
  for build in "${BUILDS[@]}"; do
    key="$build/$opt"
    elf=$out_dir/size-$opt/$build
    text=$(section .text "$elf")
    rodata=$(section .rodata "$elf")
    data=$(section .data "$elf")
    bss=$(section .bss "$elf")
    uninit=$(section .uninit "$elf")
    flash[$key]=$((text + rodata + data))
    ram[$key]=$((data + bss + uninit))
  done
  # The same builds with the stack probe and semihosting, each run once; a hang cannot stall
  # CI.
  cargo build -q --profile "size-$opt" "${bins[@]}" --features stack
  for build in "${BUILDS[@]}"; do
    key="$build/$opt"
    if ! run=$(timeout -k 5 60 cargo run -q --profile "size-$opt" --bin "$build" --features stack </dev/null 2>&1); then
      printf 'footprint: %s at opt-level %s failed under QEMU:\n%s\n' "$build" "$opt" "$run" >&2
      exit 1
    fi
    stack[$key]=$(printf '%s\n' "$run" | sed -n 's/^stack: \([0-9]*\) bytes$/\1/p')
    buffers[$key]=$(printf '%s\n' "$run" | sed -n 's/^buffers: \([0-9]*\) bytes$/\1/p')
    if [ -z "${stack[$key]}" ] || [ -z "${buffers[$key]}" ]; then
      printf 'footprint: no stack or buffers line from %s at opt-level %s:\n%s\n' "$build" "$opt" "$run" >&2
      exit 1
    fi
  done
done

# Budget: measured + 10%, rounded up to a multiple of 16 bytes.
allow() { echo $(( ($1 * 110 / 100 + 15) / 16 * 16 )); }

declare -A budget_flash budget_ram budget_stack
read_budget() {
  budget_flash=() budget_ram=() budget_stack=()
  [ -f "$budget_file" ] || return 0
  local build opt f r s
  while read -r build opt f r s; do
    case "$build" in "" | "#"*) continue ;; esac
    budget_flash[$build/$opt]=$f budget_ram[$build/$opt]=$r budget_stack[$build/$opt]=$s
  done <"$budget_file"
}
read_budget

if $update; then
  {
    echo "# Footprint budget checked by benches/footprint.sh (and so by .ci/firmware), in bytes."
    echo "# Written by 'benches/footprint.sh --update': measured + 10%, rounded up to 16. A build"
    echo "# that grows past its line fails CI; raise a number only with the reason in the commit."
    echo "# build      opt  flash  ram    stack"
    for build in "${BUILDS[@]}"; do
      for opt in "${OPTS[@]}"; do
        key="$build/$opt"
        if [ -n "${to_update[$build]:-}" ] || [ -z "${budget_flash[$key]:-}" ]; then
          line=("$(allow "${flash[$key]}")" "$(allow "${ram[$key]}")" "$(allow "${stack[$key]}")")
        else
          line=("${budget_flash[$key]}" "${budget_ram[$key]}" "${budget_stack[$key]}")
        fi
        printf '%-12s %-4s %-6s %-6s %s\n' "$build" "$opt" "${line[@]}"
      done
    done
  } >"$budget_file"
  read_budget
fi

echo "| build | opt | flash | over base | static RAM | stack | beyond bufs | budget flash / RAM / stack |"
echo "|---|---|---:|---:|---:|---:|---:|---|"
problems=()
for build in "${BUILDS[@]}"; do
  for opt in "${OPTS[@]}"; do
    key="$build/$opt"
    over=$((flash[$key] - flash[baseline/$opt]))
    if [ -z "${budget_flash[$key]:-}" ]; then
      budget="none"
      problems+=("$build at $opt has no line in ${budget_file#"$root"/}")
    else
      budget="${budget_flash[$key]} / ${budget_ram[$key]} / ${budget_stack[$key]}"
      for what in flash ram stack; do
        declare -n measured=$what limit=budget_$what
        if [ "${measured[$key]}" -gt "${limit[$key]}" ]; then
          problems+=("$build at $opt: $what ${measured[$key]} B is over its budget of ${limit[$key]} B")
        fi
        unset -n measured limit
      done
    fi
    beyond=$((ram[$key] + stack[$key] - buffers[$key]))
    printf '| %s | %s | %d | %d | %d | %d | %d | %s |\n' "$build" "$opt" "${flash[$key]}" "$over" \
      "${ram[$key]}" "${stack[$key]}" "$beyond" "$budget"
  done
done
echo
for build in "${BUILDS[@]}"; do
  [ -n "${GOAL[$build]:-}" ] || continue
  for opt in "${OPTS[@]}"; do
    over=$((flash[$build/$opt] - flash[baseline/$opt]))
    verdict="meets"
    [ "$over" -lt "${GOAL[$build]}" ] || verdict="misses"
    echo "goal: $build at opt-level $opt adds $over B of flash, $verdict the ${GOAL[$build]} B target"
  done
done
for build in "${BUILDS[@]}"; do
  [ -n "${RAM_GOAL[$build]:-}" ] || continue
  for opt in "${OPTS[@]}"; do
    key="$build/$opt"
    beyond=$((ram[$key] + stack[$key] - buffers[$key]))
    verdict="meets"
    [ "$beyond" -lt "${RAM_GOAL[$build]}" ] || verdict="misses"
    echo "goal: $build at opt-level $opt needs $beyond B of RAM beyond its buffers, $verdict the ${RAM_GOAL[$build]} B target"
  done
done

if [ "${#problems[@]}" -gt 0 ]; then
  printf 'footprint: %s\n' "${problems[@]}" >&2
  exit 1
fi
echo "footprint: every build within its budget"
