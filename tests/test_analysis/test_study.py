# Copyright (c) skd_det contributors.
"""The seed-study runner: paired t intervals against hand computations, the results table
with holes, bad study files, the shipped study files' configs, and a tiny study (2 variants
x 2 seeds, a few iterations) through tools/analysis/run_study.py: data generated once,
failing variants reported while the others run, resume skipping finished runs."""
import glob
import json
import math
import os
import os.path as osp
import socket
import subprocess

import pytest

from skd_det.analysis import study as studies
from skd_det.analysis.paired import paired_difference, t_interval
from skd_det.analysis.study_report import markdown, plot, summarise
from skd_det.utils import InputError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RETINANET = osp.join(REPO, 'configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py')
T_975 = {1: 12.7062, 2: 4.3027, 4: 2.7764}  # Student t, two-sided 95%, by degrees of freedom

# configs/frskd/README.md's three seeds: baseline and FRSKD mAP
BASE = {0: 18.3, 1: 30.0, 2: 23.2}
FRSKD = {0: 25.6, 1: 24.4, 2: 27.8}


def test_paired_difference_hand_computed():
    d = paired_difference(BASE, {**FRSKD, 7: 99.})  # seed 7 has no baseline: left out
    assert d['seeds'] == [0, 1, 2] and d['deltas'] == pytest.approx([7.3, -5.6, 4.6])
    # mean 2.1; deviations 5.2, -7.7, 2.5: sd = sqrt((27.04 + 59.29 + 6.25) / 2)
    sd = math.sqrt(92.58 / 2)
    assert d['mean'] == pytest.approx(2.1) and d['std'] == pytest.approx(sd)
    half = T_975[2] * sd / math.sqrt(3)
    assert d['low'] == pytest.approx(2.1 - half, abs=1e-3)
    assert d['high'] == pytest.approx(2.1 + half, abs=1e-3)
    assert not d['excludes_zero'] and d['test'] == 'paired t'
    # df = 2: P(|T| < t) = t / sqrt(2 + t^2)
    t = 2.1 / (sd / math.sqrt(3))
    assert d['p_value'] == pytest.approx(1 - t / math.sqrt(2 + t * t), rel=1e-6)

    clear = paired_difference({0: 0., 1: 0., 2: 0.}, {0: 1.0, 1: 1.2, 2: 0.8})
    assert clear['low'] == pytest.approx(1 - T_975[2] * 0.2 / math.sqrt(3), abs=1e-4)
    assert clear['excludes_zero']
    one = paired_difference({0: 1.}, {0: 3.})  # one pair: a difference, no interval
    assert one['mean'] == 2. and one['low'] is None and not one['excludes_zero']
    assert paired_difference({0: 1.}, {1: 3.}) is None
    five = t_interval([1., 2., 3., 4., 5.])
    assert five['high'] - five['mean'] == pytest.approx(T_975[4] * math.sqrt(2.5 / 5), abs=1e-4)


def _write_study(path, **overrides):
    study = dict(
        data=dict(
            type='voc',
            train=dict(num_train=2, num_val=1, seed=0, img_size=(64, 64)),
            test=dict(num_train=1, num_val=2, seed=1, img_size=(64, 64))),
        baseline='base',
        seeds=[0, 1],
        metrics=['pascal_voc/mAP'],
        scale=100,
        digits=3,
        variants=dict(
            base=dict(config=RETINANET),
            gamma=dict(config=RETINANET, cfg_options={'model.bbox_head.loss_cls.gamma': 1.0})),
        # 1 epoch of one batch of 4 (2 train images per year), no validation while training
        cfg_options={
            'train_cfg.max_epochs': 1,
            'train_cfg.val_interval': 2,
            'param_scheduler.1.end': 1,
            'train_dataloader.num_workers': 0,
            'val_dataloader.num_workers': 0,
            'test_dataloader.num_workers': 0,
            'default_hooks.logger.interval': 1
        })
    study.update(overrides)
    path.write_text('\n'.join(f'{k} = {v!r}' for k, v in study.items()) + '\n')
    return str(path)


