"""Lay out the shipped workflows (workflows/*.json, the frontend's UI format) so no two nodes overlap.

    python scripts/tidy_workflows.py            # rewrite the files in place
    python scripts/tidy_workflows.py --check    # exit 1 if a file would change

Nodes go in columns, left to right by how far down the graph they are (the longest chain of links from a
node with no inputs); the model loaders stay in the first column and other nodes without inputs sit in the
column before their first consumer. Each node gets a size that fits its widgets and slots (NODE_SIZES).
A Note at the top says what the workflow does and which files it needs, and groups frame its stages (load
models, prompt and latent, sample and save; an edit's first clip apart). Only `pos` and `size` change,
plus the Note, `groups`, `extra.title` (the file name) and `extra.description`, and the Wan 2.1 loaders'
`properties.models`: ids, links, widget values and the order of the other nodes stay as they are.
"""
import argparse
import json
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
sys.path.insert(0, str(REPO / "nodes"))
from model_sources import SHIPPED_PREFIX, WAN21_FILES, wan21_url  # noqa: E402  (a plain module: no ComfyUI imports)

# [width, height] each node type needs in the frontend: 30 px title, ~20 px a slot row, ~24 px a widget,
# ~100 px a multiline text box, ~250 px an image or video preview.
NODE_SIZES = {
    "SpacetimeLoadDiT": [380, 130],
    "SpacetimeLoadTextEncoder": [380, 106],
    "SpacetimeLoadVAE": [380, 106],
    "SpacetimeTextEncode": [420, 270],
    "SpacetimeEmptyVideoLatent": [320, 154],
    "SpacetimeSampler": [340, 440],
    "SpacetimeRemix": [340, 400],
    "SpacetimeDecode": [320, 100],
    "SpacetimeEncode": [320, 90],
    "SpacetimeSaveVideo": [380, 460],
    "SpacetimeFinishEdit": [300, 70],
    "SpacetimeBlend": [340, 250],
    "SpacetimeExtend": [340, 280],
    "SpacetimeLoop": [340, 170],
    "SpacetimeImageToVideo": [320, 100],
    "SpacetimeStoryboard": [420, 270],
    "SpacetimeStoryboardCard": [340, 200],
    "SpacetimeStoryboardKeyframes": [320, 150],
    "SpacetimeApplyStyle": [420, 380],
    "LoadImage": [320, 340],
    "LoadVideo": [320, 340],
    "SaveLatent": [320, 60],
}
LOADERS = {"SpacetimeLoadDiT", "SpacetimeLoadTextEncoder", "SpacetimeLoadVAE"}
SAMPLERS = {"SpacetimeSampler", "SpacetimeRemix"}
EDITS = {"SpacetimeExtend", "SpacetimeLoop", "SpacetimeBlend"}  # nodes that edit a clip made before them
TITLE_HEIGHT = 30  # the frontend draws a node's title bar above its `pos`
GAP_X, GAP_Y, MARGIN = 60, 40, 40
GROUP_HEADER, GROUP_PAD = 50, 15  # a group's title band above its nodes; its margin around them
NOTE_WIDTH, NOTE_LINE, NOTE_CHARS = 640, 22, 80  # a Note's text box wraps at about 80 characters
GROUP_COLOUR = "#3f789e"

# What a workflow reads from ComfyUI's input folder, said in its Note.
INPUT_HINTS = {
    "spacetime_red_circle.png": "any 64x64 picture of a shape",
    "spacetime_red_square.png": "a 64x64 picture of a red square, the second card's keyframe",
    "spacetime_red_circle.mp4": "a 17-frame 64x64 video of a red circle",
}

# What each workflow does, for its Note and `extra.description`. The file name is its title: the frontend's
# template browser lists a pack's workflows by file name and reads no other title.
DESCRIPTIONS = {
    "Blend two clips": "Two text-to-video clips joined by generated frames flowing from A's end into B's start.",
    "Empty video latent": "An empty Wan 2.1 video latent, saved as a file.",
    "Image to video": "A clip that starts on exactly the given image.",
    "Seamless loop": "A text-to-video clip turned into a loop by a generated bridge.",
    "Re-cut and extend": "A clip kept and extended by new frames after it.",
    "Remix a video": "A video file re-imagined by a new prompt with FlowEdit.",
    "Storyboard from cards": "Prompts on a timeline as chained cards, with a keyframe image.",
    "Long storyboard in windows": "A 65-frame storyboard sampled in overlapping windows.",
    "Storyboard from text": "Prompts on a timeline written one card a line.",
    "Style preset": "A prompt styled by a preset whose sampler settings drive the Sampler.",
    "Text to video (shapes world)": "Text to video with the small model that ships with the pack; runs on a CPU.",
    "Text to video (Wan 2.1)": "Text to video with Wan 2.1 T2V 1.3B; download the three model files first.",
}

