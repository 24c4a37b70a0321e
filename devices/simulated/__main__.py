"""`python -m devices.simulated predict --device ... --model ...`: the cost of one model on one simulated device
(tools/predict.py). A command, like the Makefile's: it may use every package; nothing imports it."""

import sys

from tools.predict import main

if len(sys.argv) < 2 or sys.argv[1] != "predict":
    print(
        "usage: python -m devices.simulated predict --device DEVICE --model MODEL [options] (see --help)",
        file=sys.stderr,
    )
    sys.exit(2)
sys.exit(main(sys.argv[2:]))
