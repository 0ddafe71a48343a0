#!/usr/bin/env bash
# Compare `mmret bench-preprocess` with Pillow + CLIPImageProcessor on the same image files.
#
# usage: tools/bench/preprocess_bench.sh IMAGE_DIR [MODEL_DIR]
#   Every file directly in IMAGE_DIR is measured; MODEL_DIR (a directory with
#   preprocessor_config.json) defaults to the BGE-VL settings in the image fixtures.
# Run from the repository root; builds the release binary first.
set -euo pipefail

images=${1:?usage: tools/bench/preprocess_bench.sh IMAGE_DIR [MODEL_DIR]}
model=${2:-Tests/MMRetTests/Fixtures/images/configs/clip-base}
list=$(mktemp --suffix=.jsonl)
trap 'rm -f "$list"' EXIT
find "$images" -maxdepth 1 -type f -printf '%f\n' | sort | python3 -c '
import json, sys
for name in sys.stdin:
    print(json.dumps({"image": name.strip()}))' >"$list"

swift build -c release --product mmret >/dev/null
binary=$(swift build -c release --show-bin-path)/mmret

echo "== Pillow $(python3 -c 'import PIL; print(PIL.__version__)') + transformers CLIPImageProcessor"
python_output=$(python3 tools/bench/preprocess_bench.py --model "$model" --image-dir "$images" --input "$list" 2>/dev/null)
echo "$python_output"
echo "== mmret bench-preprocess"
swift_output=$("$binary" bench-preprocess --model "$model" --image-dir "$images" --input "$list")
echo "$swift_output"

rate() { grep '^single thread' <<<"$1" | sed -E 's/.*: ([0-9.]+) images\/s.*/\1/'; }
echo "== ratio mmret / Python"
awk -v s="$(rate "$swift_output")" -v p="$(rate "$python_output")" 'BEGIN { printf "single thread: %.2fx\n", s / p }'
