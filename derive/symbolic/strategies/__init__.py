"""One module per strategy; each either decides a statement or passes (returns None)."""
