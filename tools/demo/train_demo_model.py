"""Train the bundled demo model on synthetic shapes and write its demo and test data.

Run from the repository root (about 13 minutes on one CPU thread):

    python3 tools/demo/train_demo_model.py

The pinned package versions are in tools/reference/requirements.txt. Seeds are
fixed and torch runs on one thread, so a rerun with those versions on the same
kind of CPU rewrites the same files. The script never contacts the Hugging Face
hub.

The data set is procedural: one shape (circle, square, triangle, star, diamond,
cross) in one of six colours, three sizes and five positions on one of four
background colours, with small random jitter in position, size, rotation and
tint. Every image has a caption such as "a small red circle on a grey
background, top left". A composed triplet is (image, modification text such as
"make it blue", image with that one attribute changed).

The model is a transformers ``CLIPModel`` with a small ``CLIPConfig``. Its loss
is a symmetric InfoNCE loss on caption-image pairs plus the same loss on
composed query to target image. A composed query is
normalize(text_features + image_features), the embedding mmret computes for
mm_it queries. Images go through ``CLIPImageProcessor`` and texts through
``CLIPTokenizerFast``, as at inference.

It writes:

* ``demo/model/``: config.json (torch_dtype float16), model.safetensors in
  F16, preprocessor_config.json and the CLIP tokenizer files copied from
  Tests/MMRetTests/Fixtures/clip-tokenizer. ``demo/model/README.md`` (the
  model card) is written by hand and left alone.
* ``demo/images/`` (96x96 PNGs), ``demo/corpus.jsonl`` ({"image", "text"} per
  image) and ``demo/queries.jsonl`` (the README's three demo queries with the
  ids expected at the top).
* ``Tests/MMRetTests/Fixtures/demo-heldout/``: ``images/`` (64x64 PNGs whose
  attribute combinations never occur in training), ``captions.jsonl``
  ({"image", "text"}; each caption matches exactly one image),
  ``composed.jsonl`` ({"image", "text", "target"}) and
  ``reference.safetensors``: float32 L2-normalised ``text``, ``image`` and
  ``composed`` embeddings [16, projection_dim] of the first 16 captions, images
  and composed queries, computed by transformers from the saved F16 files
  loaded as float32 with eager attention. The file's metadata lists the
  inputs of each row as JSON.

``--skip-training`` keeps the model in demo/model and rewrites the rest, which
gives the same files as a full run because the data does not depend on the
training.

At the end it reloads the saved model the way the reference encoder does and
prints held-out text-to-image, composed and image-to-image Recall@1 and the
demo queries' rankings. It exits with status 1 if a recall falls below its
target or a demo query's expected ids are not at the top.
"""

import argparse
import itertools
import json
import math
import os
import random
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw
from safetensors.torch import save_file
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizerFast
from transformers.utils import logging as transformers_logging

REPO_ROOT = Path(__file__).resolve().parents[2]
TOKENIZER_SOURCE_DIR = REPO_ROOT / "Tests/MMRetTests/Fixtures/clip-tokenizer"
TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "merges.txt", "special_tokens_map.json", "tokenizer_config.json")
DEMO_DIR = REPO_ROOT / "demo"
MODEL_DIR = DEMO_DIR / "model"
HELDOUT_DIR = REPO_ROOT / "Tests/MMRetTests/Fixtures/demo-heldout"

SEED = 20261204
IMAGE_SIZE = 64
PATCH_SIZE = 8
DEMO_IMAGE_SIDE = 96

# Square canvas sides of the training renders. The processor resizes every one to
# IMAGE_SIZE, so the model also gets the bicubic downscale that the 96x96 demo
# images go through.
TRAIN_RENDER_SIDES = (64, 64, 80, 96, 128)

# Maximum text lengths of the reference encoder: plain text queries and the text
# half of composed (mm_it) queries.
TEXT_MAX_LENGTH = 77
COMPOSED_MAX_LENGTH = 75

MODEL_CONFIG = {
    "text_config": {
        "hidden_size": 32,
        "intermediate_size": 128,
        "num_hidden_layers": 3,
        "num_attention_heads": 2,
    },
    "vision_config": {
        "hidden_size": 64,
        "intermediate_size": 256,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "image_size": IMAGE_SIZE,
        "patch_size": PATCH_SIZE,
    },
    "projection_dim": 64,
}

