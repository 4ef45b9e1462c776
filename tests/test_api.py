"""The public API: what `import feeds` offers other programs, and what it costs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import add_fixture, child_env

import feeds
from feeds import errors, pipeline

# What other programs are promised; a change here is a change of the API.
PUBLIC = {
    "__version__", "build", "check", "fetch", "BuildResult", "Pipeline", "Config", "load_config",
    "FeedsError", "ConfigError", "SourceError", "ArticleError", "FetchError", "ParseError",
    "StoreError", "OutputError", "LockedError", "UsageError", "SubscriptionError",
}


def test_the_public_names_are_listed_and_each_resolves() -> None:
    assert set(feeds.__all__) == PUBLIC
    assert len(feeds.__all__) == len(PUBLIC)  # none listed twice
    for name in PUBLIC:
        assert getattr(feeds, name) is not None
    assert set(dir(feeds)) >= PUBLIC


def test_the_public_names_are_the_modules_own_objects() -> None:
    assert feeds.build is pipeline.build and feeds.check is pipeline.check
    assert feeds.fetch is pipeline.fetch and feeds.Pipeline is pipeline.Pipeline
    for name in PUBLIC - {"__version__"}:
        if name.endswith("Error"):
            assert getattr(feeds, name) is getattr(errors, name)
            assert issubclass(getattr(feeds, name), feeds.FeedsError)


def test_a_name_outside_the_api_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'store'"):
        feeds.__getattr__("store")
    with pytest.raises(AttributeError):
        _ = feeds.not_a_name  # type: ignore[attr-defined]


def test_star_import_gives_exactly_the_public_names() -> None:
    namespace: dict[str, object] = {}
    exec("from feeds import *", namespace)
    assert set(namespace) - {"__builtins__"} == PUBLIC


def test_importing_the_package_loads_no_pipeline() -> None:
    """Every parsing worker imports `feeds`; the API is loaded only when used."""
    code = ("import sys, feeds\n"
            "print(sorted(m for m in sys.modules if m.startswith('feeds')))\n"
            "feeds.build\n"
            "print('feeds.pipeline' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert out == ["['feeds', 'feeds.about']", "True"]


def test_a_program_builds_and_checks_through_the_api(project: Path) -> None:
    add_fixture(project, "bilingual.md")
    config = feeds.load_config(project)
    checked = feeds.check(config)
    assert checked.report is None and checked.files == 1
    assert not (project / "output" / "all.atom").exists()  # check writes nothing
    built = feeds.build(config, fetch=False)
    assert built.files == 1 and built.report is not None
    assert (project / "output" / "all.atom").is_file()
    assert [f.path for f in built.feeds] == [f.path for f in checked.feeds]
