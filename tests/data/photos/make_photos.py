"""Make the generated test photographs of this folder: python tests/data/photos/make_photos.py

Each label is drawn flat, then made to look photographed: pasted on a table-like background,
turned a few degrees, seen in slight perspective, lit unevenly, blurred, given sensor noise
and saved as a compressed JPEG. A fixed seed makes the output the same on every run.

Needs Pillow, zxing-cpp (for the barcode) and a CJK font for the Chinese label: it is found
with fontconfig (`fc-match`), e.g. Debian's `fonts-wqy-microhei`.
"""

from __future__ import annotations

import random
import subprocess
from collections.abc import Callable
from pathlib import Path

import zxingcpp
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

HERE = Path(__file__).resolve().parent
SIZE = (1200, 900)
DC = "\u2393"  # the direct-current sign, which no installed font draws: drawn by hand below
Font = ImageFont.FreeTypeFont


def font_file(pattern: str) -> str:
    """Return the file fontconfig picks for ``pattern``, or fail with what to install."""
    try:
        path = subprocess.run(["fc-match", "-f", "%{file}", pattern], capture_output=True, text=True).stdout
    except FileNotFoundError as error:
        raise SystemExit("fc-match not found: install fontconfig (apt-get install fontconfig)") from error
    if not path or not Path(path).is_file():
        raise SystemExit(f"no font for {pattern!r}: install one (apt-get install fonts-dejavu fonts-wqy-microhei)")
    return path


def fonts() -> dict[str, str]:
    """Return the font files: Latin regular and bold, and one with Chinese characters."""
    cjk = font_file("sans-serif:lang=zh-cn")
    if "wqy" not in cjk.lower() and "noto" not in cjk.lower() and "cjk" not in cjk.lower():
        raise SystemExit(f"fontconfig offers no Chinese font ({cjk}): apt-get install fonts-wqy-microhei")
    return {"sans": font_file("DejaVu Sans:style=Book"), "bold": font_file("DejaVu Sans:style=Bold"), "cjk": cjk}


