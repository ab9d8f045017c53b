"""Hints on unsorted faces ("maybe Ann?"): asked of the core for the faces on screen, a screenful
at a time as the grid scrolls, never for every unsorted face at once (albums/hints.py)."""

from __future__ import annotations

from PySide6.QtCore import QObject, QPoint, QTimer

from photoface.core.albums.hints import best_matches
from photoface.gui.delegates import source_item
from photoface.gui.workers import ThreadJob

MAX_ASKED = 400  # faces per request: a big screen of small tiles, and a screenful ahead


def _hint_names(lib, face_ids: list[int]) -> dict[int, str]:
    return {fid: h.name for fid, h in best_matches(lib, face_ids).items()}


class FaceHints(QObject):
    """Fills `hints` (face id -> a name) for the faces a grid shows, and has the grid repaint.

    Attributes:
        hints -- what the delegate draws (shared with it: grid.delegate.hints).
        enabled -- only Unsorted asks; a person's own faces need no hint.
    """

    def __init__(self, lib_dir, grid, parent=None):
        super().__init__(parent)
        self.lib_dir, self.grid = lib_dir, grid
        self.hints: dict[int, str] = {}
        self.enabled = False
        self._asked: set[int] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(120)  # a scroll settles before the core is asked
        self._timer.timeout.connect(self._ask)
        grid.verticalScrollBar().valueChanged.connect(lambda *_: self.enabled and self._timer.start())
        grid.delegate.hints = self.hints

    def reset(self, enabled: bool) -> None:
        """The faces changed (a reload): hints are asked again for what then shows."""
        self.enabled = enabled
        self.hints.clear()
        self._asked.clear()
        if enabled:
            self._timer.start()

    def _visible_rows(self) -> range:
        model = self.grid.model()
        n = model.rowCount() if model is not None else 0
        if n == 0:
            return range(0)
        vp = self.grid.viewport().rect()
        first = self.grid.indexAt(vp.topLeft() + QPoint(8, 8))
        last = self.grid.indexAt(vp.bottomRight() - QPoint(8, 8))
        start = first.row() if first.isValid() else 0
        end = last.row() + 1 if last.isValid() else min(n, start + MAX_ASKED // 2)
        ahead = max(end - start, 1)  # and one screenful on, so a scroll finds them there
        return range(start, min(n, end + ahead, start + MAX_ASKED))

    def _ask(self) -> None:
        model = self.grid.model()
        ids = [source_item(model.index(r, 0)).id for r in self._visible_rows()]
        ids = [i for i in ids if i not in self._asked]
        if not ids:
            return
        self._asked.update(ids)
        job = ThreadJob(self.lib_dir, lambda lib: _hint_names(lib, ids), owner=self)
        job.signals.finished.connect(self._arrived)
        job.start()

    def _arrived(self, names: dict[int, str]) -> None:
        if self.enabled and names:
            self.hints.update((k, v) for k, v in names.items() if k in self._asked)
            self.grid.viewport().update()
