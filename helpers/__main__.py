"""``python -m helpers``: the book's command line (see :mod:`helpers.cli`)."""
from helpers.cli import main

raise SystemExit(main())
