#!/usr/bin/env bash
# The first thing to run when a GPU machine is lent (issue 14): training cost of every method's R50
# (and EfficientDet-D0) configs against their baselines, on that GPU, at the configs' real
# resolution, with AMP. It installs the OpenMMLab stack from wheels carried in .whl/ and builds
# mmcv's CUDA ops for that machine's torch, as no mmcv 2.1.0 wheel exists for recent torch.
#
#   bash tools/analysis/gpu_check.sh --fetch-wheels   # here, where pip reaches PyPI: fills .whl/
#   bash tools/analysis/gpu_check.sh [OUT_DIR]        # there, in the repo root, .whl/ carried along
#
# Environment: ITERS (timed steps per config, default 60), WARMUP (10), GPU_CHECK_GROUPS (names below,
# default all, in this order), PYVER (the GPU machine's python for --fetch-wheels, default 3.12),
# GROUP_TIMEOUT (s per group, default 150), AMP (1; 0 benchmarks in fp32, e.g. a CPU smoke run).
# Output: OUT_DIR/gpu_check.log (tables as benchmark_train.py prints them, build log tail),
# OUT_DIR/gpu_check.json (one entry per group: benchmark_train.py --out), and, after a build,
# the mmcv wheel split into OUT_DIR/mmcv_cuda_whl.part_* (`cat` them back together to reuse it
# on a machine with the same torch: put the wheel in .whl/ and the build is skipped).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
WHEELS=.whl
MMCV_VERSION=2.1.0

if [ "${1:-}" = "--fetch-wheels" ]; then
  mkdir -p "$WHEELS"
  pip=(python3 -m pip download --no-deps -d "$WHEELS")
  [ -x .venv/bin/python ] && pip=(.venv/bin/python -m pip download --no-deps -d "$WHEELS")
  "${pip[@]}" --no-binary :all: "mmcv==$MMCV_VERSION" || exit 1
  # pure-python or abi3 wheels of what the GPU image lacks (its torch, numpy, opencv, scipy,
  # matplotlib, regex stay); setuptools<80 because mmcv's setup.py and mmengine import pkg_resources
  "${pip[@]}" --only-binary=:all: --python-version "${PYVER:-3.12}" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 \
    mmengine==0.10.7 mmdet==3.3.0 mmsegmentation==1.2.2 addict yapf terminaltables pycocotools \
    shapely ftfy prettytable wcwidth termcolor platformdirs 'setuptools<80' || exit 1
  du -sh "$WHEELS"
  exit 0
fi

OUT_DIR=${1:-${OUT:-work_dirs/gpu_check}}
mkdir -p "$OUT_DIR"
LOG="$OUT_DIR/gpu_check.log"
SITE=/tmp/skd_det_site
JSON_DIR=/tmp/skd_det_gpu_json
mkdir -p "$SITE" "$JSON_DIR"
export PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$LOG"; }

log "machine: $(nproc --all) cores; $(nvidia-smi --query-gpu=name,memory.total,driver_version \
  --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi')"
