"""Write tiny random-weight CLIP checkpoints and the transformers outputs for them.

Run from the repository root:

    python3 tools/reference/make_model_fixtures.py

The pinned package versions are in tools/reference/requirements.txt. The output
is deterministic (fixed seeds), so rerunning with those versions reproduces the
committed files. The script never contacts the Hugging Face hub.

It writes two models, each in four variants:

* ``legacy-pooling``: text ``eos_token_id`` 2, so transformers pools the text
  features at ``argmax(input_ids)``, as it does for BGE-VL and
  openai/clip-vit-base-patch16. Most hyperparameters are transformers' defaults,
  so ``save_pretrained`` omits them from config.json.
* ``eos-pooling``: text ``eos_token_id`` 500, so transformers pools at the first
  position equal to ``eos_token_id``. Word ids above 500 occur in the texts, so
  pooling at the largest id would pick another position and fail the test. Every hyperparameter that can differ from
  the default does (gelu, layer_norm_eps 1e-6, image 30 with patch 6,
  projection 16).

Variants, each a snapshot directory under Tests/MMRetTests/Fixtures/models/:

* ``<name>``: float32 weights in one ``model.safetensors``.
* ``<name>-f16`` and ``<name>-bf16``: the same weights rounded to float16 or
  bfloat16, with ``torch_dtype`` set to match in config.json.
* ``<name>-sharded``: float32 weights split by ``save_pretrained`` into at least
  three shards with ``model.safetensors.index.json``.

For each variant, Tests/MMRetTests/Fixtures/reference/<variant>.safetensors
holds what transformers computes from that variant's files after loading them
as float32 with eager attention. The inputs are stored once, in the reference
file of the plain F32 variant ``<name>``, because all four variants share them:

* ``input_ids`` I64 [4, L] and ``attention_mask`` I64 [4, L]: texts of 2, 5, 11
  and L tokens, where L is ``max_position_embeddings``. Each text starts with
  the model's start id, ends with its end id and is right-padded with the end
  id. For legacy-pooling these are 998 and 999, the largest id, like
  ``<|endoftext|>`` in CLIP's vocabulary. For eos-pooling they are 499 and 500.
* ``pixel_values`` F32 [N, 3, S, S]: normal noise, except that the last image
  is constant -1.5.
* ``text_features`` F32 [4, P]: ``get_text_features(input_ids, attention_mask)``.
* ``text_features_single`` F32 [4, P]: each text run alone, without padding.
* ``image_features`` F32 [N, P]: ``get_image_features(pixel_values)``.

The plain F32 variant's file also holds ``padding_input_ids``,
``padding_attention_mask`` (I64 [3, 7]) and ``padding_text_features`` (F32 [3, P]):
texts that are left-padded, all padding and right-padded (see
``make_unusual_padding_inputs``).
"""

import json
import math
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import CLIPConfig, CLIPModel
from transformers.utils import logging as transformers_logging
from transformers.models.clip.modeling_clip import CLIPVisionEmbeddings

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = REPO_ROOT / "Tests/MMRetTests/Fixtures/models"
REFERENCE_DIR = REPO_ROOT / "Tests/MMRetTests/Fixtures/reference"

# Token ids used in the generated texts. Both models have vocab_size 1000.
START_TOKEN_ID = 998
END_TOKEN_ID = 999

# The shard size limit for the sharded variants. It is far below any real
# checkpoint's so that these small models still split into several files.
SHARD_SIZE = "100KB"
MIN_SHARD_COUNT = 3

# Config keys that must be absent from legacy-pooling's config.json because
# they are left at transformers' defaults.
LEGACY_OMITTED_TEXT_KEYS = ("max_position_embeddings", "hidden_act", "layer_norm_eps", "pad_token_id")
LEGACY_OMITTED_VISION_KEYS = ("image_size", "patch_size", "hidden_act", "layer_norm_eps")

