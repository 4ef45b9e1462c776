"""feeds: publish local articles and aggregate remote feeds as Atom.

The pipeline is sources → normalise → store → select → render → write; the
public API below is what the CLI calls and what other programs may use.
"""

from __future__ import annotations

# The one place the version is written; pyproject.toml reads it from here
# (asking importlib.metadata at run time cost a tenth of every command's start).
__version__ = "0.2.0"

__all__ = ["__version__"]
