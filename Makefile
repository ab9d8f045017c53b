# The two commands a newcomer needs: `make run` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test venv bench clean screenshot

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# Starts the app (the window); `make run ARGS="~/Pictures"` also scans that folder. It first checks
# the system libraries Qt's X11 platform needs and names any missing (photoface/gui/qt_libs.py).
run: $(STAMP)
	@$(BIN)/python -m photoface.gui.qt_libs
	$(BIN)/photoface $(ARGS)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python -m pytest $(PYTEST_ARGS)

# The README's image: the People view on lfw_subset with every face pixelated (docs/README.md).
screenshot: $(STAMP)
	rm -f test-artifacts/screens/readme-people-view.png
	QT_QPA_PLATFORM=offscreen TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python -m pytest -q tests/gui/test_readme_screenshot.py
	mkdir -p docs
	cp test-artifacts/screens/readme-people-view.png docs/people-view.png

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
