#!/usr/bin/env bash
# Footprint of sansse in firmware: flash, static RAM and stack high-water mark of the builds in
# examples/firmware/footprint, for a Cortex-M4F (thumbv7em-none-eabihf) at opt-level "s" and "z"
# and an RV32IMC core (riscv32imc-unknown-none-elf, the ISA of the ESP32-C3 and BL602) at
# opt-level "z" (fat LTO, one codegen unit, panic=abort, a panic handler that parks).
#
#   benches/footprint.sh                    print the Markdown table, check it against the budget
#   benches/footprint.sh --update           write measured + 10% as the budget of every build
#   benches/footprint.sh --update W [W..]   the same for some lines only, the others are kept:
#                                           each W is a build (parser) or a target (riscv32imc);
#                                           the lines rewritten are those of the builds named (all
#                                           when none is) on the targets named (all when none is)
#   benches/footprint.sh --only TARGET/OPT  one pass only (thumbv7em/z: about a third of the
#                                           time), its rows printed and checked; for iterating
#
# Columns, in bytes:
#   flash        .text + .rodata + .data (the runtime's start-up, cortex-m-rt's 1 KiB vector
#                table or riscv-rt's 22-byte .init.rust, is left out)
#   over base    flash minus the `baseline` build (same runtime, no sansse): what sansse costs
#   static RAM   .data + .bss + .uninit
#   stack        deepest stack use of the workload, measured under QEMU (mps2-an386, or virt for
#                RISC-V) by painting the free stack before the run and finding the lowest
#                overwritten word
#   beyond bufs  static RAM + stack - the buffers the application lends (parser buffer, client
#                storage, ring, head storage, transmit buffer; each build reports its own): the
#                RAM the library needs of its own
#
# Every build is a binary in examples/firmware/footprint/src/bin that hands its workload to the
# package's `run`. Adding a row is adding its binary, its name to BUILDS below, and its lines
# to the budget file (`--update NAME`).
#
# The budget file has one line per target, build and opt-level: `build opt flash ram stack`
# for thumbv7em, `build opt flash ram stack riscv32imc` for RISC-V.
#
# Needs both targets, llvm-tools (rustup installs them here if missing), qemu-system-arm and
# qemu-system-riscv32 (.ci/firmware installs them).
set -euo pipefail

BUILDS=(baseline parser client server)
# Short name (the table's and the budget file's), Rust target, opt-levels, QEMU binary.
TARGETS=(thumbv7em riscv32imc)
declare -A TRIPLE=([thumbv7em]=thumbv7em-none-eabihf [riscv32imc]=riscv32imc-unknown-none-elf)
declare -A OPTS=([thumbv7em]="s z" [riscv32imc]="z")
declare -A QEMU=([thumbv7em]=qemu-system-arm [riscv32imc]=qemu-system-riscv32)
# The target a budget line without a sixth column is for (the lines older than RISC-V).
DEFAULT_TARGET=thumbv7em
# Targets from the issue, reported, not enforced: flash over the baseline, and RAM beyond the
# application's buffers, on thumbv7em.
declare -A GOAL=([parser]=6144 [client]=24576)
declare -A RAM_GOAL=([client]=2048)

root=$(cd "$(dirname "$0")/.." && pwd)
package=$root/examples/firmware/footprint
budget_file=$root/examples/firmware/budget.txt
update=false
declare -A update_build=() update_target=()
case "${1:-}" in
  "") ;;
  --update)
    update=true
    shift
    for word in "$@"; do
      if [[ " ${BUILDS[*]} " == *" $word "* ]]; then
        update_build[$word]=1
      elif [[ " ${TARGETS[*]} " == *" $word "* ]]; then
        update_target[$word]=1
      else
        echo "footprint: no build or target named $word" >&2
        exit 2
      fi
    done
    [ "${#update_build[@]}" -gt 0 ] || for build in "${BUILDS[@]}"; do update_build[$build]=1; done
    [ "${#update_target[@]}" -gt 0 ] || for t in "${TARGETS[@]}"; do update_target[$t]=1; done
    ;;
  --only)
    only=${2:-}
    t=${only%/*} opt=${only#*/}
    if [ -z "${TRIPLE[$t]:-}" ] || [[ " ${OPTS[$t]} " != *" $opt "* ]]; then
      echo "footprint: --only takes thumbv7em/s, thumbv7em/z or riscv32imc/z" >&2
      exit 2
    fi
    TARGETS=("$t")
    OPTS[$t]=$opt
    ;;
  *) echo "usage: $0 [--update [BUILD|TARGET...] | --only TARGET/OPT]" >&2; exit 2 ;;
esac

for t in "${TARGETS[@]}"; do
  rustup target add "${TRIPLE[$t]}" >/dev/null 2>&1 || true
  command -v "${QEMU[$t]}" >/dev/null || { echo "footprint: ${QEMU[$t]} is missing" >&2; exit 1; }
done
host=$(rustc -vV | sed -n 's/^host: //p')
llvm_size=$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-size
if [ ! -x "$llvm_size" ]; then
  rustup component add llvm-tools-preview >/dev/null
fi

cd "$package"
# Run from inside the package so examples/firmware/.cargo/config.toml applies (runners, linker
# scripts, shared target directory).
target_dir=$(cd .. && pwd)/target

# section NAME ELF: the size of one section, 0 when absent.
section() {
  "$llvm_size" -A "$2" | awk -v s="$1" '$1 == s { print $2; found = 1 } END { if (!found) print 0 }'
}

