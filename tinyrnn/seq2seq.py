"""`python -m tinyrnn.seq2seq`: the entry point of the seq2seq task (its code is tinyrnn/apps/seq2seq.py)."""

import sys

from tinyrnn.apps.seq2seq import main

if __name__ == "__main__":
    sys.exit(main())
