"""`python -m tinyrnn.tagging`: the entry point of the tagging task (its code is tinyrnn/apps/tagging.py)."""

import sys

from tinyrnn.apps.tagging import main

if __name__ == "__main__":
    sys.exit(main())
