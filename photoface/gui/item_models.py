"""Item models over person and face ids; views fetch thumbnails lazily through the delegate.

Drags carry ids as JSON under two MIME types; a drop onto a person asks the window (through
the `faces_dropped` / `persons_dropped` signals) to move faces or merge persons.
"""

from __future__ import annotations

import json

from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtCore import QAbstractListModel, QMimeData, QModelIndex, QSortFilterProxyModel, Qt, Signal

from photoface.core.text import plural
from photoface.core.library.people import FaceInfo, PersonSummary
from photoface.gui.thumbnails import THUMB_LOGICAL_PX

FACES_MIME = "application/x-photoface-faces"
PERSONS_MIME = "application/x-photoface-persons"

IdRole = Qt.UserRole + 1
ItemRole = Qt.UserRole + 2   # the PersonSummary / FaceInfo itself
FaceIdRole = Qt.UserRole + 3  # the face to show (a person's cover)


def ids_from_mime(mime: QMimeData, kind: str) -> list[int]:
    if not mime.hasFormat(kind):
        return []
    try:
        return [int(i) for i in json.loads(bytes(mime.data(kind)).decode())]
    except (ValueError, TypeError):
        return []


class _DropModel(QAbstractListModel):
    """What both models share: a list of items with ids, dragged as ids, dropped on persons."""

    faces_dropped = Signal(list, int)    # face ids, onto person id
    persons_dropped = Signal(list, int)  # person ids, onto person id
    mime_kind = ""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.items: list = []
        self._row_of: dict[int, int] = {}

    def set_items(self, items: list) -> None:
        self.beginResetModel()
        self.items = list(items)
        self._row_of = {it.id: r for r, it in enumerate(self.items)}
        self.endResetModel()

    def row_of(self, item_id: int) -> int | None:
        return self._row_of.get(item_id)

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.items)

    def flags(self, index):
        base = super().flags(index)
        if not index.isValid():
            return base | Qt.ItemIsDropEnabled
        return base | Qt.ItemIsDragEnabled | self._item_drop_flag(index)

    def _item_drop_flag(self, index):
        return Qt.NoItemFlags

    def supportedDragActions(self):
        return Qt.MoveAction

    def supportedDropActions(self):
        return Qt.MoveAction | Qt.CopyAction

    def mimeTypes(self) -> list[str]:
        return [FACES_MIME, PERSONS_MIME]

    def mimeData(self, indexes) -> QMimeData:
        mime = QMimeData()
        ids = sorted({self.items[i.row()].id for i in indexes if i.isValid()})
        mime.setData(self.mime_kind, json.dumps(ids).encode())
        return mime

    def canDropMimeData(self, data, action, row, column, parent) -> bool:
        return False

    def dropMimeData(self, data, action, row, column, parent) -> bool:
        return False


_BLANK: list[QIcon] = []


def _blank_icon() -> QIcon:
    """A transparent thumbnail-sized icon (made on first use: a QPixmap needs the application)."""
    if not _BLANK:
        pm = QPixmap(THUMB_LOGICAL_PX, THUMB_LOGICAL_PX)
        pm.fill(Qt.transparent)
        _BLANK.append(QIcon(pm))
    return _BLANK[0]


class PeopleModel(_DropModel):
    """Person albums (PersonSummary rows, in list_people's order)."""

    def set_items(self, items: list) -> None:
        self._icons = {}
        super().set_items(items)

    mime_kind = PERSONS_MIME
    _icons: dict = {}  # replaced per instance in set_items
    cache = None  # a ThumbnailCache: cover faces as DecorationRole, for list-mode views

    _ROLES = frozenset(int(r) for r in (Qt.DisplayRole, Qt.DecorationRole, Qt.ToolTipRole,
                                         Qt.AccessibleTextRole, IdRole, FaceIdRole, ItemRole))

    def data(self, index, role=Qt.DisplayRole):
        # The sidebar's delegate asks ~10 roles a row on every repaint; most are not served here.
        if role not in self._ROLES or not index.isValid():
            return None
        p: PersonSummary = self.items[index.row()]
        if role == Qt.DisplayRole:
            return p.label
        if role == Qt.DecorationRole and self.cache is not None and p.cover_face_id is not None:
            icon = self._icons.get(p.cover_face_id)
            if icon is None:
                pm = self.cache.pixmap(p.cover_face_id)
                if pm is None:
                    # A blank icon until the face loads: a list with uniform item sizes measures
                    # its rows once, from the first row, and must measure them with an icon.
                    return _blank_icon()
                icon = self._icons[p.cover_face_id] = QIcon(pm)
            return icon
        if role == Qt.ToolTipRole:
            return f"{p.label}: {plural(p.faces, 'face')} ({p.confirmed} confirmed)"
        if role == Qt.AccessibleTextRole:
            return f"{p.label}, {plural(p.faces, 'face')}"
        if role == IdRole:
            return p.id
        if role == FaceIdRole:
            return p.cover_face_id
        if role == ItemRole:
            return p
        return None

    def _item_drop_flag(self, index):
        return Qt.ItemIsDropEnabled

    def canDropMimeData(self, data, action, row, column, parent) -> bool:
        return parent.isValid() and row == -1 and (data.hasFormat(FACES_MIME) or data.hasFormat(PERSONS_MIME))

    def dropMimeData(self, data, action, row, column, parent) -> bool:
        if not self.canDropMimeData(data, action, row, column, parent):
            return False
        target = self.items[parent.row()].id
        faces = ids_from_mime(data, FACES_MIME)
        persons = [p for p in ids_from_mime(data, PERSONS_MIME) if p != target]
        if faces:
            self.faces_dropped.emit(faces, target)
        elif persons:
            self.persons_dropped.emit(persons, target)
        # False: the source keeps its rows; the window reloads every view after the change.
        return False


class FacesModel(_DropModel):
    """Faces (FaceInfo rows). `marks` holds per-face review marks ("yes"/"no") for the review mode."""

    mime_kind = FACES_MIME

    def __init__(self, parent=None):
        super().__init__(parent)
        self.marks: dict[int, str] = {}

    def set_items(self, items: list) -> None:
        self.marks = {}
        super().set_items(items)

    def set_mark(self, face_id: int, mark: str | None) -> None:
        if mark is None:
            self.marks.pop(face_id, None)
        else:
            self.marks[face_id] = mark
        row = self.row_of(face_id)
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx)

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        f: FaceInfo = self.items[index.row()]
        if role == Qt.DisplayRole:
            return f.person_name or ""
        if role == Qt.ToolTipRole:
            state = {"confirmed": "confirmed", "accepted": "accepted: in this album when you named, merged or hid it (not confirmed one by one)",
                     "suggested": "suggested (not yet confirmed)"}.get(f.state, f.state)
            return f"{f.path or 'photo not on disk'}\n{f.taken_at or 'date unknown'} · {state}"
        if role == Qt.AccessibleTextRole:
            return f"face {f.id}, {f.state}"
        if role in (IdRole, FaceIdRole):
            return f.id
        if role == ItemRole:
            return f
        return None


class NameFilter(QSortFilterProxyModel):
    """Case-insensitive "contains" filter on the display name."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setFilterCaseSensitivity(Qt.CaseInsensitive)
        self.setFilterRole(Qt.DisplayRole)

    def set_text(self, text: str) -> None:
        self.setFilterFixedString(text.strip())
