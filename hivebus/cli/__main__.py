"""`python -m hivebus.cli` is the `hivebus` command."""

import sys

from hivebus.cli import main

sys.exit(main())
