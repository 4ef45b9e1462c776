"""feeds: publish local articles and aggregate remote feeds as Atom.

The pipeline is sources → normalise → store → select → render → write. The
names below are the public API: what the CLI calls and what other programs
may use. A name is imported when first used, so that `import feeds` (done
by every parsing worker and every command) stays as cheap as it was.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .about import __version__

# Each public name and the module that defines it.
_WHERE = {
    "build": "pipeline", "check": "pipeline", "fetch": "pipeline",
    "BuildResult": "pipeline", "Pipeline": "pipeline",
    "Config": "config", "load_config": "config",
    "FeedsError": "errors", "ConfigError": "errors", "SourceError": "errors",
    "ArticleError": "errors", "FetchError": "errors", "ParseError": "errors",
    "StoreError": "errors", "OutputError": "errors", "LockedError": "errors",
    "UsageError": "errors", "SubscriptionError": "errors",
}

__all__ = [
    "ArticleError",
    "BuildResult",
    "Config",
    "ConfigError",
    "FeedsError",
    "FetchError",
    "LockedError",
    "OutputError",
    "ParseError",
    "Pipeline",
    "SourceError",
    "StoreError",
    "SubscriptionError",
    "UsageError",
    "__version__",
    "build",
    "check",
    "fetch",
    "load_config",
]

if TYPE_CHECKING:
    from .config import Config, load_config
    from .errors import (
        ArticleError,
        ConfigError,
        FeedsError,
        FetchError,
        LockedError,
        OutputError,
        ParseError,
        SourceError,
        StoreError,
        SubscriptionError,
        UsageError,
    )
    from .pipeline import BuildResult, Pipeline, build, check, fetch


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'feeds' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
