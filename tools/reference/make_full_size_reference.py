"""Write transformers' features for a full-size benchmark checkpoint, for the opt-in parity test.

Run from the repository root after tools/bench/make_bge_vl_checkpoint.py:

    python3 tools/reference/make_full_size_reference.py bench-models/base

It writes <checkpoint>/reference.safetensors (not committed) in the layout of the
committed fixture references: input_ids and attention_mask (I64 [4, 77]: texts of 2,
5, 11 and 77 tokens with CLIP's start id 49406 and end id 49407, padded with the end
id), pixel_values (F32 [3, 3, S, S], the last image constant -1.5), text_features,
text_features_single and image_features, computed in fp32 with eager attention.

Then `MMRET_FULL_SIZE_MODEL=bench-models/base swift test --filter FullSizeParity`
compares mmret with it at the fixture tolerances. The small fixtures have two or three
layers; this checks that rounding does not grow past the bound over 12 or 24 layers.
"""

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_model_fixtures import compute_features, load_float32, make_pixel_values, make_text_inputs  # noqa: E402

CLIP_START_ID = 49406
CLIP_END_ID = 49407


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path, help="checkpoint directory, such as bench-models/base")
    parser.add_argument("--images", type=int, default=3, help="number of images (default 3)")
    arguments = parser.parse_args()
    if not (arguments.checkpoint / "config.json").is_file():
        print(f"error: {arguments.checkpoint}/config.json not found; run tools/bench/make_bge_vl_checkpoint.py first", file=sys.stderr)
        return 2

    torch.set_num_threads(2)
    generator = torch.Generator().manual_seed(3003)
    model = load_float32(arguments.checkpoint, "eager")
    spec = {"start_token_id": CLIP_START_ID, "end_token_id": CLIP_END_ID, "word_id_range": (0, CLIP_START_ID - 1)}
    input_ids, attention_mask, lengths = make_text_inputs(model.config.text_config, spec, generator)
    pixel_values = make_pixel_values(model.config.vision_config, arguments.images, generator)

    reference = compute_features(model, input_ids, attention_mask, lengths, pixel_values)
    tensors = {
        "input_ids": input_ids.contiguous(),
        "attention_mask": attention_mask.contiguous(),
        "pixel_values": pixel_values.contiguous(),
        **reference,
    }
    output = arguments.checkpoint / "reference.safetensors"
    save_file(tensors, output)
    print(f"wrote {output}: max |text| {reference['text_features'].abs().max():.3f}, max |image| {reference['image_features'].abs().max():.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
