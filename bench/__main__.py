"""`python -m bench`: run the benchmark (see `--help`)."""

from bench.cli import main

raise SystemExit(main())
