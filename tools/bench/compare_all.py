"""Compare mmret with PyTorch and ONNX Runtime on one checkpoint, side by side.

Run from the repository root after ``swift build -c release``, for example:

    python3 tools/bench/make_bge_vl_checkpoint.py --size base
    python3 tools/bench/compare_all.py --model bench-models/base --batch 16 --rounds 3

Contenders, all with the same thread count (default 2):

- torch fp32: transformers ``CLIPModel`` in float32 (sdpa attention).
- torch bf16: the same model after ``model.to(torch.bfloat16)``, so weights and
  activations are bf16.
- torch autocast: the fp32 model under ``torch.autocast("cpu", dtype=torch.bfloat16)``,
  which runs matmuls and linear layers in bf16 and keeps the rest in fp32.
- onnxruntime fp32: the vision and text towers (with their projections) exported
  with ``torch.onnx.export`` and run by the CPU execution provider with
  ``intra_op_num_threads`` threads. The export is cached next to the checkpoint
  in ``<model>/onnx/``.
- mmret fp32 and mmret bf16: ``mmret bench`` subprocesses. Their first run also
  prints the GEMM rate of the machine (``--mode gemm``).

Images are random pixel values of the model's size. Texts have 8 to 30 tokens
(``--text-tokens``), text ``i`` having ``MIN + (7 i) mod (MAX - MIN + 1)``
tokens as ``mmret bench`` generates them. PyTorch and ONNX Runtime get the batch
padded to its longest text with an attention mask, as the tokenizer returns it
with ``padding=True``. mmret gets the same padded batch and skips the padding.

Each round runs every contender once, in turn, so that background load on a
shared machine spreads over all of them. A contender's figure in a round is the
median of ``--iterations`` timed calls after one warm-up call. The summary
prints the median over rounds and each rate divided by torch fp32's.

Then, unless ``--skip-startup``, it runs ``mmret bench --batch 1 --iterations 1
--warmup 0 --mode image`` under ``/usr/bin/time`` for each precision: the wall
time from process start to the first image embedding and the peak resident
memory.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import torch
from transformers import CLIPModel

REPO_ROOT = Path(__file__).resolve().parents[2]


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, type=Path, help="checkpoint directory (see make_bge_vl_checkpoint.py)")
    parser.add_argument("--batch", type=int, default=16, help="images or texts per call (default: 16)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all contenders (default: 3)")
    parser.add_argument("--iterations", type=int, default=3, help="timed calls per contender and round (default: 3)")
    parser.add_argument("--threads", type=int, default=2, help="threads for every contender (default: 2)")
    parser.add_argument("--text-tokens", default="8-30", help="text lengths MIN-MAX, special tokens included (default: 8-30)")
    parser.add_argument("--mmret", type=Path, default=REPO_ROOT / ".build/release/mmret", help="mmret binary")
    parser.add_argument("--skip-startup", action="store_true", help="skip the start-up and memory runs")
    parser.add_argument("--only", default="", help="comma-separated contender names to run (default: all)")
    arguments = parser.parse_args(argv)
    for name in ("batch", "rounds", "iterations", "threads"):
        if getattr(arguments, name) < 1:
            parser.error(f"--{name} must be a positive integer")
    match = re.fullmatch(r"(\d+)-(\d+)", arguments.text_tokens)
    if not match or not 2 <= int(match[1]) <= int(match[2]):
        parser.error(f"--text-tokens takes MIN-MAX with 2 <= MIN <= MAX, got {arguments.text_tokens!r}")
    arguments.text_range = (int(match[1]), int(match[2]))
    if not arguments.mmret.is_file():
        parser.error(f"{arguments.mmret} not found; build it with `swift build -c release`")
    return arguments


def text_batch(text_config, batch: int, text_range, generator: torch.Generator):
    """Return (input_ids, attention_mask) padded to the longest text, like mmret bench's texts."""
    lower, upper = text_range
    upper = min(upper, text_config.max_position_embeddings)
    lengths = [lower + (7 * index) % (upper - lower + 1) for index in range(batch)]
    legacy = text_config.eos_token_id == 2
    end_id = text_config.vocab_size - 1 if legacy else text_config.eos_token_id
    padded = max(lengths)
    input_ids = torch.full((batch, padded), end_id, dtype=torch.long)
    attention_mask = torch.zeros((batch, padded), dtype=torch.long)
    for row, length in enumerate(lengths):
        words = torch.randint(1, text_config.vocab_size - 3, (length,), generator=generator)
        words[words == end_id] -= 1
        words[0] = text_config.bos_token_id
        words[-1] = end_id
        input_ids[row, :length] = words
        attention_mask[row, :length] = 1
    return input_ids, attention_mask


