# Copyright (c) skd_det contributors.
from .frskd_teacher import FRSKDDetTeacher, FRSKDSegTeacher

__all__ = ['FRSKDDetTeacher', 'FRSKDSegTeacher']
