"""``python -m risk_share``: the ``risk-share`` command line."""

from risk_share.cli import main

raise SystemExit(main())
