#!/bin/bash
# check.sh - sanity checks for the guest fixture trees in this directory.
#
# Usage: testdata/guests/check.sh [--regen]
#
# Checks, for every fixture:
#   - symlinks resolve (chroot-style: absolute targets are taken relative
#     to the fixture root) without leaving the fixture, except in
#     "hostile", whose escaping symlinks are checked to still be there;
#   - guest binaries carry the ELF class and machine of the fixture's
#     architecture (file(1));
#   - kernels are bzImages or gzipped ELF as expected, and initrds
#     decompress to cpio archives holding (or lacking) the expected modules;
#   - grubenv files are exactly 1024 bytes.
# With --regen it also reruns gen/main.go into a scratch directory and
# compares every generated file byte for byte with the checked-in copy
# (the generator must be deterministic).
#
# Needs: bash, file, cpio, gzip, zstd, cmp; go for --regen.
set -u
here=$(cd "$(dirname "$0")" && pwd)
pass=0 fail=0
ok()  { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*"; }

# resolve ROOT PATH: print the path PATH resolves to when ROOT is "/",
# following symlinks at most 40 times; print nothing and return 1 on a
# loop. Returns 2 (and prints the host path) when a relative symlink
# would climb above ROOT.
resolve() {
	local root=$1 path=$2 out="" comp target rest n=0 escaped=0
	rest=${path#/}
	while [ -n "$rest" ]; do
		comp=${rest%%/*}
		if [ "$comp" = "$rest" ]; then rest=""; else rest=${rest#*/}; fi
		case $comp in
		""|.) continue ;;
		..) [ -z "$out" ] && escaped=1; out=${out%/*}; continue ;;
		esac
		if [ -L "$root$out/$comp" ]; then
			n=$((n+1)); [ $n -gt 40 ] && return 1
			target=$(readlink "$root$out/$comp")
			case $target in
			/*) out=""; rest=${target#/}${rest:+/$rest} ;;
			*)  rest=$target${rest:+/$rest} ;;
			esac
		else
			out=$out/$comp
		fi
	done
	echo "$root$out"
	[ $escaped = 1 ] && return 2
	return 0
}

check_links() {
	local f=$1 l r rc
	while IFS= read -r -d '' l; do
		r=$(resolve "$here/$f" "${l#$here/$f}"); rc=$?
		if [ $rc = 1 ]; then bad "$f: symlink loop at ${l#$here/}"; continue; fi
		if [ $rc = 2 ]; then bad "$f: symlink ${l#$here/} climbs out of the fixture"; continue; fi
		if [ -e "$r" ] || [ -L "$r" ]; then ok; else
			# systemd unit targets not shipped in the fixtures are fine.
			case $r in *.target) ok ;; *) bad "$f: dangling symlink ${l#$here/} -> $(readlink "$l")" ;; esac
		fi
	done < <(find "$here/$f" -type l -print0)
}

check_elf() {
	local f=$1 want=$2 p r desc
	shift 2
	for p in "$@"; do
		r=$(resolve "$here/$f" "$p") || { bad "$f: $p does not resolve"; continue; }
		desc=$(file -b "$r")
		case $desc in "$want"*) ok ;; *) bad "$f: $p: $desc, want $want" ;; esac
	done
}

check_file() { # fixture path want-prefix
	local desc
	desc=$(file -b "$here/$1/$2")
	case $desc in "$3"*) ok ;; *) bad "$1: $2: $desc, want $3" ;; esac
}

# initrd_has fixture path decompressor pattern [absent]
initrd_has() {
	local list
	list=$($3 < "$here/$1/$2" 2>/dev/null | cpio -t 2>/dev/null)
	if [ "${5:-}" = absent ]; then
		if grep -q -- "$4" <<<"$list"; then bad "$1: $2 contains $4"; else ok; fi
	else
		if grep -q -- "$4" <<<"$list"; then ok; else bad "$1: $2 lacks $4"; fi
	fi
}

elf32="ELF 32-bit LSB" elf64="ELF 64-bit LSB"
i386="Intel 80386" amd64="x86-64"

for f in centos44-i386 centos45-x86_64 centos5-x86_64 ubuntu1204 debian12 debian12-uuid debian12-dracut ubuntu2510 rocky9; do
	[ -d "$here/$f" ] || { bad "missing fixture $f"; continue; }
	check_links "$f"
done

check_elf centos44-i386 "$elf32 executable, $i386" /bin/sh /bin/bash /sbin/init
check_elf centos44-i386 "$elf32" /lib/ld-linux.so.2
check_elf centos45-x86_64 "$elf64 executable, $amd64" /bin/sh /sbin/init
check_elf centos45-x86_64 "$elf64" /lib64/ld-linux-x86-64.so.2
check_elf centos45-x86_64 "$elf32" /lib/ld-linux.so.2
check_elf centos5-x86_64 "$elf64 executable, $amd64" /bin/sh /sbin/init
check_elf ubuntu1204 "$elf64 executable, $amd64" /bin/sh /sbin/init
check_elf ubuntu1204 "$elf64" /lib64/ld-linux-x86-64.so.2
for f in debian12 debian12-uuid debian12-dracut ubuntu2510; do
	check_elf $f "$elf64 executable, $amd64" /bin/sh /sbin/init
	check_elf $f "$elf64" /lib64/ld-linux-x86-64.so.2
done
check_elf rocky9 "$elf64 executable, $amd64" /bin/sh /sbin/init
check_elf hostile "$elf32 executable, $i386" /bin/sh /sbin/init

bz="Linux kernel x86 boot executable bzImage"
for k in centos44-i386/boot/vmlinuz-2.6.9-42.EL centos44-i386/boot/vmlinuz-2.6.9-42.ELsmp \
	centos45-x86_64/boot/vmlinuz-2.6.9-55.EL centos5-x86_64/boot/vmlinuz-2.6.18-8.el5 \
	ubuntu1204/boot/vmlinuz-3.2.0-23-generic debian12/boot/vmlinuz-6.1.0-56-amd64 ubuntu2510/boot/vmlinuz-6.17.0-5-generic \
	rocky9/boot/vmlinuz-5.14.0-362.8.1.el9_3.x86_64; do
	check_file "${k%%/*}" "${k#*/}" "$bz"
done
check_file centos5-x86_64 boot/vmlinuz-2.6.18-8.el5xen "gzip compressed data"
check_file centos5-x86_64 boot/xen.gz-2.6.18-8.el5 "gzip compressed data"
for k in kernels/vmlinuz-2.6.9-55.ELxenU kernels/vmlinuz-2.6.9-55.ELxenU.x86_64; do
	if [ "$(gzip -dc "$here/$k" | head -c 4 | od -An -c | tr -d ' ')" = '177ELF' ]; then ok; else bad "$k is not a gzipped ELF"; fi
	if gzip -dc "$here/$k" | grep -aq 'GUEST_OS=linux'; then ok; else bad "$k lacks __xen_guest"; fi
done
if gzip -dc "$here/centos5-x86_64/boot/vmlinuz-2.6.18-8.el5xen" | grep -aq 'GUEST_OS=linux,GUEST_VER=2.6'; then ok; else bad "el5xen lacks __xen_guest"; fi

initrd_has centos44-i386 boot/initrd-2.6.9-42.EL.img "gzip -dc" lib/dm-mod.ko
initrd_has centos44-i386 boot/initrd-2.6.9-42.EL.img "gzip -dc" xen absent
initrd_has centos45-x86_64 boot/initrd-2.6.9-55.EL.img "gzip -dc" lib/ata_piix.ko
initrd_has centos5-x86_64 boot/initrd-2.6.18-8.el5xen.img "gzip -dc" lib/ext3.ko
initrd_has centos5-x86_64 boot/initrd-2.6.18-8.el5xen.img "gzip -dc" xenblk absent
initrd_has ubuntu1204 boot/initrd.img-3.2.0-23-generic "gzip -dc" conf/initramfs.conf
initrd_has ubuntu1204 boot/initrd.img-3.2.0-23-generic "gzip -dc" xen-blkfront absent
for f in debian12 debian12-uuid; do
	initrd_has $f boot/initrd.img-6.1.0-56-amd64 "zstd -dcq" usr/lib/modules/6.1.0-56-amd64/kernel/drivers/block/xen-blkfront.ko
done
# debian12-dracut: a hostonly dracut image of the native machine.
initrd_has debian12-dracut boot/initrd.img-6.1.0-56-amd64 "zstd -dcq" usr/lib/modules/6.1.0-56-amd64/kernel/drivers/ata/ahci.ko
initrd_has debian12-dracut boot/initrd.img-6.1.0-56-amd64 "zstd -dcq" xen-blkfront absent
# ubuntu2510: dracut, the Xen frontends built into the kernel.
initrd_has ubuntu2510 boot/initrd.img-6.17.0-5-generic "zstd -dcq" usr/lib/modules/6.17.0-5-generic/kernel/drivers/nvme/host/nvme.ko
initrd_has ubuntu2510 boot/initrd.img-6.17.0-5-generic "zstd -dcq" xen-blkfront absent
# rocky9: uncompressed early cpio first; cpio -t stops after its trailer.
initrd_has rocky9 boot/initramfs-5.14.0-362.8.1.el9_3.x86_64.img cat kernel/x86/microcode/GenuineIntel.bin

for g in ubuntu1204/boot/grub/grubenv ubuntu2510/boot/grub/grubenv debian12/boot/grub/grubenv debian12-uuid/boot/grub/grubenv rocky9/boot/grub2/grubenv; do
	if [ "$(wc -c < "$here/$g")" = 1024 ]; then ok; else bad "$g is not 1024 bytes"; fi
done

# hostile: the escaping links must still be there, unresolved by anyone.
while read -r link target; do
	if [ "$(readlink "$here/hostile/$link")" = "$target" ]; then ok; else bad "hostile/$link should point to $target"; fi
done <<'EOF'
etc/fstab ../../../../../etc/passwd
boot/grub/grub.conf /etc/shadow
etc/inittab inittab.loop
etc/inittab.loop inittab
etc/modprobe.conf /proc/self/environ
etc/sysconfig/network-scripts/ifcfg-eth0 /dev/zero
etc/selinux/config ../../../../../../../../root/.ssh/id_rsa
etc/sysconfig/grub /etc/sysconfig/grub
lib/modules /lib/modules
var/lib/xenify /tmp
sbin/mkinitrd ../../../../../bin/sh
boot/vmlinuz-2.6.9-42.EL.old /proc/kcore
boot/System.map-2.6.9-42.EL /dev/sda
EOF
resolve "$here/hostile" /etc/inittab >/dev/null; [ $? = 1 ] && ok || bad "hostile: /etc/inittab should be a symlink loop"
resolve "$here/hostile" /etc/fstab >/dev/null; [ $? = 2 ] && ok || bad "hostile: /etc/fstab should climb out of the root"

if [ "${1:-}" = --regen ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	if (cd "$here/../.." && go run ./testdata/guests/gen/main.go -root "$tmp"); then
		while IFS= read -r -d '' p; do
			rel=${p#$tmp/}
			if cmp -s "$p" "$here/$rel"; then ok; else bad "regenerated $rel differs from the checked-in file"; fi
		done < <(find "$tmp" -type f -print0)
	else
		bad "gen/main.go failed"
	fi
fi

size=$(find "$here" -type f -printf "%s\n" | awk "{s += \$1} END {print s}")
if [ "$size" -lt $((2*1024*1024)) ]; then ok; else bad "fixtures take $size bytes, want < 2 MiB"; fi

echo "$pass passed, $fail failed"
[ $fail = 0 ]
