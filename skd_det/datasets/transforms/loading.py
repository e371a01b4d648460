# Copyright (c) skd_det contributors.
"""Image loading that names a corrupt file instead of a traceback (or a silently grey image).

mmcv's ``LoadImageFromFile`` fails on a damaged image with an ``AssertionError`` ('failed to
load image: PATH') or, for an empty file, a ``cv2.error`` without the file's name, from deep
inside a DataLoader worker. OpenCV 4 even decodes a JPEG cut short without an error: libjpeg
fills the missing rows with grey and only warns on stderr (OpenCV 5 refuses it). :func:`read_image`
decodes exactly as mmcv does and adds the end-of-image check that OpenCV 4 skips;
:class:`CheckedLoadImageFromFile` and ``tools/misc/check_dataset.py`` share it.
"""
import logging
from typing import Optional, Tuple

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmengine.logging import print_log
from mmengine.registry import TRANSFORMS

from skd_det.utils.data_faults import HINT, CorruptDataError

JPEG_SOI, JPEG_SOS, JPEG_EOI = b'\xff\xd8', b'\xff\xda', b'\xff\xd9'


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f'{type(e).__name__}: {text[0]}' if text else type(e).__name__


def jpeg_truncation(content: bytes) -> Optional[str]:
    """Why a JPEG is cut short, or None.

    Inside a JPEG's entropy-coded data every 0xFF byte is followed by 0x00 or a restart marker,
    so an end-of-image marker (FF D9) after the last start-of-scan (FF DA) exists exactly when
    the last scan is complete; bytes appended after it (some cameras add some) are allowed.
    """
    if not content.startswith(JPEG_SOI):
        return None
    sos = content.rfind(JPEG_SOS)
    if sos < 0 or content.find(JPEG_EOI, sos + 2) < 0:
        return (f'truncated JPEG ({len(content)} bytes, no end-of-image marker after its last '
                'scan): an interrupted copy or download')
    return None


def read_image(path: str,
               flag: str = 'color',
               backend: str = 'cv2',
               backend_args: Optional[dict] = None,
               file_client_args: Optional[dict] = None) -> Tuple[Optional[np.ndarray], str]:
    """Read and decode an image as mmcv's ``LoadImageFromFile`` does (``fileio.get`` then
    ``mmcv.imfrombytes``).

    Returns:
        tuple: ``(image, '')``, or ``(None, reason)`` when the file is missing, unreadable,
        empty, not decodable or a truncated JPEG.
    """
    try:
        if file_client_args is not None:
            content = fileio.FileClient.infer_client(file_client_args, path).get(path)
        else:
            content = fileio.get(path, backend_args=backend_args)
    except FileNotFoundError:
        return None, 'file does not exist'
    except Exception as e:  # permissions, I/O errors, a remote backend's errors
        return None, f'cannot be read ({_first_line(e)})'
    if not content:
        return None, 'empty file (0 bytes)'
    # a cut JPEG is named as such whichever decoder refuses (or, OpenCV 4, accepts) it
    truncated = jpeg_truncation(content)
    try:
        img = mmcv.imfrombytes(content, flag=flag, backend=backend)
    except Exception as e:  # cv2.error, PIL's OSError 'image file is truncated', ...
        return None, truncated or f'cannot be decoded ({_first_line(e)})'
    if img is None or img.size == 0:  # cv2.imdecode's answer to bytes it cannot decode
        return None, truncated or (f'cannot be decoded ({len(content)} bytes: not an image, '
                                   'or a damaged one)')
    return (None, truncated) if truncated else (img, '')


@TRANSFORMS.register_module()
class CheckedLoadImageFromFile(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` (same arguments and outputs) that stops on a missing or
    damaged image with :class:`~skd_det.utils.data_faults.CorruptDataError` naming the file,
    or skips it.

    ``tools/train.py`` puts it in place of ``LoadImageFromFile`` in the train and val
    pipelines (:func:`~skd_det.utils.data_faults.guard_data_loading`).

    Args:
        skip_corrupt (bool): Log a warning naming the file and return None instead of raising:
            mmengine's ``BaseDataset`` then trains on another, random sample (up to its
            ``max_refetch`` tries). Only for training datasets: a test-mode dataset refuses a
            skipped sample. mmcv's ``ignore_empty=True`` skips the same way. Defaults to False.
        *args, **kwargs: mmcv ``LoadImageFromFile``'s.
    """

    def __init__(self, *args, skip_corrupt: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.skip_corrupt = skip_corrupt

    def transform(self, results: dict) -> Optional[dict]:
        filename = results['img_path']
        img, reason = read_image(filename, self.color_type, self.imdecode_backend,
                                 self.backend_args, self.file_client_args)
        if img is None:
            if self.skip_corrupt or self.ignore_empty:
                print_log(
                    f'skipped a corrupt image: {filename}: {reason}; training goes on with '
                    'another sample',
                    logger='current',
                    level=logging.WARNING)
                return None
            raise CorruptDataError(f'corrupt image {filename}: {reason} ({HINT})')
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return f'{super().__repr__()[:-1]}, skip_corrupt={self.skip_corrupt})'