# Attributes and their values. The order of ATTRIBUTES is the order of a tuple.
SHAPES = ("circle", "square", "triangle", "star", "diamond", "cross")
COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (235, 210, 40),
    "purple": (140, 60, 180),
    "orange": (245, 140, 30),
}
SIZES = {"small": 0.14, "medium": 0.20, "large": 0.26}  # radius as a fraction of the side
POSITIONS = {
    "top left": (0.28, 0.28),
    "top right": (0.72, 0.28),
    "bottom left": (0.28, 0.72),
    "bottom right": (0.72, 0.72),
    "centre": (0.5, 0.5),
}
BACKGROUNDS = {
    "white": (245, 245, 245),
    "grey": (128, 128, 128),
    "black": (20, 20, 20),
    "beige": (225, 205, 165),
}
ATTRIBUTES = ("size", "colour", "shape", "background", "position")
ATTRIBUTE_VALUES = {
    "size": tuple(SIZES),
    "colour": tuple(COLOURS),
    "shape": SHAPES,
    "background": tuple(BACKGROUNDS),
    "position": tuple(POSITIONS),
}

# Modification texts for composed queries, per changed attribute. The first
# template of each is the one used in the held-out set and the demo.
MODIFICATION_TEMPLATES = {
    "colour": ("make it {}", "the same shape but {}", "change the colour to {}"),
    "shape": ("make it a {}", "the same but a {}", "change the shape to a {}"),
    "size": ("make it {}", "the same but {}", "change the size to {}"),
    "position": ("move it to the {}", "the same but at the {}", "put it at the {}"),
    "background": ("put it on a {} background", "the same on a {} background", "change the background to {}"),
}

HELDOUT_GROUP_COUNT = 40  # each group: one base image and three one-attribute edits
REFERENCE_ROW_COUNT = 16

# Recall@1 that the saved model must reach on the held-out set. The Swift tests
# require 0.9 (text) and 0.8 (composed). The committed model reaches 0.956,
# 0.900 and 0.894, and these floors sit a few queries below that.
TEXT_RECALL_TARGET = 0.94
COMPOSED_RECALL_TARGET = 0.87
IMAGE_RECALL_TARGET = 0.85

TRAIN_STEPS = 6000
PAIRS_PER_BATCH = 32  # composed pairs per step, so 64 images and captions
RENDERS_PER_TUPLE = 4
LEARNING_RATE = 1.5e-3
WARMUP_STEPS = 300
WEIGHT_DECAY = 0.01
PARTIAL_CAPTION_PROBABILITY = 0.25
# How often each attribute is the one a training pair changes. The pair's two
# images are each other's hardest negatives, and shape was the attribute the
# model confused most, so it gets the largest share.
PAIR_ATTRIBUTE_WEIGHTS = {"size": 0.15, "colour": 0.15, "shape": 0.4, "background": 0.15, "position": 0.15}
INITIAL_LOGIT_SCALE = 20.0


# ----------------------------------------------------------------------------
# Synthetic data


def caption_for(attrs, keep=ATTRIBUTES):
    """Return the caption of an attribute tuple, leaving out attributes not in ``keep``.

    Colour and shape are always present. The full form is, for example,
    "a small red circle on a grey background, top left".
    """
    size, colour, shape, background, position = attrs
    words = ["a"]
    if "size" in keep:
        words.append(size)
    words += [colour, shape]
    text = " ".join(words)
    if "background" in keep:
        text += f" on a {background} background"
    if "position" in keep:
        text += ", in the centre" if position == "centre" else f", {position}"
    return text


def modification_text(attribute, value, template_index=0):
    return MODIFICATION_TEMPLATES[attribute][template_index].format(value)


def with_attribute(attrs, attribute, value):
    values = list(attrs)
    values[ATTRIBUTES.index(attribute)] = value
    return tuple(values)


def shape_points(shape, cx, cy, radius, angle):
    """Return the polygon of a shape centred at (cx, cy), or None for a circle."""
    if shape == "circle":
        return None
    if shape == "square":
        corners = [(math.pi / 4 + k * math.pi / 2) for k in range(4)]
        reach = [radius * 1.05] * 4
    elif shape == "triangle":
        corners = [(-math.pi / 2 + k * 2 * math.pi / 3) for k in range(3)]
        reach = [radius * 1.15] * 3
    elif shape == "star":
        corners = [(-math.pi / 2 + k * math.pi / 5) for k in range(10)]
        reach = [radius * (1.15 if k % 2 == 0 else 0.5) for k in range(10)]
    elif shape == "diamond":
        # A tall rhombus, so that it differs from a square turned by 45 degrees.
        corners = [(-math.pi / 2 + k * math.pi / 2) for k in range(4)]
        reach = [radius * (1.15 if k % 2 == 0 else 0.65) for k in range(4)]
    elif shape == "cross":
        arm = radius * 0.36
        outline = [(arm, radius), (arm, arm), (radius, arm), (radius, -arm), (arm, -arm), (arm, -radius),
                   (-arm, -radius), (-arm, -arm), (-radius, -arm), (-radius, arm), (-arm, arm), (-arm, radius)]
        cos_a, sin_a = math.cos(angle), math.sin(angle)
        return [(cx + x * cos_a - y * sin_a, cy + x * sin_a + y * cos_a) for x, y in outline]
    else:
        raise ValueError(f"unknown shape: {shape}")
    return [(cx + r * math.cos(a + angle), cy + r * math.sin(a + angle)) for a, r in zip(corners, reach)]


