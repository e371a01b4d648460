"""Training cost of self-distillation against teacher-based KD on one machine (issue 17).

One interleaved ``benchmark_train`` run (see ``benchmark_train.py``: every model steps on the
same synthetic batches, iteration by iteration) of the RetinaNet R50-FPN VOC student trained

- alone (the baseline, first: ratios are to it),
- with FRSKD, LGD and blur-robust S-KD (self-distillation, no teacher to pretrain),
- with FGFI and an R101 teacher (``configs/fgfi/fgfi_retinanet_r101-r50_fpn_1x_voc0712.py``),
- with mmrazor 1.0.0's CWD and an R101 teacher
  (``tools/analysis/kd_cost/mmrazor_cwd_retinanet_r101-r50_fpn_1x_voc0712.py``), if mmrazor
  imports,

and the R101 baseline itself, whose training steps stand for the teacher's pretraining (same
schedule). Besides ``benchmark_train``'s numbers it counts, per model, the student's parameters,
the trainable training-only ones and the frozen teacher's (hidden or not), and prints the extra
cost of LGD against FGFI (the LGD paper: "51% lower training cost beyond inherent student
learning") without and with the teacher's pretraining::

    extra(method)      = t(method) - t(baseline)                 s/iter of the student's run
    extra(FGFI) + pre  = t(FGFI) - t(baseline) + t(R101 baseline)

mmrazor (not a dependency of skd_det; keep it out of the project's venv)::

    pip install --target /tmp/mmrazor_site --no-deps mmrazor==1.0.0 joblib cloudpickle
    PYTHONPATH=/tmp/mmrazor_site python tools/analysis/benchmark_kd_cost.py \\
        --img-size 320 320 --iters 5 --warmup 1 --threads 1 --out kd_cost.json

``import mmrazor.models`` fails on torch 2.x; :func:`import_mmrazor` explains the shim this
script applies (in its own process; mmrazor's files stay as installed).
"""
import argparse
import json
import os.path as osp
import sys

import torch
import torch.nn as nn

from skd_det.analysis import runtime
from skd_det.analysis.benchmark import benchmark_train
from skd_det.analysis.complexity import student_of
from skd_det.utils import InputError

BASELINE = 'configs/retinanet/retinanet_r50_fpn_1x_voc0712.py'
METHODS = [
    ('baseline', BASELINE),
    ('FRSKD', 'configs/frskd/frskd_retinanet_r50_fpn_1x_voc0712.py'),
    ('LGD', 'configs/lgd/lgd_retinanet_r50_fpn_1x_voc0712.py'),
    ('blur S-KD', 'configs/blur_skd/blur_skd_retinanet_r50_fpn_1x_voc0712.py'),
    ('FGFI (R101 teacher)', 'configs/fgfi/fgfi_retinanet_r101-r50_fpn_1x_voc0712.py'),
]
MMRAZOR = ('mmrazor CWD (R101 teacher)',
           'tools/analysis/kd_cost/mmrazor_cwd_retinanet_r101-r50_fpn_1x_voc0712.py')
TEACHER = ('R101 baseline (teacher pretraining)',
           'configs/retinanet/retinanet_r101_fpn_1x_voc0712.py')


def import_mmrazor() -> str:
    """Import ``mmrazor.models`` (registering its algorithms); '' on success, else why not.

    mmrazor 1.0.0 turns on its quantization backend configs and FX tracer when
    ``digit_version(torch.__version__) >= digit_version('1.13.0')`` (``mmrazor/structures/
    quantization/backend_config/common_operator_config_utils.py:52``, ``mapping.py:10``,
    ``models/quantizers/native_quantizer.py:49``, ``models/task_modules/tracer/
    fx_tracer.py:265``, ``channel_analyzer.py:90``), and that code uses torch 1.13's
    ``torch.ao`` API, which later releases removed or changed
    (``fuser_method_mappings.reverse2/reverse3/reverse_sequential_wrapper2``,
    ``BackendPatternConfig._set_overwrite_output_fake_quantize``): on torch 2.x the import of
    ``mmrazor.structures.quantization`` raises at module level, and ``mmrazor.models`` with
    it. These are mmrazor's only torch version checks, and distillation uses neither
    quantization nor FX tracing, so the shim makes mmrazor's ``digit_version`` read this
    torch's version as 1.12: those paths stay off, as on torch < 1.13.
    """
    try:
        import mmrazor
        from mmengine.utils import digit_version
    except ImportError as e:
        return f'mmrazor is not importable ({e})'

    def torch_as_1_12(version: str, length: int = 4):
        return digit_version('1.12.0' if version == torch.__version__ else version, length)

    mmrazor.digit_version = torch_as_1_12  # read by its submodules as they import
    try:
        import mmrazor.models  # noqa: F401
    except Exception as e:  # anything else it needs: report, compare without it
        return f'import mmrazor.models failed with the shim ({type(e).__name__}: {e})'
    return ''


