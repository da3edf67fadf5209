#!/usr/bin/env bash
# What the fuzz targets need beyond bin/setup, installed when missing (bin/test runs it before
# the fuzz smoke; `bin/ucrawler demo` does not need it).
set -euo pipefail
export PATH="$HOME/.cargo/bin:$PATH"

# The fuzz targets (fuzz/): cargo-fuzz on the nightly toolchain (the image ships one; rustup
# fetches it where it can).
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  if command -v rustup >/dev/null 2>&1 && rustup toolchain install nightly --profile minimal >/dev/null 2>&1; then
    echo "fuzz/setup.sh: installed the nightly toolchain (for cargo fuzz)" >&2
  else
    echo "fuzz/setup.sh: the nightly Rust toolchain is missing and rustup could not install it; cargo fuzz needs it (rustup toolchain install nightly)" >&2
    exit 1
  fi
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz/setup.sh: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --version 0.13.2 --locked --quiet
fi
