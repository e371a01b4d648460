# CPU-sized Faster R-CNN R34-FPN on (synthetic) VOC07+12, otherwise configs/faster_rcnn/
# faster-rcnn_r18_fpn_cpu_voc0712.py: the FGFI teacher of
# configs/fgfi/fgfi_faster-rcnn_r34-r18_fpn_cpu_voc0712.py (train it first).
_base_ = './faster-rcnn_r18_fpn_cpu_voc0712.py'
model = dict(backbone=dict(depth=34))
