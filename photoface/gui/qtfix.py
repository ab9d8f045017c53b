"""A workaround for a PySide6 reference-count bug that aborts long-running windows.

With PySide6 6.12 on CPython < 3.12, bindings hand out None, True and False without taking a
reference (as if they were immortal, which they are only from CPython 3.12 on): every call of a
void method (`QFont.setBold`), every bool result, every `QModelIndex.data()` of an unset role and
every `data()` override returning None loses one reference of that object. After enough calls
(a scroll through 10k persons is plenty) the count reaches zero and CPython aborts with
"none_dealloc: deallocating None" (or bool_dealloc). Measured here: 1000 `index.data(Qt.UserRole)`
calls on a QStringListModel take 998 references from None.

Since CPython 3.12 these objects are immortal and nothing needs doing. Before that, giving them
an effectively infinite count makes the lost references harmless: they are never deallocated
anyway, so their count carries no meaning beyond "not zero".
"""

from __future__ import annotations

import ctypes
import sys

_DONE = False


def protect_none() -> None:
    """Raises the singletons' reference counts far out of reach of the leak (once; no-op on 3.12+)."""
    global _DONE
    if _DONE or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    # ob_refcnt is the first field of every CPython object; the GIL is held here, so no other
    # thread changes it in between.
    for obj in (None, True, False, NotImplemented, Ellipsis):
        ctypes.c_ssize_t.from_address(id(obj)).value += 1 << 60
    _DONE = True
