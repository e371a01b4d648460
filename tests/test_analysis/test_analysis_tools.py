"""The analysis tools end to end on the CPU configs and synthetic data (seconds each)."""
import json
import os.path as osp
import pickle

import numpy as np
import pytest
import torch

from skd_det.testing import REPO

DET_CFG = osp.join(REPO, 'configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py')
SEG_CFG = osp.join(REPO, 'configs/fcn/fcn_r18-d8_cpu_cityscapes.py')
COCO_CFG = osp.join(REPO, 'configs/retinanet/retinanet_r18_fpn_cpu_coco.py')


def _error_line(r):
    """A user error: non-zero exit, one ``error:`` line, no traceback."""
    assert r.returncode != 0
    assert 'Traceback' not in r.stderr, r.stderr[-2000:]
    lines = r.stderr.strip().splitlines()
    assert lines[-1].startswith('error: '), r.stderr[-2000:]
    return lines[-1]


@pytest.mark.slow
def test_benchmark_train_ratios(tmp_path, run_tool):
    out = tmp_path / 'bench.json'
    r = run_tool([
        'tools/analysis/benchmark_train.py', DET_CFG, DET_CFG, '--iters', '2', '--warmup', '1',
        '--batch-size', '1', '--img-size', '64', '64', '--mem-iters', '1', '--device', 'cpu',
        '--threads', '1', '--out',
        str(out)
    ])
    assert r.returncode == 0, r.stderr[-3000:]
    result = json.loads(out.read_text())
    first, second = result['configs']
    assert [len(c['times']) for c in result['configs']] == [2, 2]
    for key in ('time', 'peak_memory', 'params_student', 'flops_student'):
        assert first['ratios'][key] == 1.0, key
    # a plain model has no training-only part: 0, and no ratio to a zero baseline
    assert first['params']['training_only'] == 0 and first['ratios']['params_training_only'] is None
    assert first['params'] == second['params'] and second['ratios']['params_student'] == 1.0
    assert first['params']['student'] > 1e6 and first['flops']['student'] > 1e7
    assert 0 < first['memory']['state'] < first['memory']['peak']
    table = r.stdout
    assert 'retinanet_r18_fpn_cpu_voc0712 #1' in table and '(x1.00)' in table


def test_benchmark_train_needs_one_input_size():
    from skd_det.analysis.benchmark import benchmark_train
    from skd_det.utils import InputError

    # a detector (256x256) and a segmentor (128x256 crops) cannot share batches
    with pytest.raises(InputError, match='different input sizes.*256x256.*128x256'):
        benchmark_train([DET_CFG, SEG_CFG], iters=1, warmup=0)


def _fabricate_det_results(config, data_root, path):
    """A DumpDetResults pickle for the test split: every object found (boxes off by a
    pixel, score 0.9) plus one background detection of score 0.2 per image."""
    from skd_det.analysis import runtime
    from skd_det.analysis.results import build_test_dataset
    from skd_det.utils import set_data_root
    cfg = runtime.load_config(config)
    set_data_root(cfg, data_root)
    dataset = build_test_dataset(cfg)
    results = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        boxes = np.array([g['bbox'] for g in info['instances']], np.float32).reshape(-1, 4)
        labels = [g['bbox_label'] for g in info['instances']]
        boxes = np.vstack([boxes + 1, [[0, 0, 3, 3]]]).astype(np.float32)
        results.append(
            dict(
                img_id=info['img_id'],
                img_path=info['img_path'],
                ori_shape=(info['height'], info['width']),
                pred_instances=dict(
                    bboxes=torch.from_numpy(boxes),
                    scores=torch.tensor([0.9] * len(labels) + [0.2]),
                    labels=torch.tensor(labels + [0]))))
    path.write_bytes(pickle.dumps(results))
    return str(path), results, dataset


@pytest.fixture
def det_results(synthetic_voc, tmp_path):
    return _fabricate_det_results(DET_CFG, synthetic_voc, tmp_path / 'results.pkl')


