# Copyright (c) skd_det contributors.
from .blur_skd_teacher import BlurSKDTeacher
from .byot_det_teacher import BYOTDetTeacher
from .byot_seg_teacher import BYOTSegTeacher
from .fgfi_teacher import FGFITeacher
from .frozen_teacher import FrozenTeacher
from .frskd_seg_teacher import FRSKDSegTeacher
from .frskd_teacher import FRSKDDetTeacher
from .frskd_two_stage_teacher import FRSKDTwoStageTeacher
from .lgd_teacher import LGDTeacher
from .pskd_teacher import PSKDDetTeacher, PSKDSegTeacher, PSKDTeacher

__all__ = [
    'BlurSKDTeacher', 'FGFITeacher', 'FrozenTeacher', 'FRSKDDetTeacher', 'FRSKDSegTeacher',
    'LGDTeacher', 'BYOTDetTeacher', 'BYOTSegTeacher', 'PSKDTeacher', 'PSKDDetTeacher',
    'PSKDSegTeacher', 'FRSKDTwoStageTeacher'
]
