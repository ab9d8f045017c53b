"""The desktop window (PySide6): a thin layer over `photoface.core`.

This package's `__init__` imports nothing, so a 'spawn' worker process that runs
`photoface.gui.child` never loads Qt.
"""
