"""Corrupt data found mid-run: the fault tools/train.py reports in one line, and the config
swap that puts the checked loaders into a run's pipelines.

A damaged image among thousands is only read when its sample comes up, hours into a run, and
plain mmcv ``LoadImageFromFile`` then stops the run with a traceback from a DataLoader worker
(no hang, with or without workers): ``AssertionError: failed to load image: PATH`` for a cut
file (OpenCV 5; OpenCV 4 decodes a cut JPEG with grey rows and trains on it), ``cv2.error:
!buf.empty()`` without the file's name for an empty one; mmseg's ``LoadAnnotations`` stops on a
cut label map with ``OSError: image file is truncated``, no name either.
:func:`guard_data_loading` swaps the checked loaders
(:class:`~skd_det.datasets.transforms.CheckedLoadImageFromFile`,
:class:`~skd_det.datasets.transforms.seg_loading.CheckedLoadAnnotations`) into the run's
dataloaders; they raise :class:`CorruptDataError` naming the file (tools/train.py prints it with
the last complete checkpoint), or with ``skip_corrupt`` log a warning and let mmengine's
``BaseDataset`` draw another sample (its ``max_refetch`` retry for a pipeline that returns
None).

Nothing here imports mmdet or mmseg.
"""
from .checkpoint import TrainingFault
from .config import iter_datasets

# config type -> (checked type, the module that registers it, the tasks whose type it is)
_LOADERS = {
    'LoadImageFromFile':
    ('CheckedLoadImageFromFile', 'skd_det.datasets.transforms', ('det', 'seg')),
    'LoadAnnotations':
    ('CheckedLoadAnnotations', 'skd_det.datasets.transforms.seg_loading', ('seg', )),
}
HINT = ('tools/misc/check_dataset.py CONFIG lists every broken file; tools/train.py '
        '--skip-corrupt-images skips such training samples')


class CorruptDataError(TrainingFault):
    """A sample's file is missing, unreadable or damaged; the message names the file.

    PyTorch re-raises an exception from a DataLoader worker as ``type(e)(text)`` where the text
    is ``'Caught CorruptDataError in DataLoader worker process 0.\\nOriginal Traceback ...'``;
    the constructor keeps only the original one-line message, so the tools print the same line
    whatever ``num_workers`` is.
    """

    def __init__(self, message: str = ''):
        super().__init__(_unwrap_worker_message(str(message), type(self).__name__))


def _unwrap_worker_message(message: str, name: str) -> str:
    if not (message.startswith('Caught ') and '\nOriginal Traceback' in message):
        return message
    marker = f'{name}: '
    for line in reversed(message.strip().splitlines()):
        if marker in line:
            return line.split(marker, 1)[1]
    return message


def guard_data_loading(runner, skip_corrupt: bool = False) -> int:
    """Put the checked loaders into the train and val dataloaders ``runner`` will build:
    ``LoadImageFromFile`` becomes ``CheckedLoadImageFromFile`` and, for mmseg, mmseg's
    ``LoadAnnotations`` becomes ``CheckedLoadAnnotations``, with the same arguments, so a
    corrupt image or label map stops the run with one line naming the file, or with
    ``skip_corrupt`` (train pipelines only: mmengine refuses a skipped test-mode sample) is
    skipped with a warning.

    Call it between ``Runner.from_cfg`` and ``runner.train()`` (tools/train.py): the runner has
    dumped the config into the work dir and keeps it for the checkpoints' meta by then, so those
    keep the config's own loaders and an exported student config stays plain mmdet/mmseg; the
    dataloaders are built from the runner's dataloader dicts when training starts, before any
    DataLoader worker forks. mmdet's annotations (VOC XML, COCO JSON) are parsed when the dataset
    is built, before training, where :func:`~skd_det.utils.check_datasets` names a broken one.

    Returns:
        int: the number of loaders swapped (or, already checked in the config, updated).
    """
    import importlib
    task = 'seg' if runner.cfg.get('default_scope') == 'mmseg' else 'det'
    loaders = {old: new for old, new in _LOADERS.items() if task in new[2]}
    loaders.update({new: (new, module, tasks) for new, module, tasks in loaders.values()})
    swapped = trained = 0
    modules = set()
    # mmengine's Runner keeps the dataloader configs it builds from as these attributes
    for attr, skip in (('_train_dataloader', skip_corrupt), ('_val_dataloader', False)):
        for _, ds in iter_datasets(getattr(runner, attr, None), attr):
            pipeline = ds.get('pipeline')
            if not isinstance(pipeline, list):
                continue
            for i, step in enumerate(pipeline):
                name = step.get('type') if isinstance(step, dict) else None
                if not isinstance(name, str) or name.split('.')[-1] not in loaders:
                    continue
                new, module, _ = loaders[name.split('.')[-1]]
                # a new dict: a config may share one step between its train and val pipelines
                step = pipeline[i] = type(step)(step, type=new)
                if skip:
                    step['skip_corrupt'] = True
                modules.add(module)
                swapped += 1
                trained += attr == '_train_dataloader'
    for module in sorted(modules):
        importlib.import_module(module)  # registers the checked loaders
    if skip_corrupt and not trained:
        runner.logger.warning('--skip-corrupt-images: no train pipeline loads images with '
                              'LoadImageFromFile; nothing is checked or skipped')
    return swapped