def draw_text(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, font: Font, fill: int = 20) -> None:
    """Draw a line of text, drawing the DC sign (a bar over a dashed bar) as labels print it."""
    x, y = xy
    for i, part in enumerate(text.split(DC)):
        if i:
            size = font.size
            top = y + int(size * 0.45)
            width = int(size * 0.9)
            thick = max(2, size // 14)
            draw.rectangle((x, top, x + width, top + thick), fill=fill)
            for k in range(3):
                dash = x + k * width // 3
                draw.rectangle((dash, top + 3 * thick, dash + width // 5, top + 4 * thick), fill=fill)
            x += width + size // 4
        draw.text((x, y), part, font=font, fill=fill)
        x += int(draw.textlength(part, font=font))


def label(size: tuple[int, int], lines: list[tuple[str, Font]], colour: int = 236, gap: int = 14) -> Image.Image:
    """Return a flat grey label with ``lines`` of text on it, top to bottom."""
    card = Image.new("L", size, colour)
    draw = ImageDraw.Draw(card)
    draw.rounded_rectangle((8, 8, size[0] - 8, size[1] - 8), radius=24, outline=60, width=3)
    y = 40
    for text, font in lines:
        draw_text(draw, (48, y), text, font)
        y += font.size + gap
    return card


def noise(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """Return uniform grey noise drawn from ``rng`` (Pillow's own noise is not seeded, so not repeatable)."""
    return Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))


def background(rng: random.Random) -> Image.Image:
    """Return a table-like background: a soft gradient with grain."""
    base = Image.linear_gradient("L").resize(SIZE).point(lambda v: 95 + v // 4)
    grain = noise(SIZE, rng).filter(ImageFilter.GaussianBlur(2))
    return Image.blend(base, grain, 0.12 + rng.random() * 0.03)


def photograph(card: Image.Image, rng: random.Random, angle: float, blur: float = 1.1) -> Image.Image:
    """Make a flat label look photographed with a phone; return an RGB image."""
    photo = background(rng)
    turned = card.convert("RGBA").rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    at = ((SIZE[0] - turned.width) // 2 + rng.randint(-20, 20), (SIZE[1] - turned.height) // 2 + rng.randint(-15, 15))
    photo.paste(turned.convert("L"), at, turned)
    # A phone held not quite square to the label: a mild keystone (corners: UL, LL, LR, UR).
    w, h = SIZE
    d = 0.03 * w
    quad = (d * 0.5, 0, 0, h - d * 0.2, w, h, w - d * 0.5, d * 0.3)
    photo = photo.transform(SIZE, Image.Transform.QUAD, quad, resample=Image.Resampling.BICUBIC)
    # Light from the top left, falling off smoothly towards the bottom right.
    x0, y0 = int(1.25 * w), int(1.3 * h)
    distance = Image.radial_gradient("L").resize((3 * w, 3 * h)).crop((x0, y0, x0 + w, y0 + h))
    photo = ImageChops.multiply(photo, distance.point(lambda v: 255 - v * 3 // 5))
    photo = photo.filter(ImageFilter.GaussianBlur(blur))
    photo = Image.blend(photo, noise(SIZE, rng), 0.07)
    tint = Image.merge("RGB", (photo, photo.point(lambda v: v * 97 // 100), photo.point(lambda v: v * 90 // 100)))
    return tint


def save(image: Image.Image, name: str, quality: int = 72) -> None:
    image.save(HERE / name, "JPEG", quality=quality, optimize=True)
    print(f"{name}: {(HERE / name).stat().st_size:,} bytes")


def barcode_recalled(f: dict[str, str], rng: random.Random) -> Image.Image:
    """HALO 1000 Portable Power Station's UPC-A 840056145528 (CPSC recall 24-350), with its name."""
    code = zxingcpp.create_barcode("840056145528", zxingcpp.BarcodeFormat.UPCA)
    bars = zxingcpp.write_barcode_to_image(code, scale=4, add_hrt=True)
    height, width = bars.shape
    symbol = Image.frombytes("L", (width, height), bytes(memoryview(bars)))
    card = label(
        (760, 560),
        [
            ("HALO 1000", ImageFont.truetype(f["bold"], 46)),
            ("Portable Power Station", ImageFont.truetype(f["sans"], 32)),
        ],
    )
    white = Image.new("L", (symbol.width + 20, symbol.height + 20), 250)
    white.paste(symbol, (10, 10))
    card.paste(white, ((card.width - white.width) // 2, 180))
    return photograph(card, rng, angle=-4.0)


def label_a1263(f: dict[str, str], rng: random.Random) -> Image.Image:
    """The back of an Anker PowerCore 10000 as it is printed: brand, model, ratings, serial."""
    sans, bold = ImageFont.truetype(f["sans"], 30), ImageFont.truetype(f["bold"], 44)
    card = label(
        (860, 560),
        [
            ("Anker PowerCore 10000", bold),
            ("Model: A1263", sans),
            (f"Input: 5V {DC} 2A", sans),
            (f"Output: 5V {DC} 2.4A", sans),
            ("Capacity: 10000mAh 3.6V 36Wh", sans),
            ("Lithium-ion Battery", sans),
            ("SN: AH12631F23456789", sans),
            ("Anker Innovations Limited  Made in China", ImageFont.truetype(f["sans"], 24)),
        ],
    )
    return photograph(card, rng, angle=2.5)


def label_pac20_272(f: dict[str, str], rng: random.Random) -> Image.Image:
    """A Romoss 20,000 mAh power bank's label in Chinese and English."""
    cjk, big = ImageFont.truetype(f["cjk"], 30), ImageFont.truetype(f["cjk"], 44)
    card = label(
        (880, 600),
        [
            ("罗马仕 ROMOSS", big),
            ("移动电源 Power Bank", cjk),
            ("型号：PAC20-272", cjk),
            ("额定容量：12000mAh (5V 2.4A)", cjk),
            ("电池容量：20000mAh 3.7V 74Wh", cjk),
            (f"输入：5V {DC} 3A  9V {DC} 2A", cjk),
            (f"输出：5V {DC} 3A  9V {DC} 2.22A", cjk),
            ("深圳市罗马仕科技有限公司  中国制造", ImageFont.truetype(f["cjk"], 24)),
        ],
    )
    return photograph(card, rng, angle=-2.0)


def label_unrelated(f: dict[str, str], rng: random.Random) -> Image.Image:
    """A wireless mouse's underside label: a product in no recall."""
    sans = ImageFont.truetype(f["sans"], 30)
    card = label(
        (820, 470),
        [
            ("Logitech", ImageFont.truetype(f["bold"], 44)),
            ("Wireless Mouse M185", sans),
            ("M/N: M-R0048", sans),
            (f"Rating: 1.5V {DC} 15mA", sans),
            ("S/N: 2215LZ0A1B28", sans),
            ("Made in China", ImageFont.truetype(f["sans"], 24)),
        ],
    )
    return photograph(card, rng, angle=3.0)


def nothing(f: dict[str, str], rng: random.Random) -> Image.Image:
    """A blurred, out-of-focus shot: soft shapes, no text, no barcode."""
    card = Image.new("L", (700, 500), 200)
    draw = ImageDraw.Draw(card)
    for _ in range(12):
        x, y, r = rng.randint(0, 700), rng.randint(0, 500), rng.randint(30, 140)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=rng.randint(90, 240))
    return photograph(card.filter(ImageFilter.GaussianBlur(25)), rng, angle=6.0, blur=6.0)


PHOTOS: dict[str, Callable[[dict[str, str], random.Random], Image.Image]] = {
    "barcode_recalled.jpg": barcode_recalled,
    "label_a1263.jpg": label_a1263,
    "label_pac20_272.jpg": label_pac20_272,
    "label_unrelated.jpg": label_unrelated,
    "nothing.jpg": nothing,
}


def main() -> None:
    found = fonts()
    for n, (name, make) in enumerate(PHOTOS.items()):
        save(make(found, random.Random(1000 + n)), name)


if __name__ == "__main__":
    main()
