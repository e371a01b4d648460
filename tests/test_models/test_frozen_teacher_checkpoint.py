# Copyright (c) skd_det contributors.
"""FrozenTeacher / FGFITeacher weights from a URL (mmengine's CheckpointLoader)."""
import functools
import http.server
import os.path as osp
import threading

import torch

from skd_det.testing import REPO, build_det, get_config

KD_CFG = osp.join(REPO, 'configs/blur_skd/blur_kd_retinanet_r18_fpn_cpu_voc0712.py')


def test_frozen_teacher_loads_a_checkpoint_url(tmp_path, monkeypatch):
    """teacher.checkpoint may be a URL (mmdet's LD configs give their teacher_ckpt so):
    mmengine's CheckpointLoader downloads it, here from a local HTTP server."""
    torch.manual_seed(5)
    reference = build_det(get_config(KD_CFG).model.teacher.config)
    torch.save({'state_dict': reference.state_dict(), 'meta': {}}, tmp_path / 'teacher.pth')
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))  # the download cache
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f'http://127.0.0.1:{server.server_address[1]}/teacher.pth'
        loaded = build_det(get_config(KD_CFG, checkpoint=url).model).teacher.model
    finally:
        server.shutdown()
    for (k, a), b in zip(loaded.state_dict().items(), reference.state_dict().values()):
        assert torch.equal(a, b), k
