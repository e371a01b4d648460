# Copyright (c) skd_det contributors.
"""Class lists of the three formats, as the real datasets (and mmdet / mmseg) name them.

Written out, not read from mmdet's VOCDataset / CocoDataset or mmseg's CityscapesDataset
``METAINFO``: the generator needs only numpy and Pillow (either task alone installed);
tests/test_datasets/test_synthetic.py checks that they equal those ``METAINFO`` tuples."""

VOC_CLASSES = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair',
               'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep',
               'sofa', 'train', 'tvmonitor')

# The 80 COCO categories with their real (non-contiguous) ids, in mmdet's CocoDataset order.
COCO_CATEGORIES = tuple(
    dict(supercategory=sup, id=cid, name=name)
    for cid, name, sup in ((1, 'person', 'person'), (2, 'bicycle', 'vehicle'),
                           (3, 'car', 'vehicle'), (4, 'motorcycle', 'vehicle'),
                           (5, 'airplane', 'vehicle'), (6, 'bus', 'vehicle'),
                           (7, 'train', 'vehicle'), (8, 'truck', 'vehicle'), (9, 'boat', 'vehicle'),
                           (10, 'traffic light', 'outdoor'), (11, 'fire hydrant', 'outdoor'),
                           (13, 'stop sign', 'outdoor'), (14, 'parking meter', 'outdoor'),
                           (15, 'bench', 'outdoor'), (16, 'bird', 'animal'), (17, 'cat', 'animal'),
                           (18, 'dog', 'animal'), (19, 'horse', 'animal'), (20, 'sheep', 'animal'),
                           (21, 'cow', 'animal'), (22, 'elephant',
                                                   'animal'), (23, 'bear', 'animal'), (24, 'zebra',
                                                                                       'animal'),
                           (25, 'giraffe', 'animal'), (27, 'backpack',
                                                       'accessory'), (28, 'umbrella', 'accessory'),
                           (31, 'handbag', 'accessory'), (32, 'tie', 'accessory'), (33, 'suitcase',
                                                                                    'accessory'),
                           (34, 'frisbee',
                            'sports'), (35, 'skis', 'sports'), (36, 'snowboard',
                                                                'sports'), (37, 'sports ball',
                                                                            'sports'), (38, 'kite',
                                                                                        'sports'),
                           (39, 'baseball bat', 'sports'), (40, 'baseball glove',
                                                            'sports'), (41, 'skateboard', 'sports'),
                           (42, 'surfboard',
                            'sports'), (43, 'tennis racket',
                                        'sports'), (44, 'bottle',
                                                    'kitchen'), (46, 'wine glass',
                                                                 'kitchen'), (47, 'cup', 'kitchen'),
                           (48, 'fork', 'kitchen'), (49, 'knife', 'kitchen'), (50, 'spoon',
                                                                               'kitchen'),
                           (51, 'bowl', 'kitchen'), (52, 'banana', 'food'), (53, 'apple', 'food'),
                           (54, 'sandwich', 'food'), (55, 'orange',
                                                      'food'), (56, 'broccoli',
                                                                'food'), (57, 'carrot', 'food'),
                           (58, 'hot dog', 'food'), (59, 'pizza', 'food'), (60, 'donut', 'food'),
                           (61, 'cake', 'food'), (62, 'chair', 'furniture'), (63, 'couch',
                                                                              'furniture'),
                           (64, 'potted plant',
                            'furniture'), (65, 'bed', 'furniture'), (67, 'dining table',
                                                                     'furniture'), (70, 'toilet',
                                                                                    'furniture'),
                           (72, 'tv', 'electronic'), (73, 'laptop',
                                                      'electronic'), (74, 'mouse',
                                                                      'electronic'), (75, 'remote',
                                                                                      'electronic'),
                           (76, 'keyboard',
                            'electronic'), (77, 'cell phone',
                                            'electronic'), (78, 'microwave',
                                                            'appliance'), (79, 'oven', 'appliance'),
                           (80, 'toaster',
                            'appliance'), (81, 'sink',
                                           'appliance'), (82, 'refrigerator',
                                                          'appliance'), (84, 'book',
                                                                         'indoor'), (85, 'clock',
                                                                                     'indoor'),
                           (86, 'vase',
                            'indoor'), (87, 'scissors',
                                        'indoor'), (88, 'teddy bear',
                                                    'indoor'), (89, 'hair drier',
                                                                'indoor'), (90, 'toothbrush',
                                                                            'indoor')))

# Cityscapes labelIds (cityscapesscripts' labels table) of the classes the street scenes draw.
# Ignored in evaluation (trainId 255):
EGO_VEHICLE = 1
STATIC = 4  # clutter
# The 19 training classes, in trainId order:
ROAD = 7
SIDEWALK = 8
BUILDING = 11
WALL = 12
FENCE = 13
POLE = 17
TRAFFIC_LIGHT = 19
TRAFFIC_SIGN = 20
VEGETATION = 21
TERRAIN = 22
SKY = 23
PERSON = 24
RIDER = 25
CAR = 26
TRUCK = 27
BUS = 28
TRAIN = 31
MOTORCYCLE = 32
BICYCLE = 33

CITYSCAPES_CLASSES = ('road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light',
                      'traffic sign', 'vegetation', 'terrain', 'sky', 'person', 'rider', 'car',
                      'truck', 'bus', 'train', 'motorcycle', 'bicycle')
# labelId of each trainId; every other labelId maps to trainId 255.
CITYSCAPES_LABEL_IDS = (ROAD, SIDEWALK, BUILDING, WALL, FENCE, POLE, TRAFFIC_LIGHT, TRAFFIC_SIGN,
                        VEGETATION, TERRAIN, SKY, PERSON, RIDER, CAR, TRUCK, BUS, TRAIN, MOTORCYCLE,
                        BICYCLE)
