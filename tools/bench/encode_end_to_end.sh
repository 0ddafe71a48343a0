#!/usr/bin/env bash
# Compare `mmret encode --type image` with the reference encoder end to end, on real JPEGs.
#
# Usage, from the repository root:
#   tools/bench/encode_end_to_end.sh MODEL_DIR IMAGE_DIR [COUNT] [PRECISIONS]
#
# The images of IMAGE_DIR (JPEG and PNG files) are linked under a temporary folder,
# repeated until there are COUNT of them (default 60). For each precision in PRECISIONS
# (default "fp32 bf16") it runs, in this order:
#   1. mmret bench --mode image: mmret's model-only images/s on random pixels;
#   2. mmret encode --type image on the folder, timed as a whole process with
#      /usr/bin/time, which also gives the peak resident memory;
#   3. tools/bench/reference_encoder_bench.py: Pillow and CLIPImageProcessor in two
#      DataLoader workers, then transformers' model.
# and prints the rates with the ratios mmret/reference and encode/model-only.
#
# Environment: MMRET (binary, default .build/release/mmret), THREADS (default 2),
# BATCH (default 32), PYTHON (default python3).
set -euo pipefail

[[ $# -ge 2 && $# -le 4 ]] || { echo "usage: $0 MODEL_DIR IMAGE_DIR [COUNT] [PRECISIONS]" >&2; exit 2; }
model=$1
source_dir=$2
count=${3:-60}
precisions=${4:-fp32 bf16}
mmret=${MMRET:-.build/release/mmret}
threads=${THREADS:-2}
batch=${BATCH:-32}
python=${PYTHON:-python3}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/images"
mapfile -t sources < <(find "$source_dir" -maxdepth 1 -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) | sort)
[[ ${#sources[@]} -gt 0 ]] || { echo "no JPEG or PNG files in $source_dir" >&2; exit 1; }
for ((i = 0; i < count; i++)); do
    source=${sources[$((i % ${#sources[@]}))]}
    name=$(printf '%04d-%s' "$i" "$(basename "$source")")
    ln -s "$(realpath "$source")" "$work/images/$name"
    echo "$work/images/$name" >> "$work/list.txt"
done

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for precision in $precisions; do
    model_only=$("$mmret" bench --model "$model" --mode image --batch "$batch" --threads "$threads" \
        --iterations 3 --precision "$precision" | sed -n 's/.*images\/s=\([0-9.]*\).*/\1/p')

    start=$(date +%s.%N)
    /usr/bin/time -f '%M' -o "$work/rss" "$mmret" encode --model "$model" --type image --image-dir "$work/images" \
        --output "$work/out.npy" --batch-size "$batch" --threads "$threads" --precision "$precision" --quiet
    end=$(date +%s.%N)
    encode_rate=$(awk -v n="$count" -v a="$start" -v b="$end" 'BEGIN { print n / (b - a) }')
    peak_mib=$(( $(cat "$work/rss") / 1024 ))

    reference=$("$python" tools/bench/reference_encoder_bench.py "$model" "$work/list.txt" \
        --precision "$precision" --batch-size "$batch" --threads "$threads")
    reference_rate=$(echo "$reference" | sed -n 's/.*images\/s=\([0-9.]*\).*/\1/p')

    printf 'mmret encode %s images=%d images/s=%.2f peak_rss_mib=%d (whole process)\n' "$precision" "$count" "$encode_rate" "$peak_mib"
    printf 'mmret bench  %s images/s=%.2f (model only)\n' "$precision" "$model_only"
    echo "$reference"
    awk -v p="$precision" -v e="$encode_rate" -v r="$reference_rate" -v m="$model_only" \
        'BEGIN { printf "ratio %s: encode/reference=%.2f encode/model-only=%.2f\n", p, e / r, e / m }'
done
