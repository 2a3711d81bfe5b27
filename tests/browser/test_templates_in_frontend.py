"""The shipped workflows as the frontend's template browser shows them (Workflow → Browse Templates): under
the pack's name, each titled by its file name, with its own thumbnail, and one opened from there.
SPACETIME_BROWSER=0 skips these tests; without chromium or Playwright they fail, saying what to install.
"""
import json
import os
import re

import pytest

from comfy_host import PACK_LINK_NAME
from conftest import WORKFLOWS
from test_workflows_in_frontend import ARTIFACTS, browser, frontend, our_console_errors, server  # noqa: F401

pytestmark = pytest.mark.skipif(os.environ.get("SPACETIME_BROWSER") == "0", reason="SPACETIME_BROWSER=0")
OPENED = "Text to video (shapes world)"


def test_the_template_browser_shows_each_workflow_by_title_with_its_thumbnail_and_opens_it(frontend):  # noqa: F811
    failed = []  # the pack's template files the page asked for and did not get
    frontend.page.on("response", lambda r: failed.append(r.url)
                     if f"/workflow_templates/{PACK_LINK_NAME}/" in r.url and not r.ok else None)
    titles = sorted(path.stem for path in WORKFLOWS.glob("*.json"))
    assert all(re.fullmatch(r"[A-Z][\w .()-]*", title) and "_" not in title for title in titles), titles  # words
    try:
        dialog = frontend.open_templates(PACK_LINK_NAME)
        listed = dialog.locator("[data-testid^='template-workflow-']")
        listed.first.wait_for(timeout=30_000)
        assert sorted(listed.evaluate_all("cards => cards.map(c => c.dataset.testid)")) == \
            sorted(f"template-workflow-{title}" for title in titles)
        for title in titles:
            card = frontend.template_card(dialog, title)
            assert card["title"] == title
            thumbnail = card["thumbnail"]
            assert thumbnail["alt"] == title and "default-template" not in thumbnail["src"], thumbnail
            assert thumbnail["width"] == thumbnail["height"] > 100, thumbnail  # our square, not a placeholder
        frontend.screenshot(ARTIFACTS / "templates.png")

        dialog.get_by_test_id(f"template-workflow-{OPENED}").click()
        dialog.wait_for(state="hidden", timeout=30_000)
        node_types = sorted(node["type"] for node in json.loads((WORKFLOWS / f"{OPENED}.json").read_text())["nodes"])
        frontend.page.wait_for_function(
            "types => JSON.stringify(window.app.graph._nodes.map(n => n.type).sort()) === JSON.stringify(types)",
            arg=node_types, timeout=30_000)
        assert frontend.page.get_by_text(OPENED, exact=True).first.is_visible()  # the workflow's tab
    finally:
        frontend.screenshot(ARTIFACTS / "template_opened.png")
    assert not failed, failed
    assert not frontend.page_errors
    assert not our_console_errors(frontend.console)
