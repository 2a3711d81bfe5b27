"""Style presets: named looks as small JSON files, a prompt template with one `{prompt}` slot, a negative
prompt and optional sampler defaults.

A preset is data only. It is parsed with `json` against a strict schema, and its template is filled
with a plain string replace (never str.format or eval), so a file can neither run code nor name other
files. A preset's name is its file's name without `.json`; names are checked before any path is built
and every path is resolved and kept inside its folder, so no name reaches outside it (`../x`, an
absolute path, a symlink pointing elsewhere).

Folders are searched in the order given: the first folder holding a name wins, so a user's preset
shadows a shipped one of the same name and the name is listed once.
"""
from __future__ import annotations

import json
import logging
import os
import pathlib
from dataclasses import dataclass

from ..contained_paths import climbs_out, real_outside
from ..part_files import write_new
from ..sampling import SOLVERS

FORMAT_KEY, FORMAT_VERSION = "spacetime_style", 1
SLOT = "{prompt}"
SUFFIX = ".json"
MAX_FILE_BYTES = 64 * 1024
MAX_TEXT = 4000
MAX_NAME = 64
NAME_PUNCTUATION = " -_"
LIMITS = {"steps": (1, 1000), "cfg": (0.0, 100.0), "shift": (0.01, 100.0)}  # the sampler node's ranges
TEXT_KEYS = ("description", "prompt_template", "negative_prompt")
SAMPLER_KEYS = ("steps", "cfg", "shift", "sampler")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StylePreset:
    """One style. A sampler default of None means the preset leaves that setting to the workflow."""

    name: str
    prompt_template: str
    negative_prompt: str = ""
    description: str = ""
    steps: int | None = None
    cfg: float | None = None
    shift: float | None = None
    sampler: str | None = None

    def __post_init__(self):
        check_name(self.name)
        problem = preset_problem(self.as_dict())
        if problem:
            raise ValueError(f"style '{self.name}': {problem}")

    def as_dict(self) -> dict:
        """The file's JSON object: the format marker, the texts, and only the sampler defaults it sets."""
        values = {FORMAT_KEY: FORMAT_VERSION, **{key: getattr(self, key) for key in TEXT_KEYS}}
        return values | {key: getattr(self, key) for key in SAMPLER_KEYS if getattr(self, key) is not None}

    def apply(self, prompt: str, negative_prompt: str = "") -> tuple[str, str]:
        """The styled prompt (the user's text in the slot) and the preset's negative joined with the user's."""
        negatives = [text.strip() for text in (self.negative_prompt, negative_prompt) if text.strip()]
        return self.prompt_template.replace(SLOT, prompt.strip()), ", ".join(negatives)


