"""Time the reference encoder's image path end to end on a folder of image files.

It follows what the BGE-VL reference encoder does for ``encode_image``: a torch
DataLoader whose workers open each file with Pillow, convert it to RGB and run
CLIPImageProcessor, then ``get_image_features`` and L2 normalisation, batch by
batch, with transformers 4.45.2. Usage:

    python3 tools/bench/reference_encoder_bench.py MODEL_DIR IMAGE_LIST [--precision fp32|bf16]
        [--batch-size 32] [--workers 2] [--threads 2]

IMAGE_LIST is a text file with one image path per line. It prints one line:

    reference encode fp32 images=N seconds=S images/s=R startup_s=T

``seconds`` covers decoding, preprocessing and the model for every image. ``startup_s``
is the time before that (imports and model loading). It is reported separately because
the Python imports alone take seconds. bf16 runs the model under ``torch.autocast`` on the CPU.
"""

import argparse
import time

START = time.perf_counter()

import torch  # noqa: E402
from PIL import Image  # noqa: E402
from transformers import CLIPImageProcessor, CLIPModel  # noqa: E402


class ImageFiles(torch.utils.data.Dataset):
    def __init__(self, paths, processor):
        self.paths = paths
        self.processor = processor

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        image = Image.open(self.paths[index]).convert("RGB")
        return self.processor(images=image, return_tensors="pt")["pixel_values"][0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("image_list")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    arguments = parser.parse_args()

    torch.set_num_threads(arguments.threads)
    paths = [line.strip() for line in open(arguments.image_list, encoding="utf-8") if line.strip()]
    model = CLIPModel.from_pretrained(arguments.model, torch_dtype=torch.float32, local_files_only=True).eval()
    processor = CLIPImageProcessor.from_pretrained(arguments.model, local_files_only=True)
    loader = torch.utils.data.DataLoader(
        ImageFiles(paths, processor), batch_size=arguments.batch_size, num_workers=arguments.workers
    )
    startup = time.perf_counter() - START

    begin = time.perf_counter()
    rows = 0
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=arguments.precision == "bf16"):
        for pixel_values in loader:
            features = model.get_image_features(pixel_values=pixel_values)
            embeddings = torch.nn.functional.normalize(features.float(), dim=-1)
            rows += embeddings.shape[0]
    seconds = time.perf_counter() - begin
    print(
        f"reference encode {arguments.precision} images={rows} seconds={seconds:.2f} "
        f"images/s={rows / seconds:.2f} startup_s={startup:.2f}"
    )


if __name__ == "__main__":
    main()
