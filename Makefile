# The course's commands. `make lab` to learn, `make test` to check everything.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: lab test lint student grade bench bench-grader clean-cache

# JupyterLab serves the repository root (notebooks/ and solutions/ both reachable) and opens on
# notebooks/. As root (containers) it needs --allow-root, added here. Extra flags go in LAB_ARGS,
# e.g. `make lab LAB_ARGS="--no-browser --port=8899"`.
LAB_ARGS ?=
LAB_ROOT_FLAG := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)

lab: $(VENV)/.installed-lab
	$(BIN)/jupyter lab --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/notebooks \
		$(LAB_ROOT_FLAG) $(LAB_ARGS)

# The notebooks run in fast mode unless VAE_COURSE_FAST is set (`make test VAE_COURSE_FAST=0`: full mode).
test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/python -m vae_course.instructor.student --check
	VAE_COURSE_FAST="$${VAE_COURSE_FAST:-1}" $(BIN)/pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

# Instructors: regenerate the student notebooks from solutions/.
student: $(VENV)/.installed-lab
	$(BIN)/python -m vae_course.instructor.student

# Instructors: grade a folder of submitted notebooks, e.g. `make grade SUBMISSIONS=submissions`.
SUBMISSIONS ?= submissions
JOBS ?= 2
grade: $(VENV)/.installed-lab
	$(BIN)/python -m vae_course.instructor.grade $(SUBMISSIONS) --out grades.csv --jobs $(JOBS)

# The grader's speed: 20 copies of notebook 01 at --jobs 1 and 2.
bench-grader: $(VENV)/.installed-lab
	$(BIN)/python -m vae_course.instructor.grade_bench

bench: $(VENV)/.installed-lab
	$(BIN)/python -m vae_course.bench

clean-cache:
	rm -rf .cache

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

$(VENV)/.installed-lab: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install -e ".[test]"
	touch $@ $(VENV)/.installed-lab
