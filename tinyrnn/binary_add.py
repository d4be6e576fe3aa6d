"""`python -m tinyrnn.binary_add`: the entry point of the binary_add task (its code is tinyrnn/apps/binary_add.py)."""

import sys

from tinyrnn.apps.binary_add import main

if __name__ == "__main__":
    sys.exit(main())
