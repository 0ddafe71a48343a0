# Debian packages the build links against (system-library targets in Package.swift) and
# the tools the tests need.
DEBIAN_PACKAGES := libopenblas-dev libdnnl-dev pkg-config

.PHONY: setup build test demo bench-models clean

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

clean:
	rm -rf .build
