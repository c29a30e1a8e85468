#!/bin/bash
# Benchmark of the P2V copy engine against dd, qemu-img, cp and e2image.
# Needs root (loop device for LVM, drop_caches). See README.md.
#
# Environment:
#   BENCH_DIR   where to put the images (default: a new dir under /var/tmp);
#               needs about 2x BENCH_SIZE_GIB free
#   BENCH_SIZE_GIB  disk image size (default 8)
#   BENCH_KEEP=1    keep the images afterwards
#   BENCH_REUSE=1   reuse the image kept in BENCH_DIR by an earlier run
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (losetup, drop_caches)" >&2; exit 2; }
for tool in sfdisk mke2fs mkswap losetup pvcreate vgcreate lvcreate pvs qemu-img e2image e2fsck /usr/bin/time go; do
	command -v "$tool" >/dev/null || { echo "run.sh: $tool not installed" >&2; exit 2; }
done

repo=$(cd "$(dirname "$0")/../.." && pwd)
size_gib=${BENCH_SIZE_GIB:-8}
work=${BENCH_DIR:-$(mktemp -d /var/tmp/xenify-bench-copy.XXXXXX)}
mkdir -p "$work"
img=$work/disk.img
dst=$work/copy.img
files=$work/files
loop=
cleanup() {
	[ -n "$loop" ] && losetup -d "$loop" 2>/dev/null || true
	if [ "${BENCH_KEEP:-0}" != 1 ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

bin=$work/xenify-copy-bench
(cd "$repo" && go build -o "$bin" ./p2v/cmd/xenify-copy-bench)

. "$repo/bench/lib/image.sh"

# BENCH_REUSE=1 with BENCH_DIR reuses an image built (and kept) earlier.
if [ "${BENCH_REUSE:-0}" = 1 ] && [ -e "$work/layout.env" ] && [ -e "$img" ]; then
	echo "== reusing $img"
	. "$work/layout.env"
else
	build_image
fi

apparent=$(du -B1 --apparent-size "$img" | cut -f1)
allocated=$(du -B1 "$img" | cut -f1)
echo "image: apparent $apparent bytes, allocated $allocated bytes"
if [ "$allocated" -lt $(( apparent * 95 / 100 )) ]; then
	echo "run.sh: the image is sparse ($allocated of $apparent bytes allocated); free space would be holes and every copy would look fast" >&2
	exit 1
fi
"$bin" -plan "$img"

results=()
# measure NAME CMD...: drop caches, run CMD under /usr/bin/time, then sync
# (inside the timing, so writeback counts for every tool).
measure() {
	local name=$1; shift
	rm -f "$dst" "$dst.xenify-copy"
	sync; echo 3 > /proc/sys/vm/drop_caches
	local start end
	start=$(date +%s.%N)
	/usr/bin/time -v -o "$work/time.$name" "$@" > "$work/out.$name"
	sync
	end=$(date +%s.%N)
	local secs rss alloc
	secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.$name")
	alloc=$( [ -e "$dst" ] && du -B1 "$dst" | cut -f1 || echo 0)
	results+=("$name $secs $rss $alloc")
	printf '%-22s %8.2f s  max RSS %7d KiB  dst allocated %12d bytes\n' "$name" "$secs" "$rss" "$alloc"
}

# The benchmark VM's disk is cached by its host, which this guest's
# drop_caches cannot clear; read the image once so every tool starts with
# the same (warm) host cache instead of favouring whichever runs later.
cat "$img" > /dev/null
echo "== measuring (guest caches dropped before each run, sync included in the time)"
measure xenify "$bin" "$img" "$dst"
# Sanity check of the xenify copy: the LV filesystem must be clean.
loop=$(losetup --find --show --read-only --offset "$lv_off" --sizelimit "$lv_size" "$dst")
e2fsck -fn "$loop" >/dev/null || { echo "run.sh: e2fsck failed on the xenify copy of the LV filesystem" >&2; exit 1; }
losetup -d "$loop"; loop=
cp "$work/out.xenify" "$work/summary.json"
measure xenify-direct "$bin" -direct "$img" "$dst"
measure dd dd if="$img" of="$dst" bs=4M conv=sparse status=none
measure qemu-img qemu-img convert -O raw "$img" "$dst"
measure cp-sparse cp --sparse=always "$img" "$dst"
measure e2image-ra-LV-ext4 e2image -ra -p -o "$lv_off" "$img" "$dst"
# The same filesystem alone through xenify, for a like-for-like comparison
# with e2image (a read-only loop device over the LV's byte range).
loop=$(losetup --find --show --read-only --offset "$lv_off" --sizelimit "$lv_size" "$img")
measure xenify-LV-ext4 "$bin" "$loop" "$dst"
losetup -d "$loop"; loop=

echo "== summary (ratio = dd time / tool time; higher is faster)"
dd_secs=
for r in "${results[@]}"; do set -- $r; [ "$1" = dd ] && dd_secs=$2; done
for r in "${results[@]}"; do
	set -- $r
	printf '%-22s %8.2f s  %6.2fx vs dd  max RSS %6d KiB\n' "$1" "$2" "$(awk -v a="$dd_secs" -v b="$2" 'BEGIN { print a / b }')" "$3"
done
echo "xenify summary:"; cat "$work/summary.json"
