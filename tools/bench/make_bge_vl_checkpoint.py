"""Write a random-weight CLIP checkpoint with the shapes of BGE-VL base or large.

Run from the repository root:

    python3 tools/bench/make_bge_vl_checkpoint.py --size base
    python3 tools/bench/make_bge_vl_checkpoint.py --size large --out /tmp/bge-vl-large

The output is for local benchmarks and is not committed (bench-models/ is in
.gitignore). The directory has the Hugging Face snapshot layout: config.json
and model.safetensors from ``save_pretrained``, preprocessor_config.json from
``CLIPImageProcessor.save_pretrained`` with the settings of
openai/clip-vit-base-patch16, and the tokenizer files from
Tests/MMRetTests/Fixtures/clip-tokenizer/ when that directory exists.

Weights are stored as float16 by default, as in the published BGE-VL
checkpoints. They are random at O(1) scale (see ``randomize_weights`` in
tools/reference/make_model_fixtures.py), so features are finite and O(1) but
carry no meaning.
"""

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel
from transformers.modeling_utils import no_init_weights

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tools/reference"))
from make_model_fixtures import randomize_weights  # noqa: E402

TOKENIZER_FIXTURE_DIR = REPO_ROOT / "Tests/MMRetTests/Fixtures/clip-tokenizer"
TOKENIZER_FILE_NAMES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.json",
    "merges.txt",
    "special_tokens_map.json",
    "added_tokens.json",
)

# Token ids of BGE-VL's text config. The CLIP tokenizer itself emits 49406 and
# 49407 for <|startoftext|> and <|endoftext|>, and because eos_token_id is 2,
# transformers pools the text features at argmax(input_ids).
BGE_VL_TEXT_TOKEN_IDS = {"eos_token_id": 2, "bos_token_id": 0, "pad_token_id": 1, "vocab_size": 49408}

MODEL_SIZES = {
    # ViT-B/16, the shapes of BGE-VL base.
    "base": {
        "text_config": {
            "hidden_size": 512,
            "intermediate_size": 2048,
            "num_hidden_layers": 12,
            "num_attention_heads": 8,
        },
        "vision_config": {
            "hidden_size": 768,
            "intermediate_size": 3072,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "patch_size": 16,
            "image_size": 224,
        },
        "projection_dim": 512,
    },
    # ViT-L/14, the shapes of BGE-VL large.
    "large": {
        "text_config": {
            "hidden_size": 768,
            "intermediate_size": 3072,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
        },
        "vision_config": {
            "hidden_size": 1024,
            "intermediate_size": 4096,
            "num_hidden_layers": 24,
            "num_attention_heads": 16,
            "patch_size": 14,
            "image_size": 224,
        },
        "projection_dim": 768,
    },
}

# CLIPImageProcessor settings of openai/clip-vit-base-patch16.
IMAGE_PROCESSOR_SETTINGS = {
    "do_resize": True,
    "size": {"shortest_edge": 224},
    "resample": 3,
    "do_center_crop": True,
    "crop_size": {"height": 224, "width": 224},
    "do_rescale": True,
    "rescale_factor": 1 / 255,
    "do_normalize": True,
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "do_convert_rgb": True,
}

DTYPES = {"float16": torch.float16, "float32": torch.float32}


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", required=True, choices=sorted(MODEL_SIZES), help="BGE-VL model size to imitate")
    parser.add_argument("--out", type=Path, help="output directory (default: bench-models/<size> in the repository)")
    parser.add_argument(
        "--dtype", default="float16", choices=sorted(DTYPES), help="weight dtype on disk (default: float16)"
    )
    parser.add_argument("--seed", type=int, default=0, help="torch seed for the random weights (default: 0)")
    return parser.parse_args(argv)


def build_config(size: str) -> CLIPConfig:
    spec = MODEL_SIZES[size]
    text_config = {**BGE_VL_TEXT_TOKEN_IDS, **spec["text_config"]}
    return CLIPConfig(
        text_config=text_config, vision_config=spec["vision_config"], projection_dim=spec["projection_dim"]
    )


