# Copyright (c) skd_det contributors.
"""skd_det.testing.run_tool: a repository script runs in a fork of the test process as a fresh
interpreter would run it (arguments, environment, working directory, streams, exit status,
sys.path, warnings, no mmengine instance of the tests) and is killed at its timeout."""
import subprocess
import sys
import warnings

import pytest

from skd_det.testing import run_tool

SCRIPT = '''
import logging, os, sys, warnings
import torch
from mmengine.logging import MMLogger
warnings.warn('shown as in a fresh interpreter')
print('argv', sys.argv[1:], 'cwd', os.getcwd(), 'env', os.environ.get('SKD_X'),
      'unset', os.environ.get('SKD_Y'), 'threads', torch.get_num_threads())
print('path0', sys.path[0], 'path1', sys.path[1])
print('loggers', sorted(MMLogger._instance_dict), 'root handlers', len(logging.root.handlers))
import helper_module  # from PYTHONPATH
print('main', __name__, file=sys.stderr)
sys.exit(int(sys.argv[1]))
'''


def test_a_script_runs_as_in_a_fresh_interpreter(tmp_path, monkeypatch):
    from mmengine.logging import MMLogger
    MMLogger.get_instance('left_by_a_test')  # what the tests leave in this process
    warnings.warn('recorded by pytest here')
    monkeypatch.setenv('SKD_Y', 'set here')
    script, lib = tmp_path / 'script.py', tmp_path / 'lib'
    script.write_text(SCRIPT)
    lib.mkdir()
    (lib / 'helper_module.py').write_text('')
    r = run_tool([str(script), '3'],
                 env=dict(SKD_X='given', OMP_NUM_THREADS='1', PYTHONPATH=str(lib)),
                 cwd=str(lib),
                 unset=('SKD_Y', ))
    assert r.returncode == 3, r.stderr
    assert r.args == [sys.executable, str(script), '3']
    assert (f"argv ['3'] cwd {lib} env given unset None threads 1\n"
            f'path0 {tmp_path} path1 {lib}\n'
            'loggers [] root handlers 0\n') == r.stdout
    assert 'UserWarning: shown as in a fresh interpreter' in r.stderr
    assert r.stderr.endswith('main __main__\n')


def test_errors_exit_statuses_and_the_timeout(tmp_path):
    script = tmp_path / 'script.py'
    script.write_text("raise ValueError('boom')\n")
    r = run_tool([str(script)])
    assert r.returncode == 1 and r.stderr.rstrip().endswith('ValueError: boom')
    assert 'Traceback' in r.stderr
    script.write_text("import sys\nsys.exit('error: named')\n")
    r = run_tool([str(script)])
    assert (r.returncode, r.stderr) == (1, 'error: named\n')
    script.write_text("print('done')\n")
    assert run_tool([str(script)]).returncode == 0
    script.write_text('import time\ntime.sleep(30)\n')
    with pytest.raises(subprocess.TimeoutExpired):
        run_tool([str(script)], timeout=1)


def test_interpreter_options_run_in_a_fresh_interpreter():
    r = run_tool(['-c', "import sys; print('skd_det' in sys.modules)"])
    assert (r.returncode, r.stdout) == (0, 'False\n')


@pytest.mark.slow
def test_fresh_or_more_threads_run_a_script_in_a_new_interpreter(tmp_path):
    """A fork only on one thread: a forked child's OpenMP region on more threads would wait for
    pool threads the fork did not copy."""
    script = tmp_path / 'script.py'
    script.write_text(
        "import sys, torch\nprint('skd_det' in sys.modules, torch.get_num_threads())\n")
    assert run_tool([str(script)]).stdout == 'True 1\n'  # the fork: this process's modules
    assert run_tool([str(script)], fresh=True).stdout == 'False 1\n'
    two = run_tool([str(script)], env=dict(OMP_NUM_THREADS='2'))
    assert two.stdout == 'False 2\n'
