"""Every workflow in workflows/ as a user meets it, in the real ComfyUI frontend in Debian's chromium.

Each file is dropped onto the canvas (a real drop event carrying the file), queued with the Run
button, and checked: the frontend knows every node type (no missing-nodes dialog), the workflow runs
to success with each save node's output shown on that node, or, where it names model files that are
not on the server (the user's Wan 2.1 weights, which cannot ship), the frontend's error dialog names
every one of them before anything runs. No page error, and no console error about our nodes.
A screenshot of each workflow after its run goes to $SPACETIME_ARTIFACTS (tests/browser/artifacts/).
SPACETIME_BROWSER=0 skips these tests; without chromium or Playwright they fail, saying what to install.
"""
import json
import os
import pathlib
import re
import sys

import pytest
import requests

from conftest import REPO, WORKFLOWS
from frontend import Frontend, browser_unavailable, launch
from workflow_api import to_api

sys.path.insert(0, str(REPO / "tests" / "host"))
from test_foundation import INPUTS  # noqa: E402  (the input files workflows read, as the host tests make them)

ARTIFACTS = pathlib.Path(os.environ.get("SPACETIME_ARTIFACTS") or REPO / "tests" / "browser" / "artifacts")
RUN_TIMEOUT_S = 900  # the longest shipped workflow on a busy 2-core CPU, with room
PREVIEWED = ("images", "gifs", "video")  # output kinds the frontend shows on the node (not e.g. latents)
# The frontend asks the Comfy registry about every node id it meets; the server's CSP blocks that here.
REGISTRY_LOOKUP = re.compile(r"Connecting to 'https://api\.comfy\.org/.*violates the following Content Security")

pytestmark = pytest.mark.skipif(os.environ.get("SPACETIME_BROWSER") == "0", reason="SPACETIME_BROWSER=0")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Set up before the host (asked for first): without chromium the tests fail at once. Module-wide, not
    session-wide: Playwright's sync API keeps an event loop running in this thread until it stops, and
    later tests' asyncio.run would refuse to start."""
    problem = browser_unavailable()
    if problem:
        pytest.fail(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright, tmp_path_factory.mktemp("chromium-home"))
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def server(comfy_host):
    """The shared host, with the input files workflows read and the settings of a returning user."""
    for file_name, make in INPUTS.values():
        make(comfy_host.base / "input" / file_name)
    # The first visit's templates dialog would cover the canvas.
    requests.post(comfy_host.url + "/settings/Comfy.TutorialCompleted", json=True, timeout=30).raise_for_status()
    return comfy_host


@pytest.fixture
def frontend(browser, server):
    frontend = Frontend.open(browser, server.url)
    yield frontend
    frontend.close()


def combo_options(spec) -> list | None:
    if isinstance(spec[0], list):
        return spec[0]
    if spec[0] == "COMBO" and len(spec) > 1:
        return spec[1].get("options")
    return None


def missing_choices(graph: dict, object_info: dict) -> set[str]:
    """Values the workflow picks that the server does not offer now (model files not there)."""
    missing = set()
    for node in graph.values():
        specs = {name: spec for group in object_info[node["class_type"]]["input"].values()
                 for name, spec in group.items()}
        for name, value in node["inputs"].items():
            options = combo_options(specs[name]) if name in specs else None
            if options is not None and isinstance(value, str) and value not in options:
                missing.add(value)
    return missing


def our_console_errors(console: list[tuple[str, str]]) -> list[str]:
    return [text for kind, text in console
            if kind == "error" and "spacetime" in text.lower() and not REGISTRY_LOOKUP.search(text)]


def saved_files(outputs: dict) -> list[dict]:
    return [entry for entries in outputs.values() if isinstance(entries, list)
            for entry in entries if isinstance(entry, dict) and "filename" in entry]


def check_refused_for(frontend: Frontend, answer, missing: set[str]):
    """Refused before running, and the dialog the user sees names every missing file."""
    assert answer.status == 400, f"queued although {sorted(missing)} are not on the server: {answer.text()[:2000]}"
    dialog = frontend.page.get_by_role("dialog").filter(has_text="Prompt execution failed")
    dialog.wait_for(timeout=30_000)
    text = dialog.inner_text()
    for name in missing:
        assert f"model file '{name}' was not found" in text, text


def check_outputs_shown(frontend: Frontend, host, graph: dict, object_info: dict):
    """Every save node shows what it wrote: the app holds its files and the node previews them."""
    save_nodes = [int(i) for i, node in graph.items() if object_info[node["class_type"]].get("output_node")]
    assert save_nodes
    for node_id in save_nodes:
        outputs = frontend.node_outputs(node_id)
        assert outputs and saved_files(outputs), f"node {node_id} shows no output: {outputs}"
        for entry in saved_files(outputs):
            assert (host.outputs / entry.get("subfolder", "") / entry["filename"]).is_file(), entry
        for entry in saved_files({kind: outputs[kind] for kind in PREVIEWED if kind in outputs}):
            media = frontend.wait_for_media(node_id, entry["filename"])
            assert media["visible"], f"node {node_id}'s preview of {entry['filename']} is not on screen: {media}"


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.json")), ids=lambda path: path.stem)
def test_workflow_dropped_on_the_canvas_runs_with_the_run_button(frontend, host, path):  # frontend first: see browser
    workflow = json.loads(path.read_text())
    node_types = [node["type"] for node in workflow["nodes"]]
    try:
        frontend.drop_file(path, node_types)
        lacking = frontend.unregistered(node_types)
        assert not lacking, f"the frontend has no node types {lacking}; it shows {frontend.dialogs()}"
        object_info = host.object_info()  # now: the models and the input files the server offers
        graph = to_api(workflow, object_info)
        missing = missing_choices(graph, object_info)
        linked = missing & {model["name"] for node in workflow["nodes"]
                            for model in node.get("properties", {}).get("models", [])}
        if linked:  # the frontend's own note of the files behind the workflow's model links
            text = frontend.close_dialog("Missing Models")
            assert all(name in text for name in linked), text
        assert not frontend.dialogs(), f"a dialog came up on loading {path.name}"
        answer = frontend.click_run()
        if missing:
            check_refused_for(frontend, answer, missing)
        else:
            assert answer.status == 200, answer.text()[:2000]
            kind, detail = frontend.wait_for_end(answer.json()["prompt_id"], RUN_TIMEOUT_S)
            assert kind == "execution_success", (detail, frontend.dialogs())
            check_outputs_shown(frontend, host, graph, object_info)
    finally:
        frontend.screenshot(ARTIFACTS / f"{path.stem}.png")
    assert not frontend.page_errors
    assert not our_console_errors(frontend.console)
