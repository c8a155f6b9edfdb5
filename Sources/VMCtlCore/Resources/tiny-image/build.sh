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
# image/tiny/README.md for the guest behaviour and the seed format.
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

# put PATH MODE: write stdin to $ROOTFS/PATH.
put() {
  local path="$ROOTFS/$1" mode="$2"
  mkdir -p "$(dirname "$path")"
  cat >"$path"
  chmod "$mode" "$path"
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

  put etc/inittab 0644 <<'EOF'
# busybox init: boot script, root shell on the serial console, shutdown hooks
::sysinit:/etc/init.d/rcS
ttyS0::respawn:-/bin/sh
::ctrlaltdel:/sbin/reboot
::shutdown:/etc/init.d/rcK
::restart:/sbin/init
EOF

  put etc/passwd 0644 <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
  # "*": no password can ever match; dropbear also runs with -s.
  put etc/shadow 0600 <<'EOF'
root:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
EOF
  put etc/group 0644 <<'EOF'
root:x:0:
tty:x:5:
nogroup:x:65534:
EOF
  # dropbear refuses logins whose shell is not listed here.
  put etc/shells 0644 <<'EOF'
/bin/sh
/bin/ash
EOF
  put etc/nsswitch.conf 0644 <<'EOF'
passwd: files
group: files
shadow: files
hosts: files dns
EOF
  put etc/profile 0644 <<'EOF'
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
export PS1='\u@\h:\w\$ '
EOF
  put etc/hosts 0644 <<'EOF'
127.0.0.1 localhost
EOF
  : | put etc/resolv.conf 0644

  # busybox acpid maps the power button key to the event "button/power PWRF
  # 00000080", then acpid.conf maps "PWRF" to a handler under /etc/acpi.
  put etc/acpid.conf 0644 <<'EOF'
PWRF power-button
EOF
  put etc/acpi/power-button 0755 <<'EOF'
#!/bin/sh
echo "vmctl-tiny: ACPI power button: powering off" >/dev/console
exec /sbin/poweroff
EOF

  put etc/init.d/rcS 0755 <<'EOF'
#!/bin/sh
# vmctl tiny guest boot script (busybox init "sysinit").  Everything slow is
# started in the background so the console shell and the services come up
# quickly; device waits poll with short sleeps and a bound.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
umask 022
. /etc/vmctl/lib.sh

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir -p /run/vmctl
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
hostname tiny
ip link set lo up

log "booting (kernel $(uname -r))"

# SSH host keys and dropbear need the kernel CRNG.  Without a virtio-rng it
# is seeded from CPU jitter, which only starts once someone blocks on
# /dev/random: start that now so it overlaps with the rest of the boot.
head -c 1 /dev/random >/dev/null 2>&1 &

# --- kernel modules -------------------------------------------------------
modprobe -a $(cat /etc/vmctl/modules) 2>/dev/null ||
  for m in $(cat /etc/vmctl/modules); do modprobe "$m" || log "warning: cannot load module $m"; done

# System log into a RAM ring buffer (logread); dropbear logs there.
syslogd -C64 2>/dev/null

# Power button -> acpid -> /etc/acpi/power-button -> poweroff.
acpid -l /var/log/acpid.log

# Hot-plugged CPUs and memory blocks are onlined by a background loop.
setsid /sbin/vmctl-hotplug </dev/null >/dev/null 2>&1 &

# --- seed -----------------------------------------------------------------
# Virtio disks appear synchronously while virtio_blk loads, but poll briefly
# for the boot disk anyway.
wait_for 100 test -b /dev/vda || log "warning: no /dev/vda"
seed_dir=""
if dev=$(find_seed_device); then
  seed_dir=$(mount_seed "$dev") || seed_dir=""
else
  # No virtio seed: try an IDE CD-ROM (/dev/sr0), bounded wait.
  modprobe -a $(cat /etc/vmctl/modules.cdrom) 2>/dev/null
  if wait_for 40 test -b /dev/sr0 && dev=$(find_seed_device); then
    seed_dir=$(mount_seed "$dev") || seed_dir=""
  fi
fi
if [ -n "$seed_dir" ]; then
  log "seed found on $dev"
  parse_seed "$seed_dir" /run/vmctl
  umount "$seed_dir" 2>/dev/null
else
  log "no NoCloud seed (label cidata) found"
  parse_seed "" /run/vmctl
fi
HOSTNAME_=$(cat /run/vmctl/hostname)
IID=$(cat /run/vmctl/instance-id)
hostname "$HOSTNAME_"
echo "$HOSTNAME_" >/etc/hostname
printf '127.0.0.1 localhost\n127.0.1.1 %s\n' "$HOSTNAME_" >/etc/hosts
log "hostname=$HOSTNAME_ instance-id=$IID"

# --- network ----------------------------------------------------------------
# First, because the DHCP lease is what the host waits for.  udhcpc stays in
# the foreground of its own session and keeps renewing; its script prints
# the "ready" line once the interface has an address.
if wait_for 40 test -e /sys/class/net/eth0; then
  ip link set eth0 up
  setsid udhcpc -f -i eth0 -s /etc/vmctl/udhcpc.script -x "hostname:$HOSTNAME_" \
    -t 5 -T 1 -A 3 -p /run/udhcpc.eth0.pid </dev/null >/dev/console 2>&1 &
else
  log "warning: no eth0"
fi

# --- HTTP -------------------------------------------------------------------
write_www_page "$HOSTNAME_" "$IID"
httpd -p 80 -h /www

# --- persistent data area -------------------------------------------------
setup_data
# CGI scripts live on /data so that those dropped by runcmd survive reboots.
if is_mounted /data; then
  mkdir -p /data/www/cgi-bin
  mount --bind /data/www/cgi-bin /www/cgi-bin
fi

# Per-instance state (like cloud-init): a new instance-id gets new SSH host
# keys and runs runcmd once.
mkdir -p /data/.vmctl/ssh
chmod 0700 /data/.vmctl
new_instance=no
if [ "$(cat /data/.vmctl/instance-id 2>/dev/null)" != "$IID" ]; then
  new_instance=yes
  log "new instance $IID"
fi

# --- SSH --------------------------------------------------------------------
# In the background: host key generation and dropbear's own RNG seeding wait
# for the kernel CRNG, which without a virtio-rng takes ~1 s of jitter
# entropy under TCG.
setup_authorized_keys
setsid /sbin/vmctl-sshd "$new_instance" </dev/null >/dev/console 2>&1 &

# The instance is recorded before runcmd starts, as cloud-init does: a
# runcmd that reboots must not run again.
echo "$IID" >/data/.vmctl/instance-id
sync

# --- runcmd -----------------------------------------------------------------
if [ "$new_instance" = yes ] && [ -s /run/vmctl/runcmd.sh ]; then
  setsid /sbin/vmctl-runcmd "$IID" </dev/null >/dev/null 2>&1 &
fi
log "boot script done (uptime $(cut -d" " -f1 /proc/uptime)s)"
EOF

  put etc/vmctl/lib.sh 0644 <<'EOF'
# Shared shell functions of the tiny guest (sourced by /etc/init.d/rcS).

log() { echo "vmctl-tiny: $*" >/dev/console; }

# is_mounted DIR (busybox here has no mountpoint applet).
is_mounted() { grep -q " $1 " /proc/mounts; }

# wait_for N CMD...: run CMD every 50 ms, at most N times; true once CMD is.
wait_for() {
  n=$1; shift
  while [ "$n" -gt 0 ]; do
    "$@" && return 0
    n=$((n - 1))
    sleep 0.05
  done
  "$@"
}

# read_bytes DEV OFFSET COUNT: raw bytes, NULs and trailing blanks dropped.
read_bytes() {
  dd if="$1" bs=1 skip="$2" count="$3" 2>/dev/null | tr -d '\000' | sed 's/[[:space:]]*$//'
}

# fs_label DEV: echo "TYPE LABEL" for ISO9660 and FAT filesystems.
fs_label() {
  if [ "$(read_bytes "$1" 32769 5)" = CD001 ]; then
    echo "iso9660 $(read_bytes "$1" 32808 32)"
  elif [ "$(read_bytes "$1" 82 5)" = FAT32 ]; then
    echo "vfat $(read_bytes "$1" 71 11)"
  elif [ "$(read_bytes "$1" 54 3)" = FAT ]; then
    echo "vfat $(read_bytes "$1" 43 11)"
  fi
}

# find_seed_device: echo the first block device labelled cidata/CIDATA.
find_seed_device() {
  for d in /dev/vd[b-z] /dev/vd[b-z]1 /dev/sr[0-9] /dev/sd[a-z] /dev/sd[a-z]1; do
    [ -b "$d" ] || continue
    set -- $(fs_label "$d")
    case "$2" in
      cidata|CIDATA) echo "$d"; return 0 ;;
    esac
  done
  return 1
}

