# Copyright (c) skd_det contributors.
"""Training-only building blocks of LGD.

"LGD: Label-guided Self-distillation for Object Detection" (Zhang et al.,
AAAI 2022, https://arxiv.org/abs/2109.11496), after the authors' code
(megvii-research/LGD, ``models/customized_detectors/dynamic_teacher/``). The
teacher representation is built from the ground truth and the student's own
FPN features::

    descriptors (M, 4+C) --LGDLabelEncoder--------> label emb.  (M, D)
    FPN level l (N, C_in, H_l, W_l) --LGDAppearanceEncoder--> (L, M, D)
    LGDRelationAdapter(query=appearance, key=value=label)    -> (L, M, D)
    LGDKnowledgeMapper: scatter into the boxes, refine -> L x (N, C, H_l, W_l)

The M objects of a batch are concatenated image after image; ``counts``
gives the number of objects of each image (every image has at least one,
see :meth:`LGDLabelEncoder.build_objects`); with the context object on, the
last object of every image is its context object. No module mixes objects
of different images: layer and group norms without batch statistics, the
global max per image, attention limited to the objects of one image.

One module per file; pure torch, registered in mmengine's root ``MODELS`` registry.
"""
from .appearance_encoder import LGDAppearanceEncoder
from .knowledge_mapper import LGDKnowledgeMapper
from .label_encoder import LGDLabelEncoder
from .relation_adapter import LGDRelationAdapter
from .student_adapter import LGDStudentAdapter
from .utils import (block_diagonal_mask, box_cell_masks, box_overlap_masks, image_index,
                    level_sizes, max_per_image)

__all__ = [
    'LGDLabelEncoder', 'LGDAppearanceEncoder', 'LGDRelationAdapter', 'LGDKnowledgeMapper',
    'LGDStudentAdapter', 'block_diagonal_mask', 'box_cell_masks', 'box_overlap_masks',
    'image_index', 'level_sizes', 'max_per_image'
]
