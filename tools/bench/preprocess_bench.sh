#!/usr/bin/env bash
# Compare `mmret bench-preprocess` with Pillow + CLIPImageProcessor on the same image files.
#
# usage: tools/bench/preprocess_bench.sh IMAGE_DIR [MODEL_DIR] [ROUNDS]
#   Every file directly in IMAGE_DIR is measured; MODEL_DIR (a directory with
#   preprocessor_config.json) defaults to the BGE-VL settings in the image fixtures.
#   The two sides alternate for ROUNDS rounds (default 3) and the best rate of each is
#   compared, so that a burst of load from other jobs does not decide the ratio.
# Run from the repository root; builds the release binary first.
set -euo pipefail

images=${1:?usage: tools/bench/preprocess_bench.sh IMAGE_DIR [MODEL_DIR] [ROUNDS]}
model=${2:-Tests/MMRetTests/Fixtures/images/configs/clip-base}
rounds=${3:-3}
list=$(mktemp --suffix=.jsonl)
trap 'rm -f "$list"' EXIT
find "$images" -maxdepth 1 -type f -printf '%f\n' | sort | python3 -c '
import json, sys
for name in sys.stdin:
    print(json.dumps({"image": name.strip()}))' >"$list"

swift build -c release --product mmret >/dev/null
binary=$(swift build -c release --show-bin-path)/mmret

rate() { grep '^single thread' <<<"$1" | sed -E 's/.*: ([0-9.]+) images\/s.*/\1/'; }
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }
python_best=0
swift_best=0
echo "Pillow $(python3 -c 'import PIL; print(PIL.__version__)') + transformers CLIPImageProcessor against mmret, $rounds rounds"
for round in $(seq "$rounds"); do
    python_output=$(python3 tools/bench/preprocess_bench.py --model "$model" --image-dir "$images" --input "$list" 2>/dev/null)
    swift_output=$("$binary" bench-preprocess --model "$model" --image-dir "$images" --input "$list")
    echo "round $round: Python $(rate "$python_output") images/s, mmret $(rate "$swift_output") images/s"
    python_best=$(best "$python_best" "$(rate "$python_output")")
    swift_best=$(best "$swift_best" "$(rate "$swift_output")")
done
head -1 <<<"$swift_output"
awk -v s="$swift_best" -v p="$python_best" 'BEGIN {
    printf "best single-thread rate: Python %.1f images/s (%.2f ms an image), mmret %.1f images/s (%.2f ms an image)\n", p, 1000 / p, s, 1000 / s
    printf "ratio mmret / Python: %.2fx\n", s / p }'
