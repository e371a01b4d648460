# The entry point: FRSKD self-knowledge distillation on RetinaNet R50-FPN, Pascal VOC07+12.
#   python tools/train.py configs/frskd_retinanet_voc.py
#   python tools/model_converters/export_student.py configs/frskd_retinanet_voc.py \
#       work_dirs/frskd_retinanet_voc/epoch_4.pth work_dirs/frskd_retinanet_voc/export
# See configs/frskd/README.md for the method, its defaults and results.
_base_ = './frskd/frskd_retinanet_r50_fpn_1x_voc0712.py'
