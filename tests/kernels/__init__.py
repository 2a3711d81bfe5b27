"""Kernel tests. This folder is a package so that its conftest.py is imported as `kernels.conftest`:
a second top-level `conftest` module would replace tests/conftest.py in sys.modules, and the other test
files' `from conftest import ...` would then fail."""
