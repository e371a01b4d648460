# CPU-sized RetinaNet R34-FPN on (synthetic) VOC07+12, otherwise configs/retinanet/
# retinanet_r18_fpn_cpu_voc0712.py: the FGFI teacher of
# configs/fgfi/fgfi_retinanet_r34-r18_fpn_cpu_voc0712.py (train it first).
_base_ = './retinanet_r18_fpn_cpu_voc0712.py'
model = dict(backbone=dict(depth=34))
