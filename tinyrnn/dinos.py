"""`python -m tinyrnn.dinos`: the entry point of the dinos task (its code is tinyrnn/apps/dinos.py)."""

import sys

from tinyrnn.apps.dinos import main

if __name__ == "__main__":
    sys.exit(main())