def jitter_colour(rgb, rng, amount):
    return tuple(min(255, max(0, c + rng.randint(-amount, amount))) for c in rgb)


def render(attrs, rng, side, jitter=True):
    """Draw one RGB image of an attribute tuple on a ``side`` x ``side`` canvas.

    The shape is drawn at four times the size and downscaled with a box filter,
    which anti-aliases its edges. ``jitter`` adds random offsets to position,
    size, rotation and both colours; without it the image is the canonical one.
    """
    size, colour, shape, background, position = attrs
    supersample = 4
    canvas = side * supersample
    fx, fy = POSITIONS[position]
    radius = SIZES[size]
    angle = 0.0
    background_rgb = BACKGROUNDS[background]
    shape_rgb = COLOURS[colour]
    if jitter:
        fx += rng.uniform(-0.04, 0.04)
        fy += rng.uniform(-0.04, 0.04)
        radius *= rng.uniform(0.92, 1.08)
        angle = math.radians(rng.uniform(-12, 12))
        background_rgb = jitter_colour(background_rgb, rng, 10)
        shape_rgb = jitter_colour(shape_rgb, rng, 15)

    image = Image.new("RGB", (canvas, canvas), background_rgb)
    draw = ImageDraw.Draw(image)
    cx, cy, r = fx * canvas, fy * canvas, radius * canvas
    points = shape_points(shape, cx, cy, r, angle)
    if points is None:
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=shape_rgb)
    else:
        draw.polygon(points, fill=shape_rgb)
    return image.resize((side, side), Image.Resampling.BOX)


def all_tuples():
    return list(itertools.product(*(ATTRIBUTE_VALUES[name] for name in ATTRIBUTES)))


def make_heldout_plan(rng):
    """Pick the held-out attribute tuples: groups of a base and three one-attribute edits.

    Returns ``(tuples, composed)``: the distinct tuples in image order and
    (reference index, modification text, target index) triplets. Each group
    changes three different attributes of its base, and no tuple occurs twice,
    so every caption and every composed query matches exactly one image.
    """
    tuples, composed, used = [], [], set()
    while len(tuples) < HELDOUT_GROUP_COUNT * 4:
        base = tuple(rng.choice(ATTRIBUTE_VALUES[name]) for name in ATTRIBUTES)
        changed = rng.sample(ATTRIBUTES, 3)
        targets = []
        for attribute in changed:
            current = base[ATTRIBUTES.index(attribute)]
            value = rng.choice([v for v in ATTRIBUTE_VALUES[attribute] if v != current])
            targets.append((attribute, value, with_attribute(base, attribute, value)))
        group = [base] + [target for _, _, target in targets]
        if len(set(group)) < 4 or used & set(group):
            continue
        used.update(group)
        base_index = len(tuples)
        tuples.extend(group)
        for offset, (attribute, value, _) in enumerate(targets, start=1):
            composed.append((base_index, modification_text(attribute, value), base_index + offset))
    return tuples, composed


# Demo corpus: hand-picked tuples that the three demo queries need (each with
# near misses), then random ones. File names spell out the attributes. The
# image query's tuple occurs twice, as two different jittered renders.
DEMO_TEXT_TARGET = ("large", "yellow", "star", "black", "centre")
DEMO_IMAGE_QUERY = ("large", "green", "star", "beige", "top left")
DEMO_COMPOSED_REFERENCE = ("large", "red", "circle", "grey", "centre")
DEMO_COMPOSED_TARGET = ("large", "purple", "circle", "grey", "centre")
DEMO_FIXED_TUPLES = [
    # text query "a large yellow star on a black background, in the centre" and its near misses
    DEMO_TEXT_TARGET,
    ("small", "yellow", "star", "white", "top right"),
    ("large", "yellow", "triangle", "black", "bottom left"),
    ("large", "orange", "star", "black", "top left"),
    ("medium", "yellow", "star", "grey", "bottom right"),
    # image query, its second render and near misses
    DEMO_IMAGE_QUERY,
    DEMO_IMAGE_QUERY,
    ("large", "green", "star", "white", "top left"),
    ("medium", "green", "star", "beige", "top left"),
    ("large", "blue", "star", "beige", "top left"),
    ("large", "green", "star", "beige", "bottom right"),
    # composed query: red circle + "make it purple" and its near misses
    DEMO_COMPOSED_REFERENCE,
    DEMO_COMPOSED_TARGET,
    ("large", "red", "square", "grey", "centre"),
    ("large", "blue", "square", "grey", "centre"),
    ("large", "blue", "circle", "white", "top left"),
    ("large", "blue", "circle", "grey", "centre"),
]
DEMO_RANDOM_TUPLE_COUNT = 24


