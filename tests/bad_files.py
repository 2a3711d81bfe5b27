"""A corpus of malformed safetensors files, generated (no binaries in the repository): each entry is
(name, file bytes, what the refusal says). Shared by the unit tests and the host's hostile-input test."""
import json
import struct

from tiny_models import wan_t2v_shapes

TINY = dict(dim=16, ffn_dim=32, num_layers=2, text_dim=8, freq_dim=8)


def safetensors_bytes(header: dict, data: bytes = b"") -> bytes:
    raw = json.dumps(header).encode() if isinstance(header, dict) else header
    return struct.pack("<Q", len(raw)) + raw + data


def header_of(shapes: dict, dtype: str = "F32", metadata: dict | None = None) -> tuple[dict, bytes]:
    """A well-formed header for tensors of `shapes` (zeros), and its data."""
    header, offset = {}, 0
    for key, shape in shapes.items():
        size = 4 * _count(shape)
        header[key] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    if metadata:
        header["__metadata__"] = metadata
    return header, bytes(offset)


def _count(shape) -> int:
    total = 1
    for size in shape:
        total *= size
    return total


def tiny_dit_shapes(**changes) -> dict:
    return wan_t2v_shapes(**(TINY | changes))


def many_blocks(count: int) -> bytes:
    """A DiT header naming `count` blocks, each with one 1-element tensor: cheap to write, costly to build."""
    shapes = {key: shape for key, shape in tiny_dit_shapes().items() if not key.startswith("blocks.")}
    shapes["blocks.0.ffn.0.weight"] = (32, 16)
    shapes.update({f"blocks.{i}.norm3.weight": (1,) for i in range(1, count)})
    return safetensors_bytes(*header_of(shapes, metadata={"num_heads": "2"}))


def bad_model_files() -> list[tuple[str, bytes, str]]:
    header, data = header_of(tiny_dit_shapes(), metadata={"num_heads": "2"})
    first = next(iter(header))

    def changed(**entry):
        return safetensors_bytes({**header, first: {**header[first], **entry}}, data)

    flat_patch = dict(tiny_dit_shapes(), **{"patch_embedding.weight": (16 * 16 * 4,)})
    gap = {key.replace("blocks.1.", "blocks.7."): shape for key, shape in tiny_dit_shapes().items()}
    deep = b"[" * 100_000 + b"]" * 100_000
    return [
        ("offsets_as_strings", changed(data_offsets=["0", "4096"]), "data_offsets that are not two increasing"),
        ("offsets_backwards", changed(data_offsets=[4096, 0]), "data_offsets that are not two increasing"),
        ("offsets_floats", changed(data_offsets=[0.0, 4096.5]), "data_offsets that are not two increasing"),
        ("shape_negative", changed(shape=[-1, 16]), "shape that is not a list"),
        ("shape_text", changed(shape="16x16"), "shape that is not a list"),
        ("shape_too_many_dims", changed(shape=[1] * 40), "shape that is not a list of at most 8"),
        ("shape_not_filling", changed(shape=[3, 3]), "does not fill its"),
        ("dtype_unknown", changed(dtype="F128"), "unknown dtype"),
        ("dtype_number", changed(dtype=7), "unknown dtype"),
        ("entry_missing_fields", safetensors_bytes({**header, first: {"dtype": "F32"}}, data), "needs dtype, shape"),
        ("entry_a_list", safetensors_bytes({**header, first: [1, 2]}, data), "needs dtype, shape"),
        ("metadata_numbers", safetensors_bytes({**header, "__metadata__": {"num_heads": 2}}, data), "__metadata__"),
        ("header_a_list", safetensors_bytes(b"[1, 2, 3]"), "a JSON list, not an object"),
        ("header_deep_nesting", safetensors_bytes(deep), "nests too deeply"),
        ("header_not_utf8", safetensors_bytes(b'{"\xff\xfe": 1}'), "not JSON"),
        ("header_not_json", safetensors_bytes(b"{not json at all!!!}"), "not JSON"),
        ("header_nan", safetensors_bytes(b'{"a": {"dtype": "F32", "shape": [NaN], "data_offsets": [0, 4]}}', bytes(4)),
         "shape that is not a list"),
        ("data_missing", safetensors_bytes(header, data[:-4]), "is truncated"),
        ("patch_weight_1d", safetensors_bytes(*header_of(flat_patch, metadata={"num_heads": "2"})),
         "`patch_embedding.weight` has shape \\(1024,\\); a Wan 2.1 DiT's is 5-D"),
        ("blocks_with_a_gap", safetensors_bytes(*header_of(gap, metadata={"num_heads": "2"})),
         "not numbered 0 to N-1"),
        ("thousands_of_blocks", many_blocks(5000), "names 5,000 blocks"),
        ("heads_not_a_number", safetensors_bytes(*header_of(tiny_dit_shapes(), metadata={"num_heads": "two"})),
         "invalid literal"),
    ]
