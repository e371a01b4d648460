from .config import (InputError, check_cfg_options, check_datasets, load_config, set_data_root,
                     task_of)
from .launch import allow_full_checkpoint_load, check_launcher, setup_device

__all__ = [
    'InputError', 'check_cfg_options', 'check_datasets', 'load_config', 'set_data_root', 'task_of',
    'allow_full_checkpoint_load', 'check_launcher', 'setup_device'
]
