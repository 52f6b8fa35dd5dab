# One command to set up and run (make lab), one to test (make test): the same locally and in CI.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
STAMP  := $(VENV)/.installed
# TORCH=cpu (default): PyTorch's CPU build (about 190 MB) from PyTorch's CPU wheel index when it answers,
# else from pip's own index. TORCH=default: what plain PyPI resolves (on Linux x86_64 the CUDA build,
# about 2.7 GB). tools/install_torch.py says which it takes.
TORCH  ?= cpu
# The environment's programs first, as if it were activated (nbgrader runs `alembic` by name).
export PATH := $(abspath $(VENV))/bin:$(PATH)
ASSIGNMENTS := $(notdir $(patsubst %/,%,$(wildcard solutions/*/)))

.PHONY: install lab test lint assignments lectures grade benchmark validate student-edition site clean

install: $(STAMP)

# torch first, pinned: an open range would pull a multi-GB CUDA build. Then the package and its dev
# tools at the exact versions of constraints.txt. pip shows its progress (the first install takes minutes).
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "== 1/2 PyTorch (TORCH=$(TORCH))"
	$(PY) tools/install_torch.py $(TORCH)
	@echo "== 2/2 the course package, JupyterLab, nbgrader and the test tools at the versions of constraints.txt"
	$(PIP) install --progress-bar on -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# Jupyter refuses to run as root (containers, CI machines) unless told it may.
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: install
	$(VENV)/bin/jupyter lab --notebook-dir=. $(LAB_FLAGS)

test: install
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .

# Regenerate the student releases (assignments/) from the instructor sources (solutions/).
assignments: install
	for a in $(ASSIGNMENTS); do $(VENV)/bin/nbgrader generate_assignment $$a --force --no-db || exit 1; done

# Re-execute the lecture notebooks in place, top to bottom in a fresh kernel, keeping their outputs.
lectures: install
	$(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=300 lectures/*.ipynb

# Grade every collected submission of an assignment with course-grade (sandboxed where bubblewrap works):
# make grade A=01_perceptron_xor
grade: install
	test -n "$(A)" || (echo "usage: make grade A=01_perceptron_xor" && exit 2)
	$(VENV)/bin/course-grade autograde $(A)

# Run every cell of an assignment and list every failing test (what the Validate button does):
# make validate A=01_perceptron_xor (a copy in work/assignments/ when there is one, else the release)
validate: install
	@test -d "assignments/$(A)" || { echo "usage: make validate A=NN_topic, one of: $(notdir $(wildcard assignments/*))"; exit 2; }
	$(VENV)/bin/nbgrader validate $(firstword $(wildcard work/assignments/$(A)/$(A).ipynb) assignments/$(A)/$(A).ipynb)

# The student edition, a separate repository tree without solutions, hidden tests or the grader:
# make student-edition DIR=../course-student [REPO=https://github.com/OWNER/NAME] (default: pyproject.toml's
# [project.urls] "Student edition")
student-edition: install
	@test -n "$(DIR)" || { echo "usage: make student-edition DIR=../course-student [REPO=https://github.com/OWNER/NAME]"; exit 2; }
	$(PY) -m course_utils.publish edition "$(DIR)" $(if $(REPO),--repo "$(REPO)",)

# The course website in _site/ (OUT=...), built offline from a student edition in a temporary folder:
# make site [OUT=_site] [REPO=https://github.com/OWNER/NAME]
site: install
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(PY) -m course_utils.publish edition "$$tmp/edition" $(if $(REPO),--repo "$(REPO)",) >/dev/null && \
	$(PY) -m course_utils.publish.site "$$tmp/edition" "$(or $(OUT),_site)"

benchmark: install
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
