# Debian packages the build links against (system-library targets in Package.swift) and
# the tools the tests need.
DEBIAN_PACKAGES := libopenblas-dev libdnnl-dev libjpeg62-turbo-dev libpng-dev libwebp-dev \
  libgif-dev pkg-config

.PHONY: setup build test demo python-tools bench-models bench clean

# The bundled demo: a small CLIP model trained on synthetic shapes, its image corpus and
# the embeddings made from them (not committed).
DEMO := demo
DEMO_OUT := .build/demo
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

# The main job: embed the demo corpus, then run a text, an image and a composed query
# against it. demo/queries.jsonl says which images each query should rank first, and why.
SEARCH := $(MMRET) search --model $(DEMO)/model --image-dir $(DEMO)/images --corpus $(DEMO)/corpus.jsonl \
  --corpus-embeddings $(DEMO_OUT)/corpus.npy --show-field text --top-k 3 --quiet
demo: build
	@mkdir -p $(DEMO_OUT)
	$(MMRET) encode --model $(DEMO)/model --type image --image-dir $(DEMO)/images \
	  --input $(DEMO)/corpus.jsonl --output $(DEMO_OUT)/corpus.npy
	@echo
	@echo 'Text query "a large yellow star on a black background, in the centre"'
	@echo '(expected first: large-yellow-star-on-black-centre.png)'
	@$(SEARCH) --query-text "a large yellow star on a black background, in the centre"
	@echo
	@echo 'Image query large-green-star-on-beige-top-left.png'
	@echo '(expected first: the query itself, then large-green-star-on-beige-top-left-2.png, another picture of the same)'
	@$(SEARCH) --query-image large-green-star-on-beige-top-left.png
	@echo
	@echo 'Composed query large-red-circle-on-grey-centre.png + "make it purple"'
	@echo '(expected first: large-purple-circle-on-grey-centre.png, the same circle in purple)'
	@$(SEARCH) --query-image large-red-circle-on-grey-centre.png --query-text "make it purple"

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
