"""Fuzzing the storyboard's text form and the style preset files: any text (and any bytes for a preset
file) gives cards or a preset, or a clear ValueError; never another exception, never a hang."""
import json

from hypothesis import example, given, strategies as st

from spacetime.engine.editing.storyboard import parse_storyboard
from spacetime.engine.editing.styles import check_name, parse_preset, read_preset
from strategies import json_text, json_values, refused_clearly

# Lines that look like cards: a time (seconds, frames, odd numbers), a separator, a prompt.
numbers = st.one_of(st.integers(0, 10**6).map(str), st.floats(0, 1e6).map(lambda f: f"{f:.3f}"),
                    st.text("0123456789.٣", min_size=1, max_size=400), st.just("9" * 400))
card_lines = st.builds(lambda frame, number, unit, sep, prompt: f"{frame}{number}{unit}{sep}{prompt}",
                       st.sampled_from(["", "frame ", "FRAME", "  "]), numbers,
                       st.sampled_from(["", "s", "sec", "f", "S", " s", "x"]), st.sampled_from([":", " : ", "", "::"]),
                       st.text(max_size=40))
storyboards = st.one_of(st.text(max_size=300), st.lists(card_lines, max_size=8).map("\n".join))


def check(call):
    try:
        return call()
    except Exception as error:  # noqa: BLE001 - the point is to see which kinds escape
        refused_clearly(error)


@given(storyboards, st.floats(1.0, 120.0))
@example("9" * 400 + ":0", 1.0)  # found by this test: round(inf) raised OverflowError
@example("frame 99999999999: far", 16.0)
def test_any_storyboard_text(text, fps):
    cards = check(lambda: parse_storyboard(text, fps))
    for frame, prompt, label in cards or []:
        assert isinstance(frame, int) and frame >= 0 and prompt.strip() and label


VALID = {"spacetime_style": 1, "description": "d", "prompt_template": "{prompt}, in watercolour",
         "negative_prompt": "blurry", "steps": 20, "cfg": 3.0, "shift": 3.0, "sampler": "uni_pc"}
presets = st.one_of(
    json_text(),
    st.dictionaries(st.sampled_from(sorted(VALID)) | st.text(max_size=8), json_values, max_size=9).map(json.dumps),
    st.tuples(st.sampled_from(sorted(VALID)), json_values).map(lambda kv: json.dumps({**VALID, kv[0]: kv[1]})),
)


@given(presets)
@example(json.dumps({**VALID, "sampler": []}))  # found by this test: `[] in SOLVERS` raised TypeError
def test_any_preset_text(text):
    style = check(lambda: parse_preset("fuzzed", text, "fuzzed.json"))
    if style is not None:
        assert style.prompt_template.count("{prompt}") == 1


@given(st.binary(max_size=300) | presets.map(str.encode))
def test_any_preset_file(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("styles")
    (folder / "fuzzed.json").write_bytes(data)
    check(lambda: read_preset(folder, "fuzzed"))


@given(st.text(max_size=80))
def test_any_style_name(name):
    check(lambda: check_name(name))