def test_bad_study_files(tmp_path):
    with pytest.raises(InputError, match='`seeds` is empty'):
        studies.load_study(_write_study(tmp_path / 'a.py', seeds=[]))
    with pytest.raises(InputError, match="baseline 'nope' is not one of the variants"):
        studies.load_study(_write_study(tmp_path / 'b.py', baseline='nope'))
    with pytest.raises(
            InputError, match=r"data.train has unknown generate_voc arguments "
            r"\['num_imgs'\]"):
        studies.load_study(
            _write_study(
                tmp_path / 'c.py', data=dict(type='voc', train=dict(num_imgs=3), test=dict())))
    with pytest.raises(InputError, match='`metrics` must be a non-empty list'):
        studies.load_study(_write_study(tmp_path / 'd.py', metrics=[]))
    with pytest.raises(InputError, match='`seeds` must be a list'):
        studies.load_study(_write_study(tmp_path / 'f.py', seeds=3))
    (tmp_path / 'e.py').write_text("data = dict(type='voc', train={}, test={})\n")
    with pytest.raises(
            InputError, match=r"missing \['variants', 'baseline', 'seeds', "
            r"'metrics'\]"):
        studies.load_study(str(tmp_path / 'e.py'))


@pytest.mark.parametrize(
    'path',
    sorted(glob.glob(osp.join(REPO, 'configs', '*', 'studies', '*.py'))),
    ids=lambda p: osp.relpath(p, REPO))
def test_shipped_study_files_name_existing_configs(path):
    """Every study under configs/*/studies loads, and each variant's config exists relative to
    that study file (where plan_runs looks): a variant inherited from a study in another folder
    keeps its base's relative path."""
    study = studies.load_study(path)
    configs = {name: studies.variant_config(study, name) for name in study.variants}
    missing = {name: config for name, config in configs.items() if not osp.isfile(config)}
    assert not missing, f'{path}: configs not found for {missing}'


@pytest.mark.slow
def test_summary_table_with_holes(tmp_path):
    """The table from finished runs (README's numbers), a failed run and a run without the
    metric: each marked in its cell, left out of the statistics."""
    study = studies.load_study(
        _write_study(
            tmp_path / 'study.py',
            seeds=[0, 1, 2, 3],
            scale=1,
            digits=1,
            variants=dict(base=dict(config=RETINANET), frskd=dict(config=RETINANET))))
    runs = studies.plan_runs(study, str(tmp_path / 'work'))
    results = {
        f'base seed {s}': dict(metrics={'pascal_voc/mAP': v}, train_s=60., test_s=6.)
        for s, v in BASE.items()
    }
    results.update({
        f'frskd seed {s}': dict(metrics={'pascal_voc/mAP': v}, train_s=120., test_s=6.)
        for s, v in FRSKD.items()
    })
    results['frskd seed 3'] = dict(metrics={'pascal_voc/AP50': 0.5}, train_s=120., test_s=6.)
    runs[3].error = 'train failed: error: simulated'  # base seed 3
    lines = []
    summary = summarise(study, runs, results, log=lines.append)
    assert lines == [
        "error: frskd seed 3: the test log has no 'pascal_voc/mAP' (it has "
        f"['pascal_voc/AP50']) in {runs[7].path('test')}"
    ]
    rows = {
        cells[0]: cells[1:]
        for cells in ([c.strip() for c in line.strip('|').split('|')]
                      for line in markdown(summary).splitlines() if line.startswith('|'))
    }
    assert rows['seed'] == ['base', 'frskd', 'Δ frskd']
    assert rows['0'] == ['18.3', '25.6', '+7.3'] and rows['1'] == ['30.0', '24.4', '-5.6']
    assert rows['3'] == ['failed', 'no metric', '-']
    assert rows['mean ± std'] == ['23.8 ± 5.9', '25.9 ± 1.7', '+2.1 ± 6.8']
    half = T_975[2] * math.sqrt(92.58 / 2) / math.sqrt(3)  # 16.90
    assert rows['frskd'] == [
        '3', '25.9 ± 1.7', '2.0', '+2.1 (n=3)', f'[{2.1 - half:+.1f}, {2.1 + half:+.1f}]', '0.646',
        'no'
    ]
    assert rows['base'][:4] == ['3', '23.8 ± 5.9', '1.0', '(baseline)']
    assert [r['status']
            for r in summary['runs']] == ['ok'] * 3 + ['failed'] + ['ok'] * 3 + ['missing metric']
    json.dumps(summary)  # results.json
    assert os.path.getsize(plot(summary, str(tmp_path / 'results.png'))) > 0


