# Copyright (c) skd_det contributors.
"""FrozenTeacher / FGFITeacher weights from a file or a URL, loaded without running code."""
import hashlib
import os.path as osp
import shutil

import pytest
import torch

from skd_det.testing import REPO, build_det, get_config, malicious_checkpoint, serve_folder
from skd_det.utils import InputError, UnsafeCheckpointError

KD_CFG = osp.join(REPO, 'configs/blur_skd/blur_kd_retinanet_r18_fpn_cpu_voc0712.py')


@pytest.fixture
def teacher_file(tmp_path, monkeypatch):
    """A teacher checkpoint and its reference model; downloads go to a fresh cache."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    torch.manual_seed(5)
    reference = build_det(get_config(KD_CFG).model.teacher.config)
    path = tmp_path / 'serve' / 'teacher.pth'
    path.parent.mkdir()
    torch.save({'state_dict': reference.state_dict(), 'meta': {}}, path)
    return path, reference


def _assert_same_weights(model, reference):
    for (k, a), b in zip(model.state_dict().items(), reference.state_dict().values()):
        assert torch.equal(a, b), k


@pytest.mark.slow
def test_frozen_teacher_loads_a_checkpoint_url(teacher_file):
    """teacher.checkpoint may be a URL (mmdet's LD configs give their teacher_ckpt so),
    downloaded as mmengine does, here from a local HTTP server; a model-zoo name
    (``-<sha256 prefix>.pth``) that fits its file loads too."""
    path, reference = teacher_file
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    shutil.copy(path, path.parent / f'teacher-{digest[:8]}.pth')
    with serve_folder(path.parent) as base:
        for name in ('teacher.pth', f'teacher-{digest[:8]}.pth'):
            loaded = build_det(get_config(KD_CFG, checkpoint=f'{base}/{name}').model)
            _assert_same_weights(loaded.teacher.model, reference)


@pytest.mark.slow
def test_url_whose_file_does_not_match_its_hash_is_not_used(teacher_file, tmp_path):
    """A download that does not match the SHA-256 prefix of its model-zoo name is refused
    and not kept; a cached file altered after its download is refused too."""
    path, _ = teacher_file
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    wrong = 'deadbeef' if not digest.startswith('deadbeef') else 'beefdead'
    shutil.copy(path, path.parent / f'teacher-{wrong}.pth')
    shutil.copy(path, path.parent / f'teacher-{digest[:10]}.pth')
    cache = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
    with serve_folder(path.parent) as base:
        with pytest.raises(
                InputError,
                match=f'teacher-{wrong}.pth: the download does not match'
                ' the SHA-256 prefix in its name'):
            build_det(get_config(KD_CFG, checkpoint=f'{base}/teacher-{wrong}.pth').model)
        assert not (cache / f'teacher-{wrong}.pth').exists()
        good = f'{base}/teacher-{digest[:10]}.pth'
        build_det(get_config(KD_CFG, checkpoint=good).model)  # downloaded and cached
        cached = cache / f'teacher-{digest[:10]}.pth'
        data = cached.read_bytes()
        cached.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # altered after the download
        with pytest.raises(InputError, match=f'{cached} .*does not match the SHA-256 prefix'):
            build_det(get_config(KD_CFG, checkpoint=good).model)


@pytest.mark.slow
@pytest.mark.parametrize('served', [False, True], ids=['file', 'url'])
def test_malicious_teacher_checkpoint_is_refused(teacher_file, tmp_path, served):
    """A teacher checkpoint whose pickle runs a command: refused with the global named,
    nothing run, from a file or a URL."""
    path, reference = teacher_file
    marker = tmp_path / 'ran'
    evil = malicious_checkpoint(path.parent / 'evil.pth', marker, reference.state_dict())
    with serve_folder(path.parent) as base:
        source = f'{base}/evil.pth' if served else evil
        with pytest.raises(
                UnsafeCheckpointError, match=r'refused: .*posix\.system.*'
                r'trust_checkpoint=True'):
            build_det(get_config(KD_CFG, checkpoint=source).model)
    assert not marker.exists()
