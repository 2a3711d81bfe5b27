"""Shared test set-up: import the pack as a package, seed torch, find the ComfyUI host.

The repository root is the pack (ComfyUI imports it under whatever name its folder has). Tests import
it under the fixed name `spacetime`, so `spacetime.engine...` and `spacetime.kernels` work with the
same relative imports the host uses.
"""
import json
import pathlib
import sys
from contextlib import contextmanager

import pytest
import torch

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from comfy_host import ComfyHost, read_host_env  # noqa: E402
from pack_import import import_pack  # noqa: E402

import_pack("spacetime")


def comfy_dir() -> pathlib.Path:
    """The ComfyUI checkout the tests run against (the SPACETIME_HOST folder's, .host/ by default, or COMFY_DIR)."""
    return pathlib.Path(read_host_env()["COMFY_DIR"])


def import_host_comfy():
    """Put the host's ComfyUI on sys.path so tests can use its own Wan classes as a reference.

    The host is switched to its CPU device first, as `main.py --cpu` does: without CUDA its
    model_management would otherwise fail to import.
    """
    path = str(comfy_dir())
    if path not in sys.path:
        sys.path.insert(0, path)
    import comfy.cli_args

    comfy.cli_args.args.cpu = True
    return sys.modules["comfy"]


@pytest.fixture(autouse=True)
def seeded_torch():
    """Every test draws the same random tensors on every run: CI never fails by the luck of a draw."""
    torch.manual_seed(0)


# --- the real ComfyUI host, shared by the integration tests -------------------------------------
from workflow_api import to_api  # noqa: E402

WORKFLOWS = REPO / "workflows"


@contextmanager
def tiny_model_host(base: pathlib.Path, **options):
    """A ComfyUI server (ComfyHost `options`) with the pack loaded and the tiny models in BASE/models."""
    from tiny_models import write_tiny_models

    host = ComfyHost(base=base, **options)
    write_tiny_models(host.base / "models")
    try:
        host.start()
        yield host
    finally:
        host.stop()


@pytest.fixture(scope="session")
def comfy_host(tmp_path_factory):
    """A ComfyUI server with the pack loaded; BASE/models holds the models tests place there."""
    with tiny_model_host(tmp_path_factory.mktemp("comfy")) as host:
        yield host


@pytest.fixture
def host(comfy_host, request):
    """The shared host; a failing test prints the server log's tail."""
    yield comfy_host
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(f"\n--- ComfyUI server log ({comfy_host.log_path}) ---\n{comfy_host.log_tail(120)}")


@pytest.fixture(scope="session")
def object_info(comfy_host):
    return comfy_host.object_info()


def load_workflow(name: str, object_info: dict) -> dict:
    """A workflow from workflows/ in API format, converted through the server's /object_info."""
    return to_api(json.loads((WORKFLOWS / name).read_text()), object_info)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
