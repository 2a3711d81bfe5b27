"""GIF metadata: FFmpeg's GIF muxer writes no text, so comments are added (and read) here.

Each key becomes one GIF Comment Extension holding "key:value" (UTF-8; the spec asks for ASCII but
readers pass the bytes through). Comments may sit anywhere between frames, so they are put just
before the trailer byte, which needs no parsing of what FFmpeg wrote.
"""
from dataclasses import dataclass, field

_TRAILER = 0x3B
_EXTENSION = 0x21
_IMAGE = 0x2C
_COMMENT = 0xFE
_APPLICATION = 0xFF


def is_gif(head: bytes) -> bool:
    return head[:6] in (b"GIF87a", b"GIF89a")


def _sub_blocks(payload: bytes) -> bytes:
    """GIF data sub-blocks: runs of at most 255 bytes, each led by its length, ended by a 0."""
    runs = [payload[i:i + 255] for i in range(0, len(payload), 255)]
    return b"".join(bytes([len(r)]) + r for r in runs) + b"\0"


def add_metadata(path: str, metadata: dict[str, str]) -> None:
    if not metadata:
        return
    comments = b"".join(bytes([_EXTENSION, _COMMENT]) + _sub_blocks(f"{k}:{v}".encode()) for k, v in metadata.items())
    with open(path, "r+b") as f:
        f.seek(-1, 2)
        if f.read(1)[0] != _TRAILER:
            raise ValueError(f"{path} does not end with a GIF trailer; cannot add metadata")
        f.seek(-1, 2)
        f.write(comments + bytes([_TRAILER]))


@dataclass
class GifInfo:
    comments: list[str] = field(default_factory=list)
    loop_count: int | None = None  # None: plays once (no NETSCAPE block); 0: loops forever


def _read_sub_blocks(data: bytes, pos: int) -> tuple[bytes, int]:
    out = bytearray()
    while data[pos]:
        out += data[pos + 1:pos + 1 + data[pos]]
        pos += 1 + data[pos]
    return bytes(out), pos + 1


def parse(data: bytes) -> GifInfo:
    """Walk the GIF blocks for comments and the looping block.

    A truncated file yields what was found before the cut, as FFmpeg does for its frames; an
    unknown block (a damaged file) raises ValueError.
    """
    info = GifInfo()
    try:
        flags = data[10]
        pos = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)  # skip the global colour table
        while data[pos] != _TRAILER:
            if data[pos] == _EXTENSION:
                label = data[pos + 1]
                if label == _APPLICATION:  # identifier block, then the data blocks
                    ident, pos = data[pos + 3:pos + 3 + data[pos + 2]], pos + 3 + data[pos + 2]
                    payload, pos = _read_sub_blocks(data, pos)
                    if ident == b"NETSCAPE2.0" and len(payload) >= 3 and payload[0] == 1:
                        info.loop_count = int.from_bytes(payload[1:3], "little")
                    continue
                payload, pos = _read_sub_blocks(data, pos + 2)
                if label == _COMMENT:
                    info.comments.append(payload.decode("utf-8", "replace"))
            elif data[pos] == _IMAGE:
                local = data[pos + 9]
                pos += 10 + (3 * 2 ** ((local & 7) + 1) if local & 0x80 else 0)
                _, pos = _read_sub_blocks(data, pos + 1)  # +1: the LZW minimum code size byte
            else:
                raise ValueError(f"unexpected GIF block 0x{data[pos]:02x} at byte {pos}")
    except IndexError:
        pass  # truncated: the frames FFmpeg can read are still there, metadata (at the end) is not
    return info


def read_metadata(data: bytes) -> dict[str, str]:
    metadata = {}
    for comment in parse(data).comments:
        key, sep, value = comment.partition(":")
        if sep:
            metadata[key] = value
    return metadata