MODEL_SPECS = {
    "legacy-pooling": {
        "seed": 1001,
        "config": {
            "text_config": {
                "eos_token_id": 2,
                "bos_token_id": 0,
                "pad_token_id": 1,
                "vocab_size": 1000,
                "hidden_size": 32,
                "intermediate_size": 64,
                "num_hidden_layers": 2,
                "num_attention_heads": 4,
            },
            "vision_config": {
                "hidden_size": 48,
                "intermediate_size": 96,
                "num_hidden_layers": 2,
                "num_attention_heads": 4,
            },
        },
        "image_count": 2,
        "start_token_id": START_TOKEN_ID,
        "end_token_id": END_TOKEN_ID,
        # Word ids stay below START_TOKEN_ID so that argmax(input_ids) finds the end token.
        "word_id_range": (3, 997),
    },
    "eos-pooling": {
        "seed": 2002,
        "config": {
            "text_config": {
                "eos_token_id": 500,
                "bos_token_id": 499,
                "pad_token_id": 1,
                "vocab_size": 1000,
                "hidden_size": 32,
                "intermediate_size": 48,
                "num_hidden_layers": 2,
                "num_attention_heads": 2,
                "max_position_embeddings": 20,
                "hidden_act": "gelu",
                "layer_norm_eps": 1e-6,
            },
            "vision_config": {
                "hidden_size": 24,
                "intermediate_size": 40,
                "num_hidden_layers": 3,
                "num_attention_heads": 2,
                "image_size": 30,
                "patch_size": 6,
                "hidden_act": "gelu",
                "layer_norm_eps": 1e-6,
            },
            "projection_dim": 16,
        },
        "image_count": 3,
        "start_token_id": 499,
        "end_token_id": 500,
        # Word ids run past the end id, so pooling at the largest id would pick a word.
        "word_id_range": (2, 997),
    },
}

VARIANT_DTYPES = {"": torch.float32, "-f16": torch.float16, "-bf16": torch.bfloat16}

TEXT_LENGTHS_BEFORE_MAX = (2, 5, 11)


def randomize_weights(model: torch.nn.Module, generator: torch.Generator) -> None:
    """Overwrite every parameter except ``logit_scale`` with O(1)-scale random values.

    The default CLIP initialisation uses small standard deviations, which makes
    activations tiny and hides errors. Here linear and convolution weights are
    normal(0, 1/sqrt(fan_in)), biases normal(0, 0.1), embeddings and the class
    embedding normal(0, 0.5), and layer norms 1 + normal(0, 0.2) with bias
    normal(0, 0.2). Raises RuntimeError if a parameter was not covered.
    """

    def fill_normal(tensor: torch.Tensor, mean: float, std: float) -> None:
        values = torch.randn(tensor.shape, generator=generator, dtype=torch.float32) * std + mean
        tensor.copy_(values)

    covered = set()
    with torch.no_grad():
        for module_name, module in model.named_modules():
            prefix = f"{module_name}." if module_name else ""
            if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d)):
                fan_in = module.weight[0].numel()
                fill_normal(module.weight, 0.0, 1.0 / math.sqrt(fan_in))
                covered.add(prefix + "weight")
                if module.bias is not None:
                    fill_normal(module.bias, 0.0, 0.1)
                    covered.add(prefix + "bias")
            elif isinstance(module, torch.nn.Embedding):
                fill_normal(module.weight, 0.0, 0.5)
                covered.add(prefix + "weight")
            elif isinstance(module, torch.nn.LayerNorm):
                fill_normal(module.weight, 1.0, 0.2)
                fill_normal(module.bias, 0.0, 0.2)
                covered.update((prefix + "weight", prefix + "bias"))
            elif isinstance(module, CLIPVisionEmbeddings):
                fill_normal(module.class_embedding, 0.0, 0.5)
                covered.add(prefix + "class_embedding")

    uncovered = {name for name, _ in model.named_parameters()} - covered - {"logit_scale"}
    if uncovered:
        raise RuntimeError(f"randomize_weights left parameters at their initial values: {sorted(uncovered)}")


def make_text_inputs(text_config, spec, generator):
    """Return ``(input_ids, attention_mask, lengths)`` for four right-padded texts."""
    max_length = text_config.max_position_embeddings
    lengths = [*TEXT_LENGTHS_BEFORE_MAX, max_length]
    start_id, end_id = spec["start_token_id"], spec["end_token_id"]
    input_ids = torch.full((len(lengths), max_length), end_id, dtype=torch.int64)
    attention_mask = torch.zeros((len(lengths), max_length), dtype=torch.int64)

    low, high = spec["word_id_range"]
    for row, length in enumerate(lengths):
        words = torch.randint(low, high + 1, (length - 2,), generator=generator)
        # A word equal to the end id would move the pooling position; shift it off.
        words[words == end_id] = end_id + 1
        input_ids[row, 0] = start_id
        input_ids[row, 1 : length - 1] = words
        input_ids[row, length - 1] = end_id
        attention_mask[row, :length] = 1
    return input_ids, attention_mask, lengths


