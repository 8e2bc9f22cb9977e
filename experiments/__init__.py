"""Experiments: what runs many models (designs, executors, results store, statistics)."""
