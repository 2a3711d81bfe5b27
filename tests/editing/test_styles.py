"""Style presets: the shipped ones load and apply, a saved one reloads identically, broken files and names
that point outside their folder are refused with a message naming the file and the problem."""
import json
import os
import re

import pytest

from spacetime.engine.editing.styles import (MAX_FILE_BYTES, StylePreset, file_in, list_styles, load_style,
                                             parse_preset, preset_text, save_style)
from conftest import REPO

SHIPPED = REPO / "styles"


def write(folder, name, values, raw=None):
    path = folder / f"{name}.json"
    path.write_bytes(raw if raw is not None else json.dumps(values).encode())
    return path


def valid(**changes):
    return {"spacetime_style": 1, "description": "d", "prompt_template": "{prompt}, in watercolour",
            "negative_prompt": "blurry", **changes}


def refusal(folder, values=None, raw=None, name="bad") -> str:
    path = write(folder, name, values, raw)
    with pytest.raises(ValueError) as refused:
        load_style([folder], name)
    assert str(path) in str(refused.value)  # the file is named
    return str(refused.value)


def test_the_shipped_presets_load_apply_and_are_stored_as_the_saver_writes_them():
    names = list_styles([SHIPPED])
    assert {"cinematic", "claymation", "anime", "documentary", "shapes-world"} <= set(names)
    for name in names:
        style = load_style([SHIPPED], name)
        prompt, negative = style.apply("  a red fox runs  ", "text")
        assert prompt.count("a red fox runs") == 1 and "{" not in prompt
        assert negative.endswith("text") and style.description
        assert (SHIPPED / f"{name}.json").read_text(encoding="utf-8") == preset_text(style)


def test_the_shapes_world_preset_keeps_the_prompt_and_sets_the_models_settings():
    style = load_style([SHIPPED], "shapes-world")
    assert style.apply("a red circle moves left on a blue background") == \
        ("a red circle moves left on a blue background", "")
    assert (style.steps, style.cfg, style.shift, style.sampler) == (20, 3.0, 3.0, "uni_pc")


def test_the_slot_is_filled_by_plain_replacement_not_formatting():
    style = StylePreset("s", "{prompt} at dusk")
    assert style.apply("{0.__class__} {prompt} {}") == ("{0.__class__} {prompt} {} at dusk", "")


def test_negative_prompts_join_and_empty_ones_drop_out():
    assert StylePreset("s", "{prompt}", "blurry").apply("x", " grainy ")[1] == "blurry, grainy"
    assert StylePreset("s", "{prompt}", "").apply("x", "grainy")[1] == "grainy"
    assert StylePreset("s", "{prompt}", "blurry").apply("x", "")[1] == "blurry"


@pytest.mark.parametrize("settings", [{}, {"steps": 12}, {"steps": 12, "cfg": 4.5, "shift": 5.0, "sampler": "euler"}])
def test_a_saved_preset_reloads_identically(tmp_path, settings):
    style = StylePreset("my look", "{prompt}, ünïcode «quotes»", "blurry\nnoisy", "two\nlines", **settings)
    path, written = save_style(style, tmp_path / "user")
    assert written and path == tmp_path / "user" / "my look.json"
    assert load_style([tmp_path / "user"], "my look") == style
    assert [p.name for p in path.parent.iterdir()] == ["my look.json"]  # no temporary file left behind


def test_saving_never_overwrites(tmp_path):
    style = StylePreset("look", "{prompt}, oil painting")
    path, _ = save_style(style, tmp_path)
    before = path.read_bytes()
    assert save_style(style, tmp_path) == (path, False)  # the same style again: nothing to do
    with pytest.raises(ValueError, match=r"already exists .*look\.json.*nothing was saved. Choose another name"):
        save_style(StylePreset("look", "{prompt}, pencil sketch"), tmp_path)
    assert path.read_bytes() == before


def test_saving_under_a_shipped_name_is_refused(tmp_path):
    with pytest.raises(ValueError, match="a style named 'cinematic' already exists"):
        save_style(StylePreset("cinematic", "{prompt}, mine"), tmp_path / "user", [SHIPPED])
    assert not (tmp_path / "user" / "cinematic.json").exists()


def test_a_user_preset_shadows_a_shipped_one_and_is_listed_once(tmp_path):
    write(tmp_path, "cinematic", valid(prompt_template="my {prompt}"))
    folders = [tmp_path, SHIPPED]
    assert list_styles(folders).count("cinematic") == 1
    assert load_style(folders, "cinematic").prompt_template == "my {prompt}"
    assert load_style([SHIPPED], "cinematic").prompt_template != "my {prompt}"


