"""Write the golden image fixtures: small images in every supported format and mode,
and the uint8 images that transformers' CLIPImageProcessor produces from them.

Run from the repository root (gcc and libjpeg62-turbo-dev are needed once, to build the
YCCK writer):

    python3 tools/reference/make_image_fixtures.py

The pinned package versions are in tools/reference/requirements.txt (transformers
4.45.2, Pillow 13.0.0, numpy 1.26.4). Inputs are generated from fixed seeds, so a rerun
with those versions reproduces the committed files.

What is stored, under Tests/MMRetTests/Fixtures/images/:

* ``inputs/``: the images. Most are written by Pillow. This script writes the PNG
  variants Pillow cannot write (Adam7 interlacing, 4-bit grey, grey with tRNS, 16-bit)
  and the BMP variants (RLE8, RLE4, 16-bit, bit fields, top-down, OS/2 headers) byte by byte. The
  YCCK, 4:4:0 and 4:1:1 JPEGs come from write_test_jpeg.c through libjpeg.
* ``configs/<name>/preprocessor_config.json``: three processor settings (BGE-VL's, one
  with a {"height", "width"} size and a crop that needs zero padding, and one with
  integer sizes, bilinear resampling and no normalisation).
* ``expected/<config>/<case>.webp``: the resized and centre-cropped uint8 image (RGB,
  channels last, lossless WebP) before rescaling and normalisation. The script checks, for every case,
  that rescaling it as float32(float64(v) * rescale_factor) and normalising it as
  (v - float32(mean)) / float32(std) in float32 gives CLIPImageProcessor's pixel_values
  exactly, so the tests can derive the float values from these PNGs.
* ``resample/<filter>-<size>.webp``: Pillow's ``Image.resize`` output for each convolution filter.
* ``errors/``: files that must be rejected.
* ``manifest.json``: every case with its input, config, expected file and notes.

Two kinds of case deliberately differ from the reference, and the manifest records which:

* 16-bit greyscale PNG: Pillow opens it as mode I;16 and ``convert("RGB")`` clips every
  value above 255 to white. The expected image is computed from the high byte of each
  sample (the 8-bit image Pillow would have read had the file been 8-bit), then run through
  the processor.
* Heights of 1 to 3 pixels: transformers infers the channel axis from the array shape
  and takes an (H, W, 3) array with H in (1, 3) for channels-first, so it fails or
  resizes the wrong axes. The expected image is computed with
  ``input_data_format="channels_last"``, the layout the array really has.
"""

import io
import json
import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from transformers import CLIPImageProcessor

ROOT = Path(__file__).resolve().parents[2] / "Tests" / "MMRetTests" / "Fixtures" / "images"
INPUTS = ROOT / "inputs"

CONFIGS = {
    # BGE-VL-base and BGE-VL-large ship these settings.
    "clip-base": {
        "crop_size": {"height": 224, "width": 224},
        "do_center_crop": True,
        "do_convert_rgb": True,
        "do_normalize": True,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_processor_type": "CLIPImageProcessor",
        "image_std": [0.26862954, 0.26130258, 0.27577711],
        "resample": 3,
        "rescale_factor": 0.00392156862745098,
        "size": {"shortest_edge": 224},
    },
    # An exact resize to 200x180, then a 160x192 crop: wider than the resized image, so the
    # crop is zero-padded left and right.
    "exact-size": {
        "crop_size": {"height": 160, "width": 192},
        "do_center_crop": True,
        "do_normalize": True,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": [0.5, 0.4, 0.3],
        "image_std": [0.25, 0.3, 0.35],
        "resample": 3,
        "rescale_factor": 0.00392156862745098,
        "size": {"height": 200, "width": 180},
    },
    # The older integer forms of size and crop_size, bilinear resampling, no normalisation
    # and a different rescale factor; every other key is left to the defaults.
    "legacy-bilinear": {
        "crop_size": 56,
        "do_normalize": False,
        "resample": 2,
        "rescale_factor": 0.0078125,
        "size": 64,
    },
}


# ---------------------------------------------------------------- synthetic content