# mount_seed DEV: mount it read-only on /run/seed, echo the mount point.
mount_seed() {
  set -- "$1" $(fs_label "$1")
  mkdir -p /run/seed
  mount -t "$2" -o ro "$1" /run/seed 2>/dev/null || return 1
  echo /run/seed
}

# seed_file DIR NAME: the file NAME ("meta-data"/"user-data") in the seed,
# matched case-insensitively; plain ISO9660 names come out as e.g.
# "meta_dat" (8.3, '-' mapped to '_') or "meta-data." depending on the tool.
seed_file() {
  want=$(echo "$2" | cut -c1-4)     # meta / user
  for f in "$1"/*; do
    [ -f "$f" ] || continue
    n=$(basename "$f" | tr 'A-Z' 'a-z' | sed 's/;[0-9]*$//; s/\.$//')
    case "$n" in
      "$want"[-_]dat|"$want"[-_]data) echo "$f"; return 0 ;;
    esac
  done
  return 1
}

# parse_seed DIR OUTDIR: write OUTDIR/{hostname,instance-id,authorized_keys,
# runcmd.sh} from the NoCloud seed in DIR (DIR empty: defaults).
parse_seed() {
  out=$2
  : >"$out/authorized_keys"
  : >"$out/runcmd.sh"
  meta=/dev/null user=/dev/null
  if [ -n "$1" ]; then
    meta=$(seed_file "$1" meta-data) || meta=/dev/null
    user=$(seed_file "$1" user-data) || user=/dev/null
  fi
  # Strip CRs so seeds written on other systems parse too.
  tr -d '\r' <"$meta" | awk -v mode=meta -v out="$out" -f /etc/vmctl/seed.awk
  tr -d '\r' <"$user" | awk -v mode=user -v out="$out" -f /etc/vmctl/seed.awk
  iid=$(cat "$out/meta.instance-id" 2>/dev/null)
  hn=$(cat "$out/user.hostname" 2>/dev/null)
  [ -n "$hn" ] || hn=$(cat "$out/meta.local-hostname" 2>/dev/null)
  # Hostnames: letters, digits, '-' and '.'; anything else is dropped.
  hn=$(echo "$hn" | tr -cd 'A-Za-z0-9.-' | cut -c1-63)
  [ -n "$hn" ] || hn=tiny
  [ -n "$iid" ] || iid=none
  echo "$hn" >"$out/hostname"
  echo "$iid" >"$out/instance-id"
}

# le32 N: four little-endian bytes of N, as printf octal escapes.
le32() {
  printf '\\%03o\\%03o\\%03o\\%03o' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255))
}

# grow_partition2: make MBR entry 2 of /dev/vda span to the end of the disk.
# busybox has no sfdisk, so rewrite the 4-byte sector count (offset
# 446 + 16 + 12) and the CHS end (set to the "beyond CHS" 1023/254/63).
grow_partition2() {
  [ -e /sys/block/vda/vda2/start ] || return 1
  disk=$(cat /sys/block/vda/size)
  start=$(cat /sys/block/vda/vda2/start)
  size=$(cat /sys/block/vda/vda2/size)
  want=$((disk - start))
  # MBR sector counts are 32 bits.
  [ "$want" -gt 4294967295 ] && want=4294967295
  [ "$want" -gt "$size" ] || return 0
  log "growing /dev/vda2 from $((size / 2048)) MiB to $((want / 2048)) MiB"
  printf '\376\377\377' | dd of=/dev/vda bs=1 seek=467 count=3 conv=notrunc 2>/dev/null
  printf "$(le32 "$want")" | dd of=/dev/vda bs=1 seek=474 count=4 conv=notrunc 2>/dev/null
  sync
  blockdev --rereadpt /dev/vda || partprobe /dev/vda
  wait_for 40 test "$(cat /sys/block/vda/vda2/size 2>/dev/null)" = "$want" ||
    log "warning: kernel did not pick up the new size of /dev/vda2"
}

# setup_data: grow /dev/vda2, make an ext4 on it if it has none, grow the
# filesystem if the partition is bigger, mount it on /data.
setup_data() {
  mkdir -p /data
  if [ ! -b /dev/vda2 ]; then
    log "warning: no /dev/vda2; /data is in RAM"
    return 1
  fi
  grow_partition2
  part_bytes=$(( $(cat /sys/block/vda/vda2/size) * 512 ))
  # busybox sh runs its own applets before PATH (standalone shell), and its
  # mke2fs is limited: call e2fsprogs by full path.
  if [ "$(od -An -tx2 -j1080 -N2 /dev/vda2 | tr -d ' ')" != ef53 ]; then
    log "formatting /dev/vda2 (ext4, $((part_bytes / 1048576)) MiB)"
    # Lazy inode-table/journal init: the area is fresh (zeroes), and zeroing
    # a 64 MiB journal costs seconds under TCG.
    /sbin/mke2fs -q -F -t ext4 -L vmctl-data -m 0 -E lazy_itable_init=1,lazy_journal_init=1,nodiscard /dev/vda2 ||
      { log "error: mke2fs failed; /data is in RAM"; return 1; }
  fi
  blocks=$(od -An -tu4 -j1028 -N4 /dev/vda2 | tr -d ' ')
  logbs=$(od -An -tu4 -j1048 -N4 /dev/vda2 | tr -d ' ')
  bs=$((1024 << logbs))
  if ! mount -t ext4 -o noatime /dev/vda2 /data; then
    log "error: cannot mount /dev/vda2; /data is in RAM"
    return 1
  fi
  if [ $((blocks * bs + bs)) -le "$part_bytes" ]; then
    log "growing the /data filesystem to $((part_bytes / 1048576)) MiB"
    /sbin/resize2fs /dev/vda2 >/dev/null 2>&1 || log "warning: resize2fs failed"
  fi
  log "/data mounted ($(df -m /data | awk 'NR == 2 { print $2 }') MiB)"
}

# setup_authorized_keys: root's keys from the seed, with the modes dropbear
# insists on.
setup_authorized_keys() {
  mkdir -p /root/.ssh
  chmod 0700 /root /root/.ssh
  cp /run/vmctl/authorized_keys /root/.ssh/authorized_keys
  chmod 0600 /root/.ssh/authorized_keys
}

# write_www_page HOSTNAME IID: the page naming the host.
write_www_page() {
  iid_html=$(echo "$2" | sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g')
  cat >/www/index.html <<HTML
<!DOCTYPE html>
<html><head><title>$1</title></head>
<body><h1>$1</h1>
<p>instance-id: $iid_html</p>
<p>vmctl tiny image</p>
</body></html>
HTML
}
EOF

  # The NoCloud seed parser (see image/tiny/README.md for the format).
  put etc/vmctl/seed.awk 0644 <<'EOF'
# NoCloud seed parser.  awk -v mode=meta|user -v out=DIR -f seed.awk FILE
#   meta: top-level "instance-id: X" and "local-hostname: Y"
#         -> DIR/meta.instance-id, DIR/meta.local-hostname
#   user: "#cloud-config" subset: "hostname: NAME" -> DIR/user.hostname;
#         "ssh_authorized_keys:" / "runcmd:" followed by "- ITEM" lines
#         -> DIR/authorized_keys, DIR/runcmd.sh (one item per line).
# Scalars may be plain (ending at " #"), 'single-quoted' ('' is one ') or
# "double-quoted" (\" \\ \t \n escapes).

function unquote(v) {
  sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v)
  if (v ~ /^'.*'$/) { v = substr(v, 2, length(v) - 2); gsub(/''/, "'", v); return v }
  if (v ~ /^".*"$/) {
    v = substr(v, 2, length(v) - 2)
    gsub(/\\\\/, "\001", v)
    gsub(/\\"/, "\"", v); gsub(/\\t/, "\t", v); gsub(/\\n/, "\n", v)
    gsub(/\001/, "\\", v)
    return v
  }
  sub(/[ \t]+#.*$/, "", v)
  return v
}
function warn(msg) { print "vmctl-tiny: warning: " mode "-data: " msg > "/dev/stderr" }

mode == "user" && NR == 1 && $0 !~ /^#cloud-config/ { warn("not #cloud-config, ignored"); exit }
/^[ \t]*#/ || /^[ \t]*$/ { next }

# A top-level "key: value" (column 0).
/^[A-Za-z_][A-Za-z0-9_-]*[ \t]*:/ {
  key = $0; sub(/[ \t]*:.*/, "", key)
  val = $0; sub(/^[^:]*:/, "", val); val = unquote(val)
  if (mode == "meta" && (key == "instance-id" || key == "local-hostname"))
    print val > (out "/meta." key)
  if (mode == "user" && key == "hostname" && val != "")
    print val > (out "/user.hostname")
  if (mode == "user" && (key == "runcmd" || key == "ssh_authorized_keys") && val != "")
    warn(key ": inline lists are not supported, ignored")
  next
}

