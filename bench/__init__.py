"""Benchmarks of playsync: fan-out, REST, storage and memory, side by side (see README.md)."""
