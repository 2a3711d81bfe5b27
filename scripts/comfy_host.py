"""Run a real ComfyUI host with this pack loaded, and talk to it over HTTP and its websocket.

Used by the integration tests (tests/conftest.py) and by scripts/run_workflow.py. The host is
started headless on 127.0.0.1 on a free port, with its own base directory (custom_nodes, models,
input, output, user), and always stopped by `stop()` or the context manager.
"""
from __future__ import annotations

import asyncio
import json
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field

import requests

REPO = pathlib.Path(__file__).resolve().parents[1]
PACK_LINK_NAME = "Spacetime"


def host_dir() -> pathlib.Path:
    """The host scripts/setup_host.sh made: .host/, or the one SPACETIME_HOST names (e.g. .host-0.33.0)."""
    return REPO / os.environ.get("SPACETIME_HOST", ".host")


def read_host_env() -> dict[str, str]:
    """COMFY_DIR and COMFY_PYTHON as written by scripts/setup_host.sh (environment overrides)."""
    values = {}
    env_file = host_dir() / "env"
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            key, _, value = line.partition("=")
            values[key] = value.strip('"')
    for key in ("COMFY_DIR", "COMFY_PYTHON"):
        if os.environ.get(key):
            values[key] = os.environ[key]
    if "COMFY_DIR" not in values:
        raise RuntimeError("no ComfyUI host found: run scripts/setup_host.sh first")
    return values


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunResult:
    """What one queued prompt did: its history status, outputs, and the websocket messages seen."""

    prompt_id: str
    status: str
    outputs: dict
    messages: list[dict]
    history: dict
    previews: list[bytes] = field(default_factory=list)  # the binary preview frames, as the server sent them

    @property
    def error(self) -> dict | None:
        for kind, data in self.history.get("status", {}).get("messages", []):
            if kind == "execution_error":
                return data
        return None


