#!/usr/bin/env bash
# The README's install command: what the embedded model, the sandbox and the tests need.
#
#   bash scripts/install.sh        run it inside the virtual environment you want to use
#
# 1. bubblewrap, the sandbox boundary for generated code (a system package, not on PyPI):
#    installed with the system's package manager when `bwrap` is missing, through sudo when
#    not root. Without it the lab refuses to run programs (docs/sandbox.md).
# 2. torch's CPU build first, so sentence-transformers does not pull the 5.5 GB CUDA build.
# 3. requirements.txt: the project with every dependency at its tested version
#    (constraints.txt) and llama-cpp-python compiled portably (docs/models.md).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}

as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "install: '$*' needs root and sudo is not available; run it as root" >&2
    return 1
  fi
}

install_bubblewrap() {
  if command -v apt-get >/dev/null 2>&1; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap
  elif command -v dnf >/dev/null 2>&1; then
    as_root dnf install -y bubblewrap
  elif command -v pacman >/dev/null 2>&1; then
    as_root pacman -S --noconfirm bubblewrap
  elif command -v zypper >/dev/null 2>&1; then
    as_root zypper --non-interactive install bubblewrap
  else
    echo "install: no known package manager; install bubblewrap (bwrap) yourself" >&2
    return 1
  fi
}

if command -v bwrap >/dev/null 2>&1; then
  echo "install: bubblewrap present ($(command -v bwrap))"
else
  echo "install: bubblewrap (the sandbox boundary) is missing; installing the system package"
  install_bubblewrap
  command -v bwrap >/dev/null 2>&1 || { echo "install: bwrap still missing" >&2; exit 1; }
fi

"$python" -m pip install torch==2.13.0
"$python" -m pip install -r requirements.txt
echo "install: done; next: agentrxiv demo   (agentrxiv doctor checks the setup)"
