"""ECE, AURC and the calibration metrics on hand-computed cases."""
import numpy as np
import pytest
import torch

from skd_det.analysis.calibration import (CalibrationHistogram, aurc, bin_index, calibration_bins,
                                          expected_calibration_error, reliability_table)
from skd_det.evaluation import DetectionCalibrationMetric, SegCalibrationMetric


def test_ece_hand_case():
    # bin 13 of 15 ([0.867, 0.933)): conf 0.9, 2 of 3 right -> gap |2/3 - 0.9| = 0.2333
    # bin 4 ([0.267, 0.333)): conf 0.3, 1 of 2 right -> gap 0.2
    conf = [0.9, 0.9, 0.9, 0.3, 0.3]
    correct = [1, 1, 0, 0, 1]
    expected = 3 / 5 * (0.9 - 2 / 3) + 2 / 5 * (0.5 - 0.3)  # = 0.22
    assert expected_calibration_error(conf, correct) == pytest.approx(0.22)
    assert expected == pytest.approx(0.22)
    rows = reliability_table(calibration_bins(conf, correct))
    assert [r['count'] for r in rows if r['count']] == [2, 3]
    assert rows[13]['accuracy'] == pytest.approx(2 / 3)


def test_bin_edges():
    # 15 bins [k/15, (k+1)/15); 0 in the first, 1.0 in the last
    assert bin_index(np.array([0., 1 / 15 - 1e-9, 1 / 15, 0.999, 1.]),
                     15).tolist() == [0, 0, 1, 14, 14]
    assert expected_calibration_error([1., 1.], [1, 1]) == 0.
    assert expected_calibration_error([0., 0.], [0, 0]) == 0.


def test_aurc_hand_case():
    # ranked: right, wrong, right, wrong -> risks 0, 1/2, 1/3, 2/4
    got = aurc([0.9, 0.8, 0.7, 0.6], [1, 0, 1, 0])
    assert got['aurc'] == pytest.approx((0 + 1 / 2 + 1 / 3 + 2 / 4) / 4)
    # oracle: right, right, wrong, wrong -> 0, 0, 1/3, 2/4
    assert got['eaurc'] == pytest.approx(got['aurc'] - (1 / 3 + 2 / 4) / 4)
    assert aurc([0.9, 0.1], [1, 1])['aurc'] == 0.


def test_aurc_ties_average_over_orders():
    # two samples of one confidence, one wrong: orders (right, wrong) -> (0 + 1/2) / 2 and
    # (wrong, right) -> (1 + 1/2) / 2; expectation 1/2
    assert aurc([0.5, 0.5], [1, 0])['aurc'] == pytest.approx(0.5)


def test_histogram_matches_exact():
    rng = np.random.default_rng(0)
    conf = rng.random(5000)
    correct = rng.random(5000) < conf
    hist = CalibrationHistogram()
    hist.update(conf[:3000], correct[:3000])
    other = CalibrationHistogram()
    other.update(conf[3000:], correct[3000:])
    hist.merge(other)
    bins = calibration_bins(conf, correct)
    for key in bins:
        np.testing.assert_allclose(hist.bins()[key], bins[key])
    assert hist.aurc()['aurc'] == pytest.approx(aurc(conf, correct)['aurc'], abs=1e-3)


def _det_sample(scores, boxes, labels, gt_boxes, gt_labels, ign_boxes=(), ign_labels=()):
    t = torch.tensor
    return dict(
        pred_instances=dict(
            bboxes=t(boxes, dtype=torch.float32).reshape(-1, 4), scores=t(scores),
            labels=t(labels)),
        gt_instances=dict(
            bboxes=t(gt_boxes, dtype=torch.float32).reshape(-1, 4), labels=t(gt_labels)),
        ignored_instances=dict(
            bboxes=t(ign_boxes, dtype=torch.float32).reshape(-1, 4),
            labels=t(ign_labels, dtype=torch.long)))


def test_detection_calibration_metric():
    box, other = [0, 0, 10, 10], [50, 50, 60, 60]
    metric = DetectionCalibrationMetric()
    metric.process(
        {},
        [
            # right (0.9), duplicate of the same object (0.8, wrong), wrong class (0.3, wrong)
            _det_sample([0.9, 0.8, 0.3], [box, box, other], [1, 1, 2], [box, other], [1, 1]),
            # on an ignored object only: left out
            _det_sample([0.6], [box], [0], [], [], [box], [0]),
        ])
    out = metric.compute_metrics(metric.results)
    assert out['num_dets'] == 3
    # bins: 0.9 right (gap 0.1), 0.8 wrong (0.8), 0.3 wrong (0.3) -> 1.2 / 3
    assert out['ECE'] == pytest.approx(1.2 / 3)
    assert out['AURC'] == pytest.approx((0 + 1 / 2 + 2 / 3) / 3)


def test_seg_calibration_metric(tmp_path):
    # 2 classes, 4 pixels: probabilities of class 1 are 0.9, 0.9, 0.2, 0.6; the last
    # pixel is ignored. Predictions 1, 1, 0 with confidences 0.9, 0.9, 0.8
    p1 = torch.tensor([0.9, 0.9, 0.2, 0.6]).reshape(1, 2, 2)
    logits = torch.cat([torch.zeros_like(p1), torch.log(p1 / (1 - p1))])
    pred = (p1 > 0.5).long()
    gt = torch.tensor([1, 0, 0, 255]).reshape(1, 2, 2)
    metric = SegCalibrationMetric(out_dir=str(tmp_path))
    metric.process({}, [
        dict(seg_logits=dict(data=logits), pred_sem_seg=dict(data=pred), gt_sem_seg=dict(data=gt))
    ])
    out = metric.compute_metrics(metric.results)
    assert out['num_pixels'] == 3
    # bin 13 (0.9): 1 of 2 right -> |1 - 1.8| ; bin 12 (0.8): right -> |1 - 0.8|
    assert out['ECE'] == pytest.approx((0.8 + 0.2) / 3, abs=1e-6)
    assert (tmp_path / 'reliability_diagram.png').stat().st_size > 0


@pytest.mark.slow
def test_metrics_in_root_registry_and_no_task_import():
    import subprocess
    import sys
    code = ('import sys, skd_det.evaluation\n'
            'from mmengine.registry import METRICS\n'
            'assert METRICS.get("DetectionCalibrationMetric") is not None\n'
            'assert METRICS.get("SegCalibrationMetric") is not None\n'
            'print(sorted(m for m in ("mmdet", "mmseg") if m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == '[]'