def median_seconds(run, iterations: int) -> float:
    run()
    durations = []
    for _ in range(iterations):
        start = time.perf_counter()
        run()
        durations.append(time.perf_counter() - start)
    return statistics.median(durations)


class ImageTower(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixel_values):
        return self.model.get_image_features(pixel_values=pixel_values)


class TextTower(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model.get_text_features(input_ids=input_ids, attention_mask=attention_mask)


def export_onnx(model_directory: Path, pixel_values, input_ids, attention_mask):
    """Export both towers once; later runs reuse the files.

    The export uses eager attention, because torch 2.4's exporter rejects the scale
    argument of the sdpa call in transformers 4.45.2's CLIP.
    """
    directory = model_directory / "onnx"
    directory.mkdir(exist_ok=True)
    image_path = directory / "image_features.onnx"
    text_path = directory / "text_features.onnx"
    if image_path.exists() and text_path.exists():
        return image_path, text_path
    model = CLIPModel.from_pretrained(
        model_directory, torch_dtype=torch.float32, local_files_only=True, attn_implementation="eager"
    ).eval()
    with torch.no_grad():
        if not image_path.exists():
            torch.onnx.export(
                ImageTower(model), (pixel_values[:1],), str(image_path), opset_version=17,
                input_names=["pixel_values"], output_names=["image_features"],
                dynamic_axes={"pixel_values": {0: "batch"}},
            )
        if not text_path.exists():
            torch.onnx.export(
                TextTower(model), (input_ids[:2], attention_mask[:2]), str(text_path), opset_version=17,
                input_names=["input_ids", "attention_mask"], output_names=["text_features"],
                dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}},
            )
    return image_path, text_path


def run_mmret(arguments, precision: str, modes: str):
    command = [
        str(arguments.mmret), "bench", "--model", str(arguments.model), "--batch", str(arguments.batch),
        "--threads", str(arguments.threads), "--iterations", str(arguments.iterations), "--warmup", "1",
        "--mode", modes, "--precision", precision, "--text-tokens", arguments.text_tokens,
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"error: {' '.join(command)} failed:\n{result.stderr}")
    rates = {}
    for line in result.stdout.splitlines():
        fields = dict(field.split("=", 1) for field in line.split()[3:] if "=" in field)
        kind = line.split()[1]
        if kind == "gemm":
            rates[f"gemm {line.split()[2]} {fields['gemm']}"] = float(fields["gflop/s"])
        elif kind == "image":
            rates["image"] = float(fields["images/s"])
            rates["image gflop/s"] = float(fields["gflop/s"])
        elif kind == "text":
            rates["text"] = float(fields["texts/s"])
    return rates


def startup(arguments, precision: str):
    """Return (wall seconds, peak resident MiB) of a process that embeds one image."""
    command = [
        "/usr/bin/time", "-f", "%e %M", str(arguments.mmret), "bench", "--model", str(arguments.model),
        "--batch", "1", "--iterations", "1", "--warmup", "0", "--mode", "image", "--precision", precision,
        "--threads", str(arguments.threads),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"error: {' '.join(command)} failed:\n{result.stderr}")
    wall, kilobytes = result.stderr.strip().splitlines()[-1].split()
    return float(wall), int(kilobytes) / 1024


