#!/bin/bash
# Benchmark of `xenify copy ssh://...` (remote P2V) against `ssh dd | dd`,
# `ssh gzip -1 | gunzip`, a local xenify copy, and, for the warm delta,
# rsync -aHAX of the mounted filesystem. Root: loop devices, a private
# sshd on 127.0.0.1 (random port, temporary keys; stopped at the end),
# drop_caches. See README.md.
#
# Environment:
#   BENCH_DIR       where to put the images (default: a new dir under /var/tmp)
#   BENCH_SIZE_GIB  disk image size (default 8; 4 is the smallest layout)
#   BENCH_CHANGE_MIB  size of the change between the passes (default 50)
#   BENCH_KEEP=1    keep the images; BENCH_REUSE=1 reuse a kept image
#   BENCH_SKIP_GZIP=1  skip the ssh gzip -1 baseline (the slowest)
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "run.sh: needs root" >&2; exit 2; }
for tool in useradd userdel dumpe2fs sfdisk mke2fs mkswap losetup pvcreate vgcreate lvcreate pvs e2fsck /usr/sbin/sshd ssh ssh-keygen rsync gzip blockdev /usr/bin/time go; do
	command -v "$tool" >/dev/null || { echo "run.sh: $tool not installed (scripts/install-deps.sh)" >&2; exit 2; }
done

