#!/bin/bash
# xenify's main job, shown on real things. Run as root on Debian 12 after
# scripts/install-deps.sh (README: "Try it").
#
# Part 1 converts a real Debian 12 installation: a disk image built "as if
# installed on a physical PC" (MBR, ext4 on /dev/sda1, a real kernel and
# initramfs-tools, grub.cfg from the guest's own grub-mkconfig), cached in
# $XENIFY_DEMO_CACHE (default /var/cache/xenify-demo). It shows the plan,
# converts a scratch copy (the Xen frontends are appended to its
# initramfs as a cpio layer built from its own modules; no guest code
# runs), ends with verify passing and the `xl create` line, then rolls back and proves every
# file is as it was. Exits non-zero if verify does not pass.
#
# Part 2 runs the classic procedure's steps on the bundled CentOS 5 sample,
# whose binaries are stand-ins (--skip-guest-commands: none of them runs).
#
# Nothing outside a temporary directory and the cache is changed.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
PATH=/usr/local/go/bin:$PATH

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	B=$'\e[1m' D=$'\e[2m' G=$'\e[32m' R=$'\e[31m' C=$'\e[36m' N=$'\e[0m'
else
	B='' D='' G='' R='' C='' N=''
fi
title() { printf '\n%s== %s%s\n' "$B$C" "$*" "$N"; }
step() { printf '%s$ %s%s\n' "$B" "$*" "$N"; }
ok() { printf '%s✔ %s%s\n' "$G" "$*" "$N"; }
die() { printf '%s✘ %s%s\n' "$R" "$*" "$N" >&2; exit 1; }
dim() { sed "s/^/$D  /; s/\$/$N/"; }

[ "$(id -u)" = 0 ] || die "run as root: the demo builds a disk image and mounts it read-only to compare files"
go build -o bin/xenify ./cmd/xenify
xenify=$top/bin/xenify

work=$(mktemp -d /tmp/xenify-demo.XXXXXX)
mnt=$work/mnt
mkdir "$mnt"
cleanup() {
	mountpoint -q "$mnt" && umount "$mnt"
	rm -rf "$work"
}
trap cleanup EXIT

# --- the sample disk: built once, cached ------------------------------------
cache=${XENIFY_DEMO_CACHE:-/var/cache/xenify-demo}
recipe="SUITE=bookworm LAYOUT=plain NAMES=dev PASSWORD=xenify GUEST_HOSTNAME=web1"
key=$(cat e2e/guest/build-guest.sh e2e/guest/grub-probe-shim - <<<"$recipe" | sha256sum | cut -c1-16)
sample=$cache/debian12-$key
if [ ! -f "$sample/disk.img" ]; then
	printf '%sBuilding the sample disk (mmdebstrap, a few minutes once; cached in %s)...%s\n' "$D" "$cache" "$N"
	mkdir -p "$sample"
	(
		# shellcheck disable=SC2086
		export $recipe
		e2e/guest/build-guest.sh "$sample"
	) >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; die "building the sample disk failed"; }
fi
img=$work/web1.img
cp --sparse=always "$sample/disk.img" "$img"

# manifest IMAGE: every file of the image's root filesystem (at 1 MiB) with
# type, mode, owner, size, modification time and content hash.
manifest() {
	mount -o ro,noload,loop,offset=1048576 "$1" "$mnt"
	(cd "$mnt" && find . -xdev -printf '%y %m %U:%G %s %p -> %l\n' | sort &&
		find . -xdev -type f -printf '%T@ %p\n' | sort &&
		find . -xdev -type f -print0 | sort -z | xargs -0 sha256sum)
	umount "$mnt"
}

title "Part 1: a real Debian 12 installation, converted to a Xen guest"
echo "The disk of a PC: MBR, / on /dev/sda1 (ext4), Debian's kernel and initramfs-tools, GRUB 2."
manifest "$img" >"$work/before"

step "xenify inspect web1.img"
"$xenify" inspect "$img" | dim

step "xenify plan web1.img      # every change, as diffs; writes nothing"
"$xenify" plan --name web1 "$img" >"$work/plan.txt"
dim <"$work/plan.txt"
cmp -s "$work/before" <(manifest "$img") || die "plan changed the image"
ok "plan wrote nothing"

step "xenify convert --name web1 --config-out web1.cfg web1.img"
rc=0
"$xenify" convert --name web1 --config-out "$work/web1.cfg" "$img" >"$work/convert.txt" 2>"$work/convert.err" || rc=$?
dim <"$work/convert.err" | grep -v '^\s*$' | tail -n 20 || true
dim <"$work/convert.txt"
[ "$rc" = 0 ] || die "convert exited $rc: the real guest did not verify as bootable"
grep -q "Start it with:" "$work/convert.txt" || die "convert did not report a bootable guest"
ok "verify passed: the guest boots through pygrub, with xen-blkfront appended to its initramfs"

step "cat web1.cfg"
dim <"$work/web1.cfg"

step "xenify convert --name web1 --config-out web1.cfg web1.img   # again"
"$xenify" convert --name web1 --config-out "$work/web1.cfg" "$img" | grep -q "nothing changed" ||
	die "a second convert changed something"
ok "a second convert changes nothing"

step "xenify rollback web1.img"
"$xenify" rollback "$img" | dim
manifest "$img" >"$work/after"
if ! cmp -s "$work/before" "$work/after"; then
	diff "$work/before" "$work/after" | head -20 >&2
	die "rollback did not restore the image"
fi
ok "rollback restored all $(grep -c '^f ' "$work/before") files byte for byte (contents, mode, owner, mtime)"

# --- part 2: the classic procedure on the CentOS 5 sample --------------------
title "Part 2: the classic procedure's steps on a CentOS 5 sample (stand-in binaries)"
echo "testdata/guests/centos5-x86_64 is modelled on a CentOS 5 install (its nash initrd and"
echo "modules as mkinitrd 5.1 writes them), but its binaries are stand-ins, so none of them runs:"
echo "xenify appends xenblk and xennet to the nash initrd as a layer instead of running mkinitrd."
guest=$work/centos5
cp -a testdata/guests/centos5-x86_64 "$guest"
step "xenify convert --skip-guest-commands --name centos5 centos5/"
"$xenify" convert --skip-guest-commands --name centos5 \
	--hypervisor-caps "xen-3.0-x86_64 xen-3.0-x86_32p" \
	--config-out "$work/centos5.cfg" "$guest" >"$work/centos5.txt" ||
	{ cat "$work/centos5.txt"; die "the CentOS 5 sample did not convert"; }
dim <"$work/centos5.txt"
grep -q "Start it with:" "$work/centos5.txt" || die "the CentOS 5 sample did not verify"
ok "verify passed on the CentOS 5 sample: xenblk is in the final view of its initrd"
for f in etc/inittab etc/modprobe.conf boot/grub/menu.lst etc/fstab; do
	step "diff -u $f"
	diff -u "testdata/guests/centos5-x86_64/$f" "$guest/$f" | tail -n +3 | dim || true
done
step "cat centos5.cfg"
dim <"$work/centos5.cfg"
step "xenify rollback centos5/"
"$xenify" rollback "$guest" | dim
diff -r testdata/guests/centos5-x86_64 "$guest" >/dev/null || die "rollback did not restore the CentOS 5 sample"
ok "rollback restored the CentOS 5 sample exactly"
