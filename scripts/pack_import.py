"""Import this repository as the package `spacetime`, as ComfyUI imports it as a custom node pack.

Tests, benchmarks and training scripts run outside ComfyUI; the pack's modules use relative imports
(`from ...kernels import attention`), so they need the repository root imported as a package.
"""
import importlib.util
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]


def import_pack(name: str = "spacetime"):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "__init__.py", submodule_search_locations=[str(REPO)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
