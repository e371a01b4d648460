"""Matching, P/R/F1, confusion matrix and ROC of detections on toy sets, against mmdet's
``eval_map``, pycocotools and hand-computed values."""
import numpy as np
import pytest

from skd_det.analysis.ap import coco_per_class, voc_per_class
from skd_det.analysis.detection import (FP, IGNORED, TP, bbox_iou, detection_confusion_matrix,
                                        foreground_flags, match_detections, precision_recall_f1)
from skd_det.analysis.roc import roc_auc, roc_curve

A, B, C = [0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]
NEAR_A = [1, 0, 11, 10]  # IoU with A: 90 / 110 = 0.82


def test_bbox_iou_hand_values_and_degenerate_boxes():
    """Continuous coordinates (no +1), float64; inverted and empty boxes have IoU 0."""
    ious = bbox_iou([A, NEAR_A, [5, 5, 5, 9], [10, 10, 0, 0]], [A, [5, 0, 15, 10], [5, 5, 5, 9]])
    expected = np.array([
        [1., 50 / 150, 0.],
        [90 / 110, 60 / 140, 0.],
        [0., 0., 0.],  # an empty box, even against itself
        [0., 0., 0.],  # x2 < x1: no area
    ])
    assert ious.dtype == np.float64
    np.testing.assert_array_equal(ious, expected)
    # an IoU on the threshold stays on it: 0.55 / 1.1 is 0.5 in float64 (mmdet's float32
    # bbox_overlaps gives 0.49999994, which would miss iou_thr=0.5)
    assert bbox_iou([[0, 0, 1.1, 1]], [[0, 0, 0.55, 1]])[0, 0] == 0.5
    assert bbox_iou(np.zeros((0, 4)), [A]).shape == (0, 1)


def test_match_rules():
    status = match_detections(
        bboxes=[A, NEAR_A, B, C, C],
        scores=[0.9, 0.95, 0.8, 0.7, 0.6],
        labels=[0, 0, 1, 0, 2],
        gt_bboxes=[A, B, C],
        gt_labels=[0, 0, 2],
        gt_ignore=[False, False, True])
    # NEAR_A (best score) takes A; A is then a duplicate; B has the wrong class; C of class
    # 0 matches nothing of its class; C of class 2 lands on an ignored box
    assert status.tolist() == [FP, TP, FP, FP, IGNORED]


def test_foreground_is_class_agnostic():
    flags = foreground_flags([A, NEAR_A, B, C], [A, B], gt_ignore=[False, True])
    assert flags.tolist() == [1, 1, -1, 0]