@pytest.mark.slow
def test_analyze_detection(det_results, synthetic_voc, tmp_path, run_tool):
    path, results, dataset = det_results
    out = tmp_path / 'analysis'
    r = run_tool([
        'tools/analysis/analyze_results.py', DET_CFG, path, '--out',
        str(out), '--data-root', synthetic_voc
    ])
    assert r.returncode == 0, r.stderr[-3000:]
    for png in ('pr_curves', 'confusion_matrix', 'reliability_diagram', 'roc_curve'):
        assert (out / f'{png}.png').stat().st_size > 1000
    s = json.loads((out / 'summary.json').read_text())
    num_gts = sum(not g['ignore_flag'] for i in range(len(dataset))
                  for g in dataset.get_data_info(i)['instances'])
    # every object found above the threshold, the background boxes below it
    assert s['mAP'] == pytest.approx(1.)
    assert s['at_score_thr'] == dict(
        precision=1., recall=1., f1=1., tp=num_gts, fp=0, num_gts=num_gts)
    cm = np.array(s['confusion_matrix']['counts'])
    assert np.trace(cm) == num_gts and cm.sum() == num_gts
    # scores separate objects (0.9) from background (0.2) perfectly
    assert s['roc']['auc'] == pytest.approx(1.)
    assert s['roc']['num_background'] == len(results)
    # 0.9 right num_gts times, 0.2 wrong once per image
    n = num_gts + len(results)
    assert s['calibration']['ece'] == pytest.approx((num_gts * 0.1 + len(results) * 0.2) / n)
    assert s['calibration']['eaurc'] == pytest.approx(0.)
    assert '| aeroplane' in (out / 'report.md').read_text()


@pytest.mark.slow
def test_analyze_coco_per_class(tmp_path):
    """COCO configs get pycocotools' per-class AP (AP@[.5:.95] and AP50)."""
    from skd_det.analysis.results import analyze
    from skd_det.datasets.synthetic import generate_coco
    generate_coco(str(tmp_path / 'coco'), num_train=1, num_val=3, seed=0, difficulty='easy')
    path, results, _ = _fabricate_det_results(COCO_CFG, str(tmp_path / 'coco'),
                                              tmp_path / 'coco.pkl')
    s = analyze(COCO_CFG, path, str(tmp_path / 'out'), data_root=str(tmp_path / 'coco'))
    assert s['ap_protocol'].startswith('COCO')
    # boxes off by one pixel: every IoU >= 0.5 but not all >= 0.95
    assert s['AP50'] == pytest.approx(1.) and 0.5 < s['mAP'] < 1.
    assert all(c['ap50'] in (None, pytest.approx(1.)) for c in s['per_class'])
    assert s['at_score_thr']['recall'] == 1.


@pytest.mark.slow
def test_analyze_results_bad_input(det_results, synthetic_voc, tmp_path, run_tool):
    from skd_det.analysis.results import analyze
    from skd_det.utils import InputError
    path, results, _ = det_results
    cases = {
        'empty': ([], 'holds no results'),
        'short': (results[1:], f'holds {len(results) - 1} images but the test set'),
        'foreign':
        ([dict(r, img_id=f'x{k}') for k, r in enumerate(results)], 'are not in the test set'),
    }
    for name, (content, message) in cases.items():
        bad = tmp_path / f'{name}.pkl'
        bad.write_bytes(pickle.dumps(content))
        with pytest.raises(InputError, match=message):
            analyze(DET_CFG, str(bad), str(tmp_path / 'a'), data_root=synthetic_voc)
    # on the command line: one line, no traceback
    r = run_tool([
        'tools/analysis/analyze_results.py', DET_CFG,
        str(tmp_path / 'short.pkl'), '--out',
        str(tmp_path / 'a'), '--data-root', synthetic_voc
    ])
    assert 'were the results made with another config' in _error_line(r)


