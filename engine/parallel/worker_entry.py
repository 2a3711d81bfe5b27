"""What a worker process runs first (by `runpy.run_path`, so that nothing of the pack has to be importable
by name when the child starts): import the pack under the name its host gave it, then serve.

ComfyUI imports a custom node pack from its file under the folder's name without putting custom_nodes on
sys.path, so a spawned child cannot import `Spacetime.engine...` by itself; once this file has imported
the pack under that same name, jobs pickled in the host (plans, settings) unpickle in the child.
The pool gives this file's globals: PACK_NAME, PACK_ROOT and WORKER (the keyword arguments of serve).
"""
import importlib
import importlib.util
import pathlib
import sys


def import_pack(name: str, root: str):
    if name not in sys.modules:
        init = pathlib.Path(root) / "__init__.py"
        spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[root])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return importlib.import_module(f"{name}.engine.parallel.workers")


import_pack(PACK_NAME, PACK_ROOT).serve(**WORKER)  # noqa: F821 (names given by the pool)
