#!/usr/bin/env bash
# Sourced by the other scripts: finds or creates the PyTorch installation that
# provides libtorch, then exports what the `tch` build needs.
#
# Why a virtualenv: `tch` 0.26 links against libtorch 2.13.0, and the only
# libtorch this project trusts is the one inside the official PyPI wheel
# `torch==2.13.0`. The venv lives in a user cache directory (outside the clone)
# so every clone and every CI run on the same machine reuses the ~5 GB install.
#
# Why reuse one: clusters, lab workstations and GPU machines without network
# already hold a PyTorch, often not the newest. Two ways to build against it:
#
#   SWEEP_TORCH_VENV=/path/to/venv    an existing virtualenv (its bin/python);
#                                     created with torch 2.13.0 when missing
#   SWEEP_TORCH_PYTHON=python3        an interpreter (a name on PATH or a path)
#                                     whose torch is used as it is
#
# Supported versions: 2.13.x (the workspace's tch 0.26) and 2.11.x (tch 0.24,
# built from the generated tree of scripts/torch-toolchain, whose cargo goes
# first on PATH and whose build folder becomes CARGO_TARGET_DIR). Any other
# version is refused with the list. With neither variable set, the default
# venv (torch 2.13.0 under ~/.cache/sweep/) is created when missing;
# SWEEP_TORCH_VERSION=2.11.0 makes that default torch-2.11.0-venv instead
# (what scripts/torch-versions and scripts/gpu-check --prepare use).
#
# Exports: SWEEP_TORCH_PYTHON (the interpreter), SWEEP_TORCH_FOUND (its torch
# version, e.g. 2.11.0+cu130), SWEEP_TORCH_LIB (its torch/lib), and for the
# build LIBTORCH_USE_PYTORCH with `python3` on PATH being that interpreter.

: "${SWEEP_TORCH_VERSION:=2.13.0}"
SWEEP_TORCH_SUPPORTED="2.11.x, 2.13.x"
sweep_torch_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

sweep_torch_fail() {
  echo "sweep: $*" >&2
  return 1
}

# The version of torch an interpreter imports, or nothing.
sweep_torch_version_of() {
  "$1" -c 'import torch; print(torch.__version__)' 2>/dev/null
}

sweep_torch_ready() {
  [ -x "$SWEEP_TORCH_VENV/bin/python" ] &&
    "$SWEEP_TORCH_VENV/bin/python" - "$SWEEP_TORCH_VERSION" <<'PY' >/dev/null 2>&1
import sys, torch
sys.exit(0 if torch.__version__.split("+")[0] == sys.argv[1] else 1)
PY
}

# pip's own output says what it downloads and how big each file is. On a
# terminal it also draws a progress bar per file; elsewhere (CI logs) the bars
# are off and the "Downloading <file> (<size>)" lines remain. Either way it
# goes to stderr, so `scripts/sweep ... > out` keeps sweep's output clean.
sweep_torch_pip() {
  local progress=off
  [ -t 2 ] && progress=on
  "$SWEEP_TORCH_VENV/bin/python" -m pip install --progress-bar "$progress" --disable-pip-version-check "$@" >&2
}

sweep_torch_create_venv() {
  echo "sweep: first-time set-up: a Python virtualenv with PyTorch for the training worker" >&2
  echo "sweep:   where: ${SWEEP_TORCH_VENV} (shared by every clone; SWEEP_TORCH_VENV moves it)" >&2
  echo "sweep:   what:  torch==${SWEEP_TORCH_VERSION} from PyPI with the NVIDIA CUDA libraries it depends on, numpy, scikit-learn, scipy" >&2
  echo "sweep:   size:  about 5 GB to download and install, once; a few minutes on a fast connection" >&2
  command -v python3 >/dev/null || { sweep_torch_fail "python3 is required"; return 1; }
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
    sweep_torch_pip --quiet --upgrade pip &&
    sweep_torch_pip "torch==${SWEEP_TORCH_VERSION}" numpy scikit-learn scipy ||
    { sweep_torch_fail "torch install failed"; return 1; }
  sweep_torch_ready || { sweep_torch_fail "torch in ${SWEEP_TORCH_VENV} does not import"; return 1; }
  echo "sweep: PyTorch is ready in ${SWEEP_TORCH_VENV}" >&2
}