@pytest.mark.parametrize("values, message", [
    (valid(colour="red"), "unknown key 'colour'"),
    ({k: v for k, v in valid().items() if k != "spacetime_style"}, '"spacetime_style": 1 .it has none'),
    (valid(spacetime_style=2), "found 2"),
    ({"spacetime_style": 1}, "prompt_template is missing"),
    (valid(prompt_template="in watercolour"), "exactly once .* holds it 0 times"),
    (valid(prompt_template="{prompt} and {prompt}"), "holds it 2 times"),
    (valid(prompt_template="{prompt} {style}"), "no braces besides"),
    (valid(prompt_template="{prompt} }"), "no braces besides"),
    (valid(prompt_template=["{prompt}"]), "prompt_template must be text, not a list"),
    (valid(negative_prompt=None), "negative_prompt must be text, not null"),
    (valid(description=3), "description must be text, not a number"),
    (valid(negative_prompt="x" * 5000), "negative_prompt is 5000 characters long"),
    (valid(steps=12.5), "steps must be a whole number, not 12.5"),
    (valid(steps=20.0), "steps must be a whole number, not 20.0"),
    (valid(steps=True), "steps must be a whole number, not true/false"),
    (valid(steps=0), "steps 0 is outside 1..1000"),
    (valid(cfg="3"), "cfg must be a number, not text"),
    (valid(shift=0), "shift 0 is outside 0.01..100.0"),  # shift 0 is no schedule (all levels 0, the top NaN)
    (valid(sampler="ddim"), 'sampler "ddim" is not one of: euler, uni_pc'),
])
def test_malformed_presets_are_refused_saying_what_is_wrong(tmp_path, values, message):
    assert re.search(message, refusal(tmp_path, values))


@pytest.mark.parametrize("raw, message", [
    (b'{"spacetime_style": 1, "prompt_template": "{prompt}",}', "not valid JSON .* line 1, column"),
    (b"[1, 2]", "one JSON object .* not a list"),
    (b'{"spacetime_style": 1, "prompt_template": "{prompt}", "cfg": NaN}', "NaN is not a number"),
    (b'{"spacetime_style": 1, "prompt_template": "{prompt}", "prompt_template": "{prompt}!"}',
     "'prompt_template' appears more than once"),
    ('{"spacetime_style": 1, "prompt_template": "{prompt} caf\xe9"}'.encode("latin-1"), "not UTF-8 text"),
    (b"[" * 100000, "larger than 64 KiB"),
    (b"[" * 60000, "nested too deeply|not valid JSON"),
    (b'{"spacetime_style": 1, "prompt_template": "{prompt}", "steps": 1' + b"0" * 5000 + b"}", "has 5001 digits"),
])
def test_broken_files_are_refused_naming_the_file(tmp_path, raw, message):
    assert re.search(message, refusal(tmp_path, raw=raw))


def test_a_byte_order_mark_is_read_past(tmp_path):
    write(tmp_path, "notepad", None, b"\xef\xbb\xbf" + json.dumps(valid()).encode())
    assert load_style([tmp_path], "notepad").prompt_template == "{prompt}, in watercolour"


def test_a_huge_file_is_not_read_whole(tmp_path):
    path = write(tmp_path, "huge", None, b" " * (MAX_FILE_BYTES * 50))
    with pytest.raises(ValueError, match=f"{path}: larger than 64 KiB"):
        load_style([tmp_path], "huge")


@pytest.mark.parametrize("name", ["../x", "..", "a/b", "a\\b", "/etc/passwd", "C:\\Windows\\x", "..\\x"])
def test_a_name_that_is_a_path_is_refused(tmp_path, name):
    with pytest.raises(ValueError, match="is a path: a style is named by its file's name alone"):
        load_style([tmp_path], name)
    with pytest.raises(ValueError, match="is a path"):
        StylePreset(name, "{prompt}")  # so it cannot be saved either


@pytest.mark.parametrize("name", ["", " ", ".hidden", "a*b", "trailing ", "x" * 65])
def test_names_a_file_cannot_safely_have_are_refused(tmp_path, name):
    with pytest.raises(ValueError, match="style name|needs a name"):
        StylePreset(name, "{prompt}")


def test_a_link_that_leads_outside_the_folder_is_refused(tmp_path):
    outside = write(tmp_path, "secret", valid())
    folder = tmp_path / "styles"
    folder.mkdir()
    (folder / "sneaky.json").symlink_to(outside)
    assert "sneaky" in list_styles([folder])  # listed, so that choosing it explains the refusal
    with pytest.raises(ValueError, match=r"sneaky\.json resolves to .*secret\.json, outside the styles folder"):
        load_style([folder], "sneaky")
    with pytest.raises(ValueError, match="outside the styles folder"):
        file_in(folder, "sneaky")


def test_files_with_names_no_style_can_have_are_not_listed(tmp_path, caplog):
    write(tmp_path, ".hidden", valid())
    write(tmp_path, "ok", valid())
    (tmp_path / "notes.txt").write_text("not a style")
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "nested", valid())
    assert list_styles([tmp_path, tmp_path / "missing"]) == ["ok"]
    assert ".hidden.json" in caplog.text


def test_an_unknown_name_lists_what_there_is(tmp_path):
    write(tmp_path, "ok", valid())
    with pytest.raises(ValueError, match="there is no style 'nope' in .*; styles there: ok"):
        load_style([tmp_path], "nope")


def test_parse_names_the_source_it_is_given():
    with pytest.raises(ValueError, match="^style file somewhere.json: "):
        parse_preset("x", "{}", "somewhere.json")


def test_a_save_cannot_escape_through_a_linked_name(tmp_path):
    """A dangling link in the user folder under the new style's name is refused, not written through."""
    folder = tmp_path / "user"
    folder.mkdir()
    (folder / "look.json").symlink_to(tmp_path / "elsewhere.json")
    with pytest.raises(ValueError, match="outside the styles folder"):
        save_style(StylePreset("look", "{prompt}!"), folder)
    assert not (tmp_path / "elsewhere.json").exists() and os.path.islink(folder / "look.json")