# The folder each loader reads its file from (its first widget is the file name).
LOADER_FOLDERS = {"SpacetimeLoadDiT": "diffusion_models", "SpacetimeLoadTextEncoder": "text_encoders",
                  "SpacetimeLoadVAE": "vae"}
MODEL_LINK_WORKFLOWS = {"Text to video (Wan 2.1)"}


def columns(workflow: dict) -> dict:
    """Node id -> column index."""
    nodes = {n["id"]: n for n in workflow["nodes"]}
    sources = {i: set() for i in nodes}
    consumers = {i: set() for i in nodes}
    for _, origin, _, target, _, _ in workflow["links"]:
        sources[target].add(origin)
        consumers[origin].add(target)
    depth = {}

    def depth_of(i, seen=()):
        if i not in depth:
            if i in seen:
                raise ValueError(f"a cycle through node {i}")
            depth[i] = 1 + max((depth_of(s, (*seen, i)) for s in sources[i]), default=-1)
        return depth[i]

    column = {i: depth_of(i) for i in nodes}
    for i, node in nodes.items():
        if not sources[i] and node["type"] not in LOADERS and consumers[i]:
            column[i] = max(0, min(column[c] for c in consumers[i]) - 1)
    return column


def lay_out(workflow: dict, column: dict, top: int) -> None:
    """Nodes in their columns, the first node's body at `top`."""
    sources = {}
    for _, origin, _, target, _, _ in workflow["links"]:
        sources.setdefault(target, set()).add(origin)
    placed = {}
    by_column = {}
    for node in workflow["nodes"]:
        if node["type"] == "Note":
            continue
        node["size"] = list(NODE_SIZES.get(node["type"], node.get("size") or [320, 160]))
        by_column.setdefault(column[node["id"]], []).append(node)
    x = MARGIN + GROUP_PAD
    for index in sorted(by_column):
        stack = sorted(by_column[index], key=lambda n: (n["pos"][1], n["pos"][0], n["id"]))
        y = top
        for node in stack:
            # level with the highest node it takes a link from, when that leaves room: chains read across
            above = [placed[i] for i in sources.get(node["id"], ()) if i in placed]
            y = max(y, min(above, default=y))
            node["pos"] = [x, y]
            placed[node["id"]] = y
            y += node["size"][1] + TITLE_HEIGHT + GAP_Y
        x += max(n["size"][0] for n in stack) + GAP_X


def stages(workflow: dict, column: dict) -> list[tuple[str, list[int]]]:
    """(group title, its columns) from left to right; none for a workflow without a sampler."""
    types = {}
    for node in workflow["nodes"]:
        if node["type"] != "Note":
            types.setdefault(column[node["id"]], set()).add(node["type"])
    sampling = [i for i in sorted(types) if types[i] & SAMPLERS]
    if not sampling or not types.get(0, set()) & LOADERS:
        return []
    first_sampler, last = sampling[0], max(types)
    edit = next((i for i in sorted(types) if i > first_sampler and types[i] & EDITS), None)
    loads = "Load models" if types[0] <= LOADERS else "Load models and inputs"
    groups = [(loads, [0]), ("Prompt and latent", list(range(1, first_sampler)))]
    if edit is None:
        groups.append(("Sample, decode and save", list(range(first_sampler, last + 1))))
    else:
        groups += [("Make the clip to edit", list(range(first_sampler, edit))),
                   ("Edit, sample and save", list(range(edit, last + 1)))]
    return [(title, cols) for title, cols in groups if cols]


