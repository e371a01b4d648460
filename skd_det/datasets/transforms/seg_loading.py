# Copyright (c) skd_det contributors.
"""mmseg's ``LoadAnnotations`` that names a damaged label map (imports mmseg: not imported by
``skd_det.datasets.transforms``; :func:`~skd_det.utils.data_faults.guard_data_loading` imports
it for mmseg runs).

A segmentation run reads every label map mid-epoch; a truncated PNG stops mmseg's loader with
``OSError: image file is truncated`` from a DataLoader worker, without the file's name.
"""
import logging
from typing import Optional

from mmengine.logging import print_log
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import TRANSFORMS

from skd_det.utils.data_faults import HINT, CorruptDataError
from .loading import read_image


@TRANSFORMS.register_module()
class CheckedLoadAnnotations(LoadAnnotations):
    """mmseg ``LoadAnnotations`` (same arguments and outputs) that stops on a missing or
    damaged label map with :class:`~skd_det.utils.data_faults.CorruptDataError` naming the
    file, or with ``skip_corrupt`` logs a warning and skips the sample (as
    :class:`~skd_det.datasets.transforms.CheckedLoadImageFromFile` does)."""

    def __init__(self, *args, skip_corrupt: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.skip_corrupt = skip_corrupt

    def _load_seg_map(self, results: dict) -> None:
        try:
            super()._load_seg_map(results)
        except Exception:
            path = results['seg_map_path']
            # re-read only on failure (free on the good path) and keep errors that are not
            # the file's (e.g. mmseg's reduce_zero_label assertion) as they are
            _, reason = read_image(path, 'unchanged', self.imdecode_backend, self.backend_args)
            if not reason:
                raise
            raise CorruptDataError(f'corrupt segmentation map {path}: {reason} ({HINT})') from None

    def transform(self, results: dict) -> Optional[dict]:
        try:
            return super().transform(results)
        except CorruptDataError as e:
            if not self.skip_corrupt:
                raise
            print_log(
                f'skipped a corrupt sample: {str(e).replace(f" ({HINT})", "")}; training goes '
                'on with another sample',
                logger='current',
                level=logging.WARNING)
            return None

    def __repr__(self) -> str:
        return f'{super().__repr__()[:-1]}, skip_corrupt={self.skip_corrupt})'