# --- checks -----------------------------------------------------------------------------------
def check_name(name: str) -> str:
    """The name, if it can be a preset file's name in its folder; else a ValueError saying why."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a style needs a name (letters, digits, spaces, '-' or '_')")
    if "/" in name or "\\" in name or climbs_out(name):
        raise ValueError(f"style name '{name}' is a path: a style is named by its file's name alone, without "
                         "folders, '..' or a drive (e.g. 'my look')")
    if len(name) > MAX_NAME:
        raise ValueError(f"style name '{name[:20]}…' is {len(name)} characters long; use at most {MAX_NAME}")
    if name != name.strip() or not name[0].isalnum() or \
            not all(c.isalnum() or c in NAME_PUNCTUATION for c in name):
        raise ValueError(f"style name '{name}' may hold only letters, digits, spaces, '-' and '_', and must start "
                         "with a letter or digit and not end with a space")
    return name


def template_problem(template) -> str | None:
    if not isinstance(template, str):
        return f"prompt_template must be text, not {json_type(template)}"
    if template.count(SLOT) != 1:
        return (f"prompt_template must hold the slot {SLOT} exactly once (where the prompt goes), "
                f"but holds it {template.count(SLOT)} times")
    if "{" in template.replace(SLOT, "") or "}" in template.replace(SLOT, ""):
        return f"prompt_template may hold no braces besides its one {SLOT} slot"
    return None


def preset_problem(values: dict) -> str | None:
    """What is wrong with a preset's JSON object, or None. Checks keys, types, ranges and the template."""
    unknown = sorted(set(values) - {FORMAT_KEY, *TEXT_KEYS, *SAMPLER_KEYS})
    if unknown:
        return (f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; a style holds only "
                f"{', '.join(repr(k) for k in (FORMAT_KEY, *TEXT_KEYS, *SAMPLER_KEYS))}")
    if values.get(FORMAT_KEY) != FORMAT_VERSION or isinstance(values.get(FORMAT_KEY), bool):
        found = f"found {json.dumps(values[FORMAT_KEY])}" if FORMAT_KEY in values else "it has none"
        return (f"it is not a Spacetime style preset of a format this version reads: it needs "
                f"\"{FORMAT_KEY}\": {FORMAT_VERSION} ({found})")
    if "prompt_template" not in values:
        return f"prompt_template is missing (text with one {SLOT} slot, e.g. \"{SLOT}, watercolour\")"
    for key in TEXT_KEYS:
        text = values.get(key, "")
        if not isinstance(text, str):
            return f"{key} must be text, not {json_type(text)}"
        if len(text) > MAX_TEXT:
            return f"{key} is {len(text)} characters long; at most {MAX_TEXT}"
    return template_problem(values["prompt_template"]) or sampler_problem(values)


def sampler_problem(values: dict) -> str | None:
    for key, (low, high) in LIMITS.items():
        if key not in values:
            continue
        value = values[key]
        whole = key == "steps"
        kinds_ok = isinstance(value, int) if whole else isinstance(value, (int, float))
        if isinstance(value, bool) or not kinds_ok:
            given = json.dumps(value) if isinstance(value, float) else json_type(value)  # 20.0 reads as "20.0"
            return f"{key} must be {'a whole number' if whole else 'a number'}, not {given}"
        if not (low <= value <= high):  # NaN fails this too
            return f"{key} {value} is outside {low}..{high}"
    if "sampler" in values and not (isinstance(values["sampler"], str) and values["sampler"] in SOLVERS):
        return f"sampler {json.dumps(values['sampler'])} is not one of: {', '.join(SOLVERS)}"
    return None


def json_type(value) -> str:
    names = {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list", dict: "an object"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


# --- files ------------------------------------------------------------------------------------
def parse_preset(name: str, text: str, source: str) -> StylePreset:
    """A preset from its JSON text; `source` (the file) heads every error message."""
    def refuse_constant(word):
        raise ValueError(f"{word} is not a number a style can hold")

    def unique_keys(pairs):
        values = dict(pairs)
        if len(values) < len(pairs):  # json would keep the last silently
            seen = set()
            repeated = next(key for key, _ in pairs if key in seen or seen.add(key))
            raise ValueError(f"the key {repeated!r} appears more than once")
        return values

    def short_int(digits):
        if len(digits) > 12:
            raise ValueError(f"the number {digits[:12]}… has {len(digits)} digits, more than any setting takes")
        return int(digits)

    try:
        values = json.loads(text, object_pairs_hook=unique_keys, parse_constant=refuse_constant, parse_int=short_int)
    except json.JSONDecodeError as error:
        raise ValueError(f"style file {source}: not valid JSON ({error.msg} at line {error.lineno}, "
                         f"column {error.colno})") from None
    except ValueError as error:
        raise ValueError(f"style file {source}: {error}") from None
    except RecursionError:
        raise ValueError(f"style file {source}: nested too deeply to be a style") from None
    if not isinstance(values, dict):
        raise ValueError(f"style file {source}: must hold one JSON object {{...}}, not {json_type(values)}")
    problem = preset_problem(values)
    if problem:
        raise ValueError(f"style file {source}: {problem}")
    values = {key: value for key, value in values.items() if key != FORMAT_KEY}
    for key in ("cfg", "shift"):
        if key in values:
            values[key] = float(values[key])
    return StylePreset(name=name, **values)


def preset_text(style: StylePreset) -> str:
    return json.dumps(style.as_dict(), indent=2, ensure_ascii=False) + "\n"


def file_in(folder: pathlib.Path, name: str) -> pathlib.Path:
    """The path of preset `name` in `folder`, refused when the name, or a link there, leads outside it."""
    path = pathlib.Path(folder) / (check_name(name) + SUFFIX)
    real = real_outside(folder, path)
    if real:
        raise ValueError(f"style file {path} resolves to {real}, outside the styles folder {folder}: "
                         "a style is read only from inside its folder")
    return path


def read_preset(folder: pathlib.Path, name: str) -> StylePreset:
    path = file_in(folder, name)
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise ValueError(f"style file {path}: cannot be read ({error.strerror or error})") from None
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"style file {path}: larger than {MAX_FILE_BYTES // 1024} KiB; a style is a few lines of JSON")
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark, as Notepad writes one, is not part of the JSON
    except UnicodeDecodeError as error:
        raise ValueError(f"style file {path}: not UTF-8 text (byte {error.start}); save it as UTF-8") from None
    return parse_preset(name, text, str(path))


