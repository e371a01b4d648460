# Copyright (c) skd_det contributors.
"""Offline analysis of the predictions ``tools/test.py --out`` dumps, against the config's test
set: detection (per-class AP, PR curves, confusion matrix, precision/recall/F1 at a score
threshold, foreground ROC, calibration) and segmentation (per-class IoU, confusion matrix,
pixel calibration when the logits were dumped)."""
import contextlib
import io
import json
import os
import os.path as osp
from typing import List

import numpy as np
import torch
from mmengine.config import Config

from skd_det.utils import InputError, check_datasets, set_data_root, task_of
from skd_det.utils.safe_load import UnsafeCheckpointError, load_pickle
from . import plotting, runtime
from .ap import coco_per_class, voc_per_class
from .calibration import (CalibrationHistogram, aurc, calibration_bins, calibration_summary,
                          reliability_table)
from .detection import (IGNORED, TP, detection_confusion_matrix, foreground_flags, match_detections,
                        precision_recall_f1)
from .roc import roc_auc, roc_curve
from .segmentation import iou_from_confusion, pixel_confidence, seg_confusion_matrix
from .tables import fmt, markdown_table


def load_results(path: str) -> list:
    """The list of per-image result dicts of a DumpResults / DumpDetResults pickle, read
    without running code (:func:`~skd_det.utils.safe_load.load_pickle`)."""
    if not osp.isfile(path):
        raise InputError(f'results file {path} does not exist')
    try:
        results = load_pickle(path)
    except UnsafeCheckpointError:
        raise
    except Exception as e:  # any unpickling failure means: not a results dump
        raise InputError(f'{path} is not a results pickle ({type(e).__name__}: {e})') from None
    if not isinstance(results, list):
        raise InputError(f'{path} holds a {type(results).__name__}, not the list of per-image '
                         'results tools/test.py --out writes')
    if not results:
        raise InputError(f'{path} holds no results (empty list)')
    if not all(isinstance(r, dict) for r in results):
        raise InputError(f'{path} is not a list of per-image result dicts')
    return results


def build_test_dataset(cfg: Config):
    _, datasets = runtime.registries(cfg)
    with runtime.scope(cfg):
        return datasets.build(cfg.test_dataloader.dataset)


def _evaluators(cfg: Config) -> List[dict]:
    ev = cfg.get('test_evaluator') or {}
    return list(ev) if isinstance(ev, (list, tuple)) else [ev]


def _numpy(x) -> np.ndarray:
    return x.numpy() if torch.is_tensor(x) else np.asarray(x)


def _align(results: list, keys: List, dataset_keys: List, what: str, path: str,
           config: str) -> List[int]:
    """Index into the dataset of every result; results of another test set are an error."""
    if len(results) != len(dataset_keys):
        raise InputError(f'{path} holds {len(results)} images but the test set of {config} has '
                         f'{len(dataset_keys)}: were the results made with another config or '
                         'data root?')
    index = {k: i for i, k in enumerate(dataset_keys)}
    unknown = [k for k in keys if k not in index]
    if unknown:
        raise InputError(f'{len(unknown)} {what}s of {path} are not in the test set of '
                         f'{config} (e.g. {unknown[:3]}): results of another data set?')
    if len(set(keys)) != len(keys):
        raise InputError(f'{path} lists some {what}s more than once')
    return [index[k] for k in keys]