def add_groups(workflow: dict, column: dict) -> None:
    """A group around each stage's columns, from its nodes' title bars to their bottoms."""
    workflow["groups"] = []
    for title, cols in stages(workflow, column):
        nodes = [n for n in workflow["nodes"] if n["type"] != "Note" and column[n["id"]] in cols]
        left = min(n["pos"][0] for n in nodes) - GROUP_PAD
        top = min(n["pos"][1] for n in nodes) - TITLE_HEIGHT - GROUP_HEADER
        right = max(n["pos"][0] + n["size"][0] for n in nodes) + GROUP_PAD
        bottom = max(n["pos"][1] + n["size"][1] for n in nodes) + GROUP_PAD
        workflow["groups"].append({"id": len(workflow["groups"]) + 1, "title": title,
                                   "bounding": [left, top, right - left, bottom - top],
                                   "color": GROUP_COLOUR, "font_size": 24, "flags": {}})


def note_text(workflow: dict, description: str) -> str:
    """What the workflow does and the files it needs (models, input files, where to get them)."""
    lines = [description]
    for node in workflow["nodes"]:
        folder = LOADER_FOLDERS.get(node["type"])
        if folder:
            name = node["widgets_values"][0]
            where = ("ships with the pack" if name.startswith(SHIPPED_PREFIX)
                     else f"download: {wan21_url(folder, name)}" if name in WAN21_FILES[folder] else "your own file")
            lines.append(f"Needs models/{folder}/{name} ({where}).")
        elif node["type"] in ("LoadImage", "LoadVideo"):
            name = node["widgets_values"][0]
            lines.append(f"Needs input/{name}: {INPUT_HINTS.get(name, 'a file in the input folder')}.")
    saves = [n["widgets_values"][-1] for n in workflow["nodes"] if n["type"] in ("SpacetimeSaveVideo", "SaveLatent")]
    lines += [f"Writes output/{prefix}_*." for prefix in saves]
    return "\n".join(lines)


def set_note(workflow: dict, text: str) -> int:
    """The workflow's one Note, made at the top left on the first tidy and rewritten after; its height."""
    note = next((n for n in workflow["nodes"] if n["type"] == "Note"), None)
    if note is None:
        workflow["last_node_id"] += 1
        note = {"id": workflow["last_node_id"], "type": "Note", "flags": {}, "order": len(workflow["nodes"]),
                "mode": 0, "inputs": [], "outputs": [], "properties": {}, "title": "About this workflow"}
        workflow["nodes"].append(note)
    rows = sum(1 + len(line) // NOTE_CHARS for line in text.splitlines())
    note.update(pos=[MARGIN, MARGIN + TITLE_HEIGHT], size=[NOTE_WIDTH, 20 + NOTE_LINE * rows], widgets_values=[text])
    return note["size"][1]


def add_model_links(workflow: dict) -> None:
    for node in workflow["nodes"]:
        folder = LOADER_FOLDERS.get(node["type"])
        if folder:
            name = node["widgets_values"][0]
            if name in WAN21_FILES[folder]:  # a link only where there is a file to download
                node.setdefault("properties", {})["models"] = [{
                    "name": name, "url": wan21_url(folder, name), "directory": folder}]


def tidy(path: pathlib.Path) -> str:
    workflow = json.loads(path.read_text())
    description = DESCRIPTIONS[path.stem]
    workflow["extra"] = {**workflow.get("extra", {}), "title": path.stem, "description": description}
    note_height = set_note(workflow, note_text(workflow, description))
    column = columns(workflow)
    lay_out(workflow, column, top=MARGIN + TITLE_HEIGHT + note_height + GAP_Y + GROUP_HEADER + TITLE_HEIGHT)
    add_groups(workflow, column)
    if path.stem in MODEL_LINK_WORKFLOWS:
        add_model_links(workflow)
    return json.dumps(workflow, indent=1, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report files that would change")
    args = parser.parse_args()
    paths = sorted(WORKFLOWS.glob("*.json"))
    undescribed = [path.name for path in paths if path.stem not in DESCRIPTIONS]
    if undescribed:
        parser.error(f"no description for {', '.join(map(repr, undescribed))}: add what each does to DESCRIPTIONS "
                     f"in scripts/tidy_workflows.py, under its file name without .json (the template's title)")
    changed = []
    for path in paths:
        text = tidy(path)
        if text != path.read_text():
            changed.append(path.name)
            if not args.check:
                path.write_text(text)
    print(("would change: " if args.check else "rewrote: ") + (", ".join(changed) or "nothing"))
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
