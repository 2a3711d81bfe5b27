"""The shipped workflows look tidy on the canvas and tell the frontend what they need.

Node rectangles are taken as the frontend draws them: `pos` is the top-left corner of the body, the title bar
(TITLE_HEIGHT) sits above it, `size` is the body's width and height.
"""
import itertools
import json
import pathlib

import pytest

from spacetime.nodes.model_sources import WAN21_FILES, WAN21_REPO, source_of

WORKFLOWS = pathlib.Path(__file__).resolve().parents[2] / "workflows"
NAMES = sorted(p.name for p in WORKFLOWS.glob("*.json"))
TITLE_HEIGHT = 30
LOADER_FOLDERS = {"SpacetimeLoadDiT": "diffusion_models", "SpacetimeLoadTextEncoder": "text_encoders",
                  "SpacetimeLoadVAE": "vae"}


def workflow(name: str) -> dict:
    return json.loads((WORKFLOWS / name).read_text())


def rectangle(node: dict) -> tuple:
    (x, y), (width, height) = node["pos"], node["size"]
    return x, y - TITLE_HEIGHT, x + width, y + height


def overlap(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_the_check_sees_an_overlap():
    a = {"pos": [0, 30], "size": [100, 100]}
    assert overlap(rectangle(a), rectangle({"pos": [99, 159], "size": [10, 10]}))  # its title bar on a's body
    assert not overlap(rectangle(a), rectangle({"pos": [100, 30], "size": [10, 10]}))  # side by side


def test_there_are_workflows():
    assert len(NAMES) >= 10


@pytest.mark.parametrize("name", NAMES)
def test_no_two_nodes_overlap(name):
    nodes = workflow(name)["nodes"]
    for node in nodes:
        width, height = node["size"]
        assert width >= 200 and height >= 50, f"{name}: node {node['id']} is {width}x{height}"
        assert node["pos"][1] >= TITLE_HEIGHT, f"{name}: node {node['id']}'s title is off the top"
    clashes = [(a["id"], b["id"]) for a, b in itertools.combinations(nodes, 2)
               if overlap(rectangle(a), rectangle(b))]
    assert not clashes, f"{name}: these nodes overlap: {clashes}"


@pytest.mark.parametrize("name", NAMES)
def test_links_run_left_to_right(name):
    data = workflow(name)
    x = {node["id"]: node["pos"][0] for node in data["nodes"]}
    backwards = [(origin, target) for _, origin, _, target, _, _ in data["links"] if x[origin] >= x[target]]
    assert not backwards, f"{name}: links from a node not left of their target: {backwards}"


@pytest.mark.parametrize("name", NAMES)
def test_each_workflow_has_a_title(name):
    extra = workflow(name)["extra"]
    assert extra.get("title", "").strip() and extra.get("description", "").strip()


def test_the_wan21_workflow_links_its_model_files():
    loaders = [n for n in workflow("text_to_video_wan21.json")["nodes"] if n["type"] in LOADER_FOLDERS]
    assert len(loaders) == 3
    for node in loaders:
        folder, name = LOADER_FOLDERS[node["type"]], node["widgets_values"][0]
        assert name in WAN21_FILES[folder]
        url = f"{WAN21_REPO}/resolve/main/split_files/{folder}/{name}"
        assert source_of(folder, name) == f"download it from {url}"  # the same place the error message names
        assert node["properties"]["models"] == [{"name": name, "url": url, "directory": folder}]
