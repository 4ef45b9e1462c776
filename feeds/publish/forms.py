"""An entry's rendered form, made once per publish and reused by every feed that shows it.

An article is shown in several feeds at once (all, its language's, each of
its tags') and the same entry would otherwise be built again for each. Its
form in one format depends on the entry, the variant shown, and the few
things of the feed around it that change its bytes: the extensions the feed
loads and the namespaces its root declares. The renderers name those as the
form's context; a form is made once per entry, variant and context.

Forms are kept by the identity of the entry and variant, which the cache
holds on to: an entry decoded once for a publish is the same object in every
feed that shows it, and no two entries are mistaken for each other however
their ids compare.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from ..model import FeedItem


class EntryForms:
    """The rendered forms of the entries of one publish (pure: a cache of pure renderings)."""

    def __init__(self) -> None:
        self._forms: dict[tuple[int, int, Hashable], tuple[FeedItem, bytes]] = {}

    def get(self, item: FeedItem, context: Hashable, make: Callable[[], bytes]) -> bytes:
        """The form of `item` in `context`: made by `make` the first time it is asked for."""
        key = (id(item.entry), id(item.variant), context)
        found = self._forms.get(key)
        if found is None:
            found = self._forms[key] = (item, make())
        return found[1]

    def __len__(self) -> int:
        return len(self._forms)
