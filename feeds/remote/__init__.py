"""Remote sources: fetch politely, parse any feed, normalise, decide, store (`refresh`)."""
