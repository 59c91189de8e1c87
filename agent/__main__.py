"""Lets `python -m agent` behave exactly like the `s3-sqs-agent` command."""

import sys

from agent.cli import main

sys.exit(main())