def demo_file_names(tuples):
    """Name each demo image after its attributes, adding "-2" to a repeated tuple."""
    names = []
    for attrs in tuples:
        size, colour, shape, background, position = attrs
        stem = f"{size}-{colour}-{shape}-on-{background}-{position.replace(' ', '-')}"
        name = f"{stem}.png"
        if name in names:
            name = f"{stem}-2.png"
        names.append(name)
    return names


def make_demo_tuples(rng):
    chosen = list(DEMO_FIXED_TUPLES)
    # Random extras skip the shape-and-colour pairs of the fixed tuples, so the
    # demo queries keep the intended near misses and no surprise duplicates.
    reserved = {(attrs[1], attrs[2]) for attrs in DEMO_FIXED_TUPLES}
    candidates = [attrs for attrs in all_tuples() if (attrs[1], attrs[2]) not in reserved]
    rng.shuffle(candidates)
    chosen += candidates[:DEMO_RANDOM_TUPLE_COUNT]
    return chosen


def make_demo_queries(names, tuples):
    """Return the README's demo queries with the ids expected at the top, best first."""

    def name_of(attrs, occurrence=0):
        return [name for name, other in zip(names, tuples) if other == attrs][occurrence]

    image_query = name_of(DEMO_IMAGE_QUERY)
    return [
        {
            "type": "text",
            "text": "a large yellow star on a black background, in the centre",
            "expected": [name_of(DEMO_TEXT_TARGET)],
            "why": "It is the only large yellow star on black. The corpus also has a small yellow star, "
                   "a large yellow triangle on black and a large orange star on black.",
        },
        {
            "type": "image",
            "image": image_query,
            "expected": [image_query, name_of(DEMO_IMAGE_QUERY, 1)],
            "why": "The query image itself comes first, then the other picture of a large green star on "
                   "beige at the top left (drawn with a slightly different position, size, angle and tint). "
                   "Near misses differ in one attribute: a medium green star, a blue star, a green star "
                   "on white and a green star at the bottom right.",
        },
        {
            "type": "mm_it",
            "image": name_of(DEMO_COMPOSED_REFERENCE),
            "text": "make it purple",
            "expected": [name_of(DEMO_COMPOSED_TARGET)],
            "why": "It is the reference (a large red circle on grey, in the centre) with only the colour "
                   "changed to purple. The near misses are the reference itself, a red square and a blue "
                   "circle at the same place.",
        },
    ]


# ----------------------------------------------------------------------------
# Model and preprocessing


def make_image_processor():
    # OpenAI CLIP's mean and std, bicubic resize of the shorter side, centre crop.
    return CLIPImageProcessor(
        do_resize=True,
        size={"shortest_edge": IMAGE_SIZE},
        resample=Image.Resampling.BICUBIC,
        do_center_crop=True,
        crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        do_rescale=True,
        rescale_factor=1 / 255,
        do_normalize=True,
        image_mean=[0.48145466, 0.4578275, 0.40821073],
        image_std=[0.26862954, 0.26130258, 0.27577711],
        do_convert_rgb=True,
    )


def resized_uint8(processor, images):
    """Run the processor's resize and centre crop only, returning uint8 [N, 3, S, S]."""
    out = processor(images=images, do_rescale=False, do_normalize=False, return_tensors="np")["pixel_values"]
    return torch.from_numpy(np.rint(out).astype(np.uint8))


class PixelNormalizer:
    """Finish what ``resized_uint8`` left out: rescale and normalise, in float32.

    With the processor's own rescale and normalise steps this agrees to float32
    rounding, so training gets the pixel values that inference computes.
    """

    def __init__(self, processor):
        self.scale = float(processor.rescale_factor)
        self.mean = torch.tensor(processor.image_mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(processor.image_std, dtype=torch.float32).view(1, 3, 1, 1)

    def __call__(self, pixels_uint8):
        return (pixels_uint8.to(torch.float32) * self.scale - self.mean) / self.std


def normalize(x):
    return x / x.norm(dim=-1, keepdim=True)


def text_features(model, tokenizer, texts, max_length):
    batch = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    return model.get_text_features(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])


def symmetric_info_nce(queries, candidates, logit_scale):
    """InfoNCE over both directions for row-aligned unit vectors."""
    logits = logit_scale * queries @ candidates.T
    labels = torch.arange(len(queries))
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


# ----------------------------------------------------------------------------
# Training


