import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
from types import SimpleNamespace
from unittest import mock

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def toy_runner(work_dir,
               model,
               hook,
               iters,
               checkpoint_interval,
               by_epoch=False,
               max_epochs=1,
               **kwargs):
    """An mmengine Runner training ``model`` (inputs: 2-vectors, batch 2) for ``iters``
    iterations in one pass over the data, as one epoch (``by_epoch``; ``max_epochs`` such
    passes) or ``max_iters`` (mmengine's iteration loop sleeps 2 s whenever it restarts the
    dataloader), with the custom ``hook`` and a checkpoint every ``checkpoint_interval``
    iterations/epochs."""
    import uuid

    import torch
    from mmengine.runner import Runner
    train_cfg = dict(
        by_epoch=True, max_epochs=max_epochs) if by_epoch else dict(
            by_epoch=False, max_iters=iters)
    return Runner(
        model=model,
        work_dir=str(work_dir),
        experiment_name=f'{hook["type"]}_{uuid.uuid4().hex}',
        train_dataloader=dict(
            dataset=[dict(inputs=torch.full((2, ), float(i))) for i in range(2 * iters)],
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=2,
            num_workers=0),
        train_cfg=train_cfg,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        custom_hooks=[hook],
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='CheckpointHook', interval=checkpoint_interval,
                            by_epoch=by_epoch)),
        **kwargs)


