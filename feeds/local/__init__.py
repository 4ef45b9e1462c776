"""The local side: article files on disk → entries (see `read.read_articles`)."""
