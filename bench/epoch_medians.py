#!/usr/bin/python3
"""Reads lines "VARIANT SECONDS" (one epoch each) and prints each variant's median and minimum,
in order of first appearance: the summary of bench/ab.sh and bench/split_ab.sh."""
import collections
import statistics
import sys

seconds = collections.defaultdict(list)
for line in sys.stdin:
    variant, value = line.split()
    seconds[variant].append(float(value))
for variant, values in seconds.items():
    print(f"{variant}: median {statistics.median(values):.4f} s/epoch, "
          f"min {min(values):.4f}, n = {len(values)}")