if ! python3 -c 'import mmengine, mmdet, mmseg' 2>/dev/null; then
  ls "$WHEELS"/*.whl >/dev/null 2>&1 || { log "no $WHEELS/*.whl: run --fetch-wheels first"; exit 1; }
  # every carried wheel but mmcv (installed below, once it has CUDA ops)
  python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target "$SITE" \
    $(ls "$WHEELS"/*.whl | grep -v '/mmcv-') >>"$LOG" 2>&1 || { log "wheel install failed"; exit 1; }
fi
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda,
  "device", torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)' | tee -a "$LOG"

has_cuda_ops() {
  python3 - <<'EOF' 2>/dev/null
import torch
from mmcv.ops import nms
boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]], device='cuda')
nms(boxes, torch.tensor([0.9, 0.8], device='cuda'), 0.5)
EOF
}

if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null && ! has_cuda_ops; then
  wheel=$(ls "$WHEELS"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n 1)
  if [ -z "$wheel" ]; then
    src=/tmp/mmcv_build/mmcv-$MMCV_VERSION
    rm -rf /tmp/mmcv_build && mkdir -p /tmp/mmcv_build
    tar -xzf "$WHEELS/mmcv-$MMCV_VERSION.tar.gz" -C /tmp/mmcv_build || exit 1
    # torch's headers decide the C++ standard (recent ATen refuses anything before C++20)
    aten=$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')/include/ATen/ATen.h
    std=c++17; grep -q 'C++20 or later' "$aten" && std=c++20
    sed -i -e "s/-std=c++14/-std=$std/g" -e "s/-std=c++17/-std=$std/g" "$src/setup.py"
    arch=$(python3 -c 'import torch; print("%d.%d" % torch.cuda.get_device_capability())')
    log "building mmcv $MMCV_VERSION CUDA ops (sm $arch, $std, $(nproc --all) jobs)"
    (cd "$src" && MMCV_WITH_OPS=1 FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST="$arch" MAX_JOBS=$(nproc --all) \
      python3 setup.py -q bdist_wheel -d /tmp/mmcv_build/dist >/tmp/mmcv_build/build.log 2>&1)
    status=$?
    tail -n 30 /tmp/mmcv_build/build.log >>"$LOG"
    [ $status -eq 0 ] || { log "mmcv build failed (log tail above)"; exit 1; }
    wheel=$(ls /tmp/mmcv_build/dist/mmcv-*.whl | head -n 1)
    split -b 15m "$wheel" "$OUT_DIR/mmcv_cuda_whl.part_"
    log "built $(basename "$wheel") ($(du -h "$wheel" | cut -f1))"
  fi
  python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target "$SITE" \
    "$wheel" >>"$LOG" 2>&1
  has_cuda_ops || { log "mmcv CUDA ops do not run after the install"; exit 1; }
elif ! python3 -c 'import mmcv.ops' 2>/dev/null; then
  log "no GPU and no mmcv ops here: nothing to benchmark"; exit 1
fi
log "stack ready"

# group name -> configs, the baseline first (benchmark_train.py gives ratios to it)
declare -A CONFIGS=(
  [retinanet_coco]="configs/retinanet/retinanet_r50_fpn_1x_coco.py
    configs/frskd/frskd_retinanet_r50_fpn_1x_coco.py configs/lgd/lgd_retinanet_r50_fpn_1x_coco.py"
  [retinanet_voc]="configs/retinanet/retinanet_r50_fpn_1x_voc0712.py
    configs/blur_skd/retinanet_r50_fpn_1x_blur-aug_voc0712.py
    configs/blur_skd/blur_skd_retinanet_r50_fpn_1x_voc0712.py
    configs/byot/byot_retinanet_r50_fpn_1x_voc0712.py configs/pskd/pskd_retinanet_r50_fpn_1x_voc0712.py"
  [fcn_cityscapes]="configs/fcn/fcn_r50-d8_512x1024_cityscapes.py
    configs/frskd/frskd_fcn_r50-d8_512x1024_cityscapes.py
    configs/byot/byot_fcn_r50-d8_512x1024_cityscapes.py configs/pskd/pskd_fcn_r50-d8_512x1024_cityscapes.py"
  [faster_rcnn_coco]="configs/faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py
    configs/lgd/lgd_faster-rcnn_r50_fpn_1x_coco.py configs/frskd/frskd_faster-rcnn_r50_fpn_1x_coco.py"
  [fgfi_voc]="configs/retinanet/retinanet_r50_fpn_1x_voc0712.py
    configs/fgfi/fgfi_retinanet_r101-r50_fpn_1x_voc0712.py"
  [efficientdet_coco]="configs/efficientdet/efficientdet_d0_coco.py
    configs/frskd/frskd_efficientdet_d0_coco.py"
  [fcos_coco]="configs/fcos/fcos_r50_fpn_1x_coco.py configs/lgd/lgd_fcos_r50_fpn_1x_coco.py"
)
ORDER="retinanet_coco retinanet_voc fcn_cityscapes faster_rcnn_coco fgfi_voc efficientdet_coco fcos_coco"
amp=()
[ "${AMP:-1}" = 1 ] && amp=(--cfg-options optim_wrapper.type=AmpOptimWrapper \
  optim_wrapper.loss_scale=dynamic)
for group in ${GPU_CHECK_GROUPS:-$ORDER}; do
  [ -n "${CONFIGS[$group]:-}" ] || { log "unknown group $group (known: $ORDER)"; continue; }
  log "group $group"
  # shellcheck disable=SC2086  # the config list splits on whitespace on purpose
  timeout "${GROUP_TIMEOUT:-150}" python3 tools/analysis/benchmark_train.py ${CONFIGS[$group]} \
    --iters "${ITERS:-60}" --warmup "${WARMUP:-10}" --mem-iters 3 "${amp[@]}" \
    --out "$JSON_DIR/$group.json" >>"$LOG" 2>&1 || log "group $group failed or timed out"
  # merged after every group, so a run stopped at its time limit keeps what it measured
  python3 - "$JSON_DIR" "$OUT_DIR/gpu_check.json" <<'EOF'
import glob, json, os, sys
json.dump({os.path.basename(p)[:-5]: json.load(open(p)) for p in sorted(glob.glob(sys.argv[1] + '/*.json'))},
          open(sys.argv[2], 'w'), indent=1)
EOF
done
log "done"
