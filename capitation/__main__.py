"""``python -m capitation``: the command line."""

import sys

from capitation.cli import main

sys.exit(main())
