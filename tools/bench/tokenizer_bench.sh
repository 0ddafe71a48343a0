#!/usr/bin/env bash
# Compare `mmret bench-tokenizer` with the Python `tokenizers` library on the same captions.
#
# usage: tools/bench/tokenizer_bench.sh [MODEL_DIR] [CAPTIONS.jsonl]
#   MODEL_DIR defaults to the fixture tokenizer (openai/clip-vit-base-patch16's files);
#   without CAPTIONS.jsonl, 10,000 captions are generated with a fixed seed.
# Run from the repository root; builds the release binary first.
set -euo pipefail

model=${1:-Tests/MMRetTests/Fixtures/clip-tokenizer}
captions=${2:-}
if [[ -z "$captions" ]]; then
    captions=$(mktemp --suffix=.jsonl)
    trap 'rm -f "$captions"' EXIT
    python3 tools/bench/tokenizer_bench.py write-captions "$captions" --count 10000
fi

swift build -c release --product mmret >/dev/null
binary=$(swift build -c release --show-bin-path)/mmret

echo "== Python tokenizers $(python3 -c 'import tokenizers; print(tokenizers.__version__)'), 1 thread"
python_single=$(RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false \
    python3 tools/bench/tokenizer_bench.py measure --model "$model" --input "$captions")
echo "$python_single"
echo "== Python tokenizers, 2 threads"
python_batch=$(RAYON_NUM_THREADS=2 TOKENIZERS_PARALLELISM=true \
    python3 tools/bench/tokenizer_bench.py measure --model "$model" --input "$captions")
echo "$python_batch" | grep '^batch'
echo "== mmret bench-tokenizer"
swift_output=$("$binary" bench-tokenizer --model "$model" --input "$captions")
echo "$swift_output"

rate() { grep "^$2:" <<<"$1" | sed -E 's/.*: ([0-9]+) tokens\/s.*/\1/'; }
swift_single=$(rate "$swift_output" "single thread")
python_rate=$(rate "$python_single" "single thread")
swift_batch=$(grep '^batch' <<<"$swift_output" | sed -E 's/.*: ([0-9]+) tokens\/s.*/\1/')
python_batch_rate=$(grep '^batch' <<<"$python_batch" | sed -E 's/.*: ([0-9]+) tokens\/s.*/\1/')
echo "== ratio mmret / tokenizers"
awk -v s="$swift_single" -v p="$python_rate" 'BEGIN { printf "single thread: %.2fx\n", s / p }'
awk -v s="$swift_batch" -v p="$python_batch_rate" 'BEGIN { printf "batch on 2 threads: %.2fx\n", s / p }'
