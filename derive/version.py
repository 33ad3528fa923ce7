"""The package version, in a module of its own: the reports, the cache and the language
server stamp it without importing :mod:`derive` (whose lazy re-exports reach the runner)."""

__version__ = "0.1.0"
