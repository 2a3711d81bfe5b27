"""What a worker runs first, before anything of the pack can be imported by name: a worker process of the
multiprocessing pool runs this file (`runpy.run_path`); a Ray worker gets `RayRank`, which Ray pickles by
value (the pool registers this module so), together with `import_pack`.

ComfyUI imports a custom node pack from its file under the folder's name without putting custom_nodes on
sys.path, so a spawned child cannot import `Spacetime.engine...` by itself; once `import_pack` has imported
the pack under that same name, jobs pickled in the host (plans, settings) unpickle in the child.
The multiprocessing pool gives this file's globals: PACK_NAME, PACK_ROOT and WORKER (serve's keywords).
Nothing here may refer to the pack's other modules at module level: Ray would pickle them by reference.
"""
import importlib
import importlib.util
import os
import pathlib
import socket
import sys


def import_pack(name: str, root: str):
    """The pack's engine.parallel.workers module, the pack imported from `root` as `name` first if need be."""
    if name not in sys.modules:
        init = pathlib.Path(root) / "__init__.py"
        spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[root])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return importlib.import_module(f"{name}.engine.parallel.workers")


class RayRank:
    """A Ray actor holding one worker's workers.Rank: made bare, told where rank 0 listens, then started."""

    def __init__(self, pack_name: str, pack_root: str):
        self.workers = import_pack(pack_name, pack_root)
        self.rank = None

    def where(self) -> tuple[str, int, int]:
        """(this machine's address as Ray knows it, a free port on it, this process's pid)."""
        import ray

        with socket.socket() as probe:
            probe.bind(("", 0))
            port = probe.getsockname()[1]
        return ray.util.get_node_ip_address(), port, os.getpid()

    def start(self, options: dict) -> None:
        self.rank = self.workers.Rank(**options)

    def run(self, plan, settings, options: dict, progress):
        """The job on this rank; rank 0 (given `progress`, the others None) puts each step's preview there;
        rank 0 returns the latent, the others None (nothing more travels)."""
        def step(i, x, x0):
            if progress is not None:
                progress.put((i, self.workers.preview(x0)))

        out = self.rank.run(plan, settings, options, step)
        return out if self.rank.rank == 0 else None

    def peak_memory(self) -> int:
        return self.rank.peak_memory()


if __name__ == "__spacetime_worker__":  # run by the multiprocessing pool
    import_pack(PACK_NAME, PACK_ROOT).serve(**WORKER)  # noqa: F821 (names given by the pool)
