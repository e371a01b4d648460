# Two entry points do all the set-up on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.skd_det-installed
DEMO_DATA ?= data/synthetic/voc
DEMO_CONFIG ?= configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py
DEMO_WORK_DIR ?= work_dirs/demo
# 9 of the config's 12 epochs (cosine schedule shortened to match) keep the demo under 10 min
DEMO_EPOCHS ?= 9
PYTEST_ARGS ?=

.PHONY: install demo test lint format clean-demo

# Re-runs the (idempotent) installer whenever what it installs changes.
$(STAMP): tools/setup_env.sh requirements/lock.txt requirements/runtime.txt setup.py
	bash tools/setup_env.sh $(VENV)
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@if [ ! -f $(DEMO_DATA)/.complete ]; then \
	  $(PY) tools/misc/make_synthetic_dataset.py voc $(DEMO_DATA) --seed 0 --difficulty easy --overwrite \
	  && touch $(DEMO_DATA)/.complete; \
	else echo "synthetic VOC already in $(DEMO_DATA)"; fi
	$(PY) tools/train.py $(DEMO_CONFIG) --data-root $(DEMO_DATA)/VOCdevkit --work-dir $(DEMO_WORK_DIR) \
	  --cfg-options train_cfg.max_epochs=$(DEMO_EPOCHS) train_cfg.val_interval=$(DEMO_EPOCHS) \
	  param_scheduler.1.end=$(DEMO_EPOCHS)
	$(PY) tools/test.py $(DEMO_CONFIG) "$$(cat $(DEMO_WORK_DIR)/last_checkpoint)" --data-root $(DEMO_DATA)/VOCdevkit \
	  --work-dir $(DEMO_WORK_DIR)/test

test: $(STAMP)
	$(PY) -m pytest tests $(PYTEST_ARGS)

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
