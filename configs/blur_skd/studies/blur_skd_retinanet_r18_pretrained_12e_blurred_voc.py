# The runs of blur_skd_retinanet_r18_pretrained_12e_hard_voc.py tested again (nothing is
# trained twice: test_cfg_options keep the runs' keys) on the held-out set motion-blurred at
# severity 3, as tools/analysis/test_robustness.py blurs it: MotionBlurCorruption right after
# LoadImageFromFile, each image blurred at its original size with the same kernel in every run.
#   python tools/analysis/run_study.py \
#       configs/blur_skd/studies/blur_skd_retinanet_r18_pretrained_12e_blurred_voc.py
_base_ = './blur_skd_retinanet_r18_pretrained_12e_hard_voc.py'
description = ('The blur S-KD study\'s runs on the held-out set motion-blurred at severity 3 '
               '(camera-shake kernels, the robustness tool\'s corruption).')
severity = 3
test_cfg_options = {
    'test_dataloader.dataset.pipeline': [
        dict(type='LoadImageFromFile'),
        dict(type='MotionBlurCorruption', corruption='motion_blur', severity=severity, seed=0),
        dict(type='Resize', scale=(256, 256), keep_ratio=True),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(
            type='PackDetInputs',
            meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
    ]
}
