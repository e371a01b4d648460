# Copyright (c) skd_det contributors.
from .lgd import (LGDAppearanceEncoder, LGDKnowledgeMapper, LGDLabelEncoder, LGDRelationAdapter,
                  LGDStudentAdapter)

__all__ = [
    'LGDLabelEncoder', 'LGDAppearanceEncoder', 'LGDRelationAdapter', 'LGDKnowledgeMapper',
    'LGDStudentAdapter'
]