# Every table row, target/build/opt, and every build pass, target/opt, in order.
ROWS=() PASSES=()
for t in "${TARGETS[@]}"; do
  for opt in ${OPTS[$t]}; do PASSES+=("$t/$opt"); done
  for build in "${BUILDS[@]}"; do
    for opt in ${OPTS[$t]}; do ROWS+=("$t/$build/$opt"); done
  done
done

declare -A flash ram stack buffers
bins=()
for build in "${BUILDS[@]}"; do bins+=(--bin "$build"); done
for pass in "${PASSES[@]}"; do
  t=${pass%/*} opt=${pass#*/}
  target=${TRIPLE[$t]}
  # All builds at once (one cargo call), measured before the stack builds overwrite the ELFs.
  cargo build -q --target "$target" --profile "size-$opt" "${bins[@]}"
  for build in "${BUILDS[@]}"; do
    key="$t/$build/$opt"
    elf=$target_dir/$target/size-$opt/$build
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
  cargo build -q --target "$target" --profile "size-$opt" "${bins[@]}" --features stack
  for build in "${BUILDS[@]}"; do
    key="$t/$build/$opt"
    if ! run=$(timeout -k 5 60 cargo run -q --target "$target" --profile "size-$opt" --bin "$build" --features stack </dev/null 2>&1); then
      printf 'footprint: %s at opt-level %s on %s failed under QEMU:\n%s\n' "$build" "$opt" "$t" "$run" >&2
      exit 1
    fi
    stack[$key]=$(printf '%s\n' "$run" | sed -n 's/^stack: \([0-9]*\) bytes$/\1/p')
    buffers[$key]=$(printf '%s\n' "$run" | sed -n 's/^buffers: \([0-9]*\) bytes$/\1/p')
    if [ -z "${stack[$key]}" ] || [ -z "${buffers[$key]}" ]; then
      printf 'footprint: no stack or buffers line from %s at opt-level %s on %s:\n%s\n' "$build" "$opt" "$t" "$run" >&2
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
  local build opt f r s t
  while read -r build opt f r s t; do
    case "$build" in "" | "#"*) continue ;; esac
    t=${t:-$DEFAULT_TARGET}
    budget_flash[$t/$build/$opt]=$f budget_ram[$t/$build/$opt]=$r budget_stack[$t/$build/$opt]=$s
  done <"$budget_file"
}
read_budget

if $update; then
  {
    echo "# Footprint budget checked by benches/footprint.sh (and so by .ci/firmware), in bytes."
    echo "# Written by 'benches/footprint.sh --update': measured + 10%, rounded up to 16. A build"
    echo "# that grows past its line fails CI; raise a number only with the reason in the commit."
    echo "# build      opt  flash  ram    stack  target ($DEFAULT_TARGET when absent)"
    for key in "${ROWS[@]}"; do
      IFS=/ read -r t build opt <<<"$key"
      if { [ -n "${update_build[$build]:-}" ] && [ -n "${update_target[$t]:-}" ]; } ||
        [ -z "${budget_flash[$key]:-}" ]; then
        line=("$(allow "${flash[$key]}")" "$(allow "${ram[$key]}")" "$(allow "${stack[$key]}")")
      else
        line=("${budget_flash[$key]}" "${budget_ram[$key]}" "${budget_stack[$key]}")
      fi
      if [ "$t" = "$DEFAULT_TARGET" ]; then
        printf '%-12s %-4s %-6s %-6s %s\n' "$build" "$opt" "${line[@]}"
      else
        printf '%-12s %-4s %-6s %-6s %-6s %s\n' "$build" "$opt" "${line[@]}" "$t"
      fi
    done
  } >"$budget_file"
  read_budget
fi

echo "| target | build | opt | flash | over base | static RAM | stack | beyond bufs | budget flash / RAM / stack |"
echo "|---|---|---|---:|---:|---:|---:|---:|---|"
problems=()
for key in "${ROWS[@]}"; do
  IFS=/ read -r t build opt <<<"$key"
  over=$((flash[$key] - flash[$t/baseline/$opt]))
  if [ -z "${budget_flash[$key]:-}" ]; then
    budget="none"
    problems+=("$build at $opt on $t has no line in ${budget_file#"$root"/}")
  else
    budget="${budget_flash[$key]} / ${budget_ram[$key]} / ${budget_stack[$key]}"
    for what in flash ram stack; do
      declare -n measured=$what limit=budget_$what
      if [ "${measured[$key]}" -gt "${limit[$key]}" ]; then
        problems+=("$build at $opt on $t: $what ${measured[$key]} B is over its budget of ${limit[$key]} B")
      fi
      unset -n measured limit
    done
  fi
  beyond=$((ram[$key] + stack[$key] - buffers[$key]))
  printf '| %s | %s | %s | %d | %d | %d | %d | %d | %s |\n' "$t" "$build" "$opt" "${flash[$key]}" \
    "$over" "${ram[$key]}" "${stack[$key]}" "$beyond" "$budget"
done
echo
t=thumbv7em
# The goals are for thumbv7em; a pass on another target alone has nothing to say about them.
[[ " ${TARGETS[*]} " == *" $t "* ]] || OPTS[$t]=""
for build in "${BUILDS[@]}"; do
  [ -n "${GOAL[$build]:-}" ] || continue
  for opt in ${OPTS[$t]}; do
    over=$((flash[$t/$build/$opt] - flash[$t/baseline/$opt]))
    verdict="meets"
    [ "$over" -lt "${GOAL[$build]}" ] || verdict="misses"
    echo "goal: $build at opt-level $opt adds $over B of flash, $verdict the ${GOAL[$build]} B target"
  done
done
for build in "${BUILDS[@]}"; do
  [ -n "${RAM_GOAL[$build]:-}" ] || continue
  for opt in ${OPTS[$t]}; do
    key="$t/$build/$opt"
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
