#!/usr/bin/env bash
# build.sh OUTPUT.qcow2 — build the vmctl "tiny" guest image.
#
# The image is assembled offline from Debian packages (no chroot, no
# debootstrap): packages are fetched with `apt-get download` into a cache and
# unpacked with `dpkg-deb -x`.  The result is a self-booting qcow2:
#
#   MBR (syslinux mbr.bin)
#   p1  FAT16, active: syslinux + vmlinuz + initrd.img + syslinux.cfg
#   p2  Linux (0x83), 1 MiB placeholder, UNFORMATTED — the guest grows it to
#       the end of the disk, formats it (ext4) and mounts it at /data.
#
# Everything the guest runs lives in the initramfs (rootfs stays in RAM); see
# image/tiny/README.md for the guest behaviour and the seed format.  The
# guest's own files (init scripts, seed parser, services) are under rootfs/
# next to this script, at their paths in the guest.
#
# Environment:
#   VMCTL_IMAGE_CACHE  package cache (default /var/cache/vmctl/tiny)
set -euo pipefail

readonly CACHE_DIR="${VMCTL_IMAGE_CACHE:-/var/cache/vmctl/tiny}"
readonly ARCH_TRIPLET="x86_64-linux-gnu"

# Kernel meta package; its versioned dependency is the real kernel package.
readonly KERNEL_META="linux-image-cloud-amd64"
# Packages whose binaries go into the initramfs.
readonly TOOL_PACKAGES=(busybox-static dropbear-bin e2fsprogs)
# Shared libraries of dropbear and the e2fsprogs tools.  Downloading them
# (rather than copying from the host) keeps the image independent of what
# happens to be installed on the build host.
readonly LIB_PACKAGES=(libc6 libcrypt1 libtomcrypt1 libtommath1 libgmp10 zlib1g
                       libext2fs2 libcom-err2 libblkid1 libuuid1)
# Dynamically linked binaries copied from the unpacked packages.
readonly DYN_BINARIES=(usr/sbin/dropbear usr/bin/dropbearkey sbin/mke2fs sbin/resize2fs)

# Kernel modules loaded at boot (the cloud kernel builds these as modules;
# ext4, af_packet, 8250 serial, i8042 are built in).  Dependencies are
# resolved through modules.dep.
readonly BOOT_MODULES=(
  button evdev                          # ACPI power button -> input event -> acpid
  virtio_pci virtio_blk virtio_net      # disk, seed disk, NIC
  virtio_balloon virtio_rng virtio_console virtio_mem
  isofs vfat nls_cp437 nls_ascii nls_utf8   # NoCloud seed (ISO9660 or FAT)
)
# Loaded only when no seed is found on a virtio disk: IDE CD-ROM (/dev/sr0).
readonly CDROM_MODULES=(ata_piix sr_mod)

# Disk layout, in 512-byte sectors.
readonly BOOT_START=2048        # 1 MiB alignment
readonly BOOT_SECTORS=65536     # 32 MiB FAT (kernel ~14 MiB + initrd ~4 MiB)
readonly DATA_START=$((BOOT_START + BOOT_SECTORS))
readonly DATA_SECTORS=2048      # 1 MiB placeholder, grown by the guest
readonly DISK_SECTORS=$((DATA_START + DATA_SECTORS))

readonly KERNEL_CMDLINE="console=ttyS0,115200 quiet panic=5 memhp_default_state=online"

WORK=""

die() { echo "build.sh: error: $*" >&2; exit 1; }
info() { echo "build.sh: $*" >&2; }

cleanup() {
  if [[ -n "$WORK" && -d "$WORK" ]]; then
    rm -rf -- "$WORK"
  fi
}

# ---------------------------------------------------------------------------
# Host tools
# ---------------------------------------------------------------------------

# One clear line naming the Debian package, then exit 1.  We never install
# anything ourselves: the host bootstrap script does that.
require_tool() {
  local tool="$1" package="$2"
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "build.sh: missing host tool '$tool': install the Debian package '$package' (apt-get install $package)" >&2
    exit 1
  fi
}

require_file() {
  local file="$1" package="$2"
  if [[ ! -e "$file" ]]; then
    echo "build.sh: missing host file '$file': install the Debian package '$package' (apt-get install $package)" >&2
    exit 1
  fi
}

