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
  item = $0; sub(/^[ \t]*-[ \t]*/, "", item)
  if (key != "runcmd" && key != "ssh_authorized_keys") next
  # Before unquoting: a quoted item may well start with these ('[ -f x ] && y').
  if (item ~ /^[|>]/ || item ~ /^\[/) { warn(key ": block scalars and lists as items are not supported, ignored"); next }
  item = unquote(item)
  if (item == "") next
  if (key == "ssh_authorized_keys") print item > (out "/authorized_keys")
  else print item > (out "/runcmd.sh")
  next
}