repo=$(cd "$(dirname "$0")/../.." && pwd)
size_gib=${BENCH_SIZE_GIB:-8}
change_mib=${BENCH_CHANGE_MIB:-50}
work=${BENCH_DIR:-$(mktemp -d /var/tmp/xenify-bench-remote.XXXXXX)}
mkdir -p "$work"
chmod 755 "$work"
img=$work/disk.img
dst=$work/copy.img
files=$work/files
loop= src= sshd_pid= lvloop= user=
# The remote account: a plain /bin/sh login in group disk, as on a server.
# (root's shell here is bash, which sources ~/.bashrc for every ssh
# command; a developer's .bashrc can take seconds, which would be
# measured as xenify's per-command cost.)
bench_user=xenify-bench
mnt=$work/mnt
cleanup() {
	mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
	[ -n "$lvloop" ] && losetup -d "$lvloop" 2>/dev/null || true
	[ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null || true
	[ -n "$user" ] && userdel "$user" 2>/dev/null || true
	[ -n "$src" ] && losetup -d "$src" 2>/dev/null || true
	[ -n "$loop" ] && losetup -d "$loop" 2>/dev/null || true
	if [ "${BENCH_KEEP:-0}" != 1 ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

bin=$work/xenify
(cd "$repo" && go build -o "$bin" ./cmd/xenify)

. "$repo/bench/lib/image.sh"
if [ "${BENCH_REUSE:-0}" = 1 ] && [ -e "$work/layout.env" ] && [ -e "$img" ]; then
	echo "== reusing $img"
	. "$work/layout.env"
else
	build_image
fi
src=$(losetup --find --show "$img")
chgrp disk "$src"; chmod 660 "$src"
userdel "$bench_user" 2>/dev/null || true
useradd -M -N -g disk -d / -s /bin/sh -p '*' "$bench_user"
user=$bench_user

# A private sshd for $bench_user on 127.0.0.1 with temporary keys.
ssh_dir=$work/ssh
rm -rf "$ssh_dir"; mkdir -p "$ssh_dir" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$ssh_dir/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$ssh_dir/id"
cp "$ssh_dir/id.pub" "$ssh_dir/authorized_keys"
port=$(( 20000 + RANDOM % 40000 ))
cat > "$ssh_dir/sshd_config" <<EOT
Port $port
ListenAddress 127.0.0.1
HostKey $ssh_dir/hostkey
PidFile none
AuthorizedKeysFile $ssh_dir/authorized_keys
PermitRootLogin no
AllowUsers $bench_user
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
EOT
/usr/sbin/sshd -D -e -f "$ssh_dir/sshd_config" 2>"$ssh_dir/sshd.log" &
sshd_pid=$!
echo "[127.0.0.1]:$port $(cat "$ssh_dir/hostkey.pub")" > "$ssh_dir/known_hosts"
cat > "$ssh_dir/config" <<EOT
Host bench
  HostName 127.0.0.1
  Port $port
  User $bench_user
  IdentityFile $ssh_dir/id
  IdentitiesOnly yes
  UserKnownHostsFile $ssh_dir/known_hosts
  GlobalKnownHostsFile /dev/null
EOT
for _ in $(seq 100); do ssh -F "$ssh_dir/config" -o BatchMode=yes bench true 2>/dev/null && break; sleep 0.1; done
ssh -F "$ssh_dir/config" -o BatchMode=yes bench true
ssh_cmd="ssh -F $ssh_dir/config -o BatchMode=yes"

results=()
# measure NAME CMD...: drop caches, run CMD under /usr/bin/time, sync.
measure() {
	local name=$1; shift
	sync; echo 3 > /proc/sys/vm/drop_caches
	local start end secs rss
	start=$(date +%s.%N)
	/usr/bin/time -v -o "$work/time.$name" "$@" > "$work/out.$name"
	sync
	end=$(date +%s.%N)
	secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.$name")
	results+=("$name $secs $rss")
	printf '%-26s %8.2f s  max RSS %7d KiB\n' "$name" "$secs" "$rss"
}
fresh() { rm -f "$dst" "$dst.xenify-copy"; }
json_field() { # FILE KEY: the last value of "KEY":N in FILE
	grep -o "\"$2\":[0-9]*" "$1" | tail -1 | cut -d: -f2
}
checkfs() { # IMAGE: e2fsck the LV filesystem inside
	lvloop=$(losetup --find --show --read-only --offset "$lv_off" --sizelimit "$lv_size" "$1")
	e2fsck -fn "$lvloop" >/dev/null || { echo "run.sh: e2fsck failed on the LV of $1" >&2; exit 1; }
	losetup -d "$lvloop"; lvloop=
}

url=ssh://bench$src
echo "== full copy over loopback ssh (caches dropped before each; sync included)"
fresh; measure xenify-local "$bin" copy --json "$src" "$dst"
fresh; measure xenify-ssh "$bin" copy --json --ssh-config "$ssh_dir/config" "$url" "$dst"
checkfs "$dst"
ssh_bytes=$(json_field "$work/out.xenify-ssh" bytes_in)
fresh; measure xenify-ssh-gzip "$bin" copy --json --compress --ssh-config "$ssh_dir/config" "$url" "$dst"
gz_bytes=$(json_field "$work/out.xenify-ssh-gzip" bytes_in)
fresh; measure ssh-dd bash -c "$ssh_cmd bench 'dd if=$src bs=4M status=none' | dd of=$dst bs=4M conv=sparse status=none"
# The same with the cipher xenify prefers (it moves AES-GCM first unless
# the ssh config chooses ciphers): the fair baseline for that part.
fresh; measure ssh-dd-gcm bash -c "$ssh_cmd -o Ciphers=aes128-gcm@openssh.com bench 'dd if=$src bs=4M status=none' | dd of=$dst bs=4M conv=sparse status=none"

echo "== warm migration: a first pass, a ${change_mib} MiB change, then --sync (and rsync -aHAX of the mounted filesystem)"
# A server's filesystem has been mounted before: let ext4's lazyinit
# zero the inode tables that mke2fs left as they were (old random data
# here) now, or the sync would count that first mount's ~16 MiB of
# zeroing per GiB as part of the change (it did: 141 MB re-sent for 50
# MiB, see README.md).
lvloop=$(losetup --find --show --offset "$lv_off" --sizelimit "$lv_size" "$src")
mkdir -p "$mnt"
mount "$lvloop" "$mnt"
groups=$(dumpe2fs "$lvloop" 2>/dev/null | grep -c '^Group [0-9]')
for _ in $(seq 600); do
	[ "$(dumpe2fs "$lvloop" 2>/dev/null | grep -c ITABLE_ZEROED)" -ge "$groups" ] && break
	sleep 0.5
done
umount "$mnt"; losetup -d "$lvloop"; lvloop=
blockdev --flushbufs "$src"
fresh
"$bin" copy --ssh-config "$ssh_dir/config" "$url" "$dst" >/dev/null
mkdir -p "$mnt" "$work/rsync"
lvloop=$(losetup --find --show --offset "$lv_off" --sizelimit "$lv_size" "$src")
mount "$lvloop" "$mnt"
rsync -aHAX --exclude=/lost+found -e "$ssh_cmd" "bench:$mnt/" "$work/rsync/"
# The change: new files and rewritten parts of existing ones.
new=$(( change_mib * 4 / 5 )); rewrite=$(( change_mib - new ))
mkdir -p "$mnt/changed"
head -c $(( new * 1024 * 1024 )) /dev/urandom > "$mnt/changed/new"
i=0
for f in $(find "$mnt/d0" -type f -size +2M | sort | head -n "$rewrite"); do
	dd if=/dev/urandom of="$f" bs=1M count=1 seek=1 conv=notrunc status=none
	i=$((i + 1))
done
umount "$mnt"; losetup -d "$lvloop"; lvloop=
# Cutover: the source is quiesced (unmounted); drop its cached blocks.
blockdev --flushbufs "$src"
measure xenify-sync "$bin" copy --sync --json --ssh-config "$ssh_dir/config" "$url" "$dst"
checkfs "$dst"
resent=$(json_field "$work/out.xenify-sync" resent)
sync_in=$(json_field "$work/out.xenify-sync" bytes_in)
lvloop=$(losetup --find --show --read-only --offset "$lv_off" --sizelimit "$lv_size" "$src")
mount -o ro "$lvloop" "$mnt"
measure rsync-delta rsync -aHAX --delete --exclude=/lost+found --stats -e "$ssh_cmd -o Ciphers=aes128-gcm@openssh.com" "bench:$mnt/" "$work/rsync/"
rsync_in=$(sed -n 's/^Total bytes received: \([0-9,]*\).*/\1/p' "$work/out.rsync-delta" | tr -d ,)
# The synced copy holds the same files as the source.
copyloop=$(losetup --find --show --read-only --offset "$lv_off" --sizelimit "$lv_size" "$dst")
mkdir -p "$work/mnt-copy"
mount -o ro,noload "$copyloop" "$work/mnt-copy"
same=yes
diff -r "$mnt" "$work/mnt-copy" >/dev/null || same=NO
umount "$work/mnt-copy"; losetup -d "$copyloop"
umount "$mnt"; losetup -d "$lvloop"; lvloop=

# The slowest baseline last (gzip -1 of a disk of random old data).
if [ "${BENCH_SKIP_GZIP:-0}" != 1 ]; then
	fresh; measure ssh-gzip bash -c "$ssh_cmd bench 'gzip -1 < $src' | gunzip | dd of=$dst bs=4M conv=sparse status=none"
fi

echo "== summary (${size_gib} GiB disk; ratio = baseline time / tool time)"
get() { for r in "${results[@]}"; do set -- $r; if [ "$1" = "$want" ]; then echo "$2"; fi; done; }
want=ssh-dd; t_dd=$(get); want=ssh-dd-gcm; t_ddg=$(get); want=xenify-local; t_local=$(get); want=rsync-delta; t_rsync=$(get)
for r in "${results[@]}"; do
	set -- $r
	printf '%-26s %8.2f s  %6.2fx vs ssh-dd  %6.2fx of local  max RSS %6d KiB\n' "$1" "$2" \
		"$(awk -v a="$t_dd" -v b="$2" 'BEGIN { print a / b }')" "$(awk -v a="$2" -v b="$t_local" 'BEGIN { print a / b }')" "$3"
done
echo "xenify-ssh vs ssh-dd-gcm (same cipher): $(awk -v a="$t_ddg" -v b="$(want=xenify-ssh; get)" 'BEGIN { printf "%.2f", a / b }')x"
echo "xenify over ssh received $ssh_bytes bytes; with --compress $gz_bytes bytes"
echo "change ${change_mib} MiB: --sync re-sent $resent bytes (received $sync_in bytes incl. hashes) in $(want=xenify-sync; get) s;" \
	"rsync received $rsync_in bytes in $t_rsync s ($(awk -v a="$(want=xenify-sync; get)" -v b="$t_rsync" 'BEGIN { printf "%.2f", a / b }')x rsync's time);" \
	"synced files identical to the source: $same"
echo "ssh commands: copy $(json_field "$work/out.xenify-ssh" commands), sync $(json_field "$work/out.xenify-sync" commands)"
echo "sync: $(grep -o '"sync":{[^}]*}' "$work/out.xenify-sync")"
[ "$same" = yes ]
