"""``python -m hdr_core <command>``: see :mod:`hdr_core.cli`."""

import sys

from hdr_core.cli import main

if __name__ == "__main__":
    sys.exit(main())
