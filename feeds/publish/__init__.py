"""Publishing: the store's published entries → feeds, index and OPML, written atomically."""