def _write(out_dir: str, summary: dict, report: str) -> None:
    with open(osp.join(out_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    with open(osp.join(out_dir, 'report.md'), 'w') as f:
        f.write(report)


def _detection_images(results: list, dataset, path: str, config: str) -> List[dict]:
    if not all('pred_instances' in r for r in results):
        raise InputError(f'{path} has no pred_instances: not detection results (segmentation '
                         f'ones?), but {config} is a detection config')
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    order = _align(results, [r.get('img_id') for r in results], [info['img_id'] for info in infos],
                   'image id', path, config)
    images = []
    for res, idx in zip(results, order):
        pred, info = res['pred_instances'], infos[idx]
        gts = info['instances']
        images.append(
            dict(
                img_id=info['img_id'],
                bboxes=_numpy(pred['bboxes']).reshape(-1, 4).astype(np.float64),
                scores=_numpy(pred['scores']).astype(np.float64),
                labels=_numpy(pred['labels']).astype(np.int64),
                gt_bboxes=np.array([g['bbox'] for g in gts], dtype=np.float64).reshape(-1, 4),
                gt_labels=np.array([g['bbox_label'] for g in gts], dtype=np.int64),
                gt_ignore=np.array([bool(g.get('ignore_flag', 0)) for g in gts], dtype=bool)))
    return images


def _per_class_ap(cfg: Config, dataset, images: List[dict], classes) -> dict:
    coco = [e for e in _evaluators(cfg) if e.get('type') == 'CocoMetric']
    if coco:
        from pycocotools.coco import COCO
        with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
            # the metric's ground truth, as CocoMetric reads it (the dataset drops its copy)
            coco_gt = COCO(coco[0].get('ann_file') or dataset.ann_file)
        dets = []
        for img in images:
            for box, score, label in zip(img['bboxes'], img['scores'], img['labels']):
                x1, y1, x2, y2 = box.tolist()
                dets.append(
                    dict(
                        image_id=img['img_id'],
                        category_id=dataset.cat_ids[label],
                        bbox=[x1, y1, x2 - x1, y2 - y1],
                        score=float(score)))
        return coco_per_class(coco_gt, dets, [img['img_id'] for img in images], dataset.cat_ids,
                              classes)
    voc = [e for e in _evaluators(cfg) if e.get('type') == 'VOCMetric']
    iou = voc[0].get('iou_thrs', 0.5) if voc else 0.5
    eval_mode = voc[0].get('eval_mode', '11points') if voc else 'area'
    dets, anns = [], []
    for img in images:
        det = np.hstack([img['bboxes'], img['scores'][:, None]])
        dets.append([det[img['labels'] == c] for c in range(len(classes))])
        keep = ~img['gt_ignore']
        anns.append(
            dict(
                bboxes=img['gt_bboxes'][keep],
                labels=img['gt_labels'][keep],
                bboxes_ignore=img['gt_bboxes'][~keep],
                labels_ignore=img['gt_labels'][~keep]))
    return voc_per_class(dets, anns, classes, iou[0] if isinstance(iou, list) else iou, eval_mode)


def analyze_detection(cfg: Config,
                      config: str,
                      results: list,
                      path: str,
                      out_dir: str,
                      score_thr: float = 0.3,
                      iou_thr: float = 0.5) -> dict:
    dataset = build_test_dataset(cfg)
    classes = list(dataset.metainfo['classes'])
    images = _detection_images(results, dataset, path, config)
    ap = _per_class_ap(cfg, dataset, images, classes)

    status = [
        match_detections(i['bboxes'], i['scores'], i['labels'], i['gt_bboxes'], i['gt_labels'],
                         i['gt_ignore'], iou_thr) for i in images
    ]
    status = np.concatenate(status)
    scores = np.concatenate([i['scores'] for i in images])
    labels = np.concatenate([i['labels'] for i in images])
    num_gts = np.bincount(
        np.concatenate([i['gt_labels'][~i['gt_ignore']] for i in images]), minlength=len(classes))
    prf = precision_recall_f1(status, scores, labels, num_gts, score_thr)

    counted = status != IGNORED
    correct = status[counted] == TP
    bins = calibration_bins(scores[counted], correct)
    calib = calibration_summary(bins, aurc(scores[counted], correct))
    fg = np.concatenate(
        [foreground_flags(i['bboxes'], i['gt_bboxes'], i['gt_ignore'], iou_thr) for i in images])
    roc = roc_curve(scores[fg >= 0], fg[fg >= 0] == 1)
    auc = roc_auc(roc['fpr'], roc['tpr'])
    cm = detection_confusion_matrix(images, len(classes), score_thr, iou_thr)

    os.makedirs(out_dir, exist_ok=True)
    figures = dict(
        pr_curves=plotting.plot_pr_curves(ap['per_class'], osp.join(out_dir, 'pr_curves.png'),
                                          f'Precision-recall per class ({ap["protocol"]})'),
        confusion_matrix=plotting.plot_confusion_matrix(
            cm, classes + ['background'], osp.join(out_dir, 'confusion_matrix.png'),
            f'Confusion matrix (score >= {score_thr}, IoU >= {iou_thr})'),
        reliability_diagram=plotting.plot_reliability(
            reliability_table(bins), calib['ece'], osp.join(out_dir, 'reliability_diagram.png'),
            f'Detection scores, correct = matched at IoU {iou_thr}'),
        roc_curve=plotting.plot_roc(roc['fpr'], roc['tpr'], auc, osp.join(out_dir, 'roc_curve.png'),
                                    f'Foreground vs background (IoU >= {iou_thr})'))
    per_class = []
    for c, name in enumerate(classes):
        entry = {k: v for k, v in ap['per_class'][name].items() if k not in ('recall', 'precision')}
        entry.update({k: prf['per_class'][c][k] for k in ('precision', 'recall', 'f1')})
        per_class.append(dict(name=name, **entry))
    summary = dict(
        task='det',
        config=config,
        results=path,
        num_images=len(images),
        num_detections=int(scores.size),
        ap_protocol=ap['protocol'],
        mAP=ap['mAP'],
        **({
            'AP50': ap['AP50']
        } if 'AP50' in ap else {}),
        score_thr=score_thr,
        iou_thr=iou_thr,
        at_score_thr=prf['overall'],
        roc=dict(auc=auc, num_foreground=int((fg == 1).sum()), num_background=int((fg == 0).sum())),
        calibration=dict(**calib, bins=reliability_table(bins)),
        per_class=per_class,
        confusion_matrix=dict(labels=classes + ['background'], counts=cm.tolist()),
        figures={
            k: osp.basename(v)
            for k, v in figures.items()
        })
    _write(out_dir, summary, _detection_report(summary))
    return summary


def _detection_report(s: dict) -> str:
    o, c = s['at_score_thr'], s['calibration']
    lines = [
        f'# Detection results: {osp.basename(s["results"])}', '',
        f'Config `{s["config"]}`, {s["num_images"]} images, {s["num_detections"]} detections.', '',
        f'- mAP: {fmt(s["mAP"], 4)} ({s["ap_protocol"]})',
        f'- at score >= {s["score_thr"]} (IoU {s["iou_thr"]}): precision {fmt(o["precision"])}'
        f', recall {fmt(o["recall"])}, F1 {fmt(o["f1"])} ({o["tp"]} TP, {o["fp"]} FP, '
        f'{o["num_gts"]} ground truth)',
        f'- foreground vs background ROC AUC: {fmt(s["roc"]["auc"], 4)} '
        f'({s["roc"]["num_foreground"]} foreground, {s["roc"]["num_background"]} background '
        'detections; foreground = IoU >= '
        f'{s["iou_thr"]} with a ground-truth box of any class)',
        f'- calibration of all detections (correct = matched to a ground truth of its class at '
        f'IoU >= {s["iou_thr"]}): ECE {fmt(c["ece"], 4)} (15 bins), AURC {fmt(c["aurc"], 4)}, '
        f'E-AURC {fmt(c["eaurc"], 4)}, accuracy {fmt(c["accuracy"])}', '', '## Per class', ''
    ]
    rows = [[
        e['name'], e['num_gts'], e['num_dets'],
        fmt(e['ap'], 4), *([fmt(e['ap50'], 4)] if 'ap50' in e else []),
        fmt(e['precision']),
        fmt(e['recall']),
        fmt(e['f1'])
    ] for e in s['per_class']]
    headers = [
        'class', 'GT', 'dets', 'AP', *(['AP50'] if 'ap50' in s['per_class'][0] else []),
        f'P@{s["score_thr"]}', f'R@{s["score_thr"]}', f'F1@{s["score_thr"]}'
    ]
    lines += [markdown_table(headers, rows), '', '## Figures', '']
    lines += [f'![{k}]({v})' for k, v in s['figures'].items()]
    return '\n'.join(lines) + '\n'


def _pixels(entry, key: str, path: str) -> torch.Tensor:
    value = entry.get(key)
    data = value.get('data') if isinstance(value, dict) else value
    if data is None:
        raise InputError(f'{path} has no {key} in its results' +
                         (': the test pipeline must load the annotations (LoadAnnotations)'
                          if key == 'gt_sem_seg' else ''))
    return torch.as_tensor(data)


def analyze_segmentation(cfg: Config, config: str, results: list, path: str, out_dir: str) -> dict:
    if not all('pred_sem_seg' in r for r in results):
        raise InputError(f'{path} has no pred_sem_seg: not segmentation results (detection '
                         f'ones?), but {config} is a segmentation config')
    dataset = build_test_dataset(cfg)
    classes = list(dataset.metainfo['classes'])
    ignore_index = getattr(dataset, 'ignore_index', 255)
    _align(results, [osp.basename(r.get('img_path', '')) for r in results],
           [osp.basename(dataset.get_data_info(i)['img_path']) for i in range(len(dataset))],
           'image', path, config)
    n = len(classes)
    cm = np.zeros((n, n), dtype=np.int64)
    hist = CalibrationHistogram() if results[0].get('seg_logits') is not None else None
    for res in results:
        pred = _pixels(res, 'pred_sem_seg', path)[0]
        gt = _pixels(res, 'gt_sem_seg', path)[0]
        if pred.shape != gt.shape:
            raise InputError(f'{path}: prediction {tuple(pred.shape)} and ground truth '
                             f'{tuple(gt.shape)} of {res.get("img_path")} differ in size')
        cm += seg_confusion_matrix(pred.numpy(), gt.numpy(), n, ignore_index)
        if hist is not None:
            valid = gt != ignore_index
            conf = pixel_confidence(_pixels(res, 'seg_logits', path), pred)
            hist.update(conf[valid].numpy(), (pred == gt)[valid].numpy())
    ious = iou_from_confusion(cm)

    os.makedirs(out_dir, exist_ok=True)
    figures = dict(
        confusion_matrix=plotting.plot_confusion_matrix(
            cm, classes, osp.join(out_dir, 'confusion_matrix.png'), 'Pixel confusion matrix'))
    calib = None
    if hist is not None:
        bins = hist.bins()
        calib = dict(**calibration_summary(bins, hist.aurc()), bins=reliability_table(bins))
        figures['reliability_diagram'] = plotting.plot_reliability(
            calib['bins'], calib['ece'], osp.join(out_dir, 'reliability_diagram.png'),
            'Pixel confidence (probability of the predicted class)')
    summary = dict(
        task='seg',
        config=config,
        results=path,
        num_images=len(results),
        mIoU=ious['mIoU'],
        mAcc=ious['mAcc'],
        aAcc=ious['aAcc'],
        per_class=[
            dict(
                name=c,
                iou=_nan_none(ious['iou'][k]),
                acc=_nan_none(ious['acc'][k]),
                gt_pixels=int(cm[k].sum())) for k, c in enumerate(classes)
        ],
        calibration=calib,
        confusion_matrix=dict(labels=classes, counts=cm.tolist()),
        figures={
            k: osp.basename(v)
            for k, v in figures.items()
        })
    _write(out_dir, summary, _segmentation_report(summary))
    return summary


def _nan_none(x: float):
    return None if x != x else float(x)


def _segmentation_report(s: dict) -> str:
    lines = [
        f'# Segmentation results: {osp.basename(s["results"])}', '',
        f'Config `{s["config"]}`, {s["num_images"]} images.', '',
        f'- mIoU {fmt(s["mIoU"], 4)}, mAcc {fmt(s["mAcc"], 4)}, aAcc {fmt(s["aAcc"], 4)}'
    ]
    c = s['calibration']
    if c:
        lines.append(f'- pixel calibration: ECE {fmt(c["ece"], 4)} (15 bins), AURC '
                     f'{fmt(c["aurc"], 4)}, E-AURC {fmt(c["eaurc"], 4)}')
    else:
        lines.append('- pixel calibration: the results hold no seg_logits; add '
                     "dict(type='SegCalibrationMetric') to the test_evaluator to measure it")
    lines += [
        '', '## Per class', '',
        markdown_table(['class', 'IoU', 'Acc', 'GT pixels'],
                       [[e['name'], fmt(e['iou'], 4),
                         fmt(e['acc'], 4), e['gt_pixels']]
                        for e in s['per_class']]), '', '## Figures', ''
    ]
    lines += [f'![{k}]({v})' for k, v in s['figures'].items()]
    return '\n'.join(lines) + '\n'


def analyze(config: str,
            results_path: str,
            out_dir: str,
            score_thr: float = 0.3,
            data_root: str = None) -> dict:
    """Analyse a results dump of ``config``'s test set; writes ``summary.json``,
    ``report.md`` and the PNG figures to ``out_dir`` and returns the summary."""
    cfg = runtime.load_config(config)
    if data_root:
        set_data_root(cfg, data_root)
    check_datasets(cfg, ('test_dataloader', ))
    results = load_results(results_path)
    if task_of(cfg) == 'det':
        return analyze_detection(cfg, config, results, results_path, out_dir, score_thr)
    return analyze_segmentation(cfg, config, results, results_path, out_dir)