def param_breakdown(model: nn.Module) -> dict:
    """Parameters of the student, trainable ones outside it (training-only), and frozen ones
    outside it, including modules held as plain attributes (a hidden teacher)."""
    seen = {id(p) for p in student_of(model).parameters()}
    counts = dict(
        student=sum(p.numel() for p in student_of(model).parameters()), training_only=0, frozen=0)
    hidden = [
        m for module in model.modules() for m in vars(module).values() if isinstance(m, nn.Module)
    ]
    for p in list(model.parameters()) + [p for m in hidden for p in m.parameters()]:
        if id(p) in seen:
            continue
        seen.add(id(p))
        counts['training_only' if p.requires_grad else 'frozen'] += p.numel()
    return counts


def extra_cost(times: dict) -> dict:
    """LGD's and FGFI's (and mmrazor's) s/iter beyond the baseline's, and LGD's relative to
    FGFI's without and with the teacher's pretraining."""
    base = times['baseline']
    extra = {k: t - base for k, t in times.items() if k not in ('baseline', TEACHER[0])}
    out = dict(extra=extra, teacher_pretraining=times[TEACHER[0]])
    for name in ('FGFI (R101 teacher)', MMRAZOR[0]):
        if name in extra:
            with_pre = extra[name] + times[TEACHER[0]]
            out[name] = dict(
                extra_with_pretraining=with_pre,
                lgd_vs_extra=extra['LGD'] / extra[name] if extra[name] > 0 else None,
                lgd_vs_extra_with_pretraining=extra['LGD'] / with_pre)
    return out


def table(result: dict, params: dict) -> str:
    rows = [
        '| method | s/iter | x baseline | peak memory (MiB) | x baseline | student params (M) '
        '| trainable training-only (M) | frozen teacher (M) |', '|' + '---|' * 8
    ]
    for e in result['configs']:
        r, mem, p = e['ratios'], e['memory']['peak'], params[e['label']]
        memory = f"{mem / 2**20:.0f} | {r['peak_memory']:.2f}" if mem is not None else '- | -'
        rows.append(f"| {e['label']} | {e['time']['median']:.3f} | {r['time']:.2f} | {memory} | "
                    f"{p['student'] / 1e6:.2f} | {p['training_only'] / 1e6:.2f} | "
                    f"{p['frozen'] / 1e6:.2f} |")
    return '\n'.join(rows)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iters', type=int, default=5, help='timed iterations per model')
    parser.add_argument('--warmup', type=int, default=1, help='untimed first iterations')
    parser.add_argument('--mem-iters', type=int, default=3, help='memory-measuring steps')
    parser.add_argument('--batch-size', type=int, default=2, help='images per step')
    parser.add_argument('--img-size', type=int, nargs=2, default=[320, 320], metavar=('H', 'W'))
    parser.add_argument('--threads', type=int, default=1, help='torch CPU threads')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--no-mmrazor', action='store_true', help='leave mmrazor out')
    parser.add_argument('--out', help='write all numbers to this JSON file')
    return parser.parse_args()


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    runtime.quiet_logs()
    import skd_det.det  # noqa: F401  (the configs' custom_imports, before the builds)
    methods = list(METHODS)
    why_not = 'left out (--no-mmrazor)' if args.no_mmrazor else import_mmrazor()
    if not why_not:
        methods.append(MMRAZOR)
    methods.append(TEACHER)
    labels = runtime.labels_of([path for _, path in methods])
    try:
        result = benchmark_train([path for _, path in methods], args.iters, args.warmup,
                                 args.batch_size, args.img_size, args.device, None, 0,
                                 args.mem_iters)
    except InputError as e:
        sys.exit(f'error: {e}')
    names = dict(zip(labels, (name for name, _ in methods)))
    params = {}
    for entry, (_, path) in zip(result['configs'], methods):
        entry['label'] = names[entry['label']]
        cfg = runtime.load_config(path)
        params[entry['label']] = param_breakdown(runtime.build_model(cfg, torch.device('cpu')))
        entry['param_breakdown'] = params[entry['label']]
    times = {e['label']: e['time']['median'] for e in result['configs']}
    result['extra_cost'] = extra_cost(times)
    result['mmrazor'] = why_not or 'mmrazor 1.0.0 with the torch-version shim'
    print(f"{result['device']}, torch {result['torch']}, {result['threads']} thread(s), batch "
          f"{result['batch_size']} x {result['img_size'][0]}x{result['img_size'][1]}, "
          f"{result['iters']} timed iterations (median) after {result['warmup']}")
    print(table(result, params))
    if why_not:
        print(f'mmrazor: {why_not}')
    print(json.dumps(result['extra_cost'], indent=2))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)


if __name__ == '__main__':
    if not osp.isfile(BASELINE):
        sys.exit('error: run from the repository root (the configs name paths relative to it)')
    main()
