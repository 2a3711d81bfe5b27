"""Render each shipped workflow's output into docs/ (the README's pictures) and workflows/ (template thumbnails).

    .host/venv/bin/python scripts/render_docs.py ["NAME" ...]     # default: every workflow in PICTURES

Runs the workflows in the host (on the CPU, on the shipped shapes-world model), reads back the video each
saves, and writes docs/PICTURE.png (PICTURES names it), a contact sheet of five frames from first to last,
and workflows/NAME.jpg, four of the frames in a square: the thumbnail of the frontend's template browser
(a workflow with nothing to show, NOT_PICTURED, gets a card with its title).
tests/host/test_docs_pictures.py renders some again and compares.
"""
import argparse
import json
import pathlib
import sys
import textwrap

import torch

from comfy_host import REPO, ComfyHost, host_dir
from pack_import import import_pack
from workflow_api import to_api

import_pack("spacetime")
from spacetime.engine.shapes import ClipSpec, ObjectSpec, render_clip  # noqa: E402
from spacetime.engine.video import read_video, write_video  # noqa: E402

DOCS, WORKFLOWS = REPO / "docs", REPO / "workflows"
# Workflow (its file name, the template's title) -> the stem of its README picture in docs/.
PICTURES = {"Text to video (shapes world)": "text_to_video", "Re-cut and extend": "recut_extend",
            "Image to video": "image_to_video", "Seamless loop": "loop", "Blend two clips": "blend",
            "Style preset": "style_preset", "Storyboard from text": "storyboard_text",
            "Storyboard from cards": "storyboard_cards", "Long storyboard in windows": "storyboard_long",
            "Remix a video": "remix"}
NOT_PICTURED = {"Text to video (Wan 2.1)": "needs your Wan 2.1 files, which cannot ship",
                "Empty video latent": "writes a latent file, nothing to see"}
SHEET_FRAMES, SCALE, GAP = 5, 2, 4


def shapes_clip(shape: str, background: str, frames: int) -> torch.Tensor:
    return render_clip(ClipSpec(background, (ObjectSpec(shape, "red", "right"),), seed=3), frames, 64)


def save_frame(frames: torch.Tensor, path: pathlib.Path) -> None:
    from PIL import Image

    Image.fromarray((frames[0] * 255).round().byte().numpy()).save(path)


# What a workflow reads from ComfyUI's input folder (the names its load nodes hold), as a workflow user would.
INPUTS = {
    "Image to video": ("spacetime_red_circle.png",
                       lambda path: save_frame(shapes_clip("circle", "blue", 1), path)),
    "Storyboard from cards": ("spacetime_red_square.png",
                              lambda path: save_frame(shapes_clip("square", "black", 1), path)),
    "Remix a video": ("spacetime_red_circle.mp4",
                      lambda path: write_video(shapes_clip("circle", "black", 17), str(path), fps=8.0, format="mp4")),
}


def rendered_frames(host: ComfyHost, name: str) -> torch.Tensor:
    """Run workflows/NAME.json in the host; the frames [N, H, W, 3] (0..1) of the video it saved."""
    if name in INPUTS:
        file_name, make = INPUTS[name]
        make(host.base / "input" / file_name)
    graph = to_api(json.loads((WORKFLOWS / f"{name}.json").read_text()), host.object_info())
    result = host.run(graph)
    if result.status != "success":
        raise RuntimeError(f"{name} failed: {result.error}")
    (video,) = host.files_of(result)
    return read_video(str(video))[0]


def picked(frames: torch.Tensor, count: int = SHEET_FRAMES) -> list[torch.Tensor]:
    """`count` frames evenly spread from the first to the last."""
    last = len(frames) - 1
    return [frames[round(i * last / (count - 1))] for i in range(count)]


def _image(frame: torch.Tensor):
    from PIL import Image

    image = Image.fromarray((frame * 255).round().byte().numpy())
    return image.resize((image.width * SCALE, image.height * SCALE), Image.Resampling.NEAREST)


def contact_sheet(frames: torch.Tensor):
    """Five frames in a row, first to last, each at twice its size, on white."""
    from PIL import Image

    tiles = [_image(frame) for frame in picked(frames)]
    width, height = tiles[0].size
    sheet = Image.new("RGB", (len(tiles) * width + (len(tiles) - 1) * GAP, height), "white")
    for i, tile in enumerate(tiles):
        sheet.paste(tile, (i * (width + GAP), 0))
    return sheet


def thumbnail(frames: torch.Tensor):
    """Four frames, first to last, in a 2×2 square (the template browser shows square cards)."""
    from PIL import Image

    tiles = [_image(frame) for frame in picked(frames, 4)]
    width, height = tiles[0].size
    square = Image.new("RGB", (2 * width + GAP, 2 * height + GAP), "white")
    for i, tile in enumerate(tiles):
        square.paste(tile, ((i % 2) * (width + GAP), (i // 2) * (height + GAP)))
    return square


def title_card(title: str, why: str):
    """The thumbnail of a workflow with no output to show: its title and why there is no picture, in a
    square of the thumbnails' size."""
    from PIL import Image, ImageDraw, ImageFont

    side = 2 * 64 * SCALE + GAP
    card = Image.new("RGB", (side, side), "#1d2a36")
    draw = ImageDraw.Draw(card)
    y = 24
    for text, size, colour, width in ((title, 28, "white", 14), (f"No picture: {why}.", 17, "#b8c4cf", 24)):
        font = ImageFont.load_default(size)
        for line in textwrap.wrap(text, width):
            draw.text((20, y), line, font=font, fill=colour)
            y += round(size * 1.3)
        y += 16
    return card


def render_host(base: pathlib.Path) -> ComfyHost:
    """A CPU host (the same arithmetic on every machine the pictures are checked on)."""
    return ComfyHost(base=base, cpu=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    choices = ", ".join(map(repr, PICTURES))  # the names have spaces: quoted, as they are typed
    parser.add_argument("names", nargs="*", help=f"workflows to render (default: all of {choices})")
    args = parser.parse_args()
    unknown = set(args.names) - set(PICTURES)
    if unknown:
        parser.error(f"no picture is made of {', '.join(map(repr, sorted(unknown)))}; choose from {choices}")
    DOCS.mkdir(exist_ok=True)
    for name, why in NOT_PICTURED.items():
        title_card(name, why).save(WORKFLOWS / f"{name}.jpg", quality=85)
        print(f"{name}: no picture ({why}); wrote workflows/{name}.jpg, its title")
    with render_host(host_dir() / "docs-job") as host:
        for name in args.names or PICTURES:
            frames = rendered_frames(host, name)
            contact_sheet(frames).save(DOCS / f"{PICTURES[name]}.png", optimize=True)
            thumbnail(frames).save(WORKFLOWS / f"{name}.jpg", quality=85)
            print(f"{name}: wrote docs/{PICTURES[name]}.png and workflows/{name}.jpg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
