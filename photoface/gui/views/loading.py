"""Dialogs whose content is read from the library off the UI thread (the review dialogs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from photoface.gui import prompts
from photoface.gui.workers import ThreadJob


class LoadsInBackground:
    """Mix into a QDialog that has a `status` label and an `_arrived(result)` method.

    `loading` is true until the result arrives or the load fails; a failure is said in `status`
    and in an error box titled `error_title`, never as a crash.
    """

    loading = True
    error_title = "Suggestions"

    def start_loading(self, lib_dir: Path, load: Callable[[Any], Any]) -> None:
        """Runs load(library) in a worker thread; its result goes to `_arrived`."""
        job = ThreadJob(lib_dir, load, owner=self)
        job.signals.finished.connect(self._loaded)
        job.signals.failed.connect(self._load_failed)
        job.start()

    def _loaded(self, result) -> None:
        self.loading = False
        self._arrived(result)

    def _load_failed(self, kind: str, message: str, details: str) -> None:
        self.loading = False
        self.status.setText("Suggestions are not available.")
        prompts.show_error(self, self.error_title, message, details)
