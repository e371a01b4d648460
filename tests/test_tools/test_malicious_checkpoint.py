# Copyright (c) skd_det contributors.
"""A checkpoint whose pickle runs a shell command, handed to every tool as a user would:
each refuses it with one line naming the global and the file, and nothing runs. Run in this
process (the refusal comes before any model is built); mmdet's own train flow runs in a
fresh process that imports skd_det only through the config's ``custom_imports``."""
import os.path as osp
import pathlib
import sys

import pytest
import torch

from skd_det.testing import REPO, malicious_checkpoint, serve_folder

DET_CFG = 'configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py'
FRSKD_CFG = 'configs/frskd/frskd_retinanet_r18_fpn_cpu_voc0712.py'
REFUSED = r'refused: loading it would run code \(the global posix\.system'

pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.fixture
def evil(tmp_path):
    marker = tmp_path / 'ran'
    return malicious_checkpoint(tmp_path / 'evil.pth', marker), marker


def _run_main(tool, argv, monkeypatch, load_tool):
    """``tool``'s main() with ``argv`` on the command line; the SystemExit message."""
    monkeypatch.setattr(sys, 'argv', [tool] + argv)
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '')  # --device cpu sets it for the process
    with pytest.raises(SystemExit) as exit_info:
        load_tool(tool).main()
    return str(exit_info.value.code)


def _assert_refused(message, path, marker):
    assert message.startswith('error: ') and '\n' not in message, message
    assert path in message and 'posix.system' in message and '--trust-checkpoint' in message
    assert not marker.exists()


def test_test_tool(evil, synthetic_voc, tmp_path, monkeypatch, load_tool):
    path, marker = evil
    message = _run_main(
        'tools/test.py',
        [DET_CFG, path, '--data-root', synthetic_voc, '--work-dir',
         str(tmp_path / 'w')], monkeypatch, load_tool)
    _assert_refused(message, path, marker)


@pytest.mark.parametrize('how', ['resume_path', 'resume_auto', 'load_from'])
def test_train_tool(evil, synthetic_voc, tmp_path, monkeypatch, load_tool, how):
    path, marker = evil
    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    argv = [DET_CFG, '--work-dir', str(work_dir), '--data-root', synthetic_voc, '--device', 'cpu']
    if how == 'resume_path':
        argv += ['--resume', path]
    elif how == 'resume_auto':  # last_checkpoint names it
        (work_dir / 'last_checkpoint').write_text(path)
        argv += ['--resume']
    else:
        argv += ['--cfg-options', f'load_from={path}']
    _assert_refused(_run_main('tools/train.py', argv, monkeypatch, load_tool), path, marker)


def test_train_load_from_url_checked_against_its_hash(synthetic_voc, tmp_path, monkeypatch,
                                                      load_tool):
    """A model-zoo URL whose file does not match the hash in its name: one line before
    training, nothing kept in the download cache."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    served = tmp_path / 'served'
    served.mkdir()
    torch.save(dict(state_dict={'w': torch.zeros(1)}), served / 'model_20261207-deadbeef.pth')
    with serve_folder(served) as base:
        url = f'{base}/model_20261207-deadbeef.pth'
        message = _run_main('tools/train.py', [
            DET_CFG, '--work-dir',
            str(tmp_path / 'work'), '--data-root', synthetic_voc, '--device', 'cpu',
            '--cfg-options', f'load_from={url}'
        ], monkeypatch, load_tool)
    assert message.startswith(f'error: {url}: the download does not match the SHA-256 prefix')
    assert not list((tmp_path / 'torch_home').rglob('*.pth'))


@pytest.mark.slow
def test_export_student_and_its_trust_opt_in(evil, tmp_path, load_tool):
    """Refused by default; ``--trust-checkpoint`` loads a legacy file in full (here one
    that holds a harmless class outside the allow-list)."""
    from skd_det.testing import build_det, get_config
    path, marker = evil
    export = load_tool('tools/model_converters/export_student.py')
    with pytest.raises(SystemExit) as exit_info:
        export.main([FRSKD_CFG, path, str(tmp_path / 'out')])
    _assert_refused(str(exit_info.value.code), path, marker)
    assert not (tmp_path / 'out').exists()

    state = build_det(get_config(FRSKD_CFG).model).state_dict()
    legacy = str(tmp_path / 'legacy.pth')
    torch.save(dict(state_dict=state, meta=dict(work_dir=pathlib.PurePosixPath('/w'))), legacy)
    with pytest.raises(SystemExit, match=r'global pathlib\.PurePosixPath.*--trust-checkpoint'):
        export.main([FRSKD_CFG, legacy, str(tmp_path / 'legacy_out')])
    export.main([FRSKD_CFG, legacy, str(tmp_path / 'legacy_out'), '--trust-checkpoint'])
    assert len(list((tmp_path / 'legacy_out').glob('*.pth'))) == 1


def test_analysis_tools(evil, tmp_path, load_tool):
    """test_robustness checks the file first; benchmark_inference/benchmark.py load through
    runtime.load_weights."""
    from skd_det.analysis.runtime import build_model, load_config, load_weights
    from skd_det.utils import UnsafeCheckpointError
    path, marker = evil
    robustness = load_tool('tools/analysis/test_robustness.py')
    with pytest.raises(SystemExit) as exit_info:
        robustness.main([DET_CFG, path, '--out', str(tmp_path / 'rob')])
    _assert_refused(str(exit_info.value.code), path, marker)
    model = build_model(load_config(osp.join(REPO, DET_CFG)), torch.device('cpu'))
    with pytest.raises(UnsafeCheckpointError, match=REFUSED):
        load_weights(model, path)
    assert not marker.exists()


# mmdet's tools/train.py, as far as it loads a checkpoint: the config's custom_imports is the
# only way skd_det gets imported
MMDET_TRAIN = r'''
import sys
from mmengine.config import Config
from mmengine.runner import Runner
cfg = Config.fromfile(sys.argv[1])
assert 'skd_det' in sys.modules, 'custom_imports did not import skd_det'
cfg.work_dir, cfg.load_from = sys.argv[2], sys.argv[3]
runner = Runner.from_cfg(cfg)
runner.load_or_resume()
'''


@pytest.mark.slow
def test_mmdet_own_train_flow_with_our_config(evil, tmp_path, run_tool):
    path, marker = evil
    r = run_tool(
        ['-c', MMDET_TRAIN, FRSKD_CFG, str(tmp_path / 'work'), path], env=dict(OMP_NUM_THREADS='1'))
    assert r.returncode != 0
    assert 'UnsafeCheckpointError' in r.stderr and 'posix.system' in r.stderr, r.stderr[-2000:]
    assert not marker.exists()