def pattern(width, height, seed):
    """Smooth gradients with a few hard-edged rectangles: compressible, yet the edges
    exercise the resampler's negative lobes and clamping."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    red = 127 + 120 * np.sin(x / max(width, 1) * np.pi * (2 + seed % 3) + seed)
    green = 255 * y / max(height - 1, 1)
    blue = 127 + 120 * np.cos((x + 2 * y) / (9 + seed % 7))
    image = np.stack([red, green, blue], axis=-1)
    for _ in range(3):
        x0, x1 = sorted(rng.integers(0, width + 1, 2))
        y0, y1 = sorted(rng.integers(0, height + 1, 2))
        image[y0:y1, x0:x1] = rng.integers(0, 256, 3)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def lines(width, height, vertical):
    """One-pixel black and white lines, the hardest input for a resampler."""
    image = np.zeros((height, width, 3), np.uint8)
    if vertical:
        image[:, ::2] = 255
    else:
        image[::2, :] = 255
    return image


# ---------------------------------------------------------------- byte-level writers


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_row(samples, bit_depth):
    """Packs one row of integer samples (already interleaved) at `bit_depth`."""
    if bit_depth == 16:
        return b"".join(struct.pack(">H", int(v)) for v in samples)
    if bit_depth == 8:
        return bytes(int(v) for v in samples)
    per_byte = 8 // bit_depth
    out = bytearray()
    for start in range(0, len(samples), per_byte):
        byte = 0
        chunk = samples[start:start + per_byte]
        for index, value in enumerate(chunk):
            byte |= int(value) << (8 - bit_depth * (index + 1))
        out.append(byte)
    return bytes(out)


def write_png(path, samples, color_type, bit_depth, interlace=False, palette=None, trns=None, width=None, height=None):
    """Writes a PNG from an (H, W, C) or (H, W) integer array, unfiltered, optionally Adam7."""
    samples = np.asarray(samples)
    if samples.ndim == 2:
        samples = samples[:, :, None]
    height, width = samples.shape[:2] if height is None else (height, width)
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 1 if interlace else 0)
    raw = bytearray()
    if interlace:
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        for x0, y0, dx, dy in passes:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] == 0 or sub.shape[1] == 0:
                continue
            for row in sub:
                raw += b"\x00" + pack_row(row.reshape(-1), bit_depth)
    else:
        for row in samples:
            raw += b"\x00" + pack_row(row.reshape(-1), bit_depth)
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
    if palette is not None:
        data += png_chunk(b"PLTE", bytes(np.asarray(palette, np.uint8).reshape(-1)))
    if trns is not None:
        data += png_chunk(b"tRNS", trns)
    data += png_chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + png_chunk(b"IEND", b"")
    Path(path).write_bytes(data)


def write_bmp(path, image, bits, top_down=False, header_size=40, masks=None, palette=None, indices=None):
    """Writes the BMP variants Pillow reads but does not write."""
    height, width = (indices if indices is not None else image).shape[:2]
    row_bytes = ((width * bits + 31) // 32) * 4
    rows = []
    for y in range(height):
        if bits <= 8:
            row = pack_row(indices[y], bits)
        elif bits == 16:
            red, green, blue = (image[y, :, c].astype(np.uint32) for c in range(3))
            if masks == (0xF800, 0x7E0, 0x1F):
                value = (red >> 3) << 11 | (green >> 2) << 5 | (blue >> 3)
            else:
                value = (red >> 3) << 10 | (green >> 3) << 5 | (blue >> 3)
            row = b"".join(struct.pack("<H", int(v)) for v in value)
        elif bits == 24:
            row = bytes(image[y, :, ::-1].reshape(-1))
        else:
            # 32-bit pixels laid out by `masks` (red, green, blue, alpha), alpha = 0x80.
            pixel = np.zeros((width,), np.uint32)
            for channel, mask in enumerate(masks[:3]):
                shift = (mask & -mask).bit_length() - 1
                pixel |= image[y, :, channel].astype(np.uint32) << shift
            if len(masks) > 3 and masks[3]:
                pixel |= np.uint32(0x80) << ((masks[3] & -masks[3]).bit_length() - 1)
            row = pixel.astype("<u4").tobytes()
        rows.append(row + b"\x00" * (row_bytes - len(row)))
    if not top_down:
        rows.reverse()
    pixel_data = b"".join(rows)

    compression = 3 if masks is not None else 0
    if header_size == 12:
        info = struct.pack("<IHHHH", 12, width, height, 1, bits)
        palette_bytes = b"".join(bytes([b, g, r]) for r, g, b in palette) if palette is not None else b""
    else:
        info = struct.pack("<IiiHHIIiiII", header_size, width, -height if top_down else height, 1, bits,
                           compression, len(pixel_data), 2835, 2835, 0, 0)
        extra = b""
        if header_size >= 52 and masks is not None:
            extra = struct.pack("<III", *masks[:3]) + (struct.pack("<I", masks[3]) if header_size >= 56 else b"")
        info += extra + b"\x00" * (header_size - len(info) - len(extra))
        if header_size == 40 and masks is not None:
            info += struct.pack("<III", *masks[:3])
        palette_bytes = b"".join(bytes([b, g, r, 0]) for r, g, b in palette) if palette is not None else b""
    offset = 14 + len(info) + len(palette_bytes)
    header = b"BM" + struct.pack("<IHHI", offset + len(pixel_data), 0, 0, offset)
    Path(path).write_bytes(header + info + palette_bytes + pixel_data)


def rle_encode(indices, four_bit):
    """Encodes palette indices (H, W) bottom-up as RLE8 or RLE4 with encoded runs, absolute
    runs, a delta code over a row's leading zeros, end-of-line codes and end-of-bitmap."""
    out = bytearray()
    height, width = indices.shape
    for y in reversed(range(height)):
        row = [int(v) for v in indices[y]]
        x = 0
        if y == height // 2:
            while x < width and row[x] == 0:
                x += 1
            if x:
                out += bytes([0, 2, x, 0])
        while x < width:
            run = 1
            while x + run < width and row[x + run] == row[x] and run < 255:
                run += 1
            literal_end = x
            while (literal_end < width and literal_end - x < 255
                   and not (literal_end + 2 < width and row[literal_end] == row[literal_end + 1] == row[literal_end + 2])):
                literal_end += 1
            if run >= 3 or literal_end - x < 3:
                out += bytes([run, row[x] * 17 if four_bit else row[x]])
                x += run
                continue
            literals = row[x:literal_end]
            out += bytes([0, len(literals)])
            if four_bit:
                padded = literals + [0] * (len(literals) % 2)
                data = bytes(padded[i] << 4 | padded[i + 1] for i in range(0, len(padded), 2))
            else:
                data = bytes(literals)
            out += data + b"\x00" * (len(data) % 2)
            x = literal_end
        out += bytes([0, 0])
    return bytes(out + bytes([0, 1]))


