#!/usr/bin/env bash
# install-vmctl.sh BUILD_DIR — install the vmctl that root runs unattended (the libvirt network hook, the
# firewall watcher) as a root-owned copy, not a link into the checkout: whoever can write the checkout
# must not get root through the next network start.
#
# The binary and its resource bundle go to /usr/local/lib/vmctl (root:root, 0755, no group or other write
# anywhere on the path); /usr/local/bin/vmctl links to it. Each file is written under a temporary name and
# renamed into place, so a hook firing meanwhile runs either the old copy or the new one, never half of one.
set -euo pipefail

readonly BUILD_DIR=${1:?usage: $0 BUILD_DIR}
readonly PREFIX=/usr/local/lib/vmctl
readonly LINK=/usr/local/bin/vmctl
readonly BUNDLE=vmctl_VMCtlCore.resources

[[ $(id -u) -eq 0 ]] || { echo "install-vmctl: must run as root" >&2; exit 1; }
[[ -x $BUILD_DIR/vmctl ]] || { echo "install-vmctl: $BUILD_DIR/vmctl is missing (swift build first)" >&2; exit 1; }

install -d -o root -g root -m 0755 "$PREFIX" /usr/local/bin
if [[ -d $BUILD_DIR/$BUNDLE ]]; then
  rm -rf "$PREFIX/$BUNDLE.new"
  cp -R "$BUILD_DIR/$BUNDLE" "$PREFIX/$BUNDLE.new"
  chown -R root:root "$PREFIX/$BUNDLE.new"
  chmod -R u=rwX,go=rX "$PREFIX/$BUNDLE.new"
  rm -rf "$PREFIX/$BUNDLE.old"
  [[ ! -e $PREFIX/$BUNDLE ]] || mv "$PREFIX/$BUNDLE" "$PREFIX/$BUNDLE.old"
  mv "$PREFIX/$BUNDLE.new" "$PREFIX/$BUNDLE"
  rm -rf "$PREFIX/$BUNDLE.old"
fi
install -o root -g root -m 0755 "$BUILD_DIR/vmctl" "$PREFIX/vmctl.new"
mv -f "$PREFIX/vmctl.new" "$PREFIX/vmctl"
ln -sfn "$PREFIX/vmctl" "$LINK.new"
mv -fT "$LINK.new" "$LINK"
