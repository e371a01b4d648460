# Copyright (c) skd_det contributors.
"""The training step of a two-stage detector (RPN + RoI head), in the pieces
a self-distillation wrapper and its teacher parts need.

mmdet's ``TwoStageDetector.loss`` and ``StandardRoIHead.loss`` return only
the losses; a teacher part also needs the RPN outputs, the proposals, the
RoIs the RoI head was trained on and its logits on them. The functions here
run the same steps in the same order, hence with the same random draws of
the RoI sampler, on any features (the student's pyramid or a teacher's).
Pure torch on the duck-typed mmdet API (``rpn_head.loss_by_feat``/
``predict_by_feat``, ``roi_head.bbox_assigner``/``bbox_sampler``/
``bbox_loss``/``mask_loss``): nothing here imports mmdet.
"""
import copy
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor


@dataclass
class RoIOutputs:
    """The second stage of a two-stage student's training step.

    Attributes:
        proposals (list): Per image, the RPN's proposals (mmdet
            ``InstanceData``: ``priors`` (P_i, 4), ``scores`` (P_i,)), without
            gradient (mmdet's ``predict_by_feat`` detaches them).
        sampling_results (list): Per image, mmdet's ``SamplingResult`` of the
            RoIs the RoI head was trained on (assigner + sampler).
        rois (Tensor): The R sampled RoIs of the batch, (R, 5) rows
            (image index, x1, y1, x2, y2), mmdet's ``bbox2roi`` order.
        cls_score (Tensor): RoI classification logits (R, K + 1), the
            background last.
        bbox_pred (Tensor): RoI box deltas (R, 4K), or (R, 4) class-agnostic.
        bbox_feats (Tensor): RoI features (R, C, S, S) of the RoI extractor.
    """
    proposals: List[Any]
    sampling_results: List[Any]
    rois: Tensor
    cls_score: Tensor
    bbox_pred: Tensor
    bbox_feats: Tensor


def rpn_loss(rpn_head: nn.Module,
             feats: Sequence[Tensor],
             loss_inputs: tuple,
             proposal_cfg: Optional[Any] = None,
             with_proposals: bool = True) -> Tuple[Dict[str, Any], tuple, Optional[list]]:
    """``BaseDenseHead.loss_and_predict`` of an RPN as
    ``TwoStageDetector.loss`` calls it: class-agnostic targets (every label
    0), loss keys prefixed ``rpn_`` where they lack it.

    Args:
        rpn_head (nn.Module): The RPN head.
        feats (Sequence[Tensor]): Pyramid levels (N, C, H_l, W_l).
        loss_inputs (tuple): ``(gt_instances, img_metas, gt_ignore)`` with
            the real class labels (left unchanged).
        proposal_cfg (ConfigDict, optional): Post-processing of the
            proposals (``train_cfg.rpn_proposal``).
        with_proposals (bool): Compute the proposals. Defaults to True.

    Returns:
        tuple[dict, tuple, list | None]: The losses, the head outputs
        ``(cls_scores, bbox_preds)`` and the proposals per image.
    """
    gt_instances, img_metas, gt_ignore = loss_inputs
    rpn_gt = copy.deepcopy(gt_instances)
    for gt in rpn_gt:
        gt.labels = torch.zeros_like(gt.labels)
    outs = rpn_head(feats)
    losses = rpn_head.loss_by_feat(*outs, rpn_gt, img_metas, gt_ignore)
    for key in list(losses):
        if 'loss' in key and 'rpn' not in key:
            losses[f'rpn_{key}'] = losses.pop(key)
    proposals = rpn_head.predict_by_feat(
        *outs, batch_img_metas=img_metas, cfg=proposal_cfg) if with_proposals else None
    return losses, outs, proposals


def sample_rois(roi_head: nn.Module, feats: Sequence[Tensor], proposals: list,
                loss_inputs: tuple) -> list:
    """The assigner and sampler loop of ``StandardRoIHead.loss``: one
    ``SamplingResult`` per image (``proposals`` get their ``bboxes`` renamed
    ``priors``, as there)."""
    gt_instances, _, gt_ignore = loss_inputs
    results = []
    for i, proposal in enumerate(proposals):
        proposal.priors = proposal.pop('bboxes')
        assign_result = roi_head.bbox_assigner.assign(proposal, gt_instances[i], gt_ignore[i])
        results.append(
            roi_head.bbox_sampler.sample(
                assign_result, proposal, gt_instances[i],
                feats=[level[i][None] for level in feats]))
    return results


def roi_loss(roi_head: nn.Module, feats: Sequence[Tensor], sampling_results: list,
             gt_instances: list) -> Tuple[Dict[str, Any], dict]:
    """The losses of ``StandardRoIHead.loss`` after sampling: the box head's
    (``bbox_loss``), then the mask head's if there is one.

    Returns:
        tuple[dict, dict]: The losses and ``bbox_loss``'s results
        (``cls_score``, ``bbox_pred``, ``bbox_feats``).
    """
    bbox_results = roi_head.bbox_loss(feats, sampling_results)
    losses = dict(bbox_results['loss_bbox'])
    if roi_head.with_mask:
        mask_results = roi_head.mask_loss(feats, sampling_results, bbox_results['bbox_feats'],
                                          gt_instances)
        losses.update(mask_results['loss_mask'])
    return losses, bbox_results


def _rois(sampling_results: list) -> Tensor:
    """mmdet's ``bbox2roi`` of the sampled RoIs: (R, 5), image index first."""
    return torch.cat([
        torch.cat([res.priors.new_full((len(res.priors), 1), i), res.priors], dim=1)
        for i, res in enumerate(sampling_results)
    ])


def two_stage_loss(detector: nn.Module, feats: Sequence[Tensor],
                   loss_inputs: tuple) -> Tuple[Dict[str, Any], tuple, RoIOutputs]:
    """``TwoStageDetector.loss`` after ``extract_feat``, on ``feats``: RPN
    losses and proposals (``train_cfg.rpn_proposal``), RoI sampling, RoI
    head losses.

    Returns:
        tuple[dict, tuple, RoIOutputs]: The losses (``loss_rpn_cls``,
        ``loss_rpn_bbox``, ``loss_cls``, ``acc``, ``loss_bbox``, ...), the
        RPN head's outputs and the second stage's outputs.
    """
    proposal_cfg = detector.train_cfg.get('rpn_proposal', detector.test_cfg.rpn)
    losses, rpn_outs, proposals = rpn_loss(
        detector.rpn_head, feats, loss_inputs, proposal_cfg=proposal_cfg)
    roi_head = detector.roi_head
    sampling_results = sample_rois(roi_head, feats, proposals, loss_inputs)
    roi_losses, bbox_results = roi_loss(roi_head, feats, sampling_results, loss_inputs[0])
    losses.update(roi_losses)
    return losses, rpn_outs, RoIOutputs(
        proposals=proposals,
        sampling_results=sampling_results,
        rois=_rois(sampling_results),
        cls_score=bbox_results['cls_score'],
        bbox_pred=bbox_results['bbox_pred'],
        bbox_feats=bbox_results['bbox_feats'])
