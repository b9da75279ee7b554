"""``python -m capitation.columns [README.md ...]``: rewrite the README's column tables."""

import sys

from capitation.columns import update_readme

for readme in sys.argv[1:] or ["README.md"]:
    print(f"{readme}: {'rewritten' if update_readme(readme) else 'up to date'}")
