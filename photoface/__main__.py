"""`python -m photoface` is the `photoface` command."""

import sys

from photoface.cli import main

sys.exit(main())