def main(argv) -> int:
    arguments = parse_arguments(argv)
    threads = arguments.threads
    torch.set_num_threads(threads)
    only = set(filter(None, arguments.only.split(",")))

    def selected(name):
        return not only or name in only

    fp32_model = CLIPModel.from_pretrained(arguments.model, torch_dtype=torch.float32, local_files_only=True).eval()
    config = fp32_model.config
    generator = torch.Generator().manual_seed(0)
    size = config.vision_config.image_size
    pixel_values = torch.randn((arguments.batch, config.vision_config.num_channels, size, size), generator=generator)
    input_ids, attention_mask = text_batch(config.text_config, arguments.batch, arguments.text_range, generator)

    contenders = {}
    if selected("torch-fp32"):
        contenders["torch fp32"] = {
            "image": lambda: fp32_model.get_image_features(pixel_values=pixel_values),
            "text": lambda: fp32_model.get_text_features(input_ids=input_ids, attention_mask=attention_mask),
        }
    if selected("torch-bf16"):
        bf16_model = CLIPModel.from_pretrained(arguments.model, torch_dtype=torch.float32, local_files_only=True).eval()
        bf16_model = bf16_model.to(torch.bfloat16)
        bf16_pixels = pixel_values.to(torch.bfloat16)
        contenders["torch bf16"] = {
            "image": lambda: bf16_model.get_image_features(pixel_values=bf16_pixels),
            "text": lambda: bf16_model.get_text_features(input_ids=input_ids, attention_mask=attention_mask),
        }
    if selected("torch-autocast"):

        def autocast(run):
            def wrapped():
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    return run()

            return wrapped

        contenders["torch autocast"] = {
            "image": autocast(lambda: fp32_model.get_image_features(pixel_values=pixel_values)),
            "text": autocast(lambda: fp32_model.get_text_features(input_ids=input_ids, attention_mask=attention_mask)),
        }
    if selected("onnxruntime-fp32"):
        import onnxruntime

        image_path, text_path = export_onnx(arguments.model, pixel_values, input_ids, attention_mask)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        image_session = onnxruntime.InferenceSession(str(image_path), options, providers=["CPUExecutionProvider"])
        text_session = onnxruntime.InferenceSession(str(text_path), options, providers=["CPUExecutionProvider"])
        pixels_numpy = pixel_values.numpy()
        ids_numpy, mask_numpy = input_ids.numpy(), attention_mask.numpy()
        contenders["onnxruntime fp32"] = {
            "image": lambda: image_session.run(None, {"pixel_values": pixels_numpy}),
            "text": lambda: text_session.run(None, {"input_ids": ids_numpy, "attention_mask": mask_numpy}),
        }

    mmret_precisions = [precision for precision in ("fp32", "bf16") if selected(f"mmret-{precision}")]
    results = {}  # (contender, measure) -> [rates over rounds]
    for round_index in range(arguments.rounds):
        for name, runs in contenders.items():
            with torch.inference_mode():
                for kind, run in runs.items():
                    seconds = median_seconds(run, arguments.iterations)
                    results.setdefault((name, kind), []).append(arguments.batch / seconds)
            time.sleep(0.5)  # lets OpenMP worker threads of torch stop spinning
        for precision in mmret_precisions:
            modes = "gemm,image,text" if precision == "fp32" else "image,text"
            for key, value in run_mmret(arguments, precision, modes).items():
                # GEMM rates belong to the machine, not to one precision's run.
                contender = "mmret" if key.startswith("gemm") else f"mmret {precision}"
                results.setdefault((contender, key), []).append(value)
        summary = ", ".join(f"{name} {kind} {values[-1]:.2f}" for (name, kind), values in results.items())
        print(f"round {round_index + 1}/{arguments.rounds}: {summary}", file=sys.stderr, flush=True)

    load = os.getloadavg()
    print(f"model {arguments.model} batch={arguments.batch} threads={threads} text tokens {arguments.text_tokens}"
          f" rounds={arguments.rounds} load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    medians = {key: statistics.median(values) for key, values in results.items()}
    baseline = {kind: medians.get(("torch fp32", kind)) for kind in ("image", "text")}
    print(f"{'contender':<18} {'images/s':>9} {'vs torch fp32':>14} {'texts/s':>9} {'vs torch fp32':>14}")
    for name in [*contenders, *(f"mmret {precision}" for precision in mmret_precisions)]:
        cells = []
        for kind in ("image", "text"):
            rate = medians.get((name, kind))
            ratio = rate / baseline[kind] if rate and baseline[kind] else None
            cells.append(f"{rate:9.2f}" if rate else f"{'-':>9}")
            cells.append(f"{ratio:14.2f}" if ratio else f"{'-':>14}")
        print(f"{name:<18} {' '.join(cells)}")
    for (name, kind), value in sorted(medians.items()):
        if name == "mmret" or kind == "image gflop/s":
            print(f"{name} {kind}: {value:.1f} GFLOP/s")

    if not arguments.skip_startup:
        for precision in mmret_precisions:
            wall, mebibytes = startup(arguments, precision)
            print(f"mmret {precision} start-up to first image embedding: {wall:.2f} s, peak resident {mebibytes:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
