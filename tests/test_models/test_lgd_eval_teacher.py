# Copyright (c) skd_det contributors.
"""``SelfDistillDetector(eval_teacher=True)`` with LGD: the authors' teacher evaluation
(the label-guided pyramid of each test image through the student's head), single- and
two-stage, and its errors."""
import pytest
import torch
from mmengine.structures import InstanceData

from skd_det.testing import build_det, det_batch, get_config

pytestmark = pytest.mark.usefixtures('one_thread')

CONFIGS = {
    'retinanet': 'configs/lgd/lgd_retinanet_r18_fpn_cpu_voc0712.py',
    'faster-rcnn': 'configs/lgd/lgd_faster-rcnn_r18_fpn_cpu_voc0712.py',
}


def build(name, eval_teacher):
    cfg = get_config(CONFIGS[name]).model
    cfg.eval_teacher = eval_teacher
    # keep every detection: an untrained head scores below mmdet's 0.05 threshold
    test_cfg = cfg.student.test_cfg
    (test_cfg.rcnn if 'rcnn' in test_cfg else test_cfg).score_thr = 0.
    model = build_det(cfg, seed=0, init=True)
    return model.eval()


def scores(model, inputs, samples):
    with torch.no_grad():
        return [s.pred_instances.scores for s in model.predict(inputs, samples)]


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_teacher_predictions_follow_each_images_ground_truth(name):
    student_view, teacher_view = build(name, False), build(name, True)
    # same seed: the same weights, only what predict runs differs
    teacher_view.load_state_dict(student_view.state_dict())
    inputs, samples = det_batch(teacher_view, training=False)
    student = scores(student_view, inputs, samples)
    teacher = scores(teacher_view, inputs, samples)
    assert len(teacher[0]) and not torch.equal(teacher[0], student[0])

    # another class for image 1's objects: its teacher detections change, image 0's and
    # the student's do not
    relabelled = [s.clone() for s in samples]
    labels = relabelled[1].gt_instances.labels
    relabelled[1].gt_instances = InstanceData(
        bboxes=relabelled[1].gt_instances.bboxes, labels=(labels + 1) % 20)
    teacher_after = scores(teacher_view, inputs, relabelled)
    assert torch.equal(teacher_after[0], teacher[0])
    assert not torch.equal(teacher_after[1], teacher[1])
    assert all(map(torch.equal, scores(student_view, inputs, relabelled), student))


def test_test_time_boxes_in_original_pixels_are_scaled_to_the_input():
    """mmdet's test pipelines load the annotations after Resize: a batch resized by 0.5
    whose boxes are in the original pixels gives the teacher the same pyramid as boxes
    given in the input's pixels."""
    model = build('retinanet', True)
    inputs, samples = det_batch(model, training=False)
    for s in samples:
        s.set_metainfo(dict(scale_factor=(1., 1.)))
    original = [s.clone() for s in samples]
    for s in original:
        s.set_metainfo(dict(scale_factor=(0.5, 0.5)))
        s.gt_instances = InstanceData(
            bboxes=s.gt_instances.bboxes * 2, labels=s.gt_instances.labels)
    with torch.no_grad():
        in_input = model.predict(inputs, samples)
        in_original = model.predict(inputs, original)
    for a, b in zip(in_input, in_original):
        assert torch.equal(a.pred_instances.scores, b.pred_instances.scores)
        # predictions go back to the original pixels (rescale)
        assert torch.allclose(b.pred_instances.bboxes, 2 * a.pred_instances.bboxes)
    # the metric's ground truth is left as it was
    assert torch.equal(original[0].gt_instances.bboxes, samples[0].gt_instances.bboxes * 2)


def test_teacher_evaluation_without_annotations_names_the_pipeline_step():
    model = build('retinanet', True)
    inputs, samples = det_batch(model, training=False)
    del samples[1].gt_instances
    with pytest.raises(KeyError, match=r"images \[1\].*LoadAnnotations"):
        model.predict(inputs, samples)


def test_eval_teacher_needs_a_teacher_that_predicts():
    cfg = get_config('configs/frskd/frskd_retinanet_r18_fpn_cpu_voc0712.py').model
    cfg.eval_teacher = True
    with pytest.raises(TypeError, match='FRSKDDetTeacher makes no predictions'):
        build_det(cfg)
