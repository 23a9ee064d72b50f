# SPDX-License-Identifier: MIT
"""The benchmark harness behind bench/run (see docs/BENCHMARKS.md)."""
