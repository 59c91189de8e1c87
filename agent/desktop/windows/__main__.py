"""`python -m agent.desktop.windows KIND --config FILE`: run one window (the tray starts it; see child.py)."""

import sys

from agent.desktop.windows.child import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
