"""`python -m tinyrnn.charlm`: the entry point of the charlm task (its code is tinyrnn/apps/charlm.py)."""

import sys

from tinyrnn.apps.charlm import main

if __name__ == "__main__":
    sys.exit(main())
