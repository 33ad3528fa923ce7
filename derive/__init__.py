"""derive: a symbolic-plus-numeric derivation checker for deep-learning mathematics.

The importable API mirrors the CLI::

    from derive import run, RunConfig, Options
    results = run(["claims/"], RunConfig(options=Options(seed=1)))
"""
from __future__ import annotations

from derive.version import __version__  # noqa: F401  (re-exported)


def load_ipython_extension(ipython) -> None:
    """``%load_ext derive`` in IPython or Jupyter: registers the ``%%claim`` cell magic."""
    from derive.ipython import load_ipython_extension as load

    load(ipython)


def __getattr__(name: str):
    # Lazy re-exports keep ``import derive`` cheap (no SymPy/torch until needed).
    if name in ("run", "RunConfig", "plan"):
        from derive import runner

        return getattr(runner, name)
    if name == "Options":
        from derive.engine import Options

        return Options
    if name in ("load_path", "load_text"):
        from derive.language import load

        return getattr(load, name)
    if name == "check_claim":
        from derive.semantics import check_claim

        return check_claim
    raise AttributeError(name)
