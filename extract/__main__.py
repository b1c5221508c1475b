"""``python -m egraph_dsl.extract FILE [--method ...] [--time-limit S] [--json]``."""

from .cli import main

raise SystemExit(main())
