"""Shared core of accelbench: the registry the three axes use and the measurements benchmarks record."""
