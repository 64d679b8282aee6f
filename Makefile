# The course's commands. `make lab` to learn, `make test` to check everything.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: lab test lint student grade bench clean-cache

lab: $(VENV)/.installed-lab
	$(BIN)/jupyter lab notebooks

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/python -m vae_course.student --check
	$(BIN)/pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

# Instructors: regenerate the student notebooks from solutions/.
student: $(VENV)/.installed-lab
	$(BIN)/python -m vae_course.student

# Instructors: grade a folder of submitted notebooks, e.g. `make grade SUBMISSIONS=submissions`.
SUBMISSIONS ?= submissions
grade: $(VENV)/.installed-lab
	$(BIN)/python -m vae_course.grade $(SUBMISSIONS) --out grades.csv

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
