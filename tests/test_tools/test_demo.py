# Copyright (c) skd_det contributors.
"""tools/misc/demo.py's training config (make demo): the epochs asked for, the epoch-based
schedule ending there, no validation, the time budget after the config's own hooks; an
iteration-based config is refused."""
import os.path as osp
from types import SimpleNamespace

import pytest
from mmengine.config import Config

from skd_det.testing import REPO, load_tool

CONFIG = osp.join(REPO, 'configs/frskd/frskd_retinanet_r18_fpn_cpu_voc0712.py')


def _train_config(tmp_path, config=CONFIG, epochs=8, budget=10.5):
    args = SimpleNamespace(config=config, epochs=epochs, work_dir=str(tmp_path))
    path = load_tool('tools/misc/demo.py').train_config(args, budget)
    return Config.fromfile(path, import_custom_modules=False)


@pytest.mark.slow
def test_training_config(tmp_path):
    source = Config.fromfile(CONFIG, import_custom_modules=False)
    cfg = _train_config(tmp_path)
    assert cfg.train_cfg.max_epochs == 8 and source.train_cfg.max_epochs == 12
    warmup, cosine = cfg.param_scheduler
    assert warmup == source.param_scheduler[0]  # iteration-based: unchanged
    assert cosine.type == 'CosineAnnealingLR' and cosine.end == 8
    assert cfg.val_cfg is None and cfg.val_dataloader is None and cfg.val_evaluator is None
    assert cfg.custom_hooks == source.custom_hooks + [dict(type='TimeBudgetHook', budget_min=10.5)]
    assert cfg.model == source.model


def test_refuses_an_iteration_based_config(tmp_path):
    with pytest.raises(SystemExit, match='train_cfg is not epoch-based'):
        _train_config(
            tmp_path, config=osp.join(REPO, 'configs/frskd/frskd_fcn_r18-d8_cpu_cityscapes.py'))
