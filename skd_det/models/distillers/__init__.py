# Copyright (c) skd_det contributors.
# Deliberately empty: ``self_distill_detector`` needs mmdet and
# ``self_distill_segmentor`` needs mmseg. Import them through the plugin entry
# modules ``skd_det.det`` / ``skd_det.seg``; ``base`` is pure python/torch.
