"""The README's pictures are current: rendered again from the shipped model, they match docs/ (two workflows,
to keep the run short: about 90 s on a 2-core CPU; scripts/render_docs.py renders them all). The host lists
the workflows as templates with their thumbnails (tests/browser/test_templates_in_frontend.py: as the
frontend shows them)."""
import io

import numpy
import pytest
import requests
from PIL import Image

from comfy_host import PACK_LINK_NAME
from conftest import WORKFLOWS
from render_docs import DOCS, NOT_PICTURED, PICTURES, contact_sheet, rendered_frames

REPO = DOCS.parent


def test_every_workflow_has_a_picture_or_a_reason():
    assert sorted([*PICTURES, *NOT_PICTURED]) == sorted(p.stem for p in WORKFLOWS.glob("*.json"))
    readme = (REPO / "README.md").read_text()
    for name, picture in PICTURES.items():
        assert (DOCS / f"{picture}.png").is_file() and (WORKFLOWS / f"{name}.jpg").is_file(), name
        assert f"docs/{picture}.png" in readme, f"the README does not show docs/{picture}.png"
        assert f"`{name}.json`" in readme, f"the README does not name {name}.json beside its picture"
    for name in NOT_PICTURED:
        assert (WORKFLOWS / f"{name}.jpg").is_file(), f"{name} has no thumbnail: run scripts/render_docs.py"


# Two workflows with an mp4 output (the same frames give the same file; animated WebP saves of the same frames
# were seen to differ from run to run): text to video, and an edit (two sampling passes and Finish Edit).
@pytest.mark.parametrize("name", ["Text to video (shapes world)", "Re-cut and extend"])
def test_picture_is_what_the_workflow_renders_now(host, name):
    fresh = numpy.asarray(contact_sheet(rendered_frames(host, name)), dtype=numpy.int16)
    stored = numpy.asarray(Image.open(DOCS / f"{PICTURES[name]}.png").convert("RGB"), dtype=numpy.int16)
    assert fresh.shape == stored.shape
    difference = numpy.abs(fresh - stored)
    # Another CPU may round the model's arithmetic differently, and the video codec carries that on: the
    # pictures must agree to a level or so on average, and almost every pixel within a few levels.
    assert difference.mean() <= 1.0 and (difference <= 8).mean() >= 0.99, \
        f"docs/{PICTURES[name]}.png is out of date (mean difference {difference.mean():.2f}): " \
        "run scripts/render_docs.py"


def test_the_host_lists_the_workflows_as_templates_with_thumbnails(host):
    templates = host.get("/workflow_templates")[PACK_LINK_NAME]
    assert sorted(templates) == sorted(p.stem for p in WORKFLOWS.glob("*.json"))  # one folder: no duplicates
    for name in templates:  # every one with a thumbnail: its output's frames, or a card with its title
        response = requests.get(f"{host.url}/api/workflow_templates/{PACK_LINK_NAME}/{name}.jpg", timeout=10)
        assert response.status_code == 200, name
        assert Image.open(io.BytesIO(response.content)).format == "JPEG"
