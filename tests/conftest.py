"""Test-suite settings: every run in the tests is strict, so an internal error in any engine
fails the test that met it instead of hiding behind another strategy's pass."""
import os

os.environ["DERIVE_STRICT"] = "1"
