"""Write the end-to-end checkpoint, its inputs and the embeddings the reference encoder gives.

Run from the repository root:

    python3 tools/reference/make_encoder_fixtures.py

The pinned package versions are in tools/reference/requirements.txt. Seeds are fixed, so a
rerun with those versions reproduces the committed files. Nothing is downloaded.

It writes:

* ``Tests/MMRetTests/Fixtures/models/end-to-end/``: a random-weight CLIP checkpoint with the
  full 49,408-token CLIP vocabulary and the real tokenizer files. It has minimal hidden
  sizes, a ``preprocessor_config.json`` for 32-pixel images and float16 weights. So it
  stays small, while every file of a real BGE-VL snapshot is present.
* ``Tests/MMRetTests/Fixtures/encoder/``: images made with Pillow (JPEG, PNG in several
  modes, a JPEG named ``.png``, one in a subfolder), and ``texts.jsonl``, ``images.jsonl``
  and ``composed.jsonl``, the inputs of the three encoding types.
* ``Tests/MMRetTests/Fixtures/reference/end-to-end.safetensors``: what the reference encoder
  computes for those inputs, following its semantics step by step with transformers 4.45.2:
  ``text``, ``image`` and ``composed`` hold L2-normalised float32 embeddings, one row per
  input line; ``text_raw`` and ``image_raw`` hold the projected features before
  normalisation. Texts are tokenized with ``CLIPTokenizerFast`` (padding to the longest,
  truncation at 77 tokens, or 75 for the captions of composed queries); images are opened
  with Pillow, converted to RGB and processed by ``CLIPImageProcessor``; a composed query is
  ``normalize(text_features + image_features)``.
"""

import json
import math
import shutil
import sys
from pathlib import Path

import torch
from PIL import Image
from safetensors.torch import save_file
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizerFast

FIXTURES = Path("Tests/MMRetTests/Fixtures")
MODEL_DIR = FIXTURES / "models" / "end-to-end"
INPUT_DIR = FIXTURES / "encoder"
IMAGE_DIR = INPUT_DIR / "images"
TOKENIZER_DIR = FIXTURES / "clip-tokenizer"
REFERENCE_FILE = FIXTURES / "reference" / "end-to-end.safetensors"

TEXT_MAX_LENGTH = 77
COMPOSED_MAX_LENGTH = 75

TEXTS = [
    "a photo of a cat",
    "Two dogs playing in the snow, one of them brown!",
    "",
    "naïve café — crème brûlée at 8:30pm",
    # Longer than 77 tokens, so the text and composed paths truncate at different places.
    " ".join(["a red bicycle leaning against a blue wall near the old harbour"] * 8),
    "find the same shirt but with long sleeves",
]

# Image id (relative to the image directory) → how the fixture makes it.
IMAGES = {
    "gradient.jpg": ("JPEG", "RGB", (40, 30)),
    "portrait.png": ("PNG", "RGBA", (30, 45)),
    "palette.png": ("PNG", "P", (37, 37)),
    "grey.jpg": ("JPEG", "L", (33, 50)),
    "jpeg-inside.png": ("JPEG", "RGB", (64, 48)),
    "sub/stripes.jpg": ("JPEG", "RGB", (32, 32)),
}

# Composed queries: a modification text and a reference image.
COMPOSED = [
    ("is brighter and has more red", "gradient.jpg"),
    ("same scene at night", "sub/stripes.jpg"),
    (TEXTS[4], "portrait.png"),
    ("", "grey.jpg"),
]


