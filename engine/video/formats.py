"""How each output format is encoded: codec, pixel format, and what the 0-100 quality means.

quality 100 is the best the format offers in practice, 0 the smallest file:
- mp4  (H.264, yuv420p): CRF 51 (q=0) .. 1 (q=100), linear. CRF 0 is avoided: it switches x264
  to a lossless profile that browsers and most players cannot play.
- webm (VP9, yuv420p):   CRF 63 .. 1, linear, constant-quality mode (bit rate 0).
- webp (animated):       libwebp quality 0..99; 100 means lossless WebP.
- gif:                   colours per frame's palette, 4 (q=0) .. 256 (q=100).
mp4 and webm are tagged BT.709 limited range, which is what players assume for HD video.
"""
from dataclasses import dataclass
from fractions import Fraction

import av
from av.filter import Graph
from av.video.reformatter import ColorRange, Colorspace

_BT709 = 1  # AVCOL_SPC_BT709, AVCOL_PRI_BT709 and AVCOL_TRC_BT709 share the value 1
_MPEG_RANGE = 1  # AVCOL_RANGE_MPEG (limited, 16-235)


@dataclass(frozen=True)
class Format:
    name: str
    muxer: str
    codec: str
    even_size: bool  # chroma at half resolution: width and height must be even
    max_size: int  # the largest width/height the format can store
    carries_container_tags: bool  # metadata goes in the muxer's own tags (else a post-pass)
    max_fps: float = 1000.0  # gif stores delays in hundredths of a second; players slow a delay under 2 of them


FORMATS = {
    "mp4": Format("mp4", "mp4", "libx264", even_size=True, max_size=16384, carries_container_tags=True),
    "webm": Format("webm", "webm", "libvpx-vp9", even_size=True, max_size=16384, carries_container_tags=True),
    "webp": Format("webp", "webp", "libwebp_anim", even_size=False, max_size=16383, carries_container_tags=False),
    "gif": Format("gif", "gif", "gif", even_size=False, max_size=65535, carries_container_tags=False, max_fps=50.0),
}


def muxer_options(fmt: Format) -> dict[str, str]:
    if fmt.name == "mp4":
        # mp4 keeps only a fixed set of tags unless told to store arbitrary keys (workflow, spacetime);
        # faststart puts the index first so browsers can start playing before the whole file arrives.
        return {"movflags": "use_metadata_tags+faststart"}
    if fmt.name in ("webp", "gif"):
        return {"loop": "0"}  # loop forever
    return {}


class FrameEncoder:
    """Turns RGB uint8 frames into packets for one stream; `flush()` drains the encoder at the end."""

    def __init__(self, container, fmt: Format, width: int, height: int, fps: Fraction, quality: float):
        self.time_base = 1 / fps
        self.stream = container.add_stream(fmt.codec, rate=fps)
        self.stream.width, self.stream.height = width, height
        self.stream.codec_context.time_base = self.time_base
        self.count = 0
        self.palette = None
        if fmt.name in ("mp4", "webm"):
            self._setup_yuv(fmt, quality)
        elif fmt.name == "webp":
            self.stream.pix_fmt = "bgra"  # libwebp does its own RGB->YUV for lossy frames
            lossless = quality >= 100
            self.stream.options = {"lossless": "1" if lossless else "0", "quality": str(round(quality))}
        else:
            self.stream.pix_fmt = "pal8"
            self.palette = _palette_graph(width, height, self.time_base, colours=round(4 + 2.52 * quality))

    def _setup_yuv(self, fmt: Format, quality: float):
        ctx = self.stream.codec_context
        self.stream.pix_fmt = "yuv420p"
        ctx.colorspace = ctx.color_primaries = ctx.color_trc = _BT709
        ctx.color_range = _MPEG_RANGE
        if fmt.name == "mp4":
            self.stream.options = {"crf": str(round(51 - 0.5 * quality))}
        else:
            # row-mt and cpu-used 2: several times faster than libvpx's defaults at a small size cost
            self.stream.options = {"crf": str(round(63 - 0.62 * quality)), "b": "0", "row-mt": "1", "cpu-used": "2"}

    def encode(self, rgb) -> list:
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts, frame.time_base = self.count, self.time_base
        self.count += 1
        if self.stream.pix_fmt == "yuv420p":
            frame = frame.reformat(format="yuv420p", dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG)
        if self.palette is None:
            return self.stream.encode(frame)
        self.palette.vpush(frame)
        return self._drain_palette()

    def flush(self) -> list:
        packets = []
        if self.palette is not None:
            self.palette.vpush(None)
            packets += self._drain_palette()
        return packets + self.stream.encode(None)

    def _drain_palette(self) -> list:
        packets = []
        while True:
            try:
                frame = self.palette.vpull()
            except (av.BlockingIOError, av.EOFError):
                return packets
            packets += self.stream.encode(frame)


def _palette_graph(width: int, height: int, time_base: Fraction, colours: int) -> Graph:
    """split -> palettegen (one palette per frame) -> paletteuse: a good 256-colour image per frame
    while streaming, where a fixed palette would band smooth gradients badly."""
    graph = Graph()
    source = graph.add_buffer(width=width, height=height, format="rgb24", time_base=time_base)
    split = graph.add("split")
    palette = graph.add("palettegen", f"stats_mode=single:max_colors={colours}")
    use = graph.add("paletteuse", "new=1")
    sink = graph.add("buffersink")
    source.link_to(split)
    split.link_to(use, 0, 0)
    split.link_to(palette, 1, 0)
    palette.link_to(use, 0, 1)
    use.link_to(sink)
    graph.configure()
    return graph
