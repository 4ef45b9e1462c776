"""What the project says of itself: its version and where it lives.

A leaf that every module may import: the version enters feed generators,
the User-Agent and the fingerprints that decide what to rebuild.
"""

# The one place the version is written; pyproject.toml reads it from here
# (asking importlib.metadata at run time cost a tenth of every command's start).
__version__ = "0.2.0"
# Named in every feed's generator and in the User-Agent of every fetch.
PROJECT_URL = "https://github.com/feeds-project/feeds"