def write_bmp_rle(path, indices, palette, four_bit):
    """Writes an RLE8 or RLE4 BMP (Pillow reads these but does not write them)."""
    height, width = indices.shape
    data = rle_encode(indices, four_bit)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 4 if four_bit else 8, 2 if four_bit else 1,
                       len(data), 2835, 2835, len(palette), 0)
    palette_bytes = b"".join(bytes([b, g, r, 0]) for r, g, b in palette)
    offset = 14 + len(info) + len(palette_bytes)
    assert offset % 2 == 0, "absolute runs are padded relative to the file start"
    header = b"BM" + struct.pack("<IHHI", offset + len(data), 0, 0, offset)
    Path(path).write_bytes(header + info + palette_bytes + data)


def jpeg_tool():
    """Builds write_test_jpeg.c against libjpeg and returns the binary's path."""
    tool = Path(tempfile.gettempdir()) / "mmret_write_test_jpeg"
    source = Path(__file__).with_name("write_test_jpeg.c")
    subprocess.run(["gcc", "-O1", "-o", str(tool), str(source), "-ljpeg"], check=True)
    return tool


def write_ycck(path, width, height, seed):
    """Writes a YCCK JPEG of inverted (Adobe) CMYK."""
    rgb = pattern(width, height, seed).astype(np.int32)
    black = 255 - rgb.max(axis=-1)
    cmyk = np.concatenate([255 - rgb - black[..., None], black[..., None]], axis=-1)
    adobe = (255 - np.clip(cmyk, 0, 255)).astype(np.uint8)
    subprocess.run([str(jpeg_tool()), "ycck", str(width), str(height), str(path)], input=adobe.tobytes(), check=True)