def _toy_set(seed=0, num_images=6, num_classes=3):
    """Random images with a few objects; detections jitter some, add false positives."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(num_images):
        n = rng.integers(1, 4)
        xy = rng.uniform(0, 80, (n, 2))
        gts = np.hstack([xy, xy + rng.uniform(10, 30, (n, 2))])
        gt_labels = rng.integers(0, num_classes, n)
        keep = rng.random(n) < 0.8
        dets = gts[keep] + rng.normal(0, 2.5, (keep.sum(), 4))
        fxy = rng.uniform(0, 80, (2, 2))
        dets = np.vstack([dets, np.hstack([fxy, fxy + 15])])
        labels = np.r_[gt_labels[keep], rng.integers(0, num_classes, 2)]
        images.append(
            dict(
                bboxes=dets,
                scores=rng.random(len(dets)),
                labels=labels,
                gt_bboxes=gts,
                gt_labels=gt_labels,
                gt_ignore=np.zeros(n, bool)))
    return images


def test_precision_recall_agree_with_eval_map():
    """Precision/recall at each detection's score equal eval_map's curve at that detection
    (continuous coordinates on both sides)."""
    from mmdet.evaluation.functional import eval_map
    images = _toy_set()
    num_classes = 3
    status = np.concatenate([
        match_detections(i['bboxes'], i['scores'], i['labels'], i['gt_bboxes'], i['gt_labels'])
        for i in images
    ])
    scores = np.concatenate([i['scores'] for i in images])
    labels = np.concatenate([i['labels'] for i in images])
    num_gts = np.bincount(np.concatenate([i['gt_labels'] for i in images]), minlength=num_classes)
    dets = [[
        np.hstack([i['bboxes'], i['scores'][:, None]])[i['labels'] == c] for c in range(num_classes)
    ] for i in images]
    anns = [dict(bboxes=i['gt_bboxes'], labels=i['gt_labels']) for i in images]
    _, ref = eval_map(dets, anns, iou_thr=0.5, logger='silent', nproc=1)
    for c in range(num_classes):
        order = np.sort(scores[labels == c])[::-1]
        assert len(order) == ref[c]['num_dets']
        for k, thr in enumerate(order):
            got = precision_recall_f1(status, scores, labels, num_gts, thr)['per_class'][c]
            assert got['precision'] == pytest.approx(ref[c]['precision'][k])
            assert got['recall'] == pytest.approx(ref[c]['recall'][k])
    overall = precision_recall_f1(status, scores, labels, num_gts, 0.)['overall']
    assert overall['tp'] == int((status == TP).sum())
    p, r = overall['precision'], overall['recall']
    assert overall['f1'] == pytest.approx(2 * p * r / (p + r))


def test_voc_and_coco_ap_of_perfect_detections():
    from pycocotools.coco import COCO
    classes = ['a', 'b', 'c']
    images = _toy_set(1)
    dets = [[
        np.hstack([i['gt_bboxes'], np.ones((len(i['gt_bboxes']), 1))])[i['gt_labels'] == c]
        for c in range(3)
    ] for i in images]
    anns = [
        dict(
            bboxes=i['gt_bboxes'],
            labels=i['gt_labels'],
            bboxes_ignore=np.zeros((0, 4)),
            labels_ignore=np.zeros(0)) for i in images
    ]
    voc = voc_per_class(dets, anns, classes, eval_mode='area')
    present = set(np.concatenate([i['gt_labels'] for i in images]).tolist())
    assert voc['mAP'] == pytest.approx(1.)
    for c, name in enumerate(classes):
        assert (voc['per_class'][name]['ap'] is None) == (c not in present)

    gt = COCO()
    boxes = [(k, b, int(lbl)) for k, i in enumerate(images)
             for b, lbl in zip(i['gt_bboxes'], i['gt_labels'])]
    gt.dataset = dict(
        images=[dict(id=k, width=200, height=200) for k in range(len(images))],
        categories=[dict(id=10 + c, name=n) for c, n in enumerate(classes)],
        annotations=[
            dict(
                id=j + 1,
                image_id=k,
                category_id=10 + lbl,
                bbox=[b[0], b[1], b[2] - b[0], b[3] - b[1]],
                area=float((b[2] - b[0]) * (b[3] - b[1])),
                iscrowd=0) for j, (k, b, lbl) in enumerate(boxes)
        ])
    gt.createIndex()
    dets = [
        dict(image_id=a['image_id'], category_id=a['category_id'], bbox=a['bbox'], score=1.)
        for a in gt.dataset['annotations']
    ]
    img_ids, cat_ids = list(range(len(images))), [10, 11, 12]
    coco = coco_per_class(gt, dets, img_ids, cat_ids, classes)
    assert coco['mAP'] == pytest.approx(1.) and coco['AP50'] == pytest.approx(1.)
    # a false positive ranked above the objects of class 'a' costs it precision
    fp = dict(image_id=0, category_id=10, bbox=[150, 150, 20, 20], score=2.)
    worse = coco_per_class(gt, dets + [fp], img_ids, cat_ids, classes)
    assert worse['per_class']['a']['ap'] < 1.
    assert worse['per_class']['a']['num_dets'] == coco['per_class']['a']['num_dets'] + 1


def test_confusion_matrix_toy():
    images = [
        # A found as class 0; B (class 1) found as class 0; C (class 2) missed; a background
        # detection of class 2; a detection under the score threshold is not counted
        dict(
            bboxes=[A, B, [60, 60, 70, 70], C],
            scores=[0.9, 0.8, 0.7, 0.1],
            labels=[0, 0, 2, 2],
            gt_bboxes=[A, B, C],
            gt_labels=[0, 1, 2],
            gt_ignore=[False, False, False]),
        # an ignored object is not a miss
        dict(
            bboxes=np.zeros((0, 4)),
            scores=[],
            labels=np.zeros(0, int),
            gt_bboxes=[A],
            gt_labels=[1],
            gt_ignore=[True]),
    ]
    cm = detection_confusion_matrix(images, num_classes=3, score_thr=0.3)
    expected = np.zeros((4, 4), int)
    expected[0, 0] = 1  # A -> 0
    expected[1, 0] = 1  # B -> 0 (confused)
    expected[1, 3] = 1  # B: no detection of class 1
    expected[2, 3] = 1  # C missed
    expected[3, 2] = 1  # background -> 2
    np.testing.assert_array_equal(cm, expected)


def test_roc_auc_hand_cases():
    # positives 0.9, 0.7; negatives 0.8, 0.6, 0.5 -> 5 of 6 pairs ordered right
    roc = roc_curve([0.9, 0.8, 0.7, 0.6, 0.5], [1, 0, 1, 0, 0])
    assert roc_auc(roc['fpr'], roc['tpr']) == pytest.approx(5 / 6)
    assert roc['fpr'][0] == 0 and roc['tpr'][-1] == 1 and roc['fpr'][-1] == 1
    # a tie between a positive and a negative counts 1/2
    roc = roc_curve([0.5, 0.5, 0.1], [1, 0, 0])
    assert roc_auc(roc['fpr'], roc['tpr']) == pytest.approx((1 + 0.5) / 2)
    roc = roc_curve([0.5, 0.4], [1, 1])
    assert np.isnan(roc_auc(roc['fpr'], roc['tpr']))
