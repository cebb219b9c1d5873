#!/usr/bin/env bash
# Set up tfcompress on a fresh Debian 12 machine (Python 3.11): system packages, then a
# virtual environment in .venv with the project installed. Safe to run again: it skips
# what is already done, so the README's commands can always start with it.
set -euo pipefail
cd "$(dirname "$0")"

# System packages: a C compiler (tests compile the generated C), venv support, and for the boards
# the Arm bare-metal toolchain with its C library, CMake and QEMU (the emulated Cortex-M boards),
# and the RISC-V one with picolibc and QEMU's riscv32 (the emulated RV32IMC board; picolibc with
# all its multilibs takes about 1 GB), and Chromium (the tests load the HTML reports in it, headless).
need=()
command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v arm-none-eabi-gcc >/dev/null 2>&1 || need+=(gcc-arm-none-eabi)
[[ -f /usr/lib/arm-none-eabi/lib/libc_nano.a ]] || need+=(libnewlib-arm-none-eabi)
command -v qemu-system-arm >/dev/null 2>&1 || need+=(qemu-system-arm)
command -v riscv64-unknown-elf-gcc >/dev/null 2>&1 || need+=(gcc-riscv64-unknown-elf)
[[ -f /usr/lib/picolibc/riscv64-unknown-elf/picolibc.specs ]] || need+=(picolibc-riscv64-unknown-elf)
command -v qemu-system-riscv32 >/dev/null 2>&1 || need+=(qemu-system-misc)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
python3 -c "import ensurepip, venv" >/dev/null 2>&1 || need+=(python3-venv)
if ((${#need[@]})); then
  echo "setup: installing ${need[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

python3 - <<'PY'
import sys
if sys.version_info[:2] != (3, 11):
    sys.exit(f"setup: tfcompress needs Python 3.11 (TensorFlow 2.21 wheels), found {sys.version.split()[0]}")
PY

# Reinstall only when pyproject.toml changed since the last successful install.
stamp=.venv/.tfcompress-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  echo "setup: installing tfcompress and its dependencies into .venv (first time: a few minutes, ~2.5 GB)" >&2
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[test]'
  echo "$want" > "$stamp"
fi
