"""linernotes: what people write about music, turned into per-track profiles.

This package is the front door only: the command line wiring the stages
(`crawler`, `nlp`) to `storage`. Behaviour lives in those packages.
"""

__version__ = "0.1.0"
