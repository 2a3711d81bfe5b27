"""Lay out the shipped workflows (workflows/*.json, the frontend's UI format) so no two nodes overlap.

    python scripts/tidy_workflows.py            # rewrite the files in place
    python scripts/tidy_workflows.py --check    # exit 1 if a file would change

Nodes go in columns, left to right by how far down the graph they are (the longest chain of links from a
node with no inputs); the model loaders stay in the first column and other nodes without inputs sit in the
column before their first consumer. Each node gets a size that fits its widgets and slots (NODE_SIZES).
Only `pos` and `size` change, plus `extra.title`/`extra.description` and the Wan 2.1 loaders'
`properties.models`: ids, links, widget values and the order of nodes stay as they are.
"""
import argparse
import json
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
sys.path.insert(0, str(REPO / "nodes"))
from model_sources import WAN21_FILES, wan21_url  # noqa: E402  (a plain module: no ComfyUI imports)

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
TITLE_HEIGHT = 30  # the frontend draws a node's title bar above its `pos`
GAP_X, GAP_Y, MARGIN = 60, 40, 40

TITLES = {
    "blend": ("Blend two clips (Spacetime)",
              "Two text-to-video clips joined by generated frames flowing from A's end into B's start."),
    "empty_video_latent": ("Empty video latent (Spacetime)", "An empty Wan 2.1 video latent, saved as a file."),
    "image_to_video": ("Image to video (Spacetime)", "A clip that starts on exactly the given image."),
    "loop": ("Seamless loop (Spacetime)", "A text-to-video clip turned into a loop by a generated bridge."),
    "recut_extend": ("Re-cut and extend (Spacetime)", "A clip kept and extended by new frames after it."),
    "remix": ("Remix a video (Spacetime)", "A video file re-imagined by a new prompt with FlowEdit."),
    "storyboard_cards": ("Storyboard from cards (Spacetime)",
                         "Prompts on a timeline as chained cards, with a keyframe image."),
    "storyboard_long": ("Long storyboard in windows (Spacetime)",
                        "A 65-frame storyboard sampled in overlapping windows."),
    "storyboard_text": ("Storyboard from text (Spacetime)", "Prompts on a timeline written one card a line."),
    "style_preset": ("Text to video with a style preset (Spacetime)",
                     "A prompt styled by a preset whose sampler settings drive the Sampler."),
    "text_to_video": ("Text to video, shapes world (Spacetime)",
                      "Text to video with the small model that ships with the pack; runs on a CPU."),
    "text_to_video_wan21": ("Text to video, Wan 2.1 (Spacetime)",
                            "Text to video with Wan 2.1 T2V 1.3B; download the three model files first."),
}

# The folder each loader reads its file from (its first widget is the file name).
LOADER_FOLDERS = {"SpacetimeLoadDiT": "diffusion_models", "SpacetimeLoadTextEncoder": "text_encoders",
                  "SpacetimeLoadVAE": "vae"}
MODEL_LINK_WORKFLOWS = {"text_to_video_wan21"}


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


def lay_out(workflow: dict) -> None:
    column = columns(workflow)
    sources = {}
    for _, origin, _, target, _, _ in workflow["links"]:
        sources.setdefault(target, set()).add(origin)
    placed = {}
    by_column = {}
    for node in workflow["nodes"]:
        node["size"] = list(NODE_SIZES.get(node["type"], node.get("size") or [320, 160]))
        by_column.setdefault(column[node["id"]], []).append(node)
    x = MARGIN
    for index in sorted(by_column):
        stack = sorted(by_column[index], key=lambda n: (n["pos"][1], n["pos"][0], n["id"]))
        y = MARGIN + TITLE_HEIGHT
        for node in stack:
            # level with the highest node it takes a link from, when that leaves room: chains read across
            above = [placed[i] for i in sources.get(node["id"], ()) if i in placed]
            y = max(y, min(above, default=y))
            node["pos"] = [x, y]
            placed[node["id"]] = y
            y += node["size"][1] + TITLE_HEIGHT + GAP_Y
        x += max(n["size"][0] for n in stack) + GAP_X


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
    lay_out(workflow)
    if path.stem in TITLES:
        title, description = TITLES[path.stem]
        workflow["extra"] = {**workflow.get("extra", {}), "title": title, "description": description}
    if path.stem in MODEL_LINK_WORKFLOWS:
        add_model_links(workflow)
    return json.dumps(workflow, indent=1, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report files that would change")
    args = parser.parse_args()
    changed = []
    for path in sorted(WORKFLOWS.glob("*.json")):
        text = tidy(path)
        if text != path.read_text():
            changed.append(path.name)
            if not args.check:
                path.write_text(text)
    print(("would change: " if args.check else "rewrote: ") + (", ".join(changed) or "nothing"))
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
