"""Drive the real ComfyUI web frontend in Debian's chromium through Playwright, as a user would.

One `Frontend` is one fresh page on the server: a workflow file is dropped onto the canvas (a real `drop`
event carrying the file, what the frontend's document drop handler reads), queued with the Run
button, and what the page then shows is read back: its dialogs, the node outputs the app holds, and
the image or video elements on a node. Console messages and uncaught page errors are collected.
"""
from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass, field

CHROMIUM = os.environ.get("SPACETIME_CHROMIUM", "/usr/bin/chromium")
# Headless on a closed network: without the background-networking flags chromium's own connections
# are refused by the machine many at a time.
CHROMIUM_FLAGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")
VIEWPORT = {"width": 1600, "height": 1000}

# Installed once per page: the app's own websocket events, kept for the test to read.
RECORD_EVENTS = """() => {
  window.__spacetime_events = [];
  for (const kind of ['executed', 'execution_success', 'execution_error', 'execution_interrupted'])
    window.app.api.addEventListener(kind, event => window.__spacetime_events.push([kind, event.detail]));
}"""
PROMPT_ENDED = """id => window.__spacetime_events.some(([kind, detail]) =>
  kind.startsWith('execution_') && kind !== 'executed' && detail.prompt_id === id)"""
# The image and video elements inside a node's DOM widgets (where the frontend shows a preview).
NODE_MEDIA = """id => {
  const node = window.app.graph.getNodeById(id);
  const roots = (node?.widgets ?? []).map(widget => widget.element).filter(Boolean);
  const media = roots.flatMap(root => [root, ...root.querySelectorAll('*')]).filter(e => e.matches('video, img'));
  return media.map(e => ({tag: e.tagName.toLowerCase(), src: e.src, visible: e.getBoundingClientRect().width > 0,
                          width: e.videoWidth ?? e.naturalWidth, height: e.videoHeight ?? e.naturalHeight}));
}"""


def browser_unavailable() -> str | None:
    """Why the browser tests cannot run here, or None. Every reason says how to fix it."""
    if not os.access(CHROMIUM, os.X_OK):
        return (f"no chromium at {CHROMIUM}: scripts/setup_browser.sh installs Debian's (apt-get install chromium, "
                "as root); set SPACETIME_CHROMIUM to another chromium, or SPACETIME_BROWSER=0 to skip these tests")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return ("Playwright for Python is not installed in this Python: scripts/setup_host.sh installs it from "
                "requirements-test.txt (never run `playwright install`: the tests use the system chromium)")
    return None