def _read(run_dir, name):
    with open(osp.join(run_dir, name)) as f:
        return json.load(f)


def _timestamps(run_dir, step):
    return glob.glob(osp.join(run_dir, step, '2*'))


@pytest.mark.slow
def test_tiny_study_fails_resumes_and_tables(tmp_path, short_tmp_dir, run_tool):
    variants = dict(
        base=dict(config=RETINANET),
        gamma=dict(config=RETINANET, cfg_options={'model.bbox_head.loss_cls.gamma': 1.0}),
        missing=dict(config=osp.join(REPO, 'configs/retinanet/nope.py')),
        typo=dict(config=RETINANET, cfg_options={'model.backbon.depth': 18}),
        # passes the option check, fails when the model is built
        broken=dict(config=RETINANET, cfg_options={'model.backbone.depth': 19}))
    # the data root is in every run's config: a short one (conftest.short_tmp_dir)
    work, data = tmp_path / 'work', short_tmp_dir / 'tiny_study_data'
    args = [
        'tools/analysis/run_study.py', '--work-dir',
        str(work), '--data-dir',
        str(data), '--runs-dir',
        str(tmp_path / 'runs'), '--jobs', '1', '--threads', '1'
    ]
    r = run_tool(
        args[:1] + [_write_study(tmp_path / 'study.py', variants=variants)] + args[1:],
        env=dict(OMP_NUM_THREADS='1'))
    out = r.stdout
    assert r.returncode == 1, r.stderr[-3000:]  # holes
    assert 'Traceback' not in out + r.stderr
    for s in (0, 1):
        assert (f'error: missing seed {s}: config file {variants["missing"]["config"]} does '
                'not exist') in out
        assert f"error: typo seed {s}: --cfg-options model.backbon.depth: key 'backbon'" in out
        assert f'error: broken seed {s}: train failed: ' in out and 'invalid depth' in out
    assert len(glob.glob(str(data / 'voc_*' / 'recipe.json'))) == 2  # train and test sets
    results = json.loads((work / 'results.json').read_text())
    status = {(r['variant'], r['seed']): r['status'] for r in results['runs']}
    run_dir = {(r['variant'], r['seed']): r['work_dir'] for r in results['runs']}
    assert [status[('base', s)] for s in (0, 1)] == ['ok', 'ok']
    assert [status[('gamma', s)] for s in (0, 1)] == ['ok', 'ok']
    assert {status[(v, s)] for v in ('missing', 'typo', 'broken') for s in (0, 1)} == {'failed'}
    assert (work / 'results.png').stat().st_size > 0

    # the table's paired delta and CI against the runs' own metrics
    value = {
        (v, s): 100 * _read(run_dir[(v, s)], 'result.json')['metrics']['pascal_voc/mAP']
        for v in ('base', 'gamma')
        for s in (0, 1)
    }
    deltas = [value[('gamma', s)] - value[('base', s)] for s in (0, 1)]
    mean, sd = sum(deltas) / 2, abs(deltas[0] - deltas[1]) / math.sqrt(2)
    half = T_975[1] * sd / math.sqrt(2)
    row = next(
        line for line in (work / 'results.md').read_text().splitlines()
        if line.startswith('| gamma '))
    assert f'{mean:+.3f} (n=2)' in row and f'[{mean - half:+.3f}, {mean + half:+.3f}]' in row

    # resume: finished runs are skipped; a trained but untested run is only tested
    gamma1 = run_dir[('gamma', 1)]
    os.remove(osp.join(gamma1, 'result.json'))
    trained = {p: _timestamps(p, 'train') for p in run_dir.values()}
    two = dict(base=variants['base'], gamma=variants['gamma'])
    r = run_tool(
        args[:1] + [_write_study(tmp_path / 'study2.py', variants=two)] + args[1:],
        env=dict(OMP_NUM_THREADS='1'))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert '4 runs: 3 finished before (skipped), 1 to run' in r.stdout
    assert '[4/4] gamma seed 1: ok' in r.stdout
    assert {p: _timestamps(p, 'train') for p in run_dir.values()} == trained
    assert len(_timestamps(gamma1, 'test')) == 2
    again = _read(gamma1, 'result.json')['metrics']['pascal_voc/mAP']
    assert 100 * again == pytest.approx(value[('gamma', 1)])  # same checkpoint, same data

    # test-only options (another evaluator) test the same trained runs again, beside the
    # plain tests, without training anything
    calibration = [
        dict(type='VOCMetric', metric='mAP', eval_mode='11points'),
        dict(type='DetectionCalibrationMetric')
    ]
    r = run_tool(
        args[:1] + [
            _write_study(
                tmp_path / 'study3.py',
                variants=dict(base=variants['base']),
                test_cfg_options={'test_evaluator': calibration},
                metrics=['pascal_voc/mAP', 'calibration/ECE'])
        ] + args[1:],
        env=dict(OMP_NUM_THREADS='1'))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert '2 runs: 0 finished before (skipped), 2 to run' in r.stdout
    assert {p: _timestamps(p, 'train') for p in run_dir.values()} == trained
    for (v, s), path in run_dir.items():
        if v != 'base':
            continue
        tagged = glob.glob(osp.join(path, 'result_*.json'))
        assert len(tagged) == 1 and osp.isfile(osp.join(path, 'result.json'))
        metrics = _read(path, osp.basename(tagged[0]))['metrics']
        # the added evaluator ran (NaN when this one-batch model keeps no detection)
        ece = metrics['calibration/ECE']
        assert math.isnan(ece) or 0 <= ece <= 1
        assert 100 * metrics['pascal_voc/mAP'] == pytest.approx(value[(v, s)])


