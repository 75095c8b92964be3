"""Data: the registry of known files (lookup, download, checksums) and the synthetic task's files."""
