"""The governance simulation (no file I/O, no printing, no clock seeding)."""

from model import native

native.status()  # compiled case engine if built and current, else its sources (model/native.py)
