import os.path as osp
from setuptools import find_packages, setup


def version():
    scope = {}
    with open(osp.join(osp.dirname(__file__), 'skd_det', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def requirements(path):
    with open(osp.join(osp.dirname(__file__), path)) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith('#')]


setup(
    name='skd_det',
    version=version(),
    description='Self-knowledge distillation (FRSKD, LGD, blur-robust S-KD) for mmdet and mmseg',
    long_description=open('README.md').read() if osp.exists('README.md') else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['skd_det', 'skd_det.*']),
    python_requires='>=3.8',
    # torch/torchvision are left to the user (CUDA build choice); mmcv must match that torch.
    install_requires=requirements('requirements/runtime.txt'),
    license='Apache-2.0',
)