sweep_torch_setup() {
  local python found series tree
  case "$SWEEP_TORCH_VERSION" in
    2.11.*|2.13.*) ;;
    *) sweep_torch_fail "SWEEP_TORCH_VERSION=$SWEEP_TORCH_VERSION is not supported (supported: $SWEEP_TORCH_SUPPORTED)"; return 1 ;;
  esac
  if [ -n "${SWEEP_TORCH_PYTHON:-}" ]; then
    python="$(command -v "$SWEEP_TORCH_PYTHON" 2>/dev/null)" ||
      { sweep_torch_fail "SWEEP_TORCH_PYTHON=$SWEEP_TORCH_PYTHON: no such interpreter"; return 1; }
    found="$(sweep_torch_version_of "$python")" ||
      { sweep_torch_fail "SWEEP_TORCH_PYTHON=$SWEEP_TORCH_PYTHON: 'import torch' fails (supported torch: $SWEEP_TORCH_SUPPORTED)"; return 1; }
  elif [ -n "${SWEEP_TORCH_VENV:-}" ] && [ -x "$SWEEP_TORCH_VENV/bin/python" ] &&
    found="$(sweep_torch_version_of "$SWEEP_TORCH_VENV/bin/python")"; then
    # An existing virtualenv with some torch in it: used as it is (never
    # replaced), provided the version is supported (checked below).
    python="$SWEEP_TORCH_VENV/bin/python"
  else
    # Today's default: the 2.13.0 venv, created (or repaired) when needed.
    : "${SWEEP_TORCH_VENV:=${XDG_CACHE_HOME:-$HOME/.cache}/sweep/torch-${SWEEP_TORCH_VERSION}-venv}"
    sweep_torch_ready || sweep_torch_create_venv || return 1
    python="$SWEEP_TORCH_VENV/bin/python"
    found="$(sweep_torch_version_of "$python")"
  fi

  series="$(echo "$found" | cut -d. -f1,2)"
  case "$series" in
    2.13) ;;
    2.11)
      tree="$("$sweep_torch_root/scripts/torch-toolchain" 2.11)" || return 1
      export PATH="$tree/bin:$PATH"
      # Its own build folder: artifacts of the two tch versions never mix.
      if [ -n "${CARGO_TARGET_DIR:-}" ]; then
        case "$CARGO_TARGET_DIR" in */torch-2.11) ;; *) CARGO_TARGET_DIR="$CARGO_TARGET_DIR/torch-2.11" ;; esac
      else
        CARGO_TARGET_DIR="$tree/target"
      fi
      export CARGO_TARGET_DIR
      ;;
    *)
      sweep_torch_fail "torch $found at $python is not supported (supported: $SWEEP_TORCH_SUPPORTED)"
      return 1 ;;
  esac

  # torch-sys asks `python3` on PATH (or `python` in an activated venv) for
  # libtorch: make both this interpreter. A venv's bin holds them already;
  # a plain interpreter gets a folder of two forwarding scripts.
  local bin
  bin="$(dirname "$python")"
  if [ ! -f "$bin/../pyvenv.cfg" ] || [ ! -x "$bin/python3" ] || [ ! -x "$bin/python" ]; then
    bin="$sweep_torch_root/target/torch-python/bin"
    mkdir -p "$bin"
    for name in python python3; do
      printf '#!/bin/sh\n# Generated by scripts/torch-env.sh: the interpreter whose torch builds sweep.\nexec %q "$@"\n' \
        "$python" >"$bin/$name"
      chmod +x "$bin/$name"
    done
  fi
  export PATH="$bin:$PATH"
  SWEEP_TORCH_PYTHON="$python"
  SWEEP_TORCH_FOUND="$found"
  export SWEEP_TORCH_PYTHON SWEEP_TORCH_FOUND
  export LIBTORCH_USE_PYTORCH=1
  export LIBTORCH_BYPASS_VERSION_CHECK=0
  SWEEP_TORCH_LIB="$("$python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
  export SWEEP_TORCH_LIB
}

sweep_torch_setup || return 1 2>/dev/null || exit 1
