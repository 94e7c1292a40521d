"""The animated summary of a run: its step screenshots, small, one second each."""

from __future__ import annotations

import io

from PIL import Image

GIF_WIDTH = 640
FRAME_MS = 1000


def build_gif(screenshots: list[bytes]) -> bytes:
    frames = []
    for data in screenshots:
        with Image.open(io.BytesIO(data)) as opened:
            img = opened.convert("RGB")
            img.thumbnail((GIF_WIDTH, GIF_WIDTH * 4))
            frames.append(img.quantize(colors=128, method=Image.Quantize.MEDIANCUT))
    out = io.BytesIO()
    frames[0].save(
        out, format="GIF", save_all=True, append_images=frames[1:], duration=FRAME_MS, loop=0, optimize=False
    )
    return out.getvalue()
