# The course's commands. `make lab` to learn, `make test` to check everything.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: hub test-hub lab test test-browser screenshots demo book lint student release grade bench bench-full bench-course bench-grader clean-cache

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

# The demos in a real browser (JupyterLab and Voila, Debian's chromium: apt-get install chromium);
# skipped, with the reason, where no chromium is found. Fast mode unless VAE_COURSE_FAST says otherwise.
test-browser: $(VENV)/.installed-test
	VAE_COURSE_FAST="$${VAE_COURSE_FAST:-1}" $(BIN)/pytest -m browser tests/browser

# A class on a real JupyterHub on this machine, end to end, as root (tests/test_hub.py): the classroom's
# users, exchange and environments are created, the cycle release -> feedback runs, all is removed.
# Skipped, with the reason, without root or configurable-http-proxy (npm install -g configurable-http-proxy).
test-hub: $(VENV)/.installed-hub
	VAE_COURSE_FAST=1 $(BIN)/python -m pytest -m hub -s -p no:cacheprovider tests/test_hub.py

# A class on this machine for a person to try (as root): classroom/setup.py (users vaehub-instructor,
# vaehub-student1, vaehub-student2; exchange; release 05; environments), then JupyterHub on
# http://127.0.0.1:$(HUB_PORT) (the proxy: configurable-http-proxy from npm). Ctrl-C stops it.
# `$(BIN)/python classroom/setup.py --remove` removes the class.
HUB_PORT ?= 8000
hub: $(VENV)/.installed-hub
	@command -v configurable-http-proxy >/dev/null || { echo "install the proxy first:" \
		"apt-get install nodejs npm && npm install -g configurable-http-proxy"; exit 1; }
	$(BIN)/python classroom/setup.py
	@echo "JupyterHub: http://127.0.0.1:$(HUB_PORT)"; \
	echo "  vaehub-instructor (admin), password: $$(cat /srv/vaehub/hub/instructor-password)"; \
	echo "  vaehub-student1, vaehub-student2, the class password: $$(cat /srv/vaehub/hub/class-password)"
	cd /srv/vaehub/hub && VAEHUB_PORT=$(HUB_PORT) VAE_COURSE_DATA="$${VAE_COURSE_DATA:-$(CURDIR)/data}" \
		$(CURDIR)/$(BIN)/python -m jupyterhub -f $(CURDIR)/classroom/jupyterhub_config.py

# The README's pictures: the browser tests in full mode (trains the full models once), into docs/.
screenshots: $(VENV)/.installed-test
	VAE_COURSE_FAST=0 VAE_COURSE_SCREENSHOTS=docs/screenshots $(BIN)/pytest -m browser tests/browser

# Presenter mode: the demos in demos/ served by Voila without code, offline, kernels started ahead.
# The demos' two models are trained (or found in the cache) first, so that a room never watches a
# progress bar. Extra flags in DEMO_ARGS, e.g. `make demo DEMO_ARGS="--port=8866 --no-browser"`.
DEMO_ARGS ?=
demo: $(VENV)/.installed-test
	$(BIN)/python -m vae_course.demos.presenter
	JUPYTER_PATH="$(CURDIR)/share/jupyter" JUPYTER_CONFIG_PATH="$(CURDIR)/share/jupyter/config" \
		$(BIN)/voila --template=presenter --preheat_kernel=True \
		demos $(DEMO_ARGS)

# The static site: the README and the solved notebooks (saved outputs, not re-run) as HTML pages,
# built offline by Sphinx + MyST-NB into build/book/ (open build/book/index.html).
book: $(VENV)/.installed-test
	$(BIN)/python book/build.py build/book

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

# Instructors: regenerate the student notebooks from solutions/.
student: $(VENV)/.installed-lab
	$(BIN)/python -m vae_course.instructor.student

# Instructors: what a class gets for one assignment, without its answers, e.g.
# `make release ASSIGNMENT=05` writes releases/05/: the student notebook, a wheel, a README.
release: $(VENV)/.installed-lab
	$(if $(ASSIGNMENT),,$(error say which assignment: make release ASSIGNMENT=05))
	$(BIN)/python -m vae_course.instructor.release $(ASSIGNMENT) --out releases/$(ASSIGNMENT)

# Instructors: grade a folder of submitted notebooks of one assignment, e.g.
# `make grade SUBMISSIONS=submissions ASSIGNMENT=05` (needs bubblewrap: apt-get install bubblewrap).
SUBMISSIONS ?= submissions
JOBS ?= 2
ASSIGNMENT ?=
grade: $(VENV)/.installed-lab
	$(BIN)/python -m vae_course.instructor.grade $(SUBMISSIONS) --out grades.csv --jobs $(JOBS) \
		$(if $(ASSIGNMENT),--assignment $(ASSIGNMENT))

# The grader's speed: 20 copies of notebook 01 at --jobs 1 and 2.
bench-grader: $(VENV)/.installed-lab
	$(BIN)/python -m vae_course.instructor.grade_bench

# docs/benchmark.md's table: throughput and efficiency (torch.compile too), time to 106 nats, a quick
# estimate of the best VAE in 5 minutes, the whole course in fast mode (about 15 minutes on 2 cores).
# bench-course: every solution notebook in fast mode and in full mode from a cold model cache, and
# nothing else (about half an hour).
bench: $(VENV)/.installed-lab
	$(BIN)/python -m vae_course.bench --page docs/benchmark.md

# Part 3 under Burda et al.'s (2016) protocol: the recipes chosen on held-out training images,
# -log p(x) with K = 5,000 on all 10,000 test images, three seeds of two networks and an IWAE (hours
# on 2 cores; resumable: a rerun measures only what docs/benchmark.json lacks). SEEDS=0 for one seed.
SEEDS ?= 0,1,2
bench-full: $(VENV)/.installed-lab
	$(BIN)/python -m vae_course.bench.literature --seeds $(SEEDS) --page docs/benchmark.md

bench-course: $(VENV)/.installed-lab
	$(BIN)/python -m vae_course.bench --course-only --page docs/benchmark.md

clean-cache:
	rm -rf .cache

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

$(VENV)/.installed-lab: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install -e .
	touch $@

$(VENV)/.installed-hub: $(VENV)/.installed-test
	$(BIN)/python -m pip install -e ".[test,hub]"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install -e ".[test]"
	touch $@ $(VENV)/.installed-lab
