# PS-KD on the CPU RetinaNet R18-FPN baseline (synthetic VOC; tests, CPU benchmarks, studies). The
# student is exactly configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py's model.
_base_ = ['../retinanet/retinanet_r18_fpn_cpu_voc0712.py', './_base_/pskd_retinanet.py']
model = dict(_base_.pskd, _delete_=True, student=_base_.model)
