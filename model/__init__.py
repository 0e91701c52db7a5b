"""The governance simulation (no file I/O, no printing, no clock seeding)."""
