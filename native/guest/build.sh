#!/bin/sh
# Assembles the probe guest into a flat binary: build.sh OUT.bin (run from the repository root).
# cpp expands probe_abi.h; ld places the image at PROBE_LOAD_ADDR; objcopy keeps .text only.
set -eu
out=$1
dir=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cpp -P -I"$dir" "$dir/probe.S" > "$tmp/probe.s"
as --64 -o "$tmp/probe.o" "$tmp/probe.s"
ld -m elf_x86_64 -Ttext=0x1000 -e _start -o "$tmp/probe.elf" "$tmp/probe.o"
mkdir -p "$(dirname "$out")"
objcopy -O binary -j .text "$tmp/probe.elf" "$out"
