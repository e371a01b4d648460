# Copyright (c) skd_det contributors.
"""LGD, FRSKD and blur S-KD on the CPU Faster R-CNN R18 through the tools on synthetic VOC: a
short tools/train.py run logging every loss group, tools/test.py on its checkpoint, and
tools/model_converters/export_student.py, whose plain Faster R-CNN predicts exactly what the
wrapper predicts (in plain mmdet, without skd_det, where the student needs none of it)."""
import os.path as osp
from glob import glob

import pytest
from mmengine.config import Config

from skd_det.testing import LOG_EVERY_ITER, NO_VAL, VOC_VAL_AS_TRAIN, scalars, train

ENV = dict(OMP_NUM_THREADS='1')
# one short epoch on the val images of VOC2007 + VOC2012 (4 images), batch 2: 2 iterations (a
# second epoch logged the same keys); random-init scores are tiny, so keep every box to compare
# non-empty predictions
OPTS = [
    'train_cfg.max_epochs=1', 'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
    'model.student.test_cfg.rcnn.score_thr=0.0'
] + VOC_VAL_AS_TRAIN + NO_VAL + LOG_EVERY_ITER
# config, the distillation loss keys, whether the exported student is plain mmdet
FAMILIES = {
    'lgd': ('configs/lgd/lgd_faster-rcnn_r18_fpn_cpu_voc0712.py', ['distill.loss_feat'], True),
    'frskd': ('configs/frskd/frskd_faster-rcnn_r18_fpn_cpu_voc0712.py',
              ['distill.loss_feat', 'distill.loss_kd'], True),
    # the deblurring subnet stays in the student: its export needs skd_det
    'blur_skd':
    ('configs/blur_skd/blur_skd_faster-rcnn_r18_fpn_cpu_voc0712.py', ['distill.loss_feat'], False),
}

# trains through tools/train.py once for the module's tests (one xdist worker)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group('two_stage_train'),
    pytest.mark.usefixtures('one_thread')
]


@pytest.fixture(scope='module', params=list(FAMILIES))
def run(request, synthetic_voc, tmp_path_factory):
    config = FAMILIES[request.param][0]
    return request.param, train(config, synthetic_voc, tmp_path_factory.mktemp(request.param), OPTS)


def test_train_logs_student_teacher_and_distill_losses(run):
    family, work_dir = run
    records = scalars(work_dir)
    assert sorted(records) == [1, 2]
    for record in records.values():
        for key in [
                'loss_rpn_cls', 'loss_cls', 'teacher.loss_rpn_cls', 'teacher.loss_cls',
                *FAMILIES[family][1]
        ]:
            assert key in record, (family, key)
        parts = sum(v for k, v in record.items() if 'loss' in k and k != 'loss')
        assert record['loss'] == pytest.approx(parts, rel=1e-5)


def test_test_tool_and_export_predict_like_the_wrapper(run, synthetic_voc, tmp_path, run_tool,
                                                       export_parity):
    family, work_dir = run
    ckpt = str(work_dir / 'epoch_1.pth')
    (config, ) = glob(osp.join(str(work_dir), f'{family}_*.py'))  # the run's, options included
    result = run_tool([
        'tools/test.py', config, ckpt, '--work-dir',
        str(tmp_path), '--device', 'cpu', '--data-root', synthetic_voc, '--cfg-options',
        'test_dataloader.num_workers=0'
    ],
                      env=ENV)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert 'pascal_voc/mAP' in result.stdout.split('Final metrics:')[-1]

    exported_cfg, exported_ckpt = export_parity.export(config, ckpt, tmp_path)
    plain = Config.fromfile(exported_cfg)
    assert plain.model.type == 'FasterRCNN' and 'custom_hooks' not in plain
    export_parity.student_weights(exported_ckpt, ckpt)
    images = sorted(glob(osp.join(synthetic_voc, 'VOC2007', 'JPEGImages', '*.jpg')))[:2]
    _, ours = export_parity.model_predictions(config, ckpt, images)
    if FAMILIES[family][2]:
        assert 'custom_imports' not in plain
        (theirs, ) = export_parity.plain_predictions([('det', exported_cfg, exported_ckpt, images)],
                                                     tmp_path)
    else:
        assert [n['type'] for n in plain.model.neck] == ['FPN', 'DeblurNeck']
        from mmdet.apis import inference_detector, init_detector
        theirs = inference_detector(
            init_detector(exported_cfg, exported_ckpt, device='cpu'), images)
    export_parity.assert_same(ours, theirs, images)