def render_training_pool(train_tuples, rng, processor):
    """Render RENDERS_PER_TUPLE jittered images of each training tuple, resized and cropped."""
    started = time.time()
    images = []
    for attrs in train_tuples:
        for _ in range(RENDERS_PER_TUPLE):
            images.append(render(attrs, rng, rng.choice(TRAIN_RENDER_SIDES)))
    chunks = [resized_uint8(processor, images[i:i + 512]) for i in range(0, len(images), 512)]
    pool = torch.cat(chunks).view(len(train_tuples), RENDERS_PER_TUPLE, 3, IMAGE_SIZE, IMAGE_SIZE)
    print(f"rendered {len(images)} training images in {time.time() - started:.0f} s", flush=True)
    return pool


def sample_batch(train_tuples, tuple_index, rng):
    """Sample composed pairs whose reference and target are both training tuples.

    Returns reference and target tuple indices and the modification texts.
    """
    references, targets, texts = [], [], []
    while len(references) < PAIRS_PER_BATCH:
        base = train_tuples[rng.randrange(len(train_tuples))]
        attribute = rng.choices(ATTRIBUTES, weights=[PAIR_ATTRIBUTE_WEIGHTS[a] for a in ATTRIBUTES])[0]
        current = base[ATTRIBUTES.index(attribute)]
        value = rng.choice([v for v in ATTRIBUTE_VALUES[attribute] if v != current])
        target = with_attribute(base, attribute, value)
        if target not in tuple_index:
            continue
        references.append(tuple_index[base])
        targets.append(tuple_index[target])
        template = rng.randrange(len(MODIFICATION_TEMPLATES[attribute]))
        texts.append(modification_text(attribute, value, template))
    return references, targets, texts


def training_caption(attrs, rng):
    if rng.random() < PARTIAL_CAPTION_PROBABILITY:
        optional = ("size", "background", "position")
        keep = [name for name in optional if rng.random() < 0.5]
        return caption_for(attrs, keep=tuple(keep))
    return caption_for(attrs)


def initialise_for_training(model):
    """Set the vision position embeddings to a 2D sine-cosine pattern and the logit scale to 20.

    transformers initialises position embeddings with std 0.02, far below the
    patch embeddings, and from that start the model learned colours quickly
    but positions and shapes only slowly. The pattern has amplitude 0.5, and
    the class token's position gets zeros.
    """
    embedding = model.vision_model.embeddings.position_embedding.weight
    hidden = embedding.shape[1]
    grid = IMAGE_SIZE // PATCH_SIZE
    quarter = hidden // 4
    frequencies = 1.0 / (100.0 ** (torch.arange(quarter, dtype=torch.float32) / quarter))
    rows, cols = torch.meshgrid(torch.arange(grid, dtype=torch.float32),
                                torch.arange(grid, dtype=torch.float32), indexing="ij")
    parts = []
    for coordinate in (rows.flatten(), cols.flatten()):
        angles = coordinate[:, None] * frequencies[None, :]
        parts += [torch.sin(angles), torch.cos(angles)]
    pattern = torch.cat(parts, dim=1)
    with torch.no_grad():
        embedding.zero_()
        embedding[1:, :pattern.shape[1]] = 0.5 * pattern
        model.logit_scale.fill_(math.log(INITIAL_LOGIT_SCALE))


def learning_rate_at(step, total_steps):
    """Return the learning rate: linear warm-up, then cosine decay to zero at ``total_steps``."""
    if step < WARMUP_STEPS:
        return LEARNING_RATE * (step + 1) / WARMUP_STEPS
    progress = (step - WARMUP_STEPS) / max(1, total_steps - WARMUP_STEPS)
    return LEARNING_RATE * 0.5 * (1 + math.cos(math.pi * progress))


