"""Experiments layer: reads scenario and experiment files, derives seeds, runs models and
stores results."""
