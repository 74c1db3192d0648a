#!/bin/sh
# Builds the C reference of one probe VM life into bench/bin/ (gitignored).
set -eu
cd "$(dirname "$0")"
mkdir -p bin
cc -O2 -Wall -Wextra -o bin/probe-ref probe-ref.c