@dataclass
class ComfyHost:
    """A ComfyUI server process with this pack linked into its custom_nodes."""

    base: pathlib.Path
    model_dirs: dict[str, pathlib.Path] = field(default_factory=dict)
    output_dir: pathlib.Path | None = None
    cpu: bool = True  # tests pin the CPU; the main job uses a GPU when torch sees one
    extra_args: tuple[str, ...] = ("--cache-none",)
    port: int = 0
    process: subprocess.Popen | None = None
    startup_seconds: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def outputs(self) -> pathlib.Path:
        return self.output_dir or self.base / "output"

    def files_of(self, result: RunResult) -> list[pathlib.Path]:
        """Every file the prompt's output nodes report, as paths on this machine."""
        roots = {"output": self.outputs, "temp": self.base / "temp", "input": self.base / "input"}
        files = []
        for node_output in result.outputs.values():
            for entries in node_output.values():
                for entry in entries if isinstance(entries, list) else []:
                    if isinstance(entry, dict) and "filename" in entry:
                        root = roots[entry.get("type", "output")]
                        files.append(root / entry.get("subfolder", "") / entry["filename"])
        return files

    @property
    def log_path(self) -> pathlib.Path:
        return self.base / "server.log"

    def start(self, timeout: float = 180.0) -> "ComfyHost":
        env = read_host_env()
        self._prepare_base()
        self.port = self.port or free_port()
        command = [
            env.get("COMFY_PYTHON", sys.executable), "main.py", *(["--cpu"] if self.cpu else []),
            "--listen", "127.0.0.1", "--port", str(self.port),
            "--base-directory", str(self.base),
            "--database-url", f"sqlite:///{self.base / 'user' / 'comfyui.db'}",
            "--disable-auto-launch", "--disable-api-nodes",
            *self._model_paths_args(),
            "--output-directory", str(self.outputs),
            *self.extra_args,
        ]
        started = time.monotonic()
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(command, cwd=env["COMFY_DIR"], stdout=log, stderr=subprocess.STDOUT,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"})
        log.close()
        self._wait_until_ready(timeout)
        self.startup_seconds = time.monotonic() - started
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def log_tail(self, lines: int = 80) -> str:
        if not self.log_path.exists():
            return "(no server log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    # --- HTTP API -----------------------------------------------------------------------------
    def get(self, path: str) -> dict:
        response = requests.get(self.url + path, timeout=60)
        response.raise_for_status()
        return response.json()

    def object_info(self) -> dict:
        return self.get("/object_info")

    def submit(self, graph: dict, client_id: str | None = None) -> requests.Response:
        """POST an API-format graph; the response is returned as is (400 carries validation errors)."""
        body = {"prompt": graph, "client_id": client_id or uuid.uuid4().hex}
        return requests.post(self.url + "/prompt", json=body, timeout=60)

    def run(self, graph: dict, timeout: float = 600.0, on_message=None) -> RunResult:
        """Queue a graph, wait for it to finish, and return what it did. Raises if it was refused."""
        client_id = uuid.uuid4().hex
        with _MessageListener(self.url, client_id, on_message) as listener:
            response = self.submit(graph, client_id)
            if response.status_code != 200:
                raise PromptRefused(response.status_code, _json_or_text(response))
            prompt_id = response.json()["prompt_id"]
            history = self.wait_for(prompt_id, timeout)
            listener.wait_for_end(prompt_id, timeout=10)
            status = history.get("status", {}).get("status_str", "unknown")
            return RunResult(prompt_id, status, history.get("outputs", {}), listener.messages, history,
                             listener.previews)

    def wait_for(self, prompt_id: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            entry = self.get(f"/history/{prompt_id}").get(prompt_id)
            if entry and entry.get("status", {}).get("completed") is not None and \
                    entry["status"].get("status_str") in ("success", "error"):
                return entry
            self._check_alive()
            time.sleep(0.2)
        raise TimeoutError(f"prompt {prompt_id} did not finish in {timeout:.0f} s\n{self.log_tail()}")

    def interrupt(self) -> None:
        requests.post(self.url + "/interrupt", timeout=10)

    # --- internals ----------------------------------------------------------------------------
    def _prepare_base(self) -> None:
        for sub in ("custom_nodes", "input", "output", "temp", "user", "models"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        link = self.base / "custom_nodes" / PACK_LINK_NAME
        if link.is_symlink() and link.resolve() != REPO:
            link.unlink()  # left by another checkout: test this one
        if not link.is_symlink():
            link.symlink_to(REPO, target_is_directory=True)

    def _model_paths_args(self) -> list[str]:
        """Model folders beyond BASE/models (e.g. a user's own), through an extra_model_paths file."""
        if not self.model_dirs:
            return []
        lines = ["extra:"] + [f"    {kind}: {folder}" for kind, folder in self.model_dirs.items()]
        path = self.base / "extra_model_paths.yaml"
        path.write_text("\n".join(lines) + "\n")
        return ["--extra-model-paths-config", str(path)]

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                if requests.get(self.url + "/system_stats", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.25)
        self.stop()
        raise TimeoutError(f"ComfyUI did not answer within {timeout:.0f} s\n{self.log_tail()}")

    def _check_alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError(f"the ComfyUI server exited\n{self.log_tail()}")


class PromptRefused(Exception):
    """The server refused a graph (HTTP 400/500): `body` holds its JSON error report."""

    def __init__(self, status: int, body):
        super().__init__(f"HTTP {status}: {json.dumps(body, indent=1)[:4000]}")
        self.status = status
        self.body = body


def _json_or_text(response: requests.Response):
    try:
        return response.json()
    except ValueError:
        return response.text


class _MessageListener:
    """Collects the server's websocket messages for one client id on a background thread."""

    def __init__(self, url: str, client_id: str, on_message=None):
        self.ws_url = url.replace("http://", "ws://") + f"/ws?clientId={client_id}"
        self.messages: list[dict] = []
        self.previews: list[bytes] = []
        self.on_message = on_message
        self._connected = threading.Event()
        self._ended: set[str] = set()
        self._changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._listen(),), daemon=True)

    def __enter__(self):
        self._thread.start()
        if not self._connected.wait(timeout=30):
            raise TimeoutError(f"could not connect to {self.ws_url}")
        return self

    def __exit__(self, *exc):
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)

    def wait_for_end(self, prompt_id: str, timeout: float) -> None:
        """Messages may trail the history entry by a moment: wait for the prompt's last one."""
        with self._changed:
            self._changed.wait_for(lambda: prompt_id in self._ended, timeout=timeout)

    async def _listen(self):
        import aiohttp

        self._stop = asyncio.Event()
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(self.ws_url) as ws:
                self._connected.set()
                stop = asyncio.ensure_future(self._stop.wait())
                while not self._stop.is_set():
                    receive = asyncio.ensure_future(ws.receive())
                    done, _ = await asyncio.wait({receive, stop}, return_when=asyncio.FIRST_COMPLETED)
                    if receive not in done:
                        receive.cancel()
                        break
                    message = receive.result()
                    if message.type == aiohttp.WSMsgType.BINARY:
                        self.previews.append(message.data)  # a preview image
                        continue
                    if message.type != aiohttp.WSMsgType.TEXT:
                        if message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                            break
                        continue
                    self._record(json.loads(message.data))

    def _record(self, message: dict) -> None:
        self.messages.append(message)
        if self.on_message:
            self.on_message(message)
        data = message.get("data", {})
        if message.get("type") in ("execution_success", "execution_error", "execution_interrupted"):
            with self._changed:
                self._ended.add(data.get("prompt_id"))
                self._changed.notify_all()
