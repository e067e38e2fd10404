"""``python -m claimbridge``: the same command line as the ``claimbridge`` console script."""

from claimbridge.cli import main

raise SystemExit(main())
