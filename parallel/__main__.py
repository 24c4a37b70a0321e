"""`python -m parallel --nproc 2 --out results/<run>.json`: see parallel/launch.py."""

import sys

from parallel.launch import main

sys.exit(main())
