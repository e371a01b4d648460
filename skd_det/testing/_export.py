# Copyright (c) skd_det contributors.
"""Export parity: tools/model_converters/export_student.py's output loads in plain mmdet/mmseg
(a fresh process that never imports skd_det) and predicts exactly what the wrapper predicts."""
import json
import os.path as osp

from ._tools import load_tool, run_tool


def exported_paths(config, out_dir):
    """The ``(config, weights)`` paths export_student.py writes for ``config``."""
    name = osp.splitext(osp.basename(str(config)))[0] + '_student'
    return osp.join(str(out_dir), f'{name}.py'), osp.join(str(out_dir), f'{name}.pth')


def export_student(config, checkpoint, out_dir):
    """Export a run's student: its ``(config, weights)`` paths."""
    load_tool('tools/model_converters/export_student.py').main(
        [str(config), str(checkpoint), str(out_dir)])
    return exported_paths(config, out_dir)


def student_weights(exported_ckpt, checkpoint):
    """Assert the export holds exactly the checkpoint's ``student.`` weights; returns
    ``(export file, checkpoint state dict)``."""
    import torch

    from skd_det.models.distillers.base import student_state_dict
    from skd_det.utils import load_checkpoint

    # the export with torch's own weights-only load, no allow-list: what plain mmdet does
    saved = torch.load(str(exported_ckpt), map_location='cpu', weights_only=True)
    full = load_checkpoint(str(checkpoint))['state_dict']
    student = student_state_dict(full)
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


def plain_predictions(jobs, out_dir):
    """Plain mmdet/mmseg's ``to_dict()`` results per job ``(task, config, weights, images)``,
    from one fresh process that asserts skd_det was never imported."""
    import torch
    args = [[task, str(cfg),
             str(ckpt),
             osp.join(str(out_dir), f'plain_{i}.pt'),
             list(images)] for i, (task, cfg, ckpt, images) in enumerate(jobs)]
    # an export must load without the opt-out that full training checkpoints need
    result = run_tool(['-c', PARITY, json.dumps(args)],
                      env=dict(OMP_NUM_THREADS='1'),
                      cwd=str(out_dir),
                      unset=('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', ))
    assert result.returncode == 0, result.stderr[-3000:]
    # the subprocess's own outputs (results dicts), not checkpoints from elsewhere
    return [torch.load(job[3], weights_only=False) for job in args]


def model_predictions(config, checkpoint, images, task='det'):
    """``(model, results)`` of the model built here from ``config`` (a wrapper, or an export
    that needs skd_det) with ``checkpoint``'s weights."""
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
    # mmengine's loader, through the CheckpointLoader schemes skd_det registers
    load_checkpoint(model, str(checkpoint), map_location='cpu')
    model.cfg = cfg
    model.eval()
    return model, inference(model, images)


def assert_same_predictions(ours, theirs, images, task='det'):
    """Bit-for-bit the same predictions (data samples or their ``to_dict()``), non-empty for
    detection."""
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
