# Debian packages the build links against (system-library targets in Package.swift) and
# the tools the tests need.
DEBIAN_PACKAGES := libopenblas-dev libdnnl-dev libjpeg62-turbo-dev libpng-dev libwebp-dev \
  libgif-dev pkg-config

.PHONY: setup build test demo python-tools bench-models bench clean

# A tiny committed fixture checkpoint and the real CLIP tokenizer files, so the demo runs
# without downloading anything.
DEMO_MODEL := Tests/MMRetTests/Fixtures/models/legacy-pooling
DEMO_TOKENIZER := Tests/MMRetTests/Fixtures/clip-tokenizer
BENCH_SIZE ?= base
MMRET := .build/release/mmret

# Installs the Debian packages the build needs; does nothing when they are present.
setup:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

build: setup
	swift build -c release

test: setup
	swift test

# The main job for now: inspect a checkpoint, tokenize captions, time the forward pass.
demo: build
	$(MMRET) info --model $(DEMO_MODEL)
	$(MMRET) tokenize --model $(DEMO_TOKENIZER) --input docs/examples/captions.jsonl
	$(MMRET) bench --model $(DEMO_MODEL) --batch 8 --iterations 3

# The Python reference stack (fixtures and PyTorch baselines only, never the product).
python-tools:
	python3 -m pip install --quiet -r tools/reference/requirements.txt

# A random-weight checkpoint of BGE-VL's real size (BENCH_SIZE=base or large), not committed.
bench-models: python-tools
	test -f bench-models/$(BENCH_SIZE)/model.safetensors || python3 tools/bench/make_bge_vl_checkpoint.py --size $(BENCH_SIZE)

# mmret against PyTorch and ONNX Runtime on the same checkpoint, side by side; see
# docs/benchmarks.md.
bench: build bench-models
	python3 tools/bench/compare_all.py --model bench-models/$(BENCH_SIZE)

clean:
	rm -rf .build