def launch(playwright, home: pathlib.Path):
    """A headless chromium; Playwright gives each launch a fresh profile folder, HOME is a scratch one."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_FLAGS),
                                      env={**os.environ, "HOME": str(home)})


@dataclass
class Frontend:
    page: object  # playwright.sync_api.Page
    console: list[tuple[str, str]] = field(default_factory=list)  # (type, text)
    page_errors: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, browser, url: str) -> "Frontend":
        """The frontend in a page of its own context: nothing stored from an earlier page (tabs, dialogs)."""
        frontend = cls(browser.new_context(viewport=VIEWPORT).new_page())
        frontend._load(url)
        return frontend

    def close(self) -> None:
        self.page.context.close()

    def _load(self, url: str) -> None:
        self.page.on("console", lambda message: self.console.append((message.type, message.text)))
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        self.page.goto(url)
        self.page.wait_for_function("window.app && window.app.graph && window.app.api", timeout=120_000)
        self.page.evaluate(RECORD_EVENTS)

    def drop_file(self, path: pathlib.Path, node_types: list[str], timeout_s: float = 60) -> None:
        """Drop the file onto the canvas and wait until the canvas holds its nodes."""
        data = self.page.evaluate_handle(
            """([text, name]) => { const data = new DataTransfer();
                 data.items.add(new File([text], name, {type: 'application/json'})); return data; }""",
            [path.read_text(), path.name])
        canvas = self.page.locator("#graph-canvas")
        for kind in ("dragenter", "dragover", "drop"):
            canvas.dispatch_event(kind, {"dataTransfer": data})
        self.page.wait_for_function(
            "types => JSON.stringify(window.app.graph._nodes.map(n => n.type).sort()) === JSON.stringify(types)",
            arg=sorted(node_types), timeout=timeout_s * 1000)
        self.page.wait_for_timeout(1000)  # dialogs about what was loaded open just after the graph is built

    def unregistered(self, node_types: list[str]) -> list[str]:
        """Node types of the canvas the frontend has no definition for."""
        return self.page.evaluate("types => types.filter(t => !(t in window.LiteGraph.registered_node_types))",
                                  node_types)

    def dialogs(self) -> list[str]:
        """The text of every dialog on screen."""
        return [dialog.inner_text() for dialog in self.page.get_by_role("dialog").all() if dialog.is_visible()]

    def close_dialog(self, title: str, timeout_s: float = 30) -> str:
        """Wait for the dialog with that title, close it with its Close button; the text it showed."""
        dialog = self.page.get_by_role("dialog").filter(has_text=title)
        dialog.wait_for(timeout=timeout_s * 1000)
        text = dialog.inner_text()
        dialog.get_by_role("button", name="Close").click()
        dialog.wait_for(state="hidden")
        return text

    def click_run(self):
        """Click the Run button; the server's answer to the prompt it posted (200, or 400 with errors)."""
        from playwright.sync_api import TimeoutError

        try:
            with self.page.expect_response(lambda r: r.url.endswith("/prompt") and r.request.method == "POST") as answer:
                self.page.get_by_role("button", name="Run", exact=True).click(timeout=15_000)
        except TimeoutError as error:
            raise AssertionError(f"the Run button could not be clicked; dialogs on screen: {self.dialogs()}") from error
        return answer.value

    def wait_for_end(self, prompt_id: str, timeout_s: float) -> tuple[str, dict]:
        """(kind, detail) of the event that ended the prompt: execution_success, _error or _interrupted."""
        self.page.wait_for_function(PROMPT_ENDED, arg=prompt_id, timeout=timeout_s * 1000, polling=500)
        events = self.page.evaluate("window.__spacetime_events")
        return next((kind, detail) for kind, detail in events
                    if kind != "executed" and detail.get("prompt_id") == prompt_id)

    def node_outputs(self, node_id: int) -> dict | None:
        """The outputs the app holds for a node of the open workflow (what it shows on the node)."""
        return self.page.evaluate("id => window.app.nodeOutputs[String(id)] ?? null", node_id)

    def node_media(self, node_id: int) -> list[dict]:
        return self.page.evaluate(NODE_MEDIA, node_id)

    def wait_for_media(self, node_id: int, file_name: str, timeout_s: float = 30) -> dict:
        """The node's loaded preview element of that file (an image, or a video with its frame size)."""
        found = self.page.wait_for_function(
            f"([id, name]) => ({NODE_MEDIA})(id).find(m => m.width > 0 &&"
            " new URL(m.src).searchParams.get('filename') === name) ?? null",
            arg=[node_id, file_name], timeout=timeout_s * 1000, polling=250)
        return found.json_value()

    def open_templates(self, section: str):
        """Workflow → Browse Templates (the command that menu item runs), then the section of that name in its
        list (a pack's templates are under its folder name); the dialog."""
        self.page.evaluate("window.app.extensionManager.command.execute('Comfy.BrowseTemplates')")
        dialog = self.page.get_by_role("dialog").filter(has=self.page.get_by_test_id("template-workflows-content"))
        dialog.wait_for(timeout=30_000)
        dialog.get_by_text(section, exact=True).first.click()
        return dialog

    def template_card(self, dialog, title: str) -> dict:
        """A template's card as shown: its title and its thumbnail (scrolled to, so the lazy image loads)."""
        card = dialog.get_by_test_id(f"template-workflow-{title}")
        card.scroll_into_view_if_needed(timeout=30_000)
        image = card.locator("img").first
        self.page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=image.element_handle(),
                                    timeout=30_000)
        return {"title": card.get_by_role("heading").inner_text(),
                "thumbnail": image.evaluate("image => ({src: image.currentSrc, alt: image.alt, "
                                            "width: image.naturalWidth, height: image.naturalHeight})")}

    def screenshot(self, path: pathlib.Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path))
