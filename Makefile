# Two entry points do all the set-up on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.skd_det-installed
DEMO_DATA ?= data/synthetic/voc
DEMO_CONFIG ?= configs/frskd/frskd_retinanet_r18_fpn_cpu_voc0712.py
DEMO_WORK_DIR ?= work_dirs/demo
# 8 of the config's 12 epochs (cosine schedule shortened to match) on the demo's 250 images
# (tools/misc/demo.py) fit the budget on 2 quiet cores; on a slower machine training stops at an
# epoch end to keep DEMO_BUDGET_MIN minutes
DEMO_EPOCHS ?= 8
DEMO_BUDGET_MIN ?= 10
PYTEST_ARGS ?=
# pytest-xdist workers (0: one process); loadgroup keeps each module that trains once for all
# its tests (xdist_group) on one worker
TEST_WORKERS ?= 2
PYTEST := $(PY) -m pytest tests -n $(TEST_WORKERS) --dist loadgroup

.PHONY: install demo test test-fast lint format clean-demo

# Re-runs the (idempotent) installer whenever what it installs changes.
$(STAMP): tools/setup_env.sh requirements/lock.txt requirements/runtime.txt setup.py
	bash tools/setup_env.sh $(VENV)
	touch $(STAMP)

install: $(STAMP)

# data (cached), FRSKD training, student export, evaluation of the export without skd_det
demo: $(STAMP)
	$(PY) tools/misc/demo.py --config $(DEMO_CONFIG) --data $(DEMO_DATA) --work-dir $(DEMO_WORK_DIR) \
	  --epochs $(DEMO_EPOCHS) --budget-min $(DEMO_BUDGET_MIN)

# the whole suite (CI)
test: $(STAMP)
	$(PYTEST) $(PYTEST_ARGS)

# the edit loop: every student family, teacher part and loss built and stepped; no tool run, no
# seed study, one det and one seg config (setup.cfg: the `slow` marker)
test-fast: $(STAMP)
	$(PYTEST) -m 'not slow' $(PYTEST_ARGS)

# flake8 + isort + yapf with setup.cfg's settings (OpenMMLab's set-up); `make format` fixes
LINT_PATHS := skd_det tools tests configs setup.py
lint: $(STAMP)
	$(PY) -m flake8 $(LINT_PATHS)
	$(PY) -m isort --check-only --diff $(LINT_PATHS)
	$(PY) -m yapf --diff --recursive --parallel $(LINT_PATHS)

format: $(STAMP)
	$(PY) -m isort $(LINT_PATHS)
	$(PY) -m yapf --in-place --recursive --parallel $(LINT_PATHS)

clean-demo:
	rm -rf $(DEMO_WORK_DIR)