@pytest.mark.slow
def test_test_cfg_options_keep_the_training_key(tmp_path):
    plain = studies.plan_runs(
        studies.load_study(_write_study(tmp_path / 'a.py')), str(tmp_path / 'runs'))
    extra = studies.plan_runs(
        studies.load_study(
            _write_study(tmp_path / 'b.py', test_cfg_options={'test_evaluator.eval_mode': 'area'})),
        str(tmp_path / 'runs'))
    for p, e in zip(plain, extra):
        assert p.work_dir == e.work_dir and p.config == e.config == p.test_config
        assert e.test_tag and e.test_config != e.config
        assert e.test_path('result', '.json') == osp.join(e.work_dir, f'result{e.test_tag}.json')
        with open(e.test_config) as f:
            assert "eval_mode='area'" in f.read()
    assert len({e.test_tag for e in extra}) == 2  # one per variant (its full config)


def test_options_with_delete_serve_training_and_test_configs(tmp_path):
    """`_delete_` in a variant's options (replace a dict, as the pretrained-proxy studies do)
    applies to both the training and the test config (merging consumes the key)."""
    init = dict(_delete_=True, type='Pretrained', checkpoint='weights.pth')
    study = studies.load_study(
        _write_study(
            tmp_path / 'a.py',
            variants=dict(
                base=dict(config=RETINANET, cfg_options={'model.backbone.init_cfg': init})),
            test_cfg_options={'test_evaluator.eval_mode': 'area'}))
    for run in studies.plan_runs(study, str(tmp_path / 'runs')):
        for path in (run.config, run.test_config):
            with open(path) as f:
                text = f.read()
            assert "checkpoint='weights.pth'" in text and '_delete_' not in text


