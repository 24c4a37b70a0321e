"""Commands that drive whole runs: the regression gate and its re-check, calibrating and validating the simulator.

They sit above everything else (they may import benchmarks' axes and reports alike); nothing imports them."""