@pytest.mark.slow
def test_analyze_segmentation(synthetic_cityscapes, tmp_path, run_tool):
    """A DumpResults pickle made from the ground truth: 10% of the valid pixels wrong."""
    from mmengine.config import Config
    from PIL import Image

    from skd_det.analysis.results import build_test_dataset
    from skd_det.utils import set_data_root
    cfg = Config.fromfile(SEG_CFG)
    set_data_root(cfg, synthetic_cityscapes)
    dataset = build_test_dataset(cfg)
    rng = np.random.default_rng(0)
    results, right, valid_total = [], 0, 0
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        gt = torch.from_numpy(np.array(Image.open(info['seg_map_path'])).astype(np.int64))[None]
        valid = gt != 255
        wrong = torch.from_numpy(rng.random(gt.shape) < 0.1) & valid
        pred = torch.where(wrong, (gt + 1) % 19, gt.clamp(max=18))
        logits = torch.nn.functional.one_hot(pred[0], 19).permute(2, 0, 1).float() * 3
        results.append(
            dict(
                img_path=info['img_path'],
                seg_map_path=info['seg_map_path'],
                pred_sem_seg=dict(data=pred),
                gt_sem_seg=dict(data=gt),
                seg_logits=dict(data=logits)))
        right += int((valid & ~wrong).sum())
        valid_total += int(valid.sum())
    path = tmp_path / 'seg.pkl'
    path.write_bytes(pickle.dumps(results))
    out = tmp_path / 'analysis'
    r = run_tool([
        'tools/analysis/analyze_results.py', SEG_CFG,
        str(path), '--out',
        str(out), '--data-root', synthetic_cityscapes
    ])
    assert r.returncode == 0, r.stderr[-3000:]
    s = json.loads((out / 'summary.json').read_text())
    assert s['aAcc'] == pytest.approx(right / valid_total)
    ious = []
    for c in range(19):  # IoU from masks, independent of the confusion matrix
        p = np.concatenate([(r['pred_sem_seg']['data'] == c)[r['gt_sem_seg']['data'] != 255]
                            for r in results])
        g = np.concatenate([(r['gt_sem_seg']['data'] == c)[r['gt_sem_seg']['data'] != 255]
                            for r in results])
        if (p | g).any():
            ious.append((p & g).sum() / (p | g).sum())
    assert s['mIoU'] == pytest.approx(np.mean(ious))
    # every pixel has the same confidence (softmax of a one-hot x3 over 19 classes)
    conf = float(torch.softmax(torch.tensor([3.] + [0.] * 18), 0)[0])
    assert s['calibration']['ece'] == pytest.approx(abs(right / valid_total - conf), abs=1e-6)
    assert (out / 'confusion_matrix.png').stat().st_size > 1000
    assert (out / 'reliability_diagram.png').stat().st_size > 1000


@pytest.mark.slow
def test_benchmark_inference_same_model(tmp_path, run_tool):
    from skd_det.analysis import runtime
    cfg = runtime.load_config(DET_CFG)
    model = runtime.build_model(cfg, torch.device('cpu'))
    ckpt, other = tmp_path / 'model.pth', tmp_path / 'other.pth'
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    common = [
        '--iters', '1', '--warmup', '0', '--img-size', '64', '64', '--device', 'cpu', '--threads',
        '1'
    ]
    r = run_tool([
        'tools/analysis/benchmark_inference.py', DET_CFG,
        str(ckpt), '--exported-config', DET_CFG, '--exported-checkpoint',
        str(ckpt)
    ] + common)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'outputs match' in r.stdout and 'time ratio exported / wrapper' in r.stdout

    # other weights predict differently
    from skd_det.analysis.benchmark import benchmark_inference
    state = {k: v * 1.01 if v.is_floating_point() else v for k, v in model.state_dict().items()}
    torch.save(dict(state_dict=state), other)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as --threads 1: steadier on a shared 2-core machine
    try:
        result = benchmark_inference([(DET_CFG, str(ckpt)), (DET_CFG, str(other))],
                                     1,
                                     0,
                                     img_size=(64, 64),
                                     device='cpu',
                                     progress=False)
    finally:
        torch.set_num_threads(threads)
    assert result['outputs_match'] is False and result['max_abs_diff'] > 1e-3
