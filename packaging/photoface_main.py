"""The frozen bundle's entry script: the `photoface` command (CLI, or the window with no subcommand).

`multiprocessing.freeze_support()` must run first, before any argument parsing: the GUI runs scans in
'spawn' child processes, and a frozen child is this very executable started with
`--multiprocessing-fork …` (or `-c 'from multiprocessing.resource_tracker import main…'`), which
freeze_support (patched by PyInstaller's runtime hook on every platform) turns into the child's work
and exits; without it the child would parse those arguments as photoface's and fail.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from photoface.cli import main

    sys.exit(main())