def make_pixel_values(vision_config, image_count, generator):
    """Return normal-noise images [N, 3, S, S] whose last image is constant -1.5."""
    size = vision_config.image_size
    pixel_values = torch.randn((image_count, vision_config.num_channels, size, size), generator=generator)
    pixel_values[-1].fill_(-1.5)
    return pixel_values


def make_unusual_padding_inputs(spec):
    """Return ``(input_ids, attention_mask)`` for three texts of 7 positions that pad unusually.

    Row 0 is left-padded with the end id, so pooling at the largest id (the legacy rule)
    lands on a padding position. Row 1 is all padding. Row 2 is right-padded, as the
    tokenizer pads. A padding position that no key may be attended from gets uniform
    weights over the keys masked by one rule only, which the Swift port must reproduce.
    """
    start_id, end_id = spec["start_token_id"], spec["end_token_id"]
    input_ids = torch.tensor(
        [
            [end_id, end_id, start_id, 81, 66, 650, end_id],
            [end_id] * 7,
            [start_id, 81, 66, 650, end_id, end_id, end_id],
        ],
        dtype=torch.int64,
    )
    attention_mask = torch.tensor([[0, 0, 1, 1, 1, 1, 1], [0] * 7, [1, 1, 1, 1, 1, 0, 0]], dtype=torch.int64)
    return input_ids, attention_mask


def compute_features(model, input_ids, attention_mask, lengths, pixel_values):
    """Run transformers on the inputs and return the reference tensors."""
    with torch.no_grad():
        text_features = model.get_text_features(input_ids=input_ids, attention_mask=attention_mask)
        single_rows = []
        for row, length in enumerate(lengths):
            single_rows.append(
                model.get_text_features(
                    input_ids=input_ids[row : row + 1, :length],
                    attention_mask=attention_mask[row : row + 1, :length],
                )
            )
        image_features = model.get_image_features(pixel_values=pixel_values)
    return {
        "text_features": text_features.contiguous(),
        "text_features_single": torch.cat(single_rows).contiguous(),
        "image_features": image_features.contiguous(),
    }


def load_float32(directory: Path, attn_implementation: str) -> CLIPModel:
    model = CLIPModel.from_pretrained(
        directory, torch_dtype=torch.float32, attn_implementation=attn_implementation, local_files_only=True
    )
    return model.eval()


def check_legacy_config(directory: Path) -> None:
    """Raise RuntimeError if config.json contains a key that should be left at its default."""
    config = json.loads((directory / "config.json").read_text())
    present = [key for key in LEGACY_OMITTED_TEXT_KEYS if key in config["text_config"]]
    present += [key for key in LEGACY_OMITTED_VISION_KEYS if key in config["vision_config"]]
    if present:
        raise RuntimeError(f"{directory}/config.json contains default-valued keys that should be omitted: {present}")


def check_sharded_index(directory: Path, expected_names) -> int:
    """Check that the shard index maps every tensor to the shard that contains it; return the shard count."""
    index = json.loads((directory / "model.safetensors.index.json").read_text())
    weight_map = index["weight_map"]
    if set(weight_map) != set(expected_names):
        raise RuntimeError(f"{directory}: index tensor names differ from the model's state dict")

    shard_names = sorted(set(weight_map.values()))
    for shard_name in shard_names:
        with safe_open(directory / shard_name, framework="pt") as shard:
            for tensor_name in shard.keys():
                if weight_map.get(tensor_name) != shard_name:
                    mapped_shard = weight_map.get(tensor_name)
                    raise RuntimeError(f"{directory}: {tensor_name} is in {shard_name}, but the index maps it to {mapped_shard}")
    files_on_disk = sorted(path.name for path in directory.glob("model-*.safetensors"))
    if files_on_disk != shard_names:
        raise RuntimeError(f"{directory}: shard files {files_on_disk} differ from the index {shard_names}")
    if len(shard_names) < MIN_SHARD_COUNT:
        raise RuntimeError(f"{directory}: expected at least {MIN_SHARD_COUNT} shards, got {len(shard_names)}")
    return len(shard_names)


def check_loaded_weights(loaded_model, model, dtype, directory: Path) -> None:
    """Raise RuntimeError unless the loaded float32 weights equal the source weights rounded to ``dtype``."""
    loaded_state = loaded_model.state_dict()
    for tensor_name, tensor in model.state_dict().items():
        expected = tensor.to(dtype).to(torch.float32)
        if not torch.equal(loaded_state[tensor_name], expected):
            raise RuntimeError(f"{directory}: {tensor_name} does not load back as written")


