"""Animated WebP pieces FFmpeg lacks: decoding the animation and carrying metadata.

FFmpeg writes animated WebP (libwebp_anim) but its WebP decoder reads only still images, so the
animation is taken apart here: each ANMF frame is wrapped as a still WebP, decoded by FFmpeg, and
composited onto the canvas the way the WebP container spec describes.

Metadata goes in an EXIF chunk, one ASCII entry per key holding "key:value", in tags counting down
from 0x010F (Make): the convention ComfyUI's own WebP saving follows, so tools that look for
"workflow:" in WebP EXIF find it.
"""
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np

_VP8X_ANIMATION = 0x02
_VP8X_EXIF = 0x08
_VP8X_ALPHA = 0x10
_IMAGE_CHUNKS = (b"ALPH", b"VP8 ", b"VP8L")
_FIRST_TAG = 0x010F
_MAX_KEYS = _FIRST_TAG - 0x0100 + 1  # down to 0x0100; lower tags are not plain text fields


def is_webp(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def _chunks(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(fourcc, payload offset, payload size) for each RIFF chunk in data[start:end]."""
    pos = start
    while pos + 8 <= end:
        fourcc = data[pos:pos + 4]
        size = struct.unpack_from("<I", data, pos + 4)[0]
        if pos + 8 + size > end:
            raise ValueError(f"WebP chunk {fourcc!r} runs past the end of the file")
        yield fourcc, pos + 8, size
        pos += 8 + size + (size & 1)  # chunks are padded to even sizes


def _chunk(fourcc: bytes, payload: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) & 1)


def _u24(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos:pos + 3], "little")


# --- stills as animations --------------------------------------------------------------------------

def as_animation(path: str, frames: int, fps: float) -> None:
    """Rewrite a still WebP as an animation of `frames` frames at `fps`; leave animations be.

    libwebp_anim merges identical neighbouring frames, so a one-frame clip, or one whose frames are all
    the same, comes out as a still: no duration, and no VP8X header for metadata. The still's image
    becomes a first frame of one period and, for more frames, a second one holding the rest, which the
    reader repeats back out to the clip's frame count (it takes the shortest frame as one period).
    """
    with open(path, "rb") as f:
        head = f.read(21)  # RIFF header and the first chunk's header and flags byte: enough to tell an animation
        if len(head) == 21 and head[12:16] == b"VP8X" and head[20] & _VP8X_ANIMATION:
            return  # the common case, without reading the whole file
        data = head + f.read()
    chunks = list(_chunks(data, 12, len(data)))
    image = b"".join(data[p - 8:p + s + (s & 1)] for c, p, s in chunks if c in _IMAGE_CHUNKS)
    pictures = av.CodecContext.create("webp", "r").decode(av.Packet(data))
    width, height = pictures[0].width, pictures[0].height
    size = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    # Whole milliseconds, the rest's end rounded on its own so the clip's length stays right (16 fps: 62, 250).
    first = round(1000 / fps)
    durations = [first] if frames == 1 else [first, round(1000 * frames / fps) - first]
    # Each frame replaces the canvas (no blending: flag 0x02) and is kept (no disposal).
    anmf = b"".join(_chunk(b"ANMF", bytes(6) + size + d.to_bytes(3, "little") + b"\x02" + image) for d in durations)
    flags = _VP8X_ANIMATION | (_VP8X_ALPHA if b"ALPH" in (c for c, _, _ in chunks) else 0)
    body = _chunk(b"VP8X", bytes([flags, 0, 0, 0]) + size) + _chunk(b"ANIM", bytes(4) + struct.pack("<H", 0)) + anmf
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body)


# --- metadata ---------------------------------------------------------------------------------------

def _exif(metadata: dict[str, str]) -> bytes:
    """A little-endian TIFF block with one ASCII entry per key (entries sorted by tag, as TIFF asks)."""
    entries = [(_FIRST_TAG - i, f"{k}:{v}".encode() + b"\0") for i, (k, v) in enumerate(metadata.items())]
    entries.sort()
    ifd_size = 2 + 12 * len(entries) + 4
    data_pos = 8 + ifd_size
    ifd, blob = struct.pack("<H", len(entries)), b""
    for tag, text in entries:
        if len(text) <= 4:
            ifd += struct.pack("<HHI4s", tag, 2, len(text), text)
        else:
            ifd += struct.pack("<HHII", tag, 2, len(text), data_pos + len(blob))
            blob += text + b"\0" * (len(text) & 1)  # keep offsets word-aligned
    return b"II*\0" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + blob


def _parse_exif(tiff: bytes) -> dict[str, str]:
    if tiff.startswith(b"Exif\0\0"):  # some writers keep the JPEG APP1 prefix
        tiff = tiff[6:]
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None:
        return {}
    ifd = struct.unpack_from(order + "I", tiff, 4)[0]
    metadata = {}
    for i in range(struct.unpack_from(order + "H", tiff, ifd)[0]):
        _tag, kind, count, value = struct.unpack_from(order + "HHI4s", tiff, ifd + 2 + 12 * i)
        if kind != 2:
            continue
        if count > 4:
            offset = struct.unpack(order + "I", value)[0]
            value = tiff[offset:offset + count]
        key, sep, text = value[:count].rstrip(b"\0").decode("utf-8", "replace").partition(":")
        if sep:
            metadata[key] = text
    return metadata


def add_metadata(path: str, metadata: dict[str, str]) -> None:
    """Append an EXIF chunk to an animated WebP written by FFmpeg and flag it in the VP8X header."""
    if not metadata:
        return
    if len(metadata) > _MAX_KEYS:
        raise ValueError(f"WebP can carry at most {_MAX_KEYS} metadata keys here; got {len(metadata)}")
    chunk = _chunk(b"EXIF", _exif(metadata))
    with open(path, "r+b") as f:
        head = f.read(21)
        if not is_webp(head) or head[12:16] != b"VP8X":
            raise ValueError(f"{path} is not an extended (animated) WebP; cannot add metadata")
        riff_size = struct.unpack_from("<I", head, 4)[0]
        f.seek(0, 2)
        f.write(chunk)
        f.seek(4)
        f.write(struct.pack("<I", riff_size + len(chunk)))
        f.seek(20)
        f.write(bytes([head[20] | _VP8X_EXIF]))


def read_metadata(data: bytes) -> dict[str, str]:
    for fourcc, pos, size in _chunks(data, 12, len(data)):
        if fourcc == b"EXIF":
            return _parse_exif(data[pos:pos + size])
    return {}


# --- decoding ---------------------------------------------------------------------------------------

@dataclass
class _Frame:
    x: int
    y: int
    width: int
    height: int
    duration_ms: int
    blend: bool  # alpha-blend over the canvas (else replace the rectangle)
    dispose: bool  # clear the rectangle after showing the frame
    still: bytes  # the frame's bitstream wrapped as a still WebP file


@dataclass
class Animation:
    width: int
    height: int
    loop_count: int  # 0 = loop forever
    frames: list[_Frame]


def _still(data: bytes, pos: int, end: int, width: int, height: int) -> bytes:
    """Wrap an ANMF frame's ALPH/VP8/VP8L chunks as a still WebP that FFmpeg's decoder accepts."""
    parts = [data[p - 8:p + s + (s & 1)] for c, p, s in _chunks(data, pos, end) if c in (b"ALPH", b"VP8 ", b"VP8L")]
    if not parts:
        raise ValueError("WebP animation frame has no image data")
    body = b"".join(parts)
    if len(parts) > 1:  # separate alpha needs the extended header
        vp8x = bytes([_VP8X_ALPHA, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
        body = _chunk(b"VP8X", vp8x) + body
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def parse(data: bytes) -> Animation:
    """The frame layout of a WebP file (a still image reads as one frame lasting 0 ms)."""
    declared = 8 + struct.unpack_from("<I", data, 4)[0] if len(data) >= 8 else 0
    if len(data) < declared:  # cut short in a copy or an upload: its last frames are missing
        raise ValueError(f"the file is incomplete: its header declares {declared:,} bytes but it has {len(data):,}")
    width = height = loop = 0
    frames = []
    for fourcc, pos, size in _chunks(data, 12, len(data)):
        if fourcc == b"VP8X":
            width, height = _u24(data, pos + 4) + 1, _u24(data, pos + 7) + 1
        elif fourcc == b"ANIM":
            loop = struct.unpack_from("<H", data, pos + 4)[0]
        elif fourcc == b"ANMF":
            w, h = _u24(data, pos + 6) + 1, _u24(data, pos + 9) + 1
            flags = data[pos + 15]
            frames.append(_Frame(
                x=2 * _u24(data, pos), y=2 * _u24(data, pos + 3), width=w, height=h,
                duration_ms=_u24(data, pos + 12), blend=not flags & 0x02, dispose=bool(flags & 0x01),
                still=_still(data, pos + 16, pos + size, w, h),
            ))
    if not frames:
        return Animation(width, height, loop, [_Frame(0, 0, width, height, 0, False, False, data)])
    return Animation(width, height, loop, frames)


def decode(animation: Animation) -> Iterator[tuple[np.ndarray, int]]:
    """Yield (RGB uint8 [H, W, 3] canvas, duration in ms) for each stored frame, composited."""
    codec = av.CodecContext.create("webp", "r")
    canvas = None
    for frame in animation.frames:
        pictures = codec.decode(av.Packet(frame.still))
        if len(pictures) != 1:
            raise ValueError("a WebP animation frame did not decode to one picture")
        rgba = pictures[0].to_ndarray(format="rgba")
        if canvas is None:  # a still WebP has no VP8X size: take the picture's
            canvas = np.zeros((animation.height or rgba.shape[0], animation.width or rgba.shape[1], 4), np.uint8)
        region = canvas[frame.y:frame.y + rgba.shape[0], frame.x:frame.x + rgba.shape[1]]
        if frame.blend:
            alpha = rgba[..., 3:4].astype(np.float32) / 255
            region[..., :3] = (rgba[..., :3] * alpha + region[..., :3] * (1 - alpha) + 0.5).astype(np.uint8)
            region[..., 3] = np.maximum(region[..., 3], rgba[..., 3])
        else:
            region[...] = rgba
        yield canvas[..., :3].copy(), frame.duration_ms
        if frame.dispose:
            region[...] = 0
