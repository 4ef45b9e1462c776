"""Text rules shared by every side (pure): sanitising, links, languages, slugs."""