@pytest.mark.slow
def test_missing_teacher_checkpoint_is_named_before_any_run(tmp_path):
    """A variant whose frozen teacher's checkpoint file is missing gets one error naming the
    file on each of its runs at planning; the other variants plan as usual."""
    kd = osp.join(REPO, 'configs/kd/kd_retinanet_mobilenetv2_fpn_cpu_voc0712.py')
    missing = str(tmp_path / 'teacher.pth')
    study = studies.load_study(
        _write_study(
            tmp_path / 'a.py',
            variants=dict(
                base=dict(config=RETINANET),
                kd=dict(config=kd, cfg_options={'model.teacher.checkpoint': missing}))))
    runs = {(r.variant, r.seed): r for r in studies.plan_runs(study, str(tmp_path / 'runs'))}
    assert runs[('base', 0)].error is None
    for seed in (0, 1):
        assert runs[('kd', seed)].error.startswith(
            f"variant 'kd': model.teacher.checkpoint {missing} does not exist")
        assert runs[('kd', seed)].config is None  # nothing to train


@pytest.mark.slow
def test_a_run_claimed_by_another_runner_is_skipped(tmp_path):
    """Two runners on one study: a run whose ``running.json`` names a live process (or
    another host) is skipped and reported as not run; a lock left by a process that is gone
    is taken over; an unreadable lock names its file."""
    study = studies.load_study(_write_study(tmp_path / 'a.py', seeds=[0]))
    base, gamma = studies.plan_runs(study, str(tmp_path / 'runs'))
    lock = base.path('running.json')
    host = socket.gethostname()

    assert studies.claim(base) is None  # free: taken, by this process
    assert _read(base.work_dir, 'running.json') == dict(pid=os.getpid(), host=host)
    assert studies.claim(base) == f'pid {os.getpid()} on {host}'  # held by a live runner
    gone = subprocess.Popen(['true'])
    gone.wait()  # its pid is no longer a process
    with open(lock, 'w') as f:
        json.dump(dict(pid=gone.pid, host=host), f)
    assert studies.claim(base) is None
    assert _read(base.work_dir, 'running.json')['pid'] == os.getpid()
    with open(lock, 'w') as f:
        json.dump(dict(pid=gone.pid, host='node-7'), f)  # another host's process: trusted
    assert studies.claim(base) == f'pid {gone.pid} on node-7'
    open(lock, 'w').close()  # created, never written
    assert studies.claim(base) == f'another runner; if none is running, remove {lock}'
    studies.release(base)
    assert not osp.exists(lock)

    # the runner skips both runs: held by this (live) process, nothing is forked
    for run in (base, gamma):
        studies.claim(run)
    lines = []
    assert studies.run_all([base, gamma], {}, '', threads=1, jobs=2, log=lines.append) == {}
    held = f'running in another runner (pid {os.getpid()} on {host})'
    assert lines[1:] == [f'skipped: {r.name}: {held}' for r in (base, gamma)]
    summary = summarise(study, [base, gamma], {}, log=lines.append)
    assert [(r['status'], r['error']) for r in summary['runs']] == [('not run', held)] * 2
    row = next(line for line in markdown(summary).splitlines() if line.startswith('| 0 '))
    assert [c.strip() for c in row.strip('|').split('|')] == ['0', 'not run', 'not run', '-']
