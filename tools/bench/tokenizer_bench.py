#!/usr/bin/env python3
"""Measure the Python `tokenizers` library on CLIP captions, as `mmret bench-tokenizer` does.

    tokenizer_bench.py write-captions FILE.jsonl [--count 10000]
    tokenizer_bench.py measure --model DIR --input FILE.jsonl [--text-field text]

`measure` loads DIR with transformers' CLIPTokenizerFast and times its Rust backend
(`tokenizers.Tokenizer`) with truncation at max_length 77: one cold pass, then the fastest
of five passes of `encode` per text and of five passes of `encode_batch`. Set
RAYON_NUM_THREADS and TOKENIZERS_PARALLELISM before starting Python to choose the number
of batch threads; tools/bench/tokenizer_bench.sh does that.
"""

import argparse
import json
import os
import random
import time

SEED = 7
SUBJECTS = ["a man", "a woman", "two dogs", "a small child", "a red car", "an old train",
            "a group of people", "a black cat", "a large elephant", "a pizza", "a laptop",
            "a surfer", "a tennis player", "a giraffe", "a bowl of fruit", "a young girl",
            "a brown horse", "a city bus", "a plate of food", "a teddy bear"]
ACTIONS = ["sitting on", "standing next to", "riding", "walking down", "parked near",
           "holding", "looking at", "playing with", "lying on", "flying over", "eating"]
PLACES = ["a wooden bench", "the beach", "a busy street", "a snowy mountain", "a table",
          "a grassy field", "the kitchen counter", "a frisbee", "a wave", "a skateboard",
          "the living room", "a park", "an airport runway", "a river bank"]
DETAILS = ["", "", " on a sunny day", " at night", " in the rain", " with trees behind it",
           " while people watch", " near a red brick building"]
COLORS = ["red", "blue", "navy", "black", "white", "beige", "olive green", "burgundy"]
GARMENTS = ["dress", "t-shirt", "shirt", "jacket", "skirt", "hoodie", "blouse", "sweater"]
EDITS = ["is darker and has long sleeves", "is shorter and more colorful", "has a v-neck",
         "is less formal", "has floral print", "is sleeveless", "has a graphic print"]


def captions(count):
    """Return `count` COCO-like captions, product titles and FashionIQ-like edit texts."""
    rng = random.Random(SEED)
    texts = []
    for i in range(count):
        kind = i % 5
        if kind <= 2:
            text = f"{rng.choice(SUBJECTS)} {rng.choice(ACTIONS)} {rng.choice(PLACES)}{rng.choice(DETAILS)}."
            texts.append(text[0].upper() + text[1:])
        elif kind == 3:
            texts.append(f"Women's {rng.choice(COLORS)} {rng.choice(GARMENTS)}, size {rng.choice('SML')}, "
                         f"{rng.randint(40, 99)}% cotton, ${rng.randint(9, 199)}.{rng.randint(0, 99):02d}")
        else:
            texts.append(f"{rng.choice(EDITS)} and {rng.choice(EDITS)}")
    return texts


def write_captions(path, count):
    with open(path, "w", encoding="utf-8") as f:
        for text in captions(count):
            f.write(json.dumps({"text": text}) + "\n")


def read_texts(path, field):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)[field] for line in f if line.strip()]


def measure(model, path, field):
    from transformers import CLIPTokenizerFast

    texts = read_texts(path, field)
    backend = CLIPTokenizerFast.from_pretrained(model)._tokenizer
    backend.enable_truncation(77)
    backend.no_padding()

    def single():
        return sum(len(backend.encode(text).ids) for text in texts)

    def batch():
        return sum(len(encoding.ids) for encoding in backend.encode_batch(texts))

    def timed(function):
        start = time.perf_counter()
        tokens = function()
        return tokens, time.perf_counter() - start

    tokens, cold = timed(single)
    single_best = min(timed(single)[1] for _ in range(5))
    batch_best = min(timed(batch)[1] for _ in range(5))
    threads = os.environ.get("RAYON_NUM_THREADS", "all")
    print(f"texts: {len(texts)}, tokens: {tokens} (max_length 77)")
    for label, seconds in [("single thread, cold cache", cold), ("single thread", single_best),
                           (f"batch, {threads} threads", batch_best)]:
        print(f"{label}: {tokens / seconds:.0f} tokens/s ({seconds * 1000:.1f} ms)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("write-captions", help="write the benchmark captions as JSON Lines")
    write.add_argument("path")
    write.add_argument("--count", type=int, default=10000)
    run = commands.add_parser("measure", help="time tokenizers on a JSON Lines file")
    run.add_argument("--model", required=True, help="directory with tokenizer.json")
    run.add_argument("--input", required=True)
    run.add_argument("--text-field", default="text")
    args = parser.parse_args()
    if args.command == "write-captions":
        write_captions(args.path, args.count)
    else:
        measure(args.model, args.input, args.text_field)


if __name__ == "__main__":
    main()
