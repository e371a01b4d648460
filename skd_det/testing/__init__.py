# Copyright (c) skd_det contributors.
"""Builders shared by the test suite, as mmdet's ``mmdet.testing``: models and batches from the
configs, the toy mmengine Runner, tools run in a fresh process, the export-parity helpers, and
checkpoints that attack the loader.

Nothing here is imported by ``skd_det`` itself, and every mmdet/mmseg import is inside a
function: ``skd_det.models`` keeps importing without either of them."""
from ._checkpoints import malicious_checkpoint, malicious_results, serve_folder
from ._export import (assert_same_predictions, export_student, exported_paths, model_predictions,
                      plain_predictions, student_weights)
from ._models import (FAST_CONFIGS, REPO, build_det, build_model, build_seg, det_batch,
                      det_student_outputs, get_config, plain_student, seg_batch)
from ._runner import toy_runner
from ._tools import LOG_EVERY_ITER, NO_VAL, VOC_VAL_AS_TRAIN, load_tool, run_tool, scalars, train

__all__ = [
    'REPO', 'FAST_CONFIGS', 'get_config', 'build_model', 'build_det', 'build_seg', 'det_batch',
    'seg_batch', 'plain_student', 'det_student_outputs', 'toy_runner', 'run_tool', 'load_tool',
    'train', 'scalars', 'NO_VAL', 'LOG_EVERY_ITER', 'VOC_VAL_AS_TRAIN', 'export_student',
    'exported_paths', 'student_weights', 'plain_predictions', 'model_predictions',
    'assert_same_predictions', 'malicious_checkpoint', 'malicious_results', 'serve_folder'
]
