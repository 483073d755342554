"""`python -m echelon_seed`: the same as the `echelon-seed` command."""

import sys

from .cli import main

sys.exit(main())