def train(model, tokenizer, processor, train_tuples, rng, steps, heldout_eval):
    pool = render_training_pool(train_tuples, rng, processor)
    to_pixels = PixelNormalizer(processor)
    tuple_index = {attrs: i for i, attrs in enumerate(train_tuples)}
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)

    model.train()
    started = time.time()
    recent = []
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(step, steps)
        references, targets, modifications = sample_batch(train_tuples, tuple_index, rng)
        indices = references + targets
        renders = [rng.randrange(RENDERS_PER_TUPLE) for _ in indices]
        pixels = to_pixels(pool[indices, renders])
        captions = [training_caption(train_tuples[i], rng) for i in indices]

        image_raw = model.get_image_features(pixel_values=pixels)
        caption_raw = text_features(model, tokenizer, captions, TEXT_MAX_LENGTH)
        modification_raw = text_features(model, tokenizer, modifications, COMPOSED_MAX_LENGTH)
        images = normalize(image_raw)
        scale = model.logit_scale.exp().clamp(max=100)

        caption_loss = symmetric_info_nce(normalize(caption_raw), images, scale)

        # Composed queries are ranked against every image in the batch, so the
        # reference images act as hard negatives. The reverse direction ranks
        # the queries for each target.
        composed = normalize(modification_raw + image_raw[:PAIRS_PER_BATCH])
        target_images = images[PAIRS_PER_BATCH:]
        labels = torch.arange(PAIRS_PER_BATCH)
        query_logits = scale * composed @ images.T
        composed_loss = (F.cross_entropy(query_logits, labels + PAIRS_PER_BATCH)
                         + F.cross_entropy(scale * target_images @ composed.T, labels)) / 2

        loss = caption_loss + composed_loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        recent.append((caption_loss.item(), composed_loss.item()))

        if (step + 1) % 200 == 0 or step + 1 == steps:
            mean_caption = sum(c for c, _ in recent) / len(recent)
            mean_composed = sum(c for _, c in recent) / len(recent)
            recent = []
            line = (f"step {step + 1}/{steps} caption_loss={mean_caption:.4f} composed_loss={mean_composed:.4f} "
                    f"logit_scale={scale.item():.1f} elapsed={time.time() - started:.0f}s")
            if (step + 1) % 1000 == 0 or step + 1 == steps:
                model.eval()
                with torch.no_grad():
                    text_r1, composed_r1 = heldout_eval(model)
                model.train()
                line += f" heldout_text_r1={text_r1:.3f} heldout_composed_r1={composed_r1:.3f}"
            print(line, flush=True)
    model.eval()
    return {"caption_loss": mean_caption, "composed_loss": mean_composed, "seconds": time.time() - started}


# ----------------------------------------------------------------------------
# Outputs


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def reset_directory(path):
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)


def save_model(model, processor):
    """Save config, F16 weights, preprocessor config and tokenizer files into MODEL_DIR.

    The model card README.md in MODEL_DIR is kept.
    """
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    for child in MODEL_DIR.iterdir():
        if child.name != "README.md":
            child.unlink()
    half = CLIPModel(model.config)
    half.load_state_dict(model.state_dict())
    half.to(torch.float16)
    half.config.torch_dtype = torch.float16
    half.save_pretrained(MODEL_DIR, safe_serialization=True)
    processor.save_pretrained(MODEL_DIR)
    for name in TOKENIZER_FILES:
        shutil.copyfile(TOKENIZER_SOURCE_DIR / name, MODEL_DIR / name)


def write_heldout(tuples, composed, rng):
    images_dir = HELDOUT_DIR / "images"
    reset_directory(images_dir)
    ids = [f"{index:03d}.png" for index in range(len(tuples))]
    for image_id, attrs in zip(ids, tuples):
        render(attrs, rng, IMAGE_SIZE).save(images_dir / image_id, optimize=True)
    write_jsonl(HELDOUT_DIR / "captions.jsonl",
                [{"image": image_id, "text": caption_for(attrs)} for image_id, attrs in zip(ids, tuples)])
    write_jsonl(HELDOUT_DIR / "composed.jsonl",
                [{"image": ids[ref], "text": text, "target": ids[target]} for ref, text, target in composed])
    return ids


def write_demo(demo_tuples, rng):
    images_dir = DEMO_DIR / "images"
    reset_directory(images_dir)
    names = demo_file_names(demo_tuples)
    for name, attrs in zip(names, demo_tuples):
        render(attrs, rng, DEMO_IMAGE_SIDE).save(images_dir / name, optimize=True)
    write_jsonl(DEMO_DIR / "corpus.jsonl",
                [{"image": name, "text": caption_for(attrs)} for name, attrs in zip(names, demo_tuples)])
    queries = make_demo_queries(names, demo_tuples)
    write_jsonl(DEMO_DIR / "queries.jsonl", queries)
    return names, queries


# ----------------------------------------------------------------------------
# Evaluation of the saved files, the way the reference encoder runs them


class ReferenceEncoder:
    """Embeds texts, images and composed queries as the BGE-VL evaluation encoder does."""

    def __init__(self, model_dir, image_dir):
        self.model = CLIPModel.from_pretrained(model_dir, torch_dtype=torch.float32, attn_implementation="eager")
        self.model.eval()
        self.tokenizer = CLIPTokenizerFast.from_pretrained(model_dir)
        self.processor = CLIPImageProcessor.from_pretrained(model_dir)
        self.image_dir = Path(image_dir)

    def _pixels(self, image_ids):
        images = []
        for image_id in image_ids:
            with Image.open(self.image_dir / image_id) as image:
                images.append(image.convert("RGB"))
        return self.processor(images=images, return_tensors="pt")["pixel_values"]

    @torch.no_grad()
    def text_raw(self, texts, max_length=TEXT_MAX_LENGTH):
        return text_features(self.model, self.tokenizer, texts, max_length)

    @torch.no_grad()
    def image_raw(self, image_ids):
        return self.model.get_image_features(pixel_values=self._pixels(image_ids))

    def encode_text(self, texts):
        return normalize(self.text_raw(texts))

    def encode_image(self, image_ids):
        return normalize(self.image_raw(image_ids))

    def encode_mm_it(self, texts, image_ids):
        return normalize(self.text_raw(texts, COMPOSED_MAX_LENGTH) + self.image_raw(image_ids))


