# Shared shell functions of the tiny guest (sourced by /etc/init.d/rcS).
# shellcheck shell=sh

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
    # shellcheck disable=SC2046 # "TYPE LABEL" split into $1 and $2
    set -- $(fs_label "$d")
    case "$2" in
      cidata|CIDATA) echo "$d"; return 0 ;;
    esac
  done
  return 1
}

# mount_seed DEV: mount it read-only on /run/seed, echo the mount point.
mount_seed() {
  # shellcheck disable=SC2046 # "TYPE LABEL" split into $2 and $3
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
    # Seed file names are ASCII: plain byte ranges are what is meant.
    # shellcheck disable=SC2018,SC2019
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
  # printf, not echo: echo would take a value such as "-n" for an option.
  hn=$(printf '%s\n' "$hn" | tr -cd 'A-Za-z0-9.-' | cut -c1-63)
  [ -n "$hn" ] || hn=tiny
  [ -n "$iid" ] || iid=none
  printf '%s\n' "$hn" >"$out/hostname"
  printf '%s\n' "$iid" >"$out/instance-id"
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
  # The format is le32's own octal escapes (digits only): it is meant as one.
  # shellcheck disable=SC2059
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
