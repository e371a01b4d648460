# Copyright (c) skd_det contributors.
"""BYOT through the tools on synthetic data: a short tools/train.py + tools/test.py run of the
detection and the segmentation config, and tools/model_converters/export_student.py for the
student and for a shallow exit (--exit K), each loading in plain mmdet/mmseg (without skd_det)
with exactly the wrapper's predictions."""
import os.path as osp
from glob import glob

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from skd_det.testing import NO_VAL, REPO, VOC_VAL_AS_TRAIN, scalars, train
from skd_det.utils import InputError

DET_CFG = 'configs/byot/byot_retinanet_r18_fpn_cpu_voc0712.py'
SEG_CFG = 'configs/byot/byot_fcn_r18-d8_cpu_cityscapes.py'
EXPORT_TOOL = 'tools/model_converters/export_student.py'
ENV = dict(OMP_NUM_THREADS='1')
# one epoch on the val images of VOC2007 + VOC2012, batch 2; keep every box of the random-init
# heads so that predictions are compared non-empty
DET_OPTS = [
    'train_cfg.max_epochs=1', 'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
    'model.student.test_cfg.score_thr=0.0', 'default_hooks.logger.interval=1'
] + VOC_VAL_AS_TRAIN + NO_VAL
SEG_OPTS = [
    'train_cfg.max_iters=2', 'default_hooks.checkpoint.interval=2',
    'default_hooks.logger.interval=1', 'train_dataloader.batch_size=2',
    'train_dataloader.num_workers=0'
] + NO_VAL

# trains through tools/train.py once for the module's tests (one xdist worker)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group('byot_train'),
    pytest.mark.usefixtures('one_thread')
]


def _train(config, data_root, work_dir, opts):
    records = list(scalars(train(config, data_root, work_dir, opts)).values())
    assert records
    return work_dir, records


@pytest.fixture(scope='module')
def runs(synthetic_voc, synthetic_cityscapes, tmp_path_factory):
    det = _train(DET_CFG, synthetic_voc, tmp_path_factory.mktemp('byot_det'), DET_OPTS)
    seg = _train(SEG_CFG, synthetic_cityscapes, tmp_path_factory.mktemp('byot_seg'), SEG_OPTS)
    return dict(
        det=(*det, det[0] / 'epoch_1.pth', 2,
             sorted(glob(osp.join(synthetic_voc, 'VOC2007', 'JPEGImages', '*.jpg')))[:2]),
        seg=(*seg, seg[0] / 'iter_2.pth', 1,
             sorted(glob(osp.join(synthetic_cityscapes, 'leftImg8bit', 'val', '*', '*.png')))[:2]))


@pytest.mark.parametrize('task, keys', [
    ('det', [
        'loss_cls', 'loss_bbox', 'teacher.exit1.loss_cls', 'teacher.exit2.loss_bbox',
        'distill.loss_kd', 'distill.loss_feat'
    ]),
    ('seg', [
        'decode.loss_ce', 'aux.loss_ce', 'teacher.exit0.decode.loss_ce',
        'teacher.exit2.decode.loss_ce', 'distill.loss_kd', 'distill.loss_feat'
    ]),
])
def test_train_logs_every_exit_and_term(task, keys, runs):
    for record in runs[task][1]:
        for key in keys:
            assert record[key] > 0, key
        parts = sum(v for k, v in record.items() if 'loss' in k and k != 'loss')
        assert record['loss'] == pytest.approx(parts, rel=1e-5)


def test_test_tool_evaluates_the_student(runs, synthetic_voc, tmp_path, run_tool):
    work_dir, _, ckpt, _, _ = runs['det']
    (config, ) = glob(osp.join(str(work_dir), 'byot_*.py'))
    result = run_tool([
        'tools/test.py', config,
        str(ckpt), '--work-dir',
        str(tmp_path), '--device', 'cpu', '--data-root', synthetic_voc, '--cfg-options',
        'test_dataloader.num_workers=0'
    ],
                      env=ENV)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert 'pascal_voc/mAP' in result.stdout.split('Final metrics:')[-1]


