#!/usr/bin/env bash
# Creates (if missing) and fills the project's virtual environment.
#
#   bash tools/setup_env.sh [VENV_DIR]      (default: .venv)
#
# Idempotent: every step checks first and skips what is already there. mmcv 2.1.0 has no wheel for
# torch 2.14, so the first run builds one from the sdist (~16 min on 2 cores) and keeps it in
# $SKD_DET_CACHE (default ~/.cache/skd_det); later runs, in any venv, reinstall that wheel in
# seconds. Facts behind the build fixes: shared/design/stack.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$(realpath -m "${1:-$ROOT/.venv}")"
PYTHON_BIN="${PYTHON:-python3}"
CACHE="${SKD_DET_CACHE:-$HOME/.cache/skd_det}"
TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
MMCV_VERSION=2.1.0

step() { printf '\n[setup_env %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

if [ ! -x "$VENV/bin/python" ]; then
  step "creating virtual environment $VENV"
  "$PYTHON_BIN" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)
pyver=$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')

has() { "$PY" -c "$1" >/dev/null 2>&1; }

if ! has "import torch, torchvision; assert torch.__version__.split('+')[0] == '$TORCH_VERSION' and torchvision.__version__.split('+')[0] == '$TORCHVISION_VERSION'"; then
  step "installing torch $TORCH_VERSION + torchvision $TORCHVISION_VERSION (about a minute from local disk, longer from PyPI)"
  "${PIP[@]}" install --progress-bar on "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
fi

MMCV_CACHE="$CACHE/mmcv-$MMCV_VERSION-torch$TORCH_VERSION-$pyver"
if ! has "import mmcv; assert mmcv.__version__ == '$MMCV_VERSION'; from mmcv.ops import batched_nms, RoIAlign"; then
  wheel=$(ls "$MMCV_CACHE"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n 1 || true)
  if [ -z "$wheel" ]; then
    # setuptools<80 (after torch, which pulls a newer one): mmcv's setup.py imports pkg_resources (removed in setuptools 82).
    if ! has "import setuptools, ninja, wheel; assert int(setuptools.__version__.split('.')[0]) < 80"; then
      step "installing build tools (setuptools<80, wheel, ninja)"
      "${PIP[@]}" install --progress-bar on 'setuptools<80' wheel ninja
    fi

    step "building mmcv $MMCV_VERSION with CPU ops from source: about 16 minutes on 2 cores, done once per machine (cache: $MMCV_CACHE)"
    work=$(mktemp -d)
    "${PIP[@]}" download --no-deps --no-binary :all: --no-build-isolation -d "$work" "mmcv==$MMCV_VERSION"
    tar -xzf "$work"/mmcv-"$MMCV_VERSION".tar.gz -C "$work"
    src="$work/mmcv-$MMCV_VERSION"
    # torch 2.14 headers need C++20; the sdist asks for C++14/17.
    sed -i -e 's/-std=c++14/-std=c++20/g' -e 's/-std=c++17/-std=c++20/g' "$src/setup.py"
    log="$work/build.log"
    echo "    compiler output goes to $log; progress below is ninja's [done/total]"
    (cd "$src" && MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
        "${PIP[@]}" wheel -v --no-deps --no-build-isolation -w "$work/dist" . >"$log" 2>&1) &
    build_pid=$!
    while kill -0 "$build_pid" 2>/dev/null; do
      sleep 30
      progress=$(grep -o '^ *\[[0-9]*/[0-9]*\]' "$log" 2>/dev/null | tr -d ' ' | tail -n 1 || true)
      echo "    $(date +%H:%M:%S) mmcv build ${progress:-starting}"
    done
    if ! wait "$build_pid"; then
      tail -n 40 "$log"
      echo "mmcv build failed; full log: $log" >&2
      exit 1
    fi
    mkdir -p "$MMCV_CACHE"
    cp "$work"/dist/mmcv-*.whl "$MMCV_CACHE"/
    wheel=$(ls "$MMCV_CACHE"/mmcv-"$MMCV_VERSION"-*.whl | head -n 1)
    rm -rf "$work"
  fi
  step "installing mmcv from $wheel"
  "${PIP[@]}" install --no-deps "$wheel"
fi

step "installing mmengine / mmdet / mmseg and the rest (requirements/lock.txt)"
"${PIP[@]}" install --progress-bar on -r "$ROOT/requirements/lock.txt"
step "installing skd_det itself (editable)"
"${PIP[@]}" install --no-deps --no-build-isolation -e "$ROOT" -q

# Run outside any source tree: a local mmcv/ folder would shadow the installed one.
(cd / && "$PY" -c "
import torch, mmcv, mmengine, mmdet, mmseg, skd_det
from mmcv.ops import batched_nms, RoIAlign
print('torch', torch.__version__, '| mmcv', mmcv.__version__, '| mmengine', mmengine.__version__,
      '| mmdet', mmdet.__version__, '| mmseg', mmseg.__version__, '| skd_det', skd_det.__version__)
")
step "environment ready: $VENV"
