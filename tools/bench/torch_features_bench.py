"""Time transformers CLIPModel feature extraction on CPU, as the baseline for ``mmret bench``.

Run from the repository root, for example:

    python3 tools/bench/torch_features_bench.py --model bench-models/base --batch 32 --iterations 5 --threads 2

It times ``get_image_features`` on random pixel values [N, 3, S, S] (S is the
config's image size) and ``get_text_features`` on random full-length texts
(start token, random ids, end token as the largest id, like CLIP's tokenizer
output). Inputs are generated once, outside the timed region. After the warmup
iterations it prints one line per measurement to stdout with the median rate:

    torch image fp32 batch=32 threads=2 images/s=12.34
    torch text fp32 batch=32 threads=2 texts/s=56.78

Per-iteration times go to stderr. The model uses the attention implementation
that transformers picks by default (sdpa in 4.45.2).
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch
from transformers import CLIPModel

DTYPES = {"float32": (torch.float32, "fp32"), "bfloat16": (torch.bfloat16, "bf16")}


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected zero or a positive integer, got {value}")
    return value


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="Hugging Face snapshot directory of a CLIPModel")
    parser.add_argument("--batch", type=positive_int, default=32, help="images or texts per call (default: 32)")
    parser.add_argument("--iterations", type=positive_int, default=5, help="timed calls per measurement (default: 5)")
    parser.add_argument("--threads", type=positive_int, default=2, help="torch intra-op threads (default: 2)")
    parser.add_argument(
        "--dtype", default="float32", choices=sorted(DTYPES), help="compute dtype (default: float32)"
    )
    parser.add_argument(
        "--warmup", type=non_negative_int, default=1, help="untimed calls before each measurement (default: 1)"
    )
    return parser.parse_args(argv)


def make_text_batch(text_config, batch: int, generator: torch.Generator) -> torch.Tensor:
    """Return [batch, max_position_embeddings] ids: start token, random words, end token as the largest id."""
    vocab_size = text_config.vocab_size
    length = text_config.max_position_embeddings
    input_ids = torch.randint(0, vocab_size - 2, (batch, length), generator=generator)
    input_ids[:, 0] = vocab_size - 2
    input_ids[:, -1] = vocab_size - 1
    return input_ids


def time_calls(run, warmup: int, iterations: int, label: str) -> float:
    """Call ``run`` warmup + iterations times and return the median seconds of the timed calls."""
    for _ in range(warmup):
        run()
    durations = []
    for iteration in range(iterations):
        start = time.perf_counter()
        run()
        durations.append(time.perf_counter() - start)
        print(f"{label} iteration {iteration + 1}/{iterations}: {durations[-1]:.3f} s", file=sys.stderr)
    return statistics.median(durations)


def main(argv) -> int:
    arguments = parse_arguments(argv)
    dtype, dtype_label = DTYPES[arguments.dtype]
    torch.set_num_threads(arguments.threads)

    model = CLIPModel.from_pretrained(arguments.model, torch_dtype=dtype, local_files_only=True).eval()
    config = model.config
    generator = torch.Generator().manual_seed(0)

    image_size = config.vision_config.image_size
    channel_count = config.vision_config.num_channels
    pixel_values = torch.randn((arguments.batch, channel_count, image_size, image_size), generator=generator)
    pixel_values = pixel_values.to(dtype)
    input_ids = make_text_batch(config.text_config, arguments.batch, generator)

    measurements = (
        ("image", "images/s", lambda: model.get_image_features(pixel_values=pixel_values)),
        ("text", "texts/s", lambda: model.get_text_features(input_ids=input_ids)),
    )
    with torch.inference_mode():
        for kind, unit, run in measurements:
            median_seconds = time_calls(run, arguments.warmup, arguments.iterations, f"torch {kind}")
            rate = arguments.batch / median_seconds
            print(
                f"torch {kind} {dtype_label} batch={arguments.batch} threads={arguments.threads} {unit}={rate:.2f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