# A list item of the current top-level key.
mode == "user" && (/^[ \t]*-[ \t]/ || /^[ \t]*-$/) {
  item = $0; sub(/^[ \t]*-/, "", item); item = unquote(item)
  if (key != "runcmd" && key != "ssh_authorized_keys") next
  if (item == "") next
  if (item ~ /^[|>]/ || item ~ /^\[/) { warn(key ": block scalars and lists as items are not supported, ignored"); next }
  if (key == "ssh_authorized_keys") print item > (out "/authorized_keys")
  else print item > (out "/runcmd.sh")
  next
}
EOF

  put etc/vmctl/udhcpc.script 0755 <<'EOF'
#!/bin/sh
# udhcpc event script: configure eth0, print the "ready" line on (re)binding.
[ -n "$interface" ] || exit 0
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    rm -f /run/vmctl/ip
    ;;
  bound|renew)
    if [ -z "$mask" ]; then
      # Older udhcpc: only the dotted subnet; count its bits.
      mask=0
      for o in $(echo "${subnet:-255.255.255.0}" | tr . ' '); do
        while [ "$o" -gt 0 ]; do mask=$((mask + (o & 1))); o=$((o >> 1)); done
      done
    fi
    old=$(cat /run/vmctl/ip 2>/dev/null)
    if [ "$1" = bound ] || [ "$old" != "$ip" ]; then
      ip -4 addr flush dev "$interface"
      ip addr add "$ip/$mask" broadcast "${broadcast:-+}" dev "$interface"
      for r in $router; do
        ip route replace default via "$r" dev "$interface"
        break
      done
    fi
    {
      [ -n "$domain" ] && echo "search $domain"
      for d in $dns; do echo "nameserver $d"; done
    } >/etc/resolv.conf
    echo "$ip" >/run/vmctl/ip
    if [ "$old" != "$ip" ]; then
      echo "vmctl-tiny: ready hostname=$(hostname) ip=$ip" >/dev/console
    fi
    ;;