def check_feature_scale(model: CLIPModel, config: CLIPConfig, generator: torch.Generator) -> tuple:
    """Run one text and one image through the model and return the max |x| of each feature vector.

    Raises RuntimeError if a feature is NaN or infinite.
    """
    text_length = config.text_config.max_position_embeddings
    input_ids = torch.randint(3, 49405, (1, text_length), generator=generator)
    input_ids[0, 0] = 49406
    input_ids[0, -1] = 49407
    image_size = config.vision_config.image_size
    pixel_values = torch.randn((1, 3, image_size, image_size), generator=generator)

    with torch.inference_mode():
        text_features = model.get_text_features(input_ids=input_ids)
        image_features = model.get_image_features(pixel_values=pixel_values)
    for name, features in (("text", text_features), ("image", image_features)):
        if not torch.isfinite(features).all():
            raise RuntimeError(f"{name} features contain NaN or infinity, so check the scales in randomize_weights")
    return text_features.abs().max().item(), image_features.abs().max().item()


def copy_tokenizer_files(out_dir: Path) -> None:
    if not TOKENIZER_FIXTURE_DIR.is_dir():
        print(f"skipping tokenizer files: {TOKENIZER_FIXTURE_DIR} does not exist")
        return
    copied = []
    for file_name in TOKENIZER_FILE_NAMES:
        source = TOKENIZER_FIXTURE_DIR / file_name
        if source.is_file():
            shutil.copyfile(source, out_dir / file_name)
            copied.append(file_name)
    if copied:
        print(f"copied tokenizer files from {TOKENIZER_FIXTURE_DIR}: {', '.join(copied)}")
    else:
        print(f"skipping tokenizer files: none of {', '.join(TOKENIZER_FILE_NAMES)} is in {TOKENIZER_FIXTURE_DIR}")


def replace_directory_contents(staging_dir: Path, out_dir: Path) -> None:
    """Move every file of ``staging_dir`` into ``out_dir`` and delete weight files left from an earlier run.

    Each file is swapped in with an atomic rename, so a benchmark that has the
    old model.safetensors memory-mapped keeps reading the old file.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    new_names = {path.name for path in staging_dir.iterdir()}
    for name in sorted(new_names):
        os.replace(staging_dir / name, out_dir / name)
    staging_dir.rmdir()
    for stale in out_dir.glob("model*.safetensors*"):
        if stale.name not in new_names:
            stale.unlink()


def main(argv) -> int:
    arguments = parse_arguments(argv)
    out_dir = arguments.out or REPO_ROOT / "bench-models" / arguments.size
    start = time.monotonic()

    config = build_config(arguments.size)
    # The default initialisation is skipped because randomize_weights overwrites every parameter anyway.
    with no_init_weights():
        model = CLIPModel(config)
    model.eval()
    generator = torch.Generator().manual_seed(arguments.seed)
    randomize_weights(model, generator)
    parameter_count = sum(parameter.numel() for parameter in model.parameters())

    text_scale, image_scale = check_feature_scale(model, config, generator)

    model.to(DTYPES[arguments.dtype])
    staging_dir = out_dir.parent / f".{out_dir.name}.partial"
    if staging_dir.exists():
        shutil.rmtree(staging_dir)
    model.save_pretrained(staging_dir, safe_serialization=True)
    CLIPImageProcessor(**IMAGE_PROCESSOR_SETTINGS).save_pretrained(staging_dir)
    copy_tokenizer_files(staging_dir)
    replace_directory_contents(staging_dir, out_dir)

    elapsed = time.monotonic() - start
    print(
        f"wrote {out_dir}: {arguments.size}, {parameter_count / 1e6:.1f}M parameters, {arguments.dtype}, "
        f"float32 feature max |text| {text_scale:.2f} |image| {image_scale:.2f}, {elapsed:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