@pytest.fixture(scope='module')
def one_thread():
    """One torch thread for a module's tests: two OpenMP threads on a shared 2-core machine
    can be 50x slower than one (use with ``pytestmark = pytest.mark.usefixtures(...)``)."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='session')
def synthetic_voc(tmp_path_factory):
    """A tiny synthetic VOCdevkit (VOC2007 + VOC2012), shared by the whole session."""
    from skd_det.datasets.synthetic import generate_voc
    out = tmp_path_factory.mktemp('synthetic') / 'voc'
    generate_voc(str(out), num_train=6, num_val=2, seed=0, difficulty='easy')
    return str(out / 'VOCdevkit')


@pytest.fixture(scope='session')
def synthetic_cityscapes(tmp_path_factory):
    from skd_det.datasets.synthetic import generate_cityscapes
    out = tmp_path_factory.mktemp('synthetic') / 'cityscapes'
    generate_cityscapes(str(out), num_train=4, num_val=2, seed=0, difficulty='easy')
    return str(out)


def _run_tool(args, env=None, timeout=900, cwd=REPO, unset=()):
    full_env = {k: v for k, v in os.environ.items() if k not in unset}
    full_env.update(PYTHONUNBUFFERED='1', **(env or {}))
    return subprocess.run(
        [sys.executable] + args,
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout)


@pytest.fixture(scope='session')
def run_tool():
    """Run a repo script with this interpreter: ``run_tool(['tools/train.py', ...])``
    (session-scoped, so that module-scoped fixtures can train with it)."""
    return _run_tool


def _load_tool(path):
    spec = importlib.util.spec_from_file_location(
        osp.splitext(osp.basename(path))[0] + '_tool', osp.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def load_tool():
    """Import a repo script as a module: ``load_tool('tools/analysis/test_robustness.py')``."""
    return _load_tool


def _exported_paths(config, out_dir):
    name = osp.splitext(osp.basename(str(config)))[0] + '_student'
    return osp.join(str(out_dir), f'{name}.py'), osp.join(str(out_dir), f'{name}.pth')


def _export(config, checkpoint, out_dir):
    _load_tool('tools/model_converters/export_student.py').main(
        [str(config), str(checkpoint), str(out_dir)])
    return _exported_paths(config, out_dir)


def _student_weights(exported_ckpt, checkpoint):
    import torch
    saved = torch.load(str(exported_ckpt), map_location='cpu', weights_only=True)
    full = torch.load(str(checkpoint), map_location='cpu', weights_only=False)['state_dict']
    student = {k[len('student.'):]: v for k, v in full.items() if k.startswith('student.')}
    assert saved['state_dict'].keys() == student.keys()
    assert all(torch.equal(saved['state_dict'][k], v) for k, v in student.items())
    return saved, full


# plain mmdet/mmseg in a fresh process; argv[1]: [[task, config, weights, out, images], ...]
PARITY = r'''
import json
import sys
import torch
for task, cfg, ckpt, out, imgs in json.loads(sys.argv[1]):
    if task == 'det':
        from mmdet.apis import inference_detector, init_detector
        results = inference_detector(init_detector(cfg, ckpt, device='cpu'), imgs)
    else:
        from mmseg.apis import inference_model, init_model
        results = inference_model(init_model(cfg, ckpt, device='cpu'), imgs)
    torch.save([r.to_dict() for r in results], out)
assert not [m for m in sys.modules if m.split('.')[0] == 'skd_det'], 'skd_det was imported'
'''


def _plain_predictions(jobs, out_dir):
    import torch
    args = [[task, str(cfg),
             str(ckpt),
             osp.join(str(out_dir), f'plain_{i}.pt'),
             list(images)] for i, (task, cfg, ckpt, images) in enumerate(jobs)]
    # an export must load without the opt-out that full training checkpoints need
    result = _run_tool(['-c', PARITY, json.dumps(args)],
                       env=dict(OMP_NUM_THREADS='1'),
                       cwd=str(out_dir),
                       unset=('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', ))
    assert result.returncode == 0, result.stderr[-3000:]
    return [torch.load(job[3], weights_only=False) for job in args]


def _model_predictions(config, checkpoint, images, task='det'):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    cfg = Config.fromfile(str(config))
    init_default_scope(cfg.default_scope)
    if task == 'det':
        from mmdet.apis import inference_detector as inference
        from mmdet.registry import MODELS
    else:
        from mmseg.apis import inference_model as inference
        from mmseg.registry import MODELS
    model = MODELS.build(cfg.model)
    # a full training checkpoint is not a weights-only file
    with mock.patch.dict(os.environ, TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD='1'):
        load_checkpoint(model, str(checkpoint), map_location='cpu')
    model.cfg = cfg
    model.eval()
    return model, inference(model, images)


def _assert_same_predictions(ours, theirs, images, task='det'):
    import torch
    assert len(ours) == len(theirs) == len(images)
    for mine, other in zip(ours, theirs):
        other = other if isinstance(other, dict) else other.to_dict()
        if task == 'det':
            assert len(mine.pred_instances) > 0
            for key in ('bboxes', 'scores', 'labels'):
                assert torch.equal(mine.pred_instances[key], other['pred_instances'][key])
        else:
            assert torch.equal(mine.seg_logits.data, other['seg_logits']['data'])
            assert torch.equal(mine.pred_sem_seg.data, other['pred_sem_seg']['data'])


@pytest.fixture(scope='session')
def export_parity():
    """Helpers for tools/model_converters/export_student.py's tests.

    - ``export(config, checkpoint, out_dir)``: export a run's student; ``(config, weights)``
      paths; ``exported_paths(config, out_dir)``: the same paths without exporting.
    - ``student_weights(exported_weights, checkpoint)``: assert the export holds exactly the
      checkpoint's ``student.`` weights; ``(export file, checkpoint state dict)``.
    - ``plain_predictions([(task, config, weights, images), ...], out_dir)``: plain
      mmdet/mmseg's ``to_dict()`` results per job, from one fresh process that asserts
      skd_det was never imported.
    - ``model_predictions(config, checkpoint, images, task='det')``: ``(model, results)`` of
      the model built here from ``config`` (a wrapper, or an export that needs skd_det).
    - ``assert_same(ours, theirs, images, task='det')``: bit-for-bit the same predictions
      (data samples or their ``to_dict()``), non-empty for detection.
    """
    return SimpleNamespace(
        export=_export,
        exported_paths=_exported_paths,
        student_weights=_student_weights,
        plain_predictions=_plain_predictions,
        model_predictions=_model_predictions,
        assert_same=_assert_same_predictions)


@pytest.fixture(scope='session')
def synthetic_coco(tmp_path_factory):
    from skd_det.datasets.synthetic import generate_coco
    out = tmp_path_factory.mktemp('synthetic') / 'coco'
    generate_coco(str(out), num_train=8, num_val=4, seed=0, difficulty='easy')
    return str(out)