def names_in(folder: pathlib.Path) -> list[str]:
    """Names of the `.json` files in a folder (not its subfolders), unread: a broken file is still listed,
    so choosing it shows what is wrong. Files whose names no style can have are skipped, with a warning."""
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        return []
    names = []
    for path in sorted(folder.iterdir()):
        if path.suffix != SUFFIX:
            if path.suffix.lower() == SUFFIX:
                log.warning("Spacetime: skipped %s: a style file's name must end in %s, in lower case", path, SUFFIX)
            continue
        try:
            names.append(check_name(path.stem))
        except ValueError as error:
            log.warning("Spacetime: skipped %s: %s", path, error)
    return names


def list_styles(folders) -> list[str]:
    """Every style name in the folders, once each, sorted without regard to case."""
    return sorted({name for folder in folders for name in names_in(folder)}, key=lambda n: (n.casefold(), n))


def folder_of(folders, name: str) -> pathlib.Path | None:
    """The first folder holding preset `name`, or None."""
    check_name(name)
    for folder in folders:
        if os.path.lexists(pathlib.Path(folder) / (name + SUFFIX)):  # a link too, even one that leads nowhere
            return pathlib.Path(folder)
    return None


def load_style(folders, name: str) -> StylePreset:
    folder = folder_of(folders, name)
    if folder is None:
        listed = ", ".join(list_styles(folders)) or "none"
        raise ValueError(f"there is no style '{name}' in {', '.join(map(str, folders))}; styles there: {listed}")
    return read_preset(folder, name)


def save_style(style: StylePreset, folder: pathlib.Path, folders=()) -> tuple[pathlib.Path, bool]:
    """Write `style` as a new file in `folder`, atomically. Returns (path, written).

    Never overwrites: a style of this name in `folder` or in any of `folders` (e.g. the shipped ones) is
    refused, unless it already holds exactly this style, in which case nothing is written."""
    folder = pathlib.Path(folder)
    for holder in [folder, *folders]:
        if folder_of([holder], style.name) is None:
            continue
        existing = file_in(holder, style.name)
        try:
            same = read_preset(holder, style.name) == style
        except ValueError:
            same = False
        if same:
            return existing, False
        raise ValueError(f"a style named '{style.name}' already exists ({existing}), and it differs from this one: "
                         "nothing was saved. Choose another name, or delete or edit that file yourself.")
    folder.mkdir(parents=True, exist_ok=True)
    path = file_in(folder, style.name)
    if not write_new(str(path), preset_text(style).encode()):  # a file of that name appeared meanwhile
        raise ValueError(f"a style file {path} appeared while saving: nothing was overwritten; choose another name")
    return path, True