esac
exit 0
EOF

  put sbin/vmctl-hotplug 0755 <<'EOF'
#!/bin/sh
# Online hot-plugged CPUs and memory blocks (nothing else does it here).
while :; do
  for f in /sys/devices/system/cpu/cpu*/online /sys/devices/system/memory/memory*/online; do
    [ -e "$f" ] || continue
    read -r v <"$f" 2>/dev/null || continue
    [ "$v" = 0 ] && echo 1 >"$f" 2>/dev/null
  done
  sleep 1
done
EOF

  put sbin/vmctl-sshd 0755 <<'EOF'
#!/bin/sh
# Host keys kept on /data (new ones for a new instance), then dropbear on
# port 22 with password logins disabled (-s): keys only.
# Usage: vmctl-sshd NEW_INSTANCE(yes|no)
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
keys=/data/.vmctl/ssh
mkdir -p "$keys"
chmod 0700 "$keys"
if [ "$1" = yes ]; then
  rm -f "$keys"/dropbear_*_host_key
fi
# RSA generation is slow under TCG; ed25519 and ECDSA are instant.  Write to
# a temporary name so a crash never leaves a truncated key behind.
for t in ed25519 ecdsa; do
  k="$keys/dropbear_${t}_host_key"
  if [ ! -s "$k" ]; then
    rm -f "$k.tmp"
    if dropbearkey -t "$t" -f "$k.tmp" >/dev/null 2>&1; then
      mv "$k.tmp" "$k"
    else
      echo "vmctl-tiny: warning: dropbearkey -t $t failed"
    fi
  fi
