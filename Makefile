# vmctl — the README's two set-up commands are `make demo` and `make test`.
SWIFT ?= swift
VMCTL := .build/debug/vmctl

.PHONY: all bootstrap build image demo test unit bench

all: build

# Packages, libvirtd (in its own network namespace where no service manager runs it). Idempotent.
bootstrap:
	bash scripts/bootstrap-host.sh --quiet

# The libvirt network hook (installed by the bootstrap) and the firewall watcher run /usr/local/bin/vmctl as
# root: install a root-owned copy of this build there (a link into the checkout would hand root to whoever
# can write the checkout), then (re)start the watcher on it.
build: bootstrap
	$(SWIFT) build
	bash scripts/install-vmctl.sh "$(CURDIR)/.build/debug"
	bash scripts/firewall-watch.sh

# The embedded tiny guest image, built from Debian packages and imported once.
image: build
	@$(VMCTL) image list --json | grep -q '"name" : "tiny"' || $(VMCTL) image build tiny

# Main job on the embedded default: build the image, create and boot a VM, show it answering.
demo: image
	bash scripts/demo.sh

# Everything: unit tests (test:///default, XML, specs) and integration tests on real QEMU guests.
# The tests run inside libvirtd's network namespace, so they reach guests and nothing else.
# The resilience suite restarts libvirtd, and the host-state faults break vmctl's host-wide state on purpose:
# each runs on its own after the others.
test: image
	$(SWIFT) build --build-tests
	VMCTL_INTEGRATION=1 scripts/hostns $(SWIFT) test
	VMCTL_INTEGRATION=1 VMCTL_RESILIENCE=1 scripts/hostns $(SWIFT) test --filter ResilienceTests
	VMCTL_INTEGRATION=1 VMCTL_HOST_FAULTS=1 scripts/hostns $(SWIFT) test --filter HostStateFaultTests

# Fast tests only, no daemon needed beyond libvirt's in-process test driver. No bootstrap: they need no
# root, no packages beyond the build's and no libvirtd, so they run anywhere the package builds.
unit:
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip VMCtlIntegrationTests

bench: image
	$(SWIFT) build -c release
	bash bench/run-all.sh
