"""Fuzzing the safetensors header reader (bytes, JSON, fields) and the DiT loader (a valid tiny file
with its header mutated): every input is accepted or refused with a clear ValueError, never a crash."""
import json
import struct

from hypothesis import given, strategies as st

from bad_files import header_of, safetensors_bytes, tiny_dit_shapes
from spacetime.engine.models.checkpoint import CheckpointError, load_dit, parse_header, read_state_dict
from strategies import json_text, json_values, refused_clearly

DTYPES = ["F32", "F16", "BF16", "F8_E4M3", "I64", "BOOL", "F128", "f32", ""]
KEYS = ["__metadata__", "patch_embedding.weight", "head.modulation", "blocks.0.ffn.0.weight", "blocks.x.y",
        "blocks.99999.a", ""]
entries = st.one_of(
    st.fixed_dictionaries({
        "dtype": st.sampled_from(DTYPES) | json_values,
        "shape": st.lists(st.integers(-2, 70), max_size=9) | json_values,
        "data_offsets": st.lists(st.integers(-10, 5000), max_size=3) | json_values,
    }),
    json_values,
)
headers = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=30), entries, max_size=8)


def parse(raw: bytes, data_size: int):
    try:
        metadata = parse_header(raw, data_size)
    except Exception as error:  # noqa: BLE001 - the point is to see which kinds escape
        refused_clearly(error)
        return
    assert isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())


@given(st.binary(max_size=400), st.integers(0, 10_000))
def test_any_bytes(raw, data_size):
    parse(raw, data_size)


@given(json_text(), st.integers(0, 10_000))
def test_any_json(text, data_size):
    parse(text.encode(), data_size)


@given(headers, st.integers(0, 10_000))
def test_headers_with_any_fields(header, data_size):
    parse(json.dumps(header).encode(), data_size)


VALID_HEADER, VALID_DATA = header_of(tiny_dit_shapes(), metadata={"num_heads": "2"})
mutations = st.lists(st.tuples(st.sampled_from(sorted(VALID_HEADER)), st.sampled_from(["drop", "dtype", "shape",
                                                                                      "offsets", "rename"]),
                               json_values | st.lists(st.integers(0, 40), max_size=6)), min_size=1, max_size=4)


@given(mutations, st.integers(-64, 64))
def test_a_mutated_tiny_dit_file_loads_or_is_refused(tmp_path_factory, changes, cut):
    header = {key: dict(value) for key, value in VALID_HEADER.items()}
    for key, how, value in changes:
        if key not in header:
            continue
        if how == "drop":
            del header[key]
        elif how == "rename":
            header[str(value)[:40]] = header.pop(key)
        elif key != "__metadata__":
            header[key][{"dtype": "dtype", "shape": "shape", "offsets": "data_offsets"}[how]] = value
    data = VALID_DATA[:len(VALID_DATA) + cut] if cut < 0 else VALID_DATA + bytes(cut)
    path = tmp_path_factory.mktemp("fuzz") / "mutated.safetensors"
    path.write_bytes(safetensors_bytes(header, data))
    try:
        load_dit(path)
    except Exception as error:  # noqa: BLE001
        refused_clearly(error)
        assert isinstance(error, CheckpointError), f"{type(error).__name__}: {error}"


@given(st.integers(0, 2**64 - 1) | st.integers(0, 300), st.binary(max_size=300))
def test_any_file_whatever_its_declared_header_size(tmp_path_factory, size, rest):
    """The whole reader on a file: the 8-byte header size in front (anything up to 2^64 - 1), then bytes."""
    path = tmp_path_factory.mktemp("fuzz") / "any.safetensors"
    path.write_bytes(struct.pack("<Q", size) + rest)
    try:
        read_state_dict(path)
    except Exception as error:  # noqa: BLE001
        refused_clearly(error)
        assert isinstance(error, CheckpointError), f"{type(error).__name__}: {error}"