SYSLINUX_MBR=""

check_host_tools() {
  require_tool apt-get apt
  require_tool apt-cache apt
  require_tool dpkg-deb dpkg
  require_tool qemu-img qemu-utils
  require_tool syslinux syslinux
  require_tool mcopy mtools
  require_tool mkfs.vfat dosfstools
  require_tool cpio cpio
  require_tool gzip gzip
  require_tool ldd libc-bin
  require_tool dd coreutils
  require_tool truncate coreutils
  local candidate
  for candidate in /usr/lib/syslinux/mbr/mbr.bin /usr/lib/SYSLINUX/mbr.bin /usr/share/syslinux/mbr.bin; do
    if [[ -f "$candidate" ]]; then SYSLINUX_MBR="$candidate"; break; fi
  done
  require_file "${SYSLINUX_MBR:-/usr/lib/syslinux/mbr/mbr.bin}" syslinux-common
}

# ---------------------------------------------------------------------------
# Packages
# ---------------------------------------------------------------------------

# Echo the cached .deb of PACKAGE at VERSION, if any.
cached_deb() {
  local package="$1" version="$2" deb
  for deb in "$CACHE_DIR/${package}_"*.deb; do
    [[ -f "$deb" ]] || continue
    if [[ "$(dpkg-deb -f "$deb" Package 2>/dev/null)" == "$package" &&
          "$(dpkg-deb -f "$deb" Version 2>/dev/null)" == "$version" ]]; then
      echo "$deb"
      return 0
    fi
  done
  return 1
}