def _raw_outputs(model, x, stage=None):
    """The raw head outputs of the student, of the wrapper's exit ``stage``, or (a plain
    model) of ``model`` itself."""
    with torch.no_grad():
        if stage is None:
            outs = model._forward(x)
        elif hasattr(model.student, 'bbox_head'):
            feats = model.student.backbone(x)[:stage + 1]
            outs = model.teacher.heads[str(stage)](model.teacher.necks[str(stage)](feats))
        else:
            outs = model.teacher.heads[str(stage)](model.student.extract_feat(x))
    return [t for level in outs for t in level] if isinstance(outs, tuple) else [outs]


@pytest.fixture(scope='module')
def exported(runs, tmp_path_factory, export_parity, load_tool):
    """Student and exit exports of both runs, and what plain mmdet/mmseg predict with them."""
    out = tmp_path_factory.mktemp('byot_export')
    exports, jobs = [], []
    for task, (work_dir, _, ckpt, stage, images) in runs.items():
        (config, ) = glob(osp.join(str(work_dir), 'byot_*.py'))
        student = export_parity.export(config, ckpt, out / task)
        load_tool(EXPORT_TOOL).main([config, str(ckpt), str(out / task), '--exit', str(stage)])
        name = osp.splitext(osp.basename(config))[0] + f'_exit{stage}'
        exit_ = (str(out / task / f'{name}.py'), str(out / task / f'{name}.pth'))
        exports.append(
            dict(
                task=task,
                config=config,
                ckpt=str(ckpt),
                stage=stage,
                images=images,
                student=student,
                exit=exit_))
        jobs += [(task, *student, images), (task, *exit_, images)]
    plain = export_parity.plain_predictions(jobs, out)
    for i, e in enumerate(exports):
        e['plain_student'], e['plain_exit'] = plain[2 * i], plain[2 * i + 1]
    return {e['task']: e for e in exports}


@pytest.mark.parametrize('task', ['det', 'seg'])
def test_student_export_predicts_what_the_wrapper_predicts(task, exported, export_parity):
    e = exported[task]
    export_parity.student_weights(e['student'][1], e['ckpt'])
    _, ours = export_parity.model_predictions(e['config'], e['ckpt'], e['images'], task)
    export_parity.assert_same(ours, e['plain_student'], e['images'], task)


@pytest.mark.parametrize('task', ['det', 'seg'])
def test_exit_export_is_the_wrappers_exit_as_a_plain_model(task, exported, export_parity):
    e = exported[task]
    plain_cfg = Config.fromfile(e['exit'][0])
    stage = e['stage']
    assert plain_cfg.model.type == ('RetinaNet' if task == 'det' else 'EncoderDecoder')
    assert plain_cfg.model.backbone.num_stages == stage + 1
    assert 'custom_imports' not in plain_cfg and 'auxiliary_head' not in plain_cfg.model
    wrapper, _ = export_parity.model_predictions(e['config'], e['ckpt'], e['images'], task)
    exit_model, ours = export_parity.model_predictions(e['exit'][0], e['exit'][1], e['images'],
                                                       task)
    # the plain model is the wrapper's exit, bit for bit, on an odd-sized batch
    x = torch.randn(1, 3, 97, 131, generator=torch.Generator().manual_seed(0))
    mine, theirs = _raw_outputs(wrapper, x, stage), _raw_outputs(exit_model, x)
    assert len(mine) == len(theirs) and all(map(torch.equal, mine, theirs))
    # fewer weights than the student, and plain OpenMMLab predicts what it predicts here
    assert sum(p.numel()
               for p in exit_model.parameters()) < sum(p.numel()
                                                       for p in wrapper.student.parameters())
    export_parity.assert_same(ours, e['plain_exit'], e['images'], task)


def test_exit_export_errors(runs, tmp_path, load_tool):
    work_dir, _, ckpt, _, _ = runs['det']
    (config, ) = glob(osp.join(str(work_dir), 'byot_*.py'))
    with pytest.raises(
            SystemExit, match=r'--exit 0: exit 0 does not exist; the exits are '
            r'\[1, 2\]'):
        load_tool(EXPORT_TOOL).main([config, str(ckpt), str(tmp_path), '--exit', '0'])
    frskd = osp.join(REPO, 'configs/frskd/frskd_retinanet_r18_fpn_cpu_voc0712.py')
    init_default_scope('mmdet')
    with pytest.raises(InputError, match='FRSKDDetTeacher has no exits'):
        load_tool(EXPORT_TOOL).exit_export(Config.fromfile(frskd), 1, str(ckpt), {})
