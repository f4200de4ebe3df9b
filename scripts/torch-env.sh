#!/usr/bin/env bash
# Sourced by the other scripts: makes sure the PyTorch virtualenv that provides
# libtorch exists, then exports what the `tch` build needs.
#
# Why a virtualenv: `tch` 0.26 links against libtorch 2.13.0, and the only
# libtorch this project trusts is the one inside the official PyPI wheel
# `torch==2.13.0`. The venv lives in a user cache directory (outside the clone)
# so every clone and every CI run on the same machine reuses the ~5 GB install.
#
# Override the location with SWEEP_TORCH_VENV.

SWEEP_TORCH_VERSION="2.13.0"
: "${SWEEP_TORCH_VENV:=${XDG_CACHE_HOME:-$HOME/.cache}/sweep/torch-${SWEEP_TORCH_VERSION}-venv}"

sweep_torch_ready() {
  [ -x "$SWEEP_TORCH_VENV/bin/python" ] &&
    "$SWEEP_TORCH_VENV/bin/python" - "$SWEEP_TORCH_VERSION" <<'PY' >/dev/null 2>&1
import sys, torch
sys.exit(0 if torch.__version__.split("+")[0] == sys.argv[1] else 1)
PY
}

if ! sweep_torch_ready; then
  echo "sweep: installing torch==${SWEEP_TORCH_VERSION} into ${SWEEP_TORCH_VENV} (one time, ~5 GB)" >&2
  command -v python3 >/dev/null || { echo "sweep: python3 is required" >&2; return 1 2>/dev/null || exit 1; }
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    echo "sweep: python3 venv support missing; installing python3-venv" >&2
    if command -v apt-get >/dev/null; then
      SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
      $SUDO apt-get update -qq && $SUDO apt-get install -y -qq python3-venv >&2
    fi
  fi
  rm -rf "$SWEEP_TORCH_VENV"
  mkdir -p "$(dirname "$SWEEP_TORCH_VENV")"
  python3 -m venv "$SWEEP_TORCH_VENV" &&
    "$SWEEP_TORCH_VENV/bin/python" -m pip install --quiet --upgrade pip &&
    "$SWEEP_TORCH_VENV/bin/python" -m pip install --quiet "torch==${SWEEP_TORCH_VERSION}" numpy scikit-learn scipy ||
    { echo "sweep: torch install failed" >&2; return 1 2>/dev/null || exit 1; }
  sweep_torch_ready || { echo "sweep: torch in ${SWEEP_TORCH_VENV} does not import" >&2; return 1 2>/dev/null || exit 1; }
fi

# torch-sys finds libtorch through the Python interpreter on PATH.
export PATH="$SWEEP_TORCH_VENV/bin:$PATH"
export LIBTORCH_USE_PYTORCH=1
export LIBTORCH_BYPASS_VERSION_CHECK=0
SWEEP_TORCH_LIB="$("$SWEEP_TORCH_VENV/bin/python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
export SWEEP_TORCH_LIB
