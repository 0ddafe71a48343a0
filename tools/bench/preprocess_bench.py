#!/usr/bin/env python3
"""Measure Pillow with transformers' CLIPImageProcessor, as `mmret bench-preprocess` does.

    preprocess_bench.py --model DIR --image-dir DIR --input FILE.jsonl [--image-field image]

Each image is opened with Pillow and passed alone to CLIPImageProcessor (numpy output),
which converts it to RGB, resizes, crops, rescales and normalises it. A pass repeats the
list until it covers at least 40 images, as mmret's does. One untimed pass, then the
fastest of five passes is printed in the same format as mmret.
"""

import argparse
import json
import os
import time

from PIL import Image
from transformers import CLIPImageProcessor

TIMED_RUNS = 5
MINIMUM_IMAGES_PER_PASS = 40


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--image-dir", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--image-field", default="image")
    arguments = parser.parse_args()

    with open(arguments.input, encoding="utf-8") as lines:
        listed = [os.path.join(arguments.image_dir, json.loads(line)[arguments.image_field]) for line in lines if line.strip()]
    repeats = -(-MINIMUM_IMAGES_PER_PASS // len(listed))
    files = listed * repeats
    processor = CLIPImageProcessor.from_pretrained(arguments.model)

    def one_pass():
        start = time.perf_counter()
        for path in files:
            with Image.open(path) as image:
                processor(images=image, return_tensors="np")
        return time.perf_counter() - start

    one_pass()
    seconds = min(one_pass() for _ in range(TIMED_RUNS))
    crop = processor.crop_size
    print(f"images: {len(listed)}, {len(files)} a pass, output 3x{crop['height']}x{crop['width']}")
    print(f"single thread: {len(files) / seconds:.1f} images/s ({seconds * 1000 / len(files):.2f} ms an image)")


if __name__ == "__main__":
    main()
