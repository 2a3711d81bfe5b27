"""The shipped workflows look tidy on the canvas and tell the frontend what they need.

Node rectangles are taken as the frontend draws them: `pos` is the top-left corner of the body, the title bar
(TITLE_HEIGHT) sits above it, `size` is the body's width and height.
"""
import itertools
import json
import pathlib
import subprocess
import sys

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


def group_rectangle(group: dict) -> tuple:
    x, y, width, height = group["bounding"]
    return x, y, x + width, y + height


def inside(inner: tuple, outer: tuple) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


@pytest.mark.parametrize("name", NAMES)
def test_groups_hold_whole_nodes_and_do_not_overlap(name):
    data = workflow(name)
    groups = [group_rectangle(g) for g in data["groups"]]
    nodes = [n for n in data["nodes"] if n["type"] != "Note"]
    if any(n["type"] == "SpacetimeSampler" for n in nodes):
        assert len(groups) >= 3, f"{name}: a sampling workflow should show its stages as groups"
    assert not [pair for pair in itertools.combinations(groups, 2) if overlap(*pair)], f"{name}: groups overlap"
    for node in nodes:
        rect = rectangle(node)
        holders = [g for g in groups if overlap(rect, g)]
        assert all(inside(rect, g) for g in holders), f"{name}: node {node['id']} sticks out of its group"
        assert len(holders) == (1 if groups else 0), f"{name}: node {node['id']} is in {len(holders)} groups"
    note = [rectangle(n) for n in data["nodes"] if n["type"] == "Note"]
    assert not [g for g in groups for r in note if overlap(r, g)], f"{name}: the note lies on a group"


@pytest.mark.parametrize("name", NAMES)
def test_a_note_says_what_the_workflow_does_and_needs(name):
    data = workflow(name)
    (note,) = [n for n in data["nodes"] if n["type"] == "Note"]
    text = note["widgets_values"][0]
    assert data["extra"]["description"] in text
    for node in data["nodes"]:
        if node["type"] in LOADER_FOLDERS:
            assert f"models/{LOADER_FOLDERS[node['type']]}/{node['widgets_values'][0]}" in text
        if node["type"] in ("LoadImage", "LoadVideo"):
            assert f"input/{node['widgets_values'][0]}" in text


def test_the_tidy_script_has_nothing_left_to_do():
    script = WORKFLOWS.parent / "scripts" / "tidy_workflows.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


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
    loaders = [n for n in workflow("Text to video (Wan 2.1).json")["nodes"] if n["type"] in LOADER_FOLDERS]
    assert len(loaders) == 3
    for node in loaders:
        folder, name = LOADER_FOLDERS[node["type"]], node["widgets_values"][0]
        assert name in WAN21_FILES[folder]
        url = f"{WAN21_REPO}/resolve/main/split_files/{folder}/{name}"
        assert source_of(folder, name) == f"download it from {url}"  # the same place the error message names
        assert node["properties"]["models"] == [{"name": name, "url": url, "directory": folder}]
