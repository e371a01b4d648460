# Copyright (c) skd_det contributors.
"""A toy mmengine Runner for the hooks' tests."""
import uuid


def toy_runner(work_dir,
               model,
               hook,
               iters,
               checkpoint_interval,
               by_epoch=False,
               max_epochs=1,
               **kwargs):
    """An mmengine Runner training ``model`` (inputs: 2-vectors, batch 2) for ``iters``
    iterations in one pass over the data, as one epoch (``by_epoch``; ``max_epochs`` such
    passes) or ``max_iters`` (mmengine's iteration loop sleeps 2 s whenever it restarts the
    dataloader), with the custom ``hook`` and a checkpoint every ``checkpoint_interval``
    iterations/epochs."""
    import torch
    from mmengine.runner import Runner
    train_cfg = dict(
        by_epoch=True, max_epochs=max_epochs) if by_epoch else dict(
            by_epoch=False, max_iters=iters)
    return Runner(
        model=model,
        work_dir=str(work_dir),
        experiment_name=f'{hook["type"]}_{uuid.uuid4().hex}',
        train_dataloader=dict(
            dataset=[dict(inputs=torch.full((2, ), float(i))) for i in range(2 * iters)],
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=2,
            num_workers=0),
        train_cfg=train_cfg,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        custom_hooks=[hook],
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='CheckpointHook', interval=checkpoint_interval,
                            by_epoch=by_epoch)),
        **kwargs)