def write_sampled_jpeg(path, width, height, seed, horizontal, vertical):
    """Writes a YCbCr JPEG whose luma has sampling factors horizontal x vertical."""
    rgb = pattern(width, height, seed)
    arguments = ["ycc", str(width), str(height), str(horizontal), str(vertical), str(path)]
    subprocess.run([str(jpeg_tool())] + arguments, input=rgb.tobytes(), check=True)


def patch_gif_geometry(path, screen, frame_offset):
    """Rewrites the logical screen size and the first frame's offset of a GIF file, so that
    the frame covers only part of the screen or extends past it."""
    data = bytearray(Path(path).read_bytes())
    struct.pack_into("<HH", data, 6, *screen)
    flags = data[10]
    position = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    while data[position] == 0x21:
        position += 2
        while data[position]:
            position += data[position] + 1
        position += 1
    assert data[position] == 0x2C, "expected the first image descriptor"
    struct.pack_into("<HH", data, position + 1, *frame_offset)
    Path(path).write_bytes(bytes(data))


def exif_with_orientation(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


# ---------------------------------------------------------------- inputs


def write_inputs():
    """Writes every input image; returns {case name: (file name, correction or None)}."""
    if ROOT.exists():
        shutil.rmtree(ROOT)
    INPUTS.mkdir(parents=True)
    cases = {}

    def save(name, image, correction=None, **params):
        image.save(INPUTS / name, **params)
        cases[name] = correction

    def raw(name, correction=None):
        cases[name] = correction

    rgb = lambda w, h, seed: Image.fromarray(pattern(w, h, seed), "RGB")

    # JPEG: subsampling 4:2:0 (Pillow's default), 4:2:2 and 4:4:4, progressive, grey, CMYK.
    save("jpeg-420-267x200.jpg", rgb(267, 200, 1), quality=90)
    save("jpeg-420-200x267.jpg", rgb(200, 267, 2), quality=90)
    save("jpeg-444-225x301.jpg", rgb(225, 301, 3), quality=90, subsampling=0)
    save("jpeg-422-301x225.jpg", rgb(301, 225, 4), quality=85, subsampling=1)
    save("jpeg-progressive-120x90.jpg", rgb(120, 90, 5), quality=90, progressive=True)
    save("jpeg-grey-70x80.jpg", rgb(70, 80, 6).convert("L"), quality=90)
    cmyk = Image.fromarray(pattern(80, 96, 7), "RGB").convert("CMYK")
    save("jpeg-cmyk-80x96.jpg", cmyk, quality=90)
    write_ycck(INPUTS / "jpeg-ycck-84x76.jpg", 84, 76, 8)
    raw("jpeg-ycck-84x76.jpg")
    # Sampling factors Pillow cannot write: 4:4:0 (libjpeg's h1v2 fancy upsampling) and 4:1:1.
    write_sampled_jpeg(INPUTS / "jpeg-440-90x78.jpg", 90, 78, 46, 1, 2)
    raw("jpeg-440-90x78.jpg")
    write_sampled_jpeg(INPUTS / "jpeg-411-90x78.jpg", 90, 78, 47, 4, 1)
    raw("jpeg-411-90x78.jpg")
    save("jpeg-exif-rotated-104x80.jpg", rgb(104, 80, 9), quality=90, exif=exif_with_orientation(6))
    # One side over 3000 pixels: 224 * 3100 / 600 = 1157.33, truncated to 1157.
    save("jpeg-large-3100x600.jpg", rgb(3100, 600, 10), quality=30)
    # A JPEG named .png, as real datasets have: decoding goes by content.
    save("jpeg-named-as.png", rgb(100, 84, 11), quality=90, format="JPEG")

    # PNG written by Pillow.
    save("png-rgb-224x224.png", rgb(224, 224, 12))
    save("png-rgb-smaller-than-crop-100x80.png", rgb(100, 80, 13))
    save("png-lines-vertical-300x250.png", Image.fromarray(lines(300, 250, True)))
    save("png-lines-horizontal-250x300.png", Image.fromarray(lines(250, 300, False)))
    checker = (np.indices((222, 333)).sum(axis=0) % 2 * 255).astype(np.uint8)
    save("png-checkerboard-333x222.png", Image.fromarray(checker, "L"))
    # 228x700 resizes to 224x687: the height shrinks by more than twice as many pixels as
    # the width, so Pillow 13 resamples vertically first, which rounds differently.
    tall = (np.indices((700, 228)).sum(axis=0) % 3 * 120).astype(np.uint8)
    save("png-tall-pattern-228x700.png", Image.fromarray(np.stack([tall, tall[::-1], 255 - tall], -1)))
    rgba = np.concatenate([pattern(96, 80, 14), np.linspace(0, 255, 96 * 80).reshape(80, 96, 1).astype(np.uint8)], -1)
    save("png-rgba-96x80.png", Image.fromarray(rgba, "RGBA"))
    transparent = np.concatenate([pattern(92, 92, 15), np.zeros((92, 92, 1), np.uint8)], -1)
    save("png-rgba-fully-transparent-92x92.png", Image.fromarray(transparent, "RGBA"))
    grey = pattern(84, 96, 16)[..., 1]
    save("png-grey-84x96.png", Image.fromarray(grey, "L"))
    la = np.stack([grey, 255 - grey], -1)
    save("png-grey-alpha-84x96.png", Image.fromarray(la, "LA"))
    save("png-bilevel-100x80.png", Image.fromarray(pattern(100, 80, 17)[..., 0] > 128))
    palette_image = rgb(104, 88, 18).quantize(colors=40, dither=Image.Dither.NONE)
    save("png-palette-104x88.png", palette_image)
    save("png-palette-transparent-index-104x88.png", palette_image, transparency=3)
    four = Image.fromarray((pattern(96, 84, 19)[..., 0] // 64).astype(np.uint8), "P")
    four.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 250, 250, 0])
    save("png-palette-2bit-96x84.png", four)
    # PNG variants Pillow cannot write.
    deep = pattern(92, 84, 20).astype(np.uint16) * 256 + (np.arange(92, dtype=np.uint16)[None, :, None] * 37 % 256)
    write_png(INPUTS / "png-rgb16-92x84.png", deep, color_type=2, bit_depth=16)
    raw("png-rgb16-92x84.png")
    deep_alpha = np.concatenate([deep, (np.arange(84, dtype=np.uint16)[:, None, None] * 700 + 7).repeat(92, 1)], -1)
    write_png(INPUTS / "png-rgba16-92x84.png", deep_alpha, color_type=6, bit_depth=16)
    raw("png-rgba16-92x84.png")
    write_png(INPUTS / "png-grey-alpha16-92x84.png", deep[..., :2], color_type=4, bit_depth=16)
    raw("png-grey-alpha16-92x84.png")
    grey16 = (np.linspace(0, 65535, 96 * 80).reshape(80, 96)).astype(np.uint16)
    write_png(INPUTS / "png-grey16-96x80.png", grey16, color_type=0, bit_depth=16)
    raw("png-grey16-96x80.png", "grey16")
    write_png(INPUTS / "png-grey4-100x84.png", pattern(100, 84, 21)[..., 2] // 16, color_type=0, bit_depth=4)
    raw("png-grey4-100x84.png")
    write_png(INPUTS / "png-grey-trns-92x96.png", pattern(92, 96, 22)[..., 1], color_type=0, bit_depth=8,
              trns=struct.pack(">H", 128))
    raw("png-grey-trns-92x96.png")
    write_png(INPUTS / "png-interlaced-rgb-98x86.png", pattern(98, 86, 23), color_type=2, bit_depth=8, interlace=True)
    raw("png-interlaced-rgb-98x86.png")
    indices = pattern(94, 82, 24)[..., 0] // 32
    write_png(INPUTS / "png-interlaced-palette-trns-94x82.png", indices, color_type=3, bit_depth=4, interlace=True,
              palette=[(i * 30, 255 - i * 30, (i * 97) % 256) for i in range(8)], trns=bytes([0, 128, 255]))
    raw("png-interlaced-palette-trns-94x82.png")

    # Sides of 1 to 7 pixels.
    save("png-narrow-3x500.png", rgb(3, 500, 25))
    save("png-flat-900x7.png", rgb(900, 7, 26))
    save("png-short-500x3.png", rgb(500, 3, 27), "channels_last")
    save("png-single-row-300x1.png", rgb(300, 1, 28), "channels_last")
    save("png-single-column-1x300.png", rgb(1, 300, 29))
    save("png-single-pixel-1x1.png", rgb(1, 1, 30), "channels_last")

    # WebP.
    save("webp-lossy-104x80.webp", rgb(104, 80, 31), quality=80)
    save("webp-lossless-80x104.webp", rgb(80, 104, 32), lossless=True)
    save("webp-lossy-alpha-96x80.webp", Image.fromarray(rgba, "RGBA"), quality=80)
    frames = [rgb(92, 84, 33), rgb(92, 84, 34)]
    save("webp-animated-92x84.webp", frames[0], save_all=True, append_images=frames[1:], duration=100, lossless=True)

    # GIF: Pillow writes interlaced frames by default.
    gif_frame = rgb(100, 80, 35).quantize(colors=64, dither=Image.Dither.NONE)
    save("gif-interlaced-100x80.gif", gif_frame)
    save("gif-not-interlaced-100x80.gif", gif_frame, interlace=False)
    save("gif-transparent-100x80.gif", gif_frame, transparency=5)
    # A first frame placed inside a larger screen (the rest is the transparent index), and
    # one that extends past the screen (Pillow enlarges the image to hold it).
    save("gif-frame-inside-screen-100x80.gif", gif_frame, transparency=7, interlace=False)
    patch_gif_geometry(INPUTS / "gif-frame-inside-screen-100x80.gif", (112, 90), (7, 4))
    save("gif-frame-past-screen-100x80.gif", gif_frame, interlace=False)
    patch_gif_geometry(INPUTS / "gif-frame-past-screen-100x80.gif", (90, 70), (3, 2))
    animation = [rgb(88, 96, 36).quantize(colors=32), rgb(88, 96, 37).quantize(colors=32)]
    save("gif-animated-88x96.gif", animation[0], save_all=True, append_images=animation[1:], duration=100)

    # BMP written by Pillow.
    save("bmp-rgb24-92x84.bmp", rgb(92, 84, 38))
    save("bmp-palette8-92x84.bmp", rgb(92, 84, 39).quantize(colors=100))
    save("bmp-grey8-92x84.bmp", rgb(92, 84, 40).convert("L"))
    save("bmp-bilevel-92x84.bmp", rgb(92, 84, 41).convert("1"))
    # BMP variants written byte by byte.
    bmp_pixels = pattern(90, 86, 42)
    write_bmp(INPUTS / "bmp-rgb555-90x86.bmp", bmp_pixels, 16)
    write_bmp(INPUTS / "bmp-rgb565-bitfields-90x86.bmp", bmp_pixels, 16, masks=(0xF800, 0x7E0, 0x1F))
    write_bmp(INPUTS / "bmp-top-down-90x86.bmp", bmp_pixels, 24, top_down=True)
    write_bmp(INPUTS / "bmp-bgra32-v5-90x86.bmp", bmp_pixels, 32, header_size=124,
              masks=(0xFF0000, 0xFF00, 0xFF, 0xFF000000))
    write_bmp(INPUTS / "bmp-xbgr32-bitfields-90x86.bmp", bmp_pixels, 32, masks=(0xFF000000, 0xFF0000, 0xFF00))
    write_bmp(INPUTS / "bmp-palette4-90x86.bmp", None, 4, indices=(bmp_pixels[..., 0] // 16),
              palette=[(i * 16, 255 - i * 16, (i * 53) % 256) for i in range(16)])
    write_bmp(INPUTS / "bmp-os2-palette8-90x86.bmp", None, 8, header_size=12, indices=bmp_pixels[..., 1],
              palette=[(i, (i * 7) % 256, 255 - i) for i in range(256)])
    blocks = (pattern(90, 86, 45)[..., 0] // 32).astype(np.uint8)
    blocks[::7, 5:40] = 3
    blocks[43, :12] = 0
    write_bmp_rle(INPUTS / "bmp-rle8-90x86.bmp", blocks * 30, [(i, 255 - i, (i * 3) % 256) for i in range(256)], False)
    write_bmp_rle(INPUTS / "bmp-rle4-90x86.bmp", blocks * 2, [(i * 16, 255 - i * 16, (i * 53) % 256) for i in range(16)], True)
    for name in ["bmp-rle8-90x86.bmp", "bmp-rle4-90x86.bmp", "bmp-rgb555-90x86.bmp", "bmp-rgb565-bitfields-90x86.bmp", "bmp-top-down-90x86.bmp",
                 "bmp-bgra32-v5-90x86.bmp", "bmp-xbgr32-bitfields-90x86.bmp", "bmp-palette4-90x86.bmp",
                 "bmp-os2-palette8-90x86.bmp"]:
        raw(name)
    return cases


# ---------------------------------------------------------------- expected outputs


def save_lossless(image, path):
    """Saves an expected image as lossless WebP (about 30% smaller than PNG here) and checks
    that it reads back identically."""
    image.save(path, "WEBP", lossless=True, quality=100, method=6, exact=True)
    assert np.array_equal(np.array(Image.open(path).convert("RGB")), np.array(image.convert("RGB")))


def open_for_reference(path, correction, exif):
    image = Image.open(path)
    if exif:
        image = ImageOps.exif_transpose(image)
    if correction == "grey16":
        samples = np.array(image)
        assert samples.dtype == np.uint16 or image.mode.startswith("I"), image.mode
        image = Image.fromarray((samples.astype(np.uint32) >> 8).astype(np.uint8), "L")
    return image


def expected_uint8(processor, config, image, correction):
    """Returns the processor's uint8 image before rescaling, after checking that the
    documented float derivation from it equals the processor's pixel_values exactly."""
    keywords = {"input_data_format": "channels_last"} if correction == "channels_last" else {}
    full = processor(images=image, return_tensors="np", **keywords)["pixel_values"][0]
    plain = processor(images=image, return_tensors="np", do_rescale=False, do_normalize=False, **keywords)
    plain = plain["pixel_values"][0]
    assert plain.dtype == np.uint8, plain.dtype

    values = plain.astype(np.float32)
    if processor.do_rescale:
        values = (plain.astype(np.float64) * processor.rescale_factor).astype(np.float32)
    if processor.do_normalize:
        mean = np.array(processor.image_mean, np.float32)[:, None, None]
        std = np.array(processor.image_std, np.float32)[:, None, None]
        values = (values - mean) / std
    assert values.dtype == np.float32, values.dtype
    assert full.dtype == np.float32, full.dtype
    assert np.array_equal(values, full), f"derivation differs by {np.abs(values - full).max()}"
    return plain.transpose(1, 2, 0)


def reference_failure(processor, image):
    """Describes what the unmodified reference does with a 1-to-3-pixel-high image."""
    try:
        output = processor(images=image, return_tensors="np")["pixel_values"]
        return f"the reference returns shape {list(output.shape)} with the axes misread"
    except Exception as error:  # noqa: BLE001 - any failure is what is being recorded
        return f"the reference raises {type(error).__name__}"


def main():
    cases = write_inputs()
    manifest = {"cases": [], "resample": [], "errors": []}
    config_cases = {
        "clip-base": sorted(cases),
        "exact-size": ["png-tall-pattern-228x700.png", "jpeg-420-267x200.jpg", "png-rgb-smaller-than-crop-100x80.png",
                       "png-lines-vertical-300x250.png", "png-short-500x3.png", "webp-lossy-104x80.webp",
                       "gif-interlaced-100x80.gif", "bmp-rgb24-92x84.bmp", "png-grey16-96x80.png"],
        "legacy-bilinear": ["jpeg-444-225x301.jpg", "png-lines-horizontal-250x300.png", "png-checkerboard-333x222.png",
                            "png-narrow-3x500.png", "jpeg-cmyk-80x96.jpg", "webp-lossless-80x104.webp"],
    }
    for config_name, config in CONFIGS.items():
        directory = ROOT / "configs" / config_name
        directory.mkdir(parents=True)
        (directory / "preprocessor_config.json").write_text(json.dumps(config, indent=2) + "\n")
        processor = CLIPImageProcessor.from_pretrained(directory)
        (ROOT / "expected" / config_name).mkdir(parents=True)
        for name in config_cases[config_name]:
            correction = cases[name]
            runs = [False, True] if name.startswith("jpeg-exif") else [False]
            for exif in runs:
                image = open_for_reference(INPUTS / name, correction, exif)
                note = None
                if correction == "grey16":
                    note = "corrected: Pillow turns 16-bit grey white; expected from the high byte of each sample"
                elif correction == "channels_last":
                    failure = reference_failure(processor, Image.open(INPUTS / name))
                    note = f"corrected: {failure}; expected with input_data_format=channels_last"
                expected = expected_uint8(processor, config, image, correction)
                stem = Path(name).stem + ("-exif-applied" if exif else "")
                expected_path = ROOT / "expected" / config_name / f"{stem}.webp"
                save_lossless(Image.fromarray(expected, "RGB"), expected_path)
                manifest["cases"].append({
                    "input": f"inputs/{name}",
                    "config": config_name,
                    "appliesEXIFOrientation": exif,
                    "expected": str(expected_path.relative_to(ROOT)),
                    "mode": Image.open(INPUTS / name).mode,
                    "format": Image.open(INPUTS / name).format,
                    "note": note,
                })

    # Every convolution filter on the hardest pattern, straight through Image.resize.
    (ROOT / "resample").mkdir()
    source = Image.fromarray(np.concatenate([lines(97, 83, True)[:, :48], pattern(49, 83, 43)], axis=1), "RGB")
    source.save(INPUTS / "resample-source-97x83.png")
    filters = {"lanczos": 1, "bilinear": 2, "bicubic": 3, "box": 4, "hamming": 5, "mks2013": 6, "mks2021": 7}
    for filter_name, number in filters.items():
        # Down, up, height only, and a height cut by more than twice the width's cut, for
        # which Pillow 13 runs the vertical pass first.
        for width, height in [(41, 30), (150, 120), (97, 61), (90, 20)]:
            resized = source.resize((width, height), resample=number)
            path = ROOT / "resample" / f"{filter_name}-{width}x{height}.webp"
            save_lossless(resized, path)
            manifest["resample"].append({"input": "inputs/resample-source-97x83.png", "filter": number,
                                         "width": width, "height": height, "expected": str(path.relative_to(ROOT))})

    write_error_files(manifest)
    (ROOT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum(f.stat().st_size for f in ROOT.rglob("*") if f.is_file())
    print(f"wrote {len(manifest['cases'])} cases, {total / 1024:.0f} KiB under {ROOT}")


def write_error_files(manifest):
    errors = ROOT / "errors"
    errors.mkdir()
    small = Image.fromarray(pattern(16, 12, 44), "RGB")
    small.save(errors / "tiff-image.tif")
    small.save(errors / "avif-image.avif")
    # A valid PNG header that claims 100000 x 100000 pixels and has no image data.
    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
    (errors / "oversized-header.png").write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr))
    zero = struct.pack(">IIBBBBB", 0, 10, 8, 2, 0, 0, 0)
    (errors / "zero-width.png").write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", zero) + png_chunk(b"IEND", b""))
    for name, kind in [("tiff-image.tif", "unsupported"), ("avif-image.avif", "unsupported"),
                       ("oversized-header.png", "tooManyPixels"), ("zero-width.png", "zeroSize")]:
        manifest["errors"].append({"input": f"errors/{name}", "reason": kind})


if __name__ == "__main__":
    main()