done
sync
exec dropbear -s -p 22 -P /run/dropbear.pid \
  -r "$keys/dropbear_ed25519_host_key" -r "$keys/dropbear_ecdsa_host_key"
EOF

  put sbin/vmctl-runcmd 0755 <<'EOF'
#!/bin/sh
# Run the seed's runcmd (once per instance-id, rcS decides) with /bin/sh,
# after the network is configured (bounded wait), output to the console and
# appended to /data/.vmctl/runcmd.log.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
cd /root
n=300
if [ -e /sys/class/net/eth0 ]; then
  while [ "$n" -gt 0 ] && [ ! -s /run/vmctl/ip ]; do sleep 0.1; n=$((n - 1)); done
fi
mkdir -p /data/.vmctl
cp /run/vmctl/runcmd.sh /data/.vmctl/runcmd.sh
log=/data/.vmctl/runcmd.log
echo "vmctl-tiny: runcmd start (instance-id $1)" | tee -a "$log" >/dev/console
/bin/sh /data/.vmctl/runcmd.sh 2>&1 | tee -a "$log" >/dev/console
echo "vmctl-tiny: runcmd done" | tee -a "$log" >/dev/console
sync
EOF

  put etc/init.d/rcK 0755 <<'EOF'
#!/bin/sh
# Shutdown hook (busybox init runs it before killing everything and calling
# poweroff/reboot): stop everything, then unmount /data cleanly.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
echo "vmctl-tiny: shutting down" >/dev/console
kill -TERM -1 2>/dev/null
sync
umount /www/cgi-bin 2>/dev/null
# Give processes up to ~1 s to exit and release /data, then force them.
n=20
while grep -q ' /data ' /proc/mounts; do
  umount /data 2>/dev/null && break
  n=$((n - 1))
  if [ "$n" -le 0 ]; then
    kill -KILL -1 2>/dev/null
    sleep 0.1
    umount /data 2>/dev/null || mount -o remount,ro /data ||
      echo "vmctl-tiny: warning: /data still busy" >/dev/console
    break
  fi
  sleep 0.05
done
sync
EOF
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
