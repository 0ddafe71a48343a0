#!/usr/bin/env bash
# Compare `mmret bench` with the transformers baseline on one checkpoint.
#
# Usage, from anywhere inside the repository:
#   tools/bench/compare_features.sh MODEL_DIR [BATCH] [ROUNDS]
#
# BATCH defaults to 32 and ROUNDS to 3. Each round runs
#   .build/release/mmret bench --model MODEL_DIR --batch BATCH --threads 2
# and then tools/bench/torch_features_bench.py with the same batch and thread
# count. Alternating the two spreads background load on a shared machine over
# both. At the end it prints the median images/s and texts/s over the rounds
# for each side and the ratio mmret/torch.
#
# Environment:
#   MMRET             mmret binary to run. When set, the script does not build.
#                     Default: .build/release/mmret, rebuilt with
#                     `swift build -c release` when it is missing or older than
#                     Package.swift or a file under Sources/.
#   MMRET_ARGS        extra arguments appended to the mmret bench command,
#                     split on whitespace (default: none)
#   THREADS           threads for both sides (default: 2)
#   TORCH_ITERATIONS  timed calls per torch measurement (default: 3)
#   TORCH_WARMUP      untimed calls before each torch measurement (default: 1)
#   PYTHON            Python interpreter (default: python3)
#
# Both sides must print lines of the form
#   <side> image <dtype> batch=N threads=T images/s=X
#   <side> text <dtype> batch=N threads=T texts/s=X
# Further key=value fields after the rate are ignored.
set -euo pipefail

usage() {
    echo "usage: $0 MODEL_DIR [BATCH] [ROUNDS]" >&2
    exit 2
}

[[ $# -ge 1 && $# -le 3 ]] || usage
model_dir=$1
batch=${2:-32}
rounds=${3:-3}
threads=${THREADS:-2}
torch_iterations=${TORCH_ITERATIONS:-3}
torch_warmup=${TORCH_WARMUP:-1}
python=${PYTHON:-python3}
read -r -a mmret_extra_arguments <<<"${MMRET_ARGS:-}"

for setting in "BATCH=$batch" "ROUNDS=$rounds" "THREADS=$threads" "TORCH_ITERATIONS=$torch_iterations"; do
    if ! [[ ${setting#*=} =~ ^[1-9][0-9]*$ ]]; then
        echo "error: ${setting%%=*} must be a positive integer, got '${setting#*=}'" >&2
        exit 2
    fi
done
if ! [[ $torch_warmup =~ ^[0-9]+$ ]]; then
    echo "error: TORCH_WARMUP must be zero or a positive integer, got '$torch_warmup'" >&2
    exit 2
fi
if [[ ! -f $model_dir/config.json ]]; then
    echo "error: $model_dir/config.json not found, so create a checkpoint with tools/bench/make_bge_vl_checkpoint.py" >&2
    exit 2
fi

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
torch_script=$repo_root/tools/bench/torch_features_bench.py

# Prints the binary's path after building it if it is missing or stale.
resolve_mmret() {
    if [[ -n ${MMRET:-} ]]; then
        echo "$MMRET"
        return
    fi
    local binary=$repo_root/.build/release/mmret
    local stale_sources=""
    if [[ -x $binary ]]; then
        stale_sources=$(find "$repo_root/Package.swift" "$repo_root/Sources" -newer "$binary" -type f -print -quit)
    fi
    if [[ ! -x $binary || -n $stale_sources ]]; then
        echo "building mmret: swift build -c release" >&2
        (cd "$repo_root" && swift build -c release >&2)
    fi
    echo "$binary"
}

# Extracts X from the last "<side> <kind> ... <unit>=X [key=value ...]" line of the output $3.
# Fails if there is no such line.
extract_rate() {
    local side=$1 kind=$2 output=$3 unit
    if [[ $kind == image ]]; then unit="images/s"; else unit="texts/s"; fi
    local rate
    rate=$(printf '%s\n' "$output" |
        sed -nE "s#^$side $kind .* $unit=([0-9.eE+-]+)( .*)?\$#\1#p" | tail -n 1)
    if [[ -z $rate ]]; then
        echo "error: no '$side $kind ... $unit=X' line in the $side output:" >&2
        printf '%s\n' "$output" >&2
        return 1
    fi
    echo "$rate"
}

# Prints the median of the numbers given as arguments.
median() {
    printf '%s\n' "$@" | sort -g | awk '
        { values[NR] = $1 }
        END {
            if (NR % 2 == 1) { printf "%.2f", values[(NR + 1) / 2] }
            else { printf "%.2f", (values[NR / 2] + values[NR / 2 + 1]) / 2 }
        }'
}

mmret=$(resolve_mmret)
if [[ ! -x $mmret ]]; then
    echo "error: mmret binary $mmret not found or not executable" >&2
    exit 1
fi

# Receives the torch script's stderr (per-iteration times), which is shown only if the script fails.
torch_log=$(mktemp)
trap 'rm -f "$torch_log"' EXIT

mmret_image=() mmret_text=() torch_image=() torch_text=()
for ((round = 1; round <= rounds; round++)); do
    echo "round $round/$rounds: mmret" >&2
    mmret_output=$("$mmret" bench --model "$model_dir" --batch "$batch" --threads "$threads" \
        "${mmret_extra_arguments[@]}")
    mmret_image+=("$(extract_rate mmret image "$mmret_output")")
    mmret_text+=("$(extract_rate mmret text "$mmret_output")")

    echo "round $round/$rounds: torch" >&2
    if ! torch_output=$("$python" "$torch_script" --model "$model_dir" --batch "$batch" --threads "$threads" \
        --iterations "$torch_iterations" --warmup "$torch_warmup" 2>"$torch_log"); then
        echo "error: $torch_script failed:" >&2
        cat "$torch_log" >&2
        exit 1
    fi
    torch_image+=("$(extract_rate torch image "$torch_output")")
    torch_text+=("$(extract_rate torch text "$torch_output")")

    echo "round $round/$rounds: images/s mmret ${mmret_image[-1]} torch ${torch_image[-1]}," \
        "texts/s mmret ${mmret_text[-1]} torch ${torch_text[-1]}" >&2
done

print_summary() {
    local kind=$1 unit=$2 mmret_median=$3 torch_median=$4
    awk -v kind="$kind" -v unit="$unit" -v m="$mmret_median" -v t="$torch_median" \
        -v batch="$batch" -v threads="$threads" -v rounds="$rounds" 'BEGIN {
            printf "%s batch=%s threads=%s rounds=%s median %s mmret=%s torch=%s ratio=%.2f\n",
                kind, batch, threads, rounds, unit, m, t, m / t
        }'
}

print_summary image images/s "$(median "${mmret_image[@]}")" "$(median "${torch_image[@]}")"
print_summary text texts/s "$(median "${mmret_text[@]}")" "$(median "${torch_text[@]}")"
