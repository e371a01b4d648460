# Copyright (c) skd_det contributors.
"""Helpers of the analysis tools (``tools/analysis``).

Pure numpy/torch/matplotlib: ``calibration`` (ECE, AURC), ``detection`` (matching, P/R/F1,
confusion matrix), ``segmentation`` (pixel confusion, IoU), ``roc``, ``ap`` (per-class AP by
mmdet's ``eval_map`` / pycocotools), ``complexity`` (parameters, FLOPs), ``timing`` (time
statistics, peak memory), ``robustness`` (mPC, rPC of corrupted test sets), ``logs``
(mmengine JSON logs), ``tables``, ``plotting``.
``paired`` (paired differences, paired-t intervals). OpenMMLab-facing: ``runtime``
(configs, models, synthetic batches), ``benchmark``, ``results``, ``study`` and
``study_report`` (the seed-study runner and its tables/plot). Nothing is imported here, so
each module loads only what it needs.
"""