def make_image(mode: str, size, seed: int) -> Image.Image:
    """Return a deterministic image with gradients and edges, so resampling matters."""
    generator = torch.Generator().manual_seed(seed)
    width, height = size
    ys = torch.linspace(0, 1, height).view(height, 1)
    xs = torch.linspace(0, 1, width).view(1, width)
    noise = torch.rand((height, width, 4), generator=generator)
    channels = [
        (xs * 255).expand(height, width),
        (ys * 255).expand(height, width),
        ((xs + ys) * 127).expand(height, width),
        (noise[..., 3] * 255),
    ]
    array = torch.stack(channels, dim=-1) * 0.7 + noise * 255 * 0.3
    # A hard vertical edge, which bicubic resampling rings around.
    array[:, width // 2 :, 0] = 255 - array[:, width // 2 :, 0]
    rgba = Image.fromarray(array.clamp(0, 255).to(torch.uint8).numpy(), mode="RGBA")
    if mode == "RGBA":
        return rgba
    if mode == "P":
        return rgba.convert("RGB").quantize(colors=16, method=Image.Quantize.MEDIANCUT)
    return rgba.convert(mode)


def write_images() -> None:
    if IMAGE_DIR.exists():
        shutil.rmtree(IMAGE_DIR)
    for seed, (image_id, (image_format, mode, size)) in enumerate(IMAGES.items()):
        path = IMAGE_DIR / image_id
        path.parent.mkdir(parents=True, exist_ok=True)
        image = make_image(mode, size, seed)
        if image_format == "JPEG":
            image.save(path, format="JPEG", quality=90)
        else:
            image.save(path, format="PNG")


def write_jsonl(path: Path, records) -> None:
    path.write_text("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records), encoding="utf-8")


def make_model() -> CLIPModel:
    config = CLIPConfig(
        text_config={
            "vocab_size": 49408,
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 77,
            # BGE-VL's config keeps the old value 2, which selects pooling at the largest id.
            "eos_token_id": 2,
        },
        vision_config={
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        projection_dim=8,
    )
    torch.manual_seed(0)
    model = CLIPModel(config).eval()
    # The default initialisation gives tiny activations that hide errors; O(1) weights do not.
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name == "logit_scale":
                continue
            if parameter.dim() >= 2 and "embedding" not in name:
                parameter.normal_(0.0, 1.0 / math.sqrt(parameter[0].numel()))
            elif "layer_norm" in name or "layrnorm" in name:
                parameter.normal_(1.0 if name.endswith("weight") else 0.0, 0.2)
            else:
                parameter.normal_(0.0, 0.5)
    return model


def write_model(model: CLIPModel) -> None:
    if MODEL_DIR.exists():
        shutil.rmtree(MODEL_DIR)
    model.half().save_pretrained(MODEL_DIR, safe_serialization=True)
    model.float()
    for name in ("tokenizer.json", "vocab.json", "merges.txt", "special_tokens_map.json", "tokenizer_config.json"):
        shutil.copy(TOKENIZER_DIR / name, MODEL_DIR / name)
    processor = CLIPImageProcessor(
        size={"shortest_edge": 32},
        crop_size={"height": 32, "width": 32},
        do_center_crop=True,
        resample=3,
    )
    processor.save_pretrained(MODEL_DIR)


def main() -> int:
    write_images()
    write_jsonl(INPUT_DIR / "texts.jsonl", [{"text": text} for text in TEXTS])
    write_jsonl(INPUT_DIR / "images.jsonl", [{"image": image_id} for image_id in IMAGES])
    write_jsonl(INPUT_DIR / "composed.jsonl", [{"text": text, "image": image_id} for text, image_id in COMPOSED])

    write_model(make_model())

    # Everything below reads the written files back, as a user of the reference would.
    model = CLIPModel.from_pretrained(
        MODEL_DIR, torch_dtype=torch.float32, attn_implementation="eager", local_files_only=True
    ).eval()
    tokenizer = CLIPTokenizerFast.from_pretrained(MODEL_DIR, local_files_only=True)
    processor = CLIPImageProcessor.from_pretrained(MODEL_DIR, local_files_only=True)

    def text_features(texts, max_length):
        tokens = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        return model.get_text_features(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"])

    def image_features(image_ids):
        images = [Image.open(IMAGE_DIR / image_id).convert("RGB") for image_id in image_ids]
        pixels = processor(images=images, return_tensors="pt")["pixel_values"]
        return model.get_image_features(pixel_values=pixels)

    def normalize(features):
        return torch.nn.functional.normalize(features, dim=-1)

    with torch.no_grad():
        text_raw = text_features(TEXTS, TEXT_MAX_LENGTH)
        image_raw = image_features(list(IMAGES))
        composed = normalize(
            text_features([text for text, _ in COMPOSED], COMPOSED_MAX_LENGTH)
            + image_features([image_id for _, image_id in COMPOSED])
        )

    tensors = {
        "text": normalize(text_raw),
        "image": normalize(image_raw),
        "composed": composed,
        "text_raw": text_raw,
        "image_raw": image_raw,
    }
    for name, tensor in tensors.items():
        if not torch.isfinite(tensor).all():
            raise RuntimeError(f"{name} has non-finite values")
    save_file({name: tensor.contiguous().float() for name, tensor in tensors.items()}, REFERENCE_FILE)
    print(f"wrote {MODEL_DIR}, {INPUT_DIR} and {REFERENCE_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