def max_abs_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).abs().max().item()


def write_model(name: str, spec: dict) -> None:
    generator = torch.Generator().manual_seed(spec["seed"])
    torch.manual_seed(spec["seed"])

    config = CLIPConfig(**spec["config"])
    model = CLIPModel(config).eval()
    randomize_weights(model, generator)
    state_names = list(model.state_dict())

    input_ids, attention_mask, lengths = make_text_inputs(config.text_config, spec, generator)
    pixel_values = make_pixel_values(config.vision_config, spec["image_count"], generator)

    variants = [(name + suffix, dtype, None) for suffix, dtype in VARIANT_DTYPES.items()]
    variants.append((name + "-sharded", torch.float32, SHARD_SIZE))

    for variant, dtype, shard_size in variants:
        directory = MODELS_DIR / variant
        if directory.exists():
            shutil.rmtree(directory)

        # Round-trip through a copy so that the float32 model stays untouched for the later variants.
        saved_model = CLIPModel(config).eval()
        saved_model.load_state_dict(model.state_dict())
        saved_model.to(dtype)
        save_arguments = {"safe_serialization": True}
        if shard_size is not None:
            save_arguments["max_shard_size"] = shard_size
        saved_model.save_pretrained(directory, **save_arguments)

        if name == "legacy-pooling":
            check_legacy_config(directory)
        written_dtype = json.loads((directory / "config.json").read_text())["torch_dtype"]
        expected_dtype = str(dtype).removeprefix("torch.")
        if written_dtype != expected_dtype:
            raise RuntimeError(f"{directory}: torch_dtype is {written_dtype}, expected {expected_dtype}")
        shard_note = ""
        if shard_size is not None:
            shard_note = f", {check_sharded_index(directory, state_names)} shards"

        eager_model = load_float32(directory, "eager")
        check_loaded_weights(eager_model, model, dtype, directory)
        reference = compute_features(eager_model, input_ids, attention_mask, lengths, pixel_values)

        # Report how far the default attention implementation (sdpa in transformers 4.45.2) is from eager.
        sdpa_model = load_float32(directory, "sdpa")
        sdpa_reference = compute_features(sdpa_model, input_ids, attention_mask, lengths, pixel_values)
        sdpa_difference = max(max_abs_difference(reference[key], sdpa_reference[key]) for key in reference)
        padding_difference = max_abs_difference(reference["text_features"], reference["text_features_single"])

        tensors = dict(reference)
        if variant == name:
            tensors["input_ids"] = input_ids.contiguous()
            tensors["attention_mask"] = attention_mask.contiguous()
            tensors["pixel_values"] = pixel_values.contiguous()
            padding_ids, padding_mask = make_unusual_padding_inputs(spec)
            with torch.no_grad():
                padding_features = eager_model.get_text_features(input_ids=padding_ids, attention_mask=padding_mask)
                sdpa_padding_features = sdpa_model.get_text_features(input_ids=padding_ids, attention_mask=padding_mask)
            if max_abs_difference(padding_features, sdpa_padding_features) > 1e-5:
                raise RuntimeError(f"{variant}: eager and sdpa disagree on unusual padding")
            tensors["padding_input_ids"] = padding_ids
            tensors["padding_attention_mask"] = padding_mask
            tensors["padding_text_features"] = padding_features.contiguous()
        REFERENCE_DIR.mkdir(parents=True, exist_ok=True)
        save_file(tensors, REFERENCE_DIR / f"{variant}.safetensors")

        text_scale = reference["text_features"].abs().max().item()
        image_scale = reference["image_features"].abs().max().item()
        print(
            f"{variant}: {written_dtype}{shard_note}, max |text| {text_scale:.3f}, max |image| {image_scale:.3f}, "
            f"eager vs sdpa {sdpa_difference:.2e}, batched vs single text {padding_difference:.2e}"
        )


def main() -> int:
    # One thread fixes the summation order, so reruns on the same machine reproduce the references bit for bit.
    torch.set_num_threads(1)
    transformers_logging.disable_progress_bar()
    torch.use_deterministic_algorithms(True)
    for name, spec in MODEL_SPECS.items():
        write_model(name, spec)
    return 0


if __name__ == "__main__":
    sys.exit(main())
