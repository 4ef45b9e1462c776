"""feeds: publish local articles and aggregate remote feeds as Atom.

The pipeline is sources → normalise → store → select → render → write; the
public API below is what the CLI calls and what other programs may use.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("feeds")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