def recall_at_1(queries, gallery, expected):
    top = (queries @ gallery.T).argmax(dim=1)
    return (top == torch.tensor(expected)).float().mean().item()


def evaluate_in_memory(model, tokenizer, processor, tuples, composed, images_uint8):
    """Held-out Recall@1 of a model being trained (no file round trip)."""
    to_pixels = PixelNormalizer(processor)
    image_raw = model.get_image_features(pixel_values=to_pixels(images_uint8))
    images = normalize(image_raw)
    captions = normalize(text_features(model, tokenizer, [caption_for(a) for a in tuples], TEXT_MAX_LENGTH))
    text_r1 = recall_at_1(captions, images, list(range(len(tuples))))
    modifications = text_features(model, tokenizer, [text for _, text, _ in composed], COMPOSED_MAX_LENGTH)
    queries = normalize(modifications + image_raw[[ref for ref, _, _ in composed]])
    composed_r1 = recall_at_1(queries, images, [target for _, _, target in composed])
    return text_r1, composed_r1


def evaluate_saved(heldout_tuples, heldout_ids, composed, rng):
    """Measure held-out recalls with the saved F16 model loaded as the reference does."""
    encoder = ReferenceEncoder(MODEL_DIR, HELDOUT_DIR / "images")
    images = encoder.encode_image(heldout_ids)
    captions = encoder.encode_text([caption_for(attrs) for attrs in heldout_tuples])
    text_r1 = recall_at_1(captions, images, list(range(len(heldout_ids))))
    queries = encoder.encode_mm_it([text for _, text, _ in composed], [heldout_ids[ref] for ref, _, _ in composed])
    composed_r1 = recall_at_1(queries, images, [target for _, _, target in composed])

    # Image to image: a fresh jittered render of each held-out tuple, at the demo
    # image size, must find the committed image of the same tuple.
    rerenders = [render(attrs, rng, DEMO_IMAGE_SIDE) for attrs in heldout_tuples]
    pixels = encoder.processor(images=rerenders, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        rerendered = normalize(encoder.model.get_image_features(pixel_values=pixels))
    image_r1 = recall_at_1(rerendered, images, list(range(len(heldout_ids))))
    return {"text_r1": text_r1, "composed_r1": composed_r1, "image_r1": image_r1}


def check_demo_queries(names, queries):
    """Print each demo query's top five and return whether the expected ids lead."""
    encoder = ReferenceEncoder(MODEL_DIR, DEMO_DIR / "images")
    gallery = encoder.encode_image(names)
    all_ok = True
    for query in queries:
        if query["type"] == "text":
            vector = encoder.encode_text([query["text"]])
        elif query["type"] == "image":
            vector = encoder.encode_image([query["image"]])
        else:
            vector = encoder.encode_mm_it([query["text"]], [query["image"]])
        scores = (vector @ gallery.T)[0]
        order = scores.argsort(descending=True).tolist()
        expected = query["expected"]
        ok = [names[i] for i in order[:len(expected)]] == expected
        margin = scores[order[len(expected) - 1]] - scores[order[len(expected)]]
        all_ok &= ok
        label = query.get("text", "") + (f" + {query['image']}" if "image" in query else "")
        print(f"demo {query['type']} query: {label!r} -> {'ok' if ok else 'WRONG'} (margin {margin:.3f})")
        for i in order[:5]:
            print(f"  {scores[i]:.4f} {names[i]}")
    return all_ok


def write_reference(heldout_ids, composed):
    """Write reference.safetensors from the saved model, as the Swift parity test reads it."""
    encoder = ReferenceEncoder(MODEL_DIR, HELDOUT_DIR / "images")
    captions = [json.loads(line) for line in open(HELDOUT_DIR / "captions.jsonl", encoding="utf-8")]
    caption_rows = captions[:REFERENCE_ROW_COUNT]
    image_rows = heldout_ids[:REFERENCE_ROW_COUNT]
    composed_rows = [{"image": heldout_ids[ref], "text": text, "target": heldout_ids[target]}
                     for ref, text, target in composed[:REFERENCE_ROW_COUNT]]
    tensors = {
        "text": encoder.encode_text([row["text"] for row in caption_rows]),
        "image": encoder.encode_image(image_rows),
        "composed": encoder.encode_mm_it([row["text"] for row in composed_rows],
                                         [row["image"] for row in composed_rows]),
    }
    tensors = {name: value.to(torch.float32).contiguous() for name, value in tensors.items()}
    metadata = {
        "text_inputs": json.dumps(caption_rows, ensure_ascii=False),
        "image_inputs": json.dumps(image_rows),
        "composed_inputs": json.dumps(composed_rows, ensure_ascii=False),
        "text_max_length": str(TEXT_MAX_LENGTH),
        "composed_max_length": str(COMPOSED_MAX_LENGTH),
        "transformers_version": __import__("transformers").__version__,
    }
    save_file(tensors, HELDOUT_DIR / "reference.safetensors", metadata=metadata)


# ----------------------------------------------------------------------------


def train_and_save(train_tuples, heldout_tuples, heldout_ids, composed, steps):
    """Train a fresh model, save it into MODEL_DIR and return the training summary."""
    tokenizer = CLIPTokenizerFast.from_pretrained(TOKENIZER_SOURCE_DIR)
    processor = make_image_processor()
    model = CLIPModel(CLIPConfig(**MODEL_CONFIG))
    initialise_for_training(model)

    heldout_images = []
    for image_id in heldout_ids:
        with Image.open(HELDOUT_DIR / "images" / image_id) as image:
            heldout_images.append(image.convert("RGB"))
    heldout_uint8 = resized_uint8(processor, heldout_images)

    def heldout_eval(current):
        return evaluate_in_memory(current, tokenizer, processor, heldout_tuples, composed, heldout_uint8)

    summary = train(model, tokenizer, processor, train_tuples, random.Random(SEED + 3), steps, heldout_eval)
    summary["parameters"] = sum(p.numel() for p in model.parameters())
    save_model(model, processor)
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=TRAIN_STEPS,
                        help=f"training steps of {2 * PAIRS_PER_BATCH} images (default {TRAIN_STEPS})")
    parser.add_argument("--skip-training", action="store_true",
                        help="keep the model in demo/model; rewrite and check only the demo corpus, "
                             "held-out set and reference embeddings")
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    transformers_logging.set_verbosity_error()
    started = time.time()

    plan_rng = random.Random(SEED)
    heldout_tuples, composed = make_heldout_plan(plan_rng)
    demo_tuples = make_demo_tuples(plan_rng)
    heldout_set = set(heldout_tuples)
    train_tuples = [attrs for attrs in all_tuples() if attrs not in heldout_set]

    HELDOUT_DIR.mkdir(parents=True, exist_ok=True)
    heldout_ids = write_heldout(heldout_tuples, composed, random.Random(SEED + 1))
    demo_names, demo_queries = write_demo(demo_tuples, random.Random(SEED + 2))

    print(f"{len(train_tuples)} training tuples, {len(heldout_tuples)} held-out images, "
          f"{len(composed)} held-out composed queries, {len(demo_tuples)} demo images", flush=True)
    if args.skip_training:
        summary = None
    else:
        summary = train_and_save(train_tuples, heldout_tuples, heldout_ids, composed, args.steps)

    write_reference(heldout_ids, composed)
    recalls = evaluate_saved(heldout_tuples, heldout_ids, composed, random.Random(SEED + 4))
    demo_ok = check_demo_queries(demo_names, demo_queries)

    weights_bytes = (MODEL_DIR / "model.safetensors").stat().st_size
    print(f"model.safetensors: {weights_bytes} bytes")
    if summary is not None:
        print(f"parameters: {summary['parameters']}, training: {args.steps} steps in {summary['seconds']:.0f} s, "
              f"final caption_loss {summary['caption_loss']:.4f}, composed_loss {summary['composed_loss']:.4f}")
    print(f"saved F16 model, held-out Recall@1: text->image {recalls['text_r1']:.4f}, "
          f"composed {recalls['composed_r1']:.4f}, image->image {recalls['image_r1']:.4f}")
    print(f"total time {time.time() - started:.0f} s")

    failures = []
    if recalls["text_r1"] < TEXT_RECALL_TARGET:
        failures.append(f"text->image Recall@1 {recalls['text_r1']:.4f} < {TEXT_RECALL_TARGET}")
    if recalls["composed_r1"] < COMPOSED_RECALL_TARGET:
        failures.append(f"composed Recall@1 {recalls['composed_r1']:.4f} < {COMPOSED_RECALL_TARGET}")
    if recalls["image_r1"] < IMAGE_RECALL_TARGET:
        failures.append(f"image->image Recall@1 {recalls['image_r1']:.4f} < {IMAGE_RECALL_TARGET}")
    if not demo_ok:
        failures.append("a demo query's expected ids are not at the top")
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