# Echo the newest cached .deb of PACKAGE (fallback when apt has no lists).
newest_cached_deb() {
  local package="$1"
  local debs=()
  local deb
  for deb in "$CACHE_DIR/${package}_"*.deb; do
    [[ -f "$deb" ]] && debs+=("$deb")
  done
  ((${#debs[@]})) || return 1
  printf '%s\n' "${debs[@]}" | sort -V | tail -n 1
}

# Candidate versions of all packages, filled by lookup_candidates (one
# apt-cache call: each call costs about half a second).
declare -A CANDIDATE=()

lookup_candidates() {
  local package version
  while read -r package version; do
    CANDIDATE["$package"]="$version"
  done < <(apt-cache policy "$@" 2>/dev/null |
           awk '/^[^ ].*:$/ { sub(/:$/, ""); package = $0 }
                /^  Candidate:/ { print package, $2 }')
}

# Remove cached versions of PACKAGE other than the .deb KEEP.
prune_cache() {
  local package="$1" keep="$2" deb
  for deb in "$CACHE_DIR/${package}_"*.deb; do
    [[ -f "$deb" && "$deb" != "$keep" ]] || continue
    [[ "$(dpkg-deb -f "$deb" Package 2>/dev/null)" == "$package" ]] && rm -f -- "$deb"
  done
  return 0
}

# Download PACKAGE (candidate version) into the cache unless already there;
# echo the path of the .deb.
fetch_package() {
  local package="$1" version deb
  version="${CANDIDATE[$package]:-}"
  if [[ -z "$version" || "$version" == "(none)" ]]; then
    # No apt metadata for it: an earlier build may have cached it.
    if deb="$(newest_cached_deb "$package")"; then
      info "apt knows no candidate for $package; using cached $(basename "$deb")"
      echo "$deb"
      return 0
    fi
    die "apt has no candidate for '$package' and nothing is cached: run 'apt-get update'"
  fi
  if deb="$(cached_deb "$package" "$version")"; then
    echo "$deb"
    return 0
  fi
  info "downloading $package=$version"
  # Sandbox::User=root: the cache dir is usually not readable by _apt.
  if ! (cd "$CACHE_DIR" && apt-get download -q -o APT::Sandbox::User=root "$package=$version" >&2); then
    # Offline (or stale lists): an older cached version still builds.
    if deb="$(newest_cached_deb "$package")"; then
      info "warning: cannot download $package=$version; using cached $(basename "$deb")"
      echo "$deb"
      return 0
    fi
    die "apt-get download $package=$version failed (and nothing cached)"
  fi
  deb="$(cached_deb "$package" "$version")" || die "downloaded $package but cannot find its .deb in $CACHE_DIR"
  # Keep the cache from growing with every Debian update.
  prune_cache "$package" "$deb"
  echo "$deb"
}

# The meta package only depends on the versioned kernel package.
resolve_kernel_package() {
  local real
  real="$(apt-cache depends "$KERNEL_META" 2>/dev/null |
          awk '$1 == "Depends:" && $2 ~ /^linux-image-.*-cloud-amd64$/ { print $2; exit }')"
  if [[ -z "$real" ]]; then
    # Offline with a cache: pick the newest cached versioned kernel.
    local deb
    deb="$(printf '%s\n' "$CACHE_DIR"/linux-image-*-cloud-amd64_*.deb | grep -v '/linux-image-cloud-amd64_' | sort -V | tail -n 1 || true)"
    [[ -f "$deb" ]] || die "cannot resolve $KERNEL_META (no apt lists, nothing cached): run 'apt-get update'"
    real="$(dpkg-deb -f "$deb" Package)"
  fi
  echo "$real"
}

# Fetch everything and unpack into $PKGROOT.
fetch_and_unpack() {
  mkdir -p "$CACHE_DIR" || die "cannot create cache dir $CACHE_DIR"
  [[ -w "$CACHE_DIR" ]] || die "cache dir $CACHE_DIR is not writable (set VMCTL_IMAGE_CACHE)"
  local kernel_package
  kernel_package="$(resolve_kernel_package)"
  info "kernel package: $kernel_package"
  local package deb
  lookup_candidates "$kernel_package" "${TOOL_PACKAGES[@]}" "${LIB_PACKAGES[@]}"
  for package in "$kernel_package" "${TOOL_PACKAGES[@]}" "${LIB_PACKAGES[@]}"; do
    deb="$(fetch_package "$package")"
    dpkg-deb -x "$deb" "$PKGROOT"
  done
}

# ---------------------------------------------------------------------------
# Initramfs
# ---------------------------------------------------------------------------

KVER=""

find_kernel() {
  local vmlinuz
  vmlinuz="$(printf '%s\n' "$PKGROOT"/boot/vmlinuz-* | sort -V | tail -n 1)"
  [[ -f "$vmlinuz" ]] || die "no kernel found in the kernel package"
  KVER="${vmlinuz##*/vmlinuz-}"
  [[ -d "$PKGROOT/lib/modules/$KVER" ]] || die "no modules for kernel $KVER"
  info "kernel $KVER"
}

install_busybox() {
  local bb="$PKGROOT/bin/busybox" applet
  [[ -x "$bb" ]] || die "busybox-static did not provide /bin/busybox"
  install -D -m 0755 "$bb" "$ROOTFS/bin/busybox"
  # One symlink per applet at its canonical path (bin/sh, sbin/init, ...).
  while read -r applet; do
    case "$applet" in
      ""|linuxrc|bin/busybox) continue ;;
    esac
    mkdir -p "$ROOTFS/$(dirname "$applet")"
    ln -sf /bin/busybox "$ROOTFS/$applet"
  done < <("$bb" --list-full)
}

# Copy the library SONAME (as named by ldd) from the unpacked packages, or
# from the host as a last resort.
copy_library() {
  local soname="$1" hostpath="$2" dir src=""
  for dir in lib usr/lib; do
    if [[ -e "$PKGROOT/$dir/$ARCH_TRIPLET/$soname" ]]; then
      src="$PKGROOT/$dir/$ARCH_TRIPLET/$soname"
      break
    fi
  done
  if [[ -z "$src" ]]; then
    info "warning: $soname not in the downloaded packages; copying $hostpath from the host"
    src="$hostpath"
  fi
  [[ -e "$ROOTFS/lib/$ARCH_TRIPLET/$soname" ]] && return 0
  # -L: copy the real file under the SONAME (relative symlinks resolve inside
  # $PKGROOT).
  cp -L "$src" "$ROOTFS/lib/$ARCH_TRIPLET/$soname"
}

install_dynamic_binaries() {
  mkdir -p "$ROOTFS/lib/$ARCH_TRIPLET" "$ROOTFS/lib64"
  local libpath="$PKGROOT/lib/$ARCH_TRIPLET:$PKGROOT/usr/lib/$ARCH_TRIPLET"
  local binary line soname path dir
  for binary in "${DYN_BINARIES[@]}"; do
    [[ -x "$PKGROOT/$binary" ]] || die "missing $binary in the unpacked packages"
    # Drop busybox applets of the same name wherever they are in PATH
    # (busybox has a limited mke2fs that must not shadow the real one).
    for dir in bin sbin usr/bin usr/sbin; do
      if [[ -L "$ROOTFS/$dir/${binary##*/}" ]]; then rm -f "$ROOTFS/$dir/${binary##*/}"; fi
    done
    install -D -m 0755 "$PKGROOT/$binary" "$ROOTFS/$binary"
    while read -r line; do
      # "libz.so.1 => /path/libz.so.1 (0x...)"
      if [[ "$line" =~ ^([^[:space:]]+)[[:space:]]+=\>[[:space:]]+(/[^[:space:]]+) ]]; then
        soname="${BASH_REMATCH[1]}"
        path="${BASH_REMATCH[2]}"
        copy_library "$soname" "$path"
      elif [[ "$line" =~ ^[[:space:]]*(/[^[:space:]]+/ld-linux[^[:space:]]*) ]]; then
        : # the interpreter is handled below
      elif [[ "$line" == *"not found"* ]]; then
        die "ldd: $binary: $line"
      fi
    done < <(LD_LIBRARY_PATH="$libpath" ldd "$PKGROOT/$binary")
  done
  # The ELF interpreter: /lib64/ld-linux-x86-64.so.2 (in the package it is an
  # absolute symlink, so take the real file from the multiarch dir).
  copy_library ld-linux-x86-64.so.2 /lib64/ld-linux-x86-64.so.2
  ln -sf "/lib/$ARCH_TRIPLET/ld-linux-x86-64.so.2" "$ROOTFS/lib64/ld-linux-x86-64.so.2"
  # mke2fs reads its defaults from here (it has built-in ones too).
  if [[ -f "$PKGROOT/etc/mke2fs.conf" ]]; then
    install -D -m 0644 "$PKGROOT/etc/mke2fs.conf" "$ROOTFS/etc/mke2fs.conf"
  fi
  ln -sf mke2fs "$ROOTFS/sbin/mkfs.ext4"
}

# Echo the path (relative to lib/modules/KVER) of module NAME and of its
# dependencies, from the full modules.dep.  Module names treat - and _ alike.
module_closure() {
  local name="${1//-/_}" depfile="$2"
  awk -v want="$name" '
    {
      file = $1; sub(/:$/, "", file)
      base = file; sub(/.*\//, "", base); sub(/\.ko(\.[a-z]+)?$/, "", base); gsub(/-/, "_", base)
      if (base == want) { print file; for (i = 2; i <= NF; i++) print $i; found = 1; exit }
    }
    END { if (!found) exit 1 }' "$depfile"
}

install_modules() {
  local bb="$PKGROOT/bin/busybox"
  local src="$PKGROOT/lib/modules/$KVER" dst="$ROOTFS/lib/modules/$KVER"
  # The package ships no modules.dep (depmod runs in postinst): generate it
  # with the package's own busybox so the host needs no kmod.
  "$bb" depmod -b "$PKGROOT" "$KVER" || die "depmod failed"
  mkdir -p "$dst" "$ROOTFS/etc/vmctl"
  local module files file
  : >"$ROOTFS/etc/vmctl/modules"
  : >"$ROOTFS/etc/vmctl/modules.cdrom"
  for module in "${BOOT_MODULES[@]}" "${CDROM_MODULES[@]}"; do
    if ! files="$(module_closure "$module" "$src/modules.dep")"; then
      info "warning: module $module not found (built in or absent); skipping"
      continue
    fi
    while read -r file; do
      install -D -m 0644 "$src/$file" "$dst/$file"
    done <<<"$files"
    if [[ " ${CDROM_MODULES[*]} " == *" $module "* ]]; then
      echo "$module" >>"$ROOTFS/etc/vmctl/modules.cdrom"
    else
      echo "$module" >>"$ROOTFS/etc/vmctl/modules"
    fi
  done
  cp "$src/modules.builtin" "$dst/" 2>/dev/null || true
  cp "$src/modules.order" "$dst/" 2>/dev/null || true
  "$bb" depmod -b "$ROOTFS" "$KVER" || die "depmod (initramfs) failed"
  rm -f "$dst/modules.symbols" "$dst/modules.alias"
}

# The guest's own files live under rootfs/ next to this script, at their paths
# in the guest.  Each is listed here with its mode in the image: git keeps only
# the executable bit, and etc/shadow must not be world-readable.
GUEST_ROOTFS="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)/rootfs"
readonly GUEST_ROOTFS
readonly GUEST_FILES=(
  etc/inittab:0644
  etc/passwd:0644
  etc/shadow:0600               # "*": no password can ever match; dropbear also runs with -s
  etc/group:0644
  etc/shells:0644               # dropbear refuses logins whose shell is not listed here
  etc/nsswitch.conf:0644
  etc/profile:0644
  etc/hosts:0644
  etc/resolv.conf:0644          # empty until udhcpc writes it
  # busybox acpid maps the power button key to the event "button/power PWRF
  # 00000080", then acpid.conf maps "PWRF" to a handler under /etc/acpi.
  etc/acpid.conf:0644
  etc/acpi/power-button:0755
  etc/init.d/rcS:0755
  etc/vmctl/lib.sh:0644
  etc/vmctl/seed.awk:0644       # the NoCloud seed parser (see image/tiny/README.md for the format)
  etc/vmctl/udhcpc.script:0755
  sbin/vmctl-hotplug:0755
  sbin/vmctl-sshd:0755
  sbin/vmctl-runcmd:0755
  etc/init.d/rcK:0755
)

# A file under rootfs/ missing from GUEST_FILES would silently stay out of the
# image (or get a guessed mode): refuse to build instead.
check_guest_files() {
  [[ -d "$GUEST_ROOTFS" ]] || die "the guest's files are missing: no directory $GUEST_ROOTFS"
  local entry file listed=" "
  for entry in "${GUEST_FILES[@]}"; do listed+="${entry%%:*} "; done
  while IFS= read -r -d '' file; do
    file="${file#"$GUEST_ROOTFS"/}"
    [[ "$listed" == *" $file "* ]] || die "$GUEST_ROOTFS/$file is not listed in GUEST_FILES (with its mode)"
  done < <(find "$GUEST_ROOTFS" ! -type d -print0)
}

install_config_files() {
  mkdir -p "$ROOTFS"/{dev,proc,sys,run,tmp,data,www/cgi-bin,root,var/log,mnt,etc/acpi}
  chmod 1777 "$ROOTFS/tmp"
  chmod 0700 "$ROOTFS/root"
  ln -sfn /run "$ROOTFS/var/run"
  ln -sfn /proc/mounts "$ROOTFS/etc/mtab"
  # The kernel opens /dev/console before /init runs (devtmpfs is mounted
  # later).  Debian kernels also carry a built-in /dev/console, so this is
  # only belt and braces and needs root.
  if [[ "$(id -u)" == 0 ]]; then
    mknod -m 0600 "$ROOTFS/dev/console" c 5 1
  fi
  # PID 1 is busybox init, started as /init by the kernel.
  ln -sf /bin/busybox "$ROOTFS/init"

  local entry path mode
  for entry in "${GUEST_FILES[@]}"; do
    path="${entry%%:*}" mode="${entry#*:}"
    mkdir -p "$(dirname "$ROOTFS/$path")"
    cp -- "$GUEST_ROOTFS/$path" "$ROOTFS/$path"
    chmod "$mode" "$ROOTFS/$path"
  done
}

build_initramfs() {
  install_busybox
  install_dynamic_binaries
  install_modules
  install_config_files
  (cd "$ROOTFS" && find . -print0 | LC_ALL=C sort -z |
     cpio --null -o -H newc -R 0:0 --quiet) | gzip -9 -n >"$WORK/initrd.img"
  info "initramfs: $(du -k "$WORK/initrd.img" | cut -f1) KiB"
}

# ---------------------------------------------------------------------------
# Disk
# ---------------------------------------------------------------------------

# chs LBA: the 3 CHS bytes (255 heads, 63 sectors) as printf escapes.
chs() {
  local lba="$1" c h s
  c=$((lba / (255 * 63)))
  h=$(((lba / 63) % 255))
  s=$((lba % 63 + 1))
  if ((c > 1023)); then c=1023; h=254; s=63; fi
  printf '\\x%02x\\x%02x\\x%02x' "$h" $((s | ((c >> 8) << 6))) $((c & 255))
}

le32() {
  local v="$1"
  printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((v & 255)) $((v >> 8 & 255)) $((v >> 16 & 255)) $((v >> 24 & 255))
}

# mbr_entry BOOTFLAG TYPE START SECTORS: one 16-byte partition entry.
mbr_entry() {
  local flag="$1" type="$2" start="$3" sectors="$4"
  # The format is the \xNN escapes built here and by chs/le32: it is meant as one.
  # shellcheck disable=SC2059
  printf "$(printf '\\x%02x' "$flag")$(chs "$start")$(printf '\\x%02x' "$type")$(chs $((start + sectors - 1)))$(le32 "$start")$(le32 "$sectors")"
}

# Write boot code, a fixed disk signature and the partition table.  (Done by
# hand so the host needs no fdisk; the guest grows entry 2 the same way.)
write_mbr() {
  local disk="$1"
  dd if="$SYSLINUX_MBR" of="$disk" bs=440 count=1 conv=notrunc status=none
  {
    printf '\x76\x6d\x63\x74\x00\x00'                             # signature "vmct"
    mbr_entry 0x80 0x0e "$BOOT_START" "$BOOT_SECTORS"              # FAT16 LBA, active
    mbr_entry 0x00 0x83 "$DATA_START" "$DATA_SECTORS"              # Linux data
    head -c 32 /dev/zero                                           # entries 3, 4
    printf '\x55\xaa'
  } | dd of="$disk" bs=1 seek=440 conv=notrunc status=none
}

write_boot_partition() {
  local disk="$1" offset=$((BOOT_START * 512))
  # (mkfs warns that the file is bigger than the filesystem: that is the point.)
  mkfs.vfat -F 16 -n VMCTLBOOT -h "$BOOT_START" --offset="$BOOT_START" \
    "$disk" $((BOOT_SECTORS / 2)) 2>&1 >/dev/null | { grep -v 'block count mismatch' >&2 || true; }
  cat >"$WORK/syslinux.cfg" <<EOF
DEFAULT tiny
PROMPT 0
TIMEOUT 0
LABEL tiny
  LINUX /vmlinuz
  INITRD /initrd.img
  APPEND $KERNEL_CMDLINE
EOF
  export MTOOLS_SKIP_CHECK=1
  mcopy -i "$disk@@$offset" "$PKGROOT/boot/vmlinuz-$KVER" ::/vmlinuz
  mcopy -i "$disk@@$offset" "$WORK/initrd.img" ::/initrd.img
  mcopy -i "$disk@@$offset" "$WORK/syslinux.cfg" ::/syslinux.cfg
  # Installs ldlinux.sys/ldlinux.c32 and the FAT boot sector via mtools.
  syslinux --offset "$offset" --install "$disk"
}

build_disk() {
  local raw="$WORK/disk.raw"
  truncate -s $((DISK_SECTORS * 512)) "$raw"   # sparse: data area stays zero
  write_mbr "$raw"
  write_boot_partition "$raw"
  qemu-img convert -q -c -f raw -O qcow2 "$raw" "$WORK/out.qcow2"
}

main() {
  if [[ $# -ne 1 || "$1" == -* ]]; then
    echo "usage: $0 OUTPUT.qcow2" >&2
    exit 2
  fi
  local output="$1" outdir
  check_host_tools
  check_guest_files
  outdir="$(dirname -- "$output")"
  mkdir -p -- "$outdir"
  # Build next to the output so the final mv is an atomic rename.
  WORK="$(mktemp -d "$outdir/.tiny-build.XXXXXX")"
  trap cleanup EXIT
  PKGROOT="$WORK/pkgroot"
  ROOTFS="$WORK/rootfs"
  mkdir -p "$PKGROOT" "$ROOTFS"

  fetch_and_unpack
  find_kernel
  build_initramfs
  build_disk
  mv -f -- "$WORK/out.qcow2" "$output"
  local bytes
  bytes="$(stat -c %s -- "$output")"
  echo "$output $((bytes / 1024 / 1024)) MiB ($bytes bytes)"
}

main "$@"
