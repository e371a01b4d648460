from .config import (InputError, check_cfg_options, check_datasets, load_config, set_data_root,
                     task_of)
from .launch import add_trust_checkpoint_argument, check_launcher, setup_device, trust_checkpoints
from .safe_load import UnsafeCheckpointError, load_checkpoint, trust_checkpoint

__all__ = [
    'InputError', 'check_cfg_options', 'check_datasets', 'load_config', 'set_data_root', 'task_of',
    'add_trust_checkpoint_argument', 'check_launcher', 'setup_device', 'trust_checkpoints',
    'UnsafeCheckpointError', 'load_checkpoint', 'trust_checkpoint'
]
