"""A visible watermark: text in a corner of every frame, blended at an opacity.

The text is drawn once (white on a dark shadow, so it reads on any picture) into a small mask that is
then blended into each frame, so a long clip costs one drawing. Pillow ships a scalable default font,
so no font file is needed.
"""
import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

CORNERS = ("bottom right", "bottom left", "top right", "top left")


def watermark_problem(text: str, opacity: float, corner: str) -> str | None:
    if corner not in CORNERS:
        return f"watermark corner '{corner}' is not one of: {', '.join(CORNERS)}"
    if not 0 <= opacity <= 1:
        return f"watermark opacity must be between 0 and 1; got {opacity}"
    if any(ord(c) < 32 for c in text):
        return "the watermark text holds a line break or another control character: use one line of plain text"
    return None


def add_watermark(frames: torch.Tensor, text: str, opacity: float = 0.5, corner: str = "bottom right") -> torch.Tensor:
    """IMAGE [N, H, W, 3] with `text` in `corner`, its height about 1/16 of the frame's (at least 8 px)."""
    problem = watermark_problem(text, opacity, corner)
    if problem:
        raise ValueError(problem)
    if not text or opacity == 0:
        return frames
    height, width = frames.shape[1:3]
    text_mask, shadow_mask = _masks(text, width, height, corner)
    mask_dtype = dict(dtype=frames.dtype, device=frames.device)
    text_alpha = torch.from_numpy(text_mask).to(**mask_dtype).mul_(opacity / 255)[None, :, :, None]
    shadow_alpha = torch.from_numpy(shadow_mask).to(**mask_dtype).mul_(opacity * 0.6 / 255)[None, :, :, None]
    marked = frames * (1 - shadow_alpha)  # darken behind the letters, then lay the white letters on
    return marked * (1 - text_alpha) + text_alpha


def _masks(text: str, width: int, height: int, corner: str) -> tuple[np.ndarray, np.ndarray]:
    size = max(8, height // 16)
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = font.getbbox(text)
    margin = max(2, size // 3)
    x = margin - left if "left" in corner else width - margin - right
    y = margin - top if "top" in corner else height - margin - bottom
    text_layer, shadow_layer = Image.new("L", (width, height)), Image.new("L", (width, height))
    ImageDraw.Draw(text_layer).text((x, y), text, fill=255, font=font)
    offset = max(1, size // 12)
    ImageDraw.Draw(shadow_layer).text((x + offset, y + offset), text, fill=255, font=font,
                                      stroke_width=offset, stroke_fill=255)
    return np.asarray(text_layer).copy(), np.asarray(shadow_layer).copy()
