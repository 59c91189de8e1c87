"""The frozen app's entry point: the same as the `s3-sqs-agent` console script."""

import sys

from agent.cli import main

if __name__ == "__main__":
    sys.exit(main())
