# FRSKD on the CPU EfficientDet-D0 baseline (synthetic VOC at 256x256; tests, CPU benchmarks). The
# student is exactly configs/efficientdet/efficientdet_d0_cpu_voc0712.py's model; the teacher is
# frskd_efficientdet_d0_voc0712.py's (FRSKD BiFPN of width 64 over P3..P7 + a head copy).
_base_ = ['../efficientdet/efficientdet_d0_cpu_voc0712.py', './_base_/frskd_efficientdet.py']
model = dict(_base_.frskd, _delete_=True, student=_base_.model)
custom_hooks = _base_.frskd_hooks
