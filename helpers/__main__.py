"""``python -m helpers``: the book's command line (see :mod:`helpers.book`)."""
from helpers.book import main

raise SystemExit(main())
