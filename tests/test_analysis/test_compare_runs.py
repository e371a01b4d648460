"""compare_runs on fake mmengine JSON logs written here: groups, mean ± std, loss plot."""
import json
import os

import numpy as np
import pytest

from skd_det.analysis import logs

# final mAP of each run; the metrics of epoch 1 must be ignored (not the last ones)
RUNS = {
    'retinanet_seed0': 0.50,
    'retinanet_seed1': 0.54,
    'retinanet_seed2': 0.52,
    'frskd_retinanet_seed0': 0.60,
    'frskd_retinanet_seed1': 0.58
}


def _write_run(root, name, final_map, resumed=False):
    """Two epochs of training lines and a validation line each, as LocalVisBackend writes
    them; ``resumed`` puts epoch 2 in a second (later) timestamp folder."""
    lines = [[], []]
    for epoch in (1, 2):
        part = lines[epoch - 1 if resumed else 0]
        for it in range(1, 3):
            step = (epoch - 1) * 2 + it
            part.append(
                dict(
                    lr=0.01,
                    data_time=0.1,
                    loss=2. / step,
                    loss_cls=1. / step,
                    time=0.5,
                    epoch=epoch,
                    iter=step,
                    memory=100,
                    step=step))
        part.append({
            'pascal_voc/mAP': final_map - (0.2 if epoch == 1 else 0),
            'pascal_voc/AP50': final_map + 0.1,
            'data_time': 0.1,
            'time': 0.2,
            'step': epoch
        })
    for ts, part in zip(('20250101_000000', '20250102_000000'), lines):
        if part:
            os.makedirs(root / name / ts / 'vis_data')
            with open(root / name / ts / 'vis_data' / 'scalars.json', 'w') as f:
                f.write('\n'.join(json.dumps(r) for r in part) + '\n')
    return str(root / name)


@pytest.mark.slow
def test_compare_runs_table(tmp_path, run_tool):
    dirs = [
        _write_run(tmp_path, name, m, resumed=name.endswith('seed1')) for name, m in RUNS.items()
    ]
    out, plot = tmp_path / 'table.md', tmp_path / 'loss.png'
    r = run_tool([
        'tools/analysis/compare_runs.py', *dirs, '--metrics', 'pascal_voc/mAP', '--scale', '100',
        '--digits', '2', '--out',
        str(out), '--plot',
        str(plot)
    ])
    assert r.returncode == 0, r.stderr
    base = np.array([50., 54., 52.])
    frskd = np.array([60., 58.])
    rows = {
        cells[0]: cells[1:]
        for cells in ([c.strip() for c in line.strip('|').split('|')]
                      for line in out.read_text().splitlines())
    }
    assert rows['group'] == ['runs', 'pascal_voc/mAP']
    assert rows['retinanet'] == ['3', f'{base.mean():.2f} ± {base.std(ddof=1):.2f}']
    assert rows['retinanet'][1] == '52.00 ± 2.00'
    assert rows['frskd_retinanet'] == ['2', f'{frskd.mean():.2f} ± {frskd.std(ddof=1):.2f}']
    assert rows['frskd_retinanet'][1] == '59.00 ± 1.41'
    assert plot.stat().st_size > 0

    r = run_tool(['tools/analysis/compare_runs.py', *dirs, '--metrics', 'coco/bbox_mAP'])
    assert r.returncode != 0 and r.stderr.strip().startswith('error: no run has the metrics')
    assert 'Traceback' not in r.stderr


def test_logs_helpers(tmp_path):
    work_dir = _write_run(tmp_path, 'a_seed1', 0.5, resumed=True)
    records = logs.read_records(work_dir)
    assert logs.final_metrics(records) == pytest.approx({
        'pascal_voc/mAP': 0.5,
        'pascal_voc/AP50': 0.6
    })
    its, values = logs.loss_curve(records)
    assert its.tolist() == [1, 2, 3, 4] and values[-1] == pytest.approx(0.5)
    assert logs.group_name('frskd_r18_seed12') == 'frskd_r18'
    assert logs.group_name('frskd-seed-3') == 'frskd'
    assert logs.group_name('baseline') == 'baseline'
    assert logs.group_name('frskd_r18_seed1', r'^(frskd|baseline)') == 'frskd'
