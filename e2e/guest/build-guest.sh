#!/bin/bash
# build-guest.sh OUTDIR
#
# Writes OUTDIR/disk.img and OUTDIR/layout (byte offsets of the filesystems,
# read by the test's hand conversion positive control).
# Builds a native (not yet Xen-aware) Debian disk image "as if installed on a
# physical PC": MBR partition table, filesystems written straight into the
# partitions (mke2fs -E offset=, no loop mount; XFS: mkfs.xfs on a loop device
# at the partition's byte offset, filled through a mount of it), fstab naming
# native devices,
# grub.cfg produced by the guest's own grub-mkconfig for that disk, a getty on
# tty1 only, kernel linux-image-amd64, root password set.
#
# Recipe, all from the environment (the test hashes them into the cache key):
#   SUITE      bookworm | bullseye
#   LAYOUT     plain   : sda1 = / (ext4)
#              bootlvm : sda1 = /boot (ext4), sda2 = LVM PV, vg0/root (ext4), vg0/swap
#              bootpart: sda1 = /boot, sda2 = /
#   FS         ext4 (default) | xfs: the filesystem of / and /boot (xfs: only
#              with LAYOUT=bootpart; mkfs.xfs defaults, so v5 with ftype=1)
#   NAMES      dev  : fstab and root= use /dev/sdXN and /dev/mapper names
#              uuid : fstab and root= use UUID=
#   INIT       systemd (default) | sysvinit
#   INITRD     initramfs-tools (default)
#              dracut : dracut configured hostonly="yes", as on RHEL; the
#                       image has the native PC's drivers, no Xen frontend
#   PASSWORD   root password
#   GUEST_HOSTNAME
# LAYOUT=bootlvm needs root and a loop device (pvcreate/lvcreate write the LVM
# metadata with activation disabled: no device-mapper needed). FS=xfs needs
# root, a loop device and the kernel's xfs (a loop device at a byte offset,
# losetup --offset --sizelimit: no device-mapper either).
set -euo pipefail

out=$1
: "${SUITE:?}" "${LAYOUT:?}" "${NAMES:?}" "${PASSWORD:?}" "${GUEST_HOSTNAME:?}"
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "$out/.guest.XXXXXX")
loop=
cleanup() {
	mountpoint -q "$work/mnt" 2>/dev/null && umount "$work/mnt"
	[ -n "$loop" ] && losetup -d "$loop"
	# Never recurse into a chroot that still has /proc, /sys or /dev mounted.
	if grep -q " $work/" /proc/self/mountinfo; then
		echo "not removing $work: still has mounts" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

MiB=$((1024 * 1024))
DISK_ID=0x5eed0001
ROOT_UUID=6f1c3c40-0d5e-4b8a-9a51-5e6e2e0a0001
BOOT_UUID=6f1c3c40-0d5e-4b8a-9a51-5e6e2e0a0002
SWAP_UUID=6f1c3c40-0d5e-4b8a-9a51-5e6e2e0a0003
partuuid() { printf '%08x-%02d' "$DISK_ID" "$1"; }

case $LAYOUT in
plain)
	disk_mib=3072
	p1_start=1 p1_mib=$((disk_mib - 1))
	ROOT_DEV=/dev/sda1 ROOT_DRIVE=hd0,msdos1 ROOT_ABSTRACTION= ROOT_PARTUUID=$(partuuid 1)
	BOOT_DEV=$ROOT_DEV BOOT_DRIVE=$ROOT_DRIVE BOOT_UUID=$ROOT_UUID BOOT_PARTUUID=$ROOT_PARTUUID
	;;
bootlvm)
	disk_mib=3584
	p1_start=1 p1_mib=400
	p2_start=$((p1_start + p1_mib)) p2_mib=$((disk_mib - p1_start - p1_mib))
	root_mib=2560 swap_mib=256
	ROOT_DEV=/dev/mapper/vg0-root ROOT_DRIVE=lvm/vg0-root ROOT_ABSTRACTION=lvm ROOT_PARTUUID=
	BOOT_DEV=/dev/sda1 BOOT_DRIVE=hd0,msdos1 BOOT_PARTUUID=$(partuuid 1)
	;;
bootpart)
	disk_mib=3584
	p1_start=1 p1_mib=400
	p2_start=$((p1_start + p1_mib)) p2_mib=$((disk_mib - p1_start - p1_mib))
	ROOT_DEV=/dev/sda2 ROOT_DRIVE=hd0,msdos2 ROOT_ABSTRACTION= ROOT_PARTUUID=$(partuuid 2)
	BOOT_DEV=/dev/sda1 BOOT_DRIVE=hd0,msdos1 BOOT_PARTUUID=$(partuuid 1)
	;;
*) echo "unknown LAYOUT $LAYOUT" >&2; exit 2 ;;
esac
FS=${FS:-ext4}
case $FS in
ext4) GRUB_FS=ext2 root_opts="errors=remount-ro 0 1" boot_opts="defaults 0 2" ;;
xfs)
	[ "$LAYOUT" = bootpart ] || { echo "FS=xfs needs LAYOUT=bootpart" >&2; exit 2; }
	# As Debian's installer writes them: XFS has no errors= option, and
	# fsck.xfs checks nothing at boot.
	GRUB_FS=xfs root_opts="defaults 0 0" boot_opts="defaults 0 0"
	;;
*) echo "unknown FS $FS" >&2; exit 2 ;;
esac

dev_or_uuid() { if [ "$NAMES" = uuid ]; then echo "UUID=$2"; else echo "$1"; fi; }
{
	echo "# /etc/fstab: static file system information (native install, before xenify)."
	echo "$(dev_or_uuid "$ROOT_DEV" "$ROOT_UUID") / $FS $root_opts"
	if [ "$LAYOUT" != plain ]; then
		echo "$(dev_or_uuid "$BOOT_DEV" "$BOOT_UUID") /boot $FS $boot_opts"
	fi
	if [ "$LAYOUT" = bootlvm ]; then
		echo "$(dev_or_uuid /dev/mapper/vg0-swap "$SWAP_UUID") none swap sw 0 0"
	fi
} >"$work/fstab"
cat >"$work/probe.env" <<EOT
ROOT_DEV=$ROOT_DEV ROOT_UUID=$ROOT_UUID ROOT_PARTUUID=$ROOT_PARTUUID ROOT_DRIVE=$ROOT_DRIVE ROOT_ABSTRACTION=$ROOT_ABSTRACTION
BOOT_DEV=$BOOT_DEV BOOT_UUID=$BOOT_UUID BOOT_PARTUUID=$BOOT_PARTUUID BOOT_DRIVE=$BOOT_DRIVE
GRUB_FS=$GRUB_FS
EOT

INIT=${INIT:-systemd} INITRD=${INITRD:-initramfs-tools}
case $INIT in
systemd) init_pkg=systemd-sysv ;;
sysvinit) init_pkg=sysvinit-core ;;
*) echo "unknown INIT $INIT" >&2; exit 2 ;;
esac
case $INITRD in initramfs-tools | dracut) ;; *) echo "unknown INITRD $INITRD" >&2; exit 2 ;; esac
pkgs=$init_pkg,udev,kmod,login,passwd,util-linux,procps,iproute2,linux-image-amd64,$INITRD,grub-pc
if [ "$LAYOUT" = bootlvm ]; then pkgs=$pkgs,lvm2; fi
if [ "$FS" = xfs ]; then pkgs=$pkgs,xfsprogs; fi

root="$work/root"
mmdebstrap \
	--variant=minbase \
	--aptopt='Apt::Install-Recommends "false"' \
	--include="$pkgs" \
	--essential-hook='echo "grub-pc grub-pc/install_devices_empty boolean true" | chroot "$1" debconf-set-selections' \
	--customize-hook="echo $GUEST_HOSTNAME >\"\$1/etc/hostname\"" \
	--customize-hook="printf '127.0.0.1 localhost\n127.0.1.1 $GUEST_HOSTNAME\n' >\"\$1/etc/hosts\"" \
	--customize-hook="copy-in $work/fstab /etc" \
	--customize-hook="echo root:$PASSWORD | chroot \"\$1\" chpasswd" \
	"$SUITE" "$root"

# --- boot configuration, as the installer would leave it -------------------
if [ "$LAYOUT" = bootlvm ]; then
	[ "$NAMES" = uuid ] && r="UUID=$SWAP_UUID" || r=/dev/mapper/vg0-swap
	echo "RESUME=$r" >"$root/etc/initramfs-tools/conf.d/resume"
fi
if [ "$NAMES" = dev ]; then echo 'GRUB_DISABLE_LINUX_UUID=true' >>"$root/etc/default/grub"; fi
if [ "$INITRD" = dracut ]; then
	printf '# Only the drivers of the machine it runs on, as on RHEL.\nhostonly="yes"\n' >"$root/etc/dracut.conf.d/10-hostonly.conf"
	# What hostonly builds on the physical PC: its own disk drivers and no
	# Xen frontend. (Here, chrooted, hostonly would see this build host:
	# the image is built generic, without the frontends, instead.)
	for k in "$root"/boot/vmlinuz-*; do
		v=${k##*/vmlinuz-}
		chroot "$root" dracut --force --no-hostonly --omit-drivers "xen-blkfront xen-netfront" "/boot/initrd.img-$v" "$v"
	done
else
	chroot "$root" update-initramfs -u -k all
fi

# grub-mkconfig runs for real; only grub-probe/grub-mkrelpath, which would
# inspect the (absent) disk, answer from the recipe. The fake /dev lives in a
# private mount namespace so the host's /dev is never touched.
cp "$work/probe.env" "$root/etc/xenify-e2e-probe.env"
mv "$root/usr/sbin/grub-probe" "$work/grub-probe.orig"
mv "$root/usr/bin/grub-mkrelpath" "$work/grub-mkrelpath.orig"
cp "$here/grub-probe-shim" "$root/usr/sbin/grub-probe"
if [ "$LAYOUT" != plain ]; then
	# As the real one: relative to the /boot filesystem, "" for its root.
	printf '#!/bin/sh\ncase $1 in /boot/*) echo "${1#/boot}";; /boot) echo;; *) echo "$1";; esac\n'
else
	printf '#!/bin/sh\necho "$1"\n'
fi >"$root/usr/bin/grub-mkrelpath"
chmod 0755 "$root/usr/bin/grub-mkrelpath"
unshare --mount --propagation private /bin/sh -ec '
	r=$1
	mount -t tmpfs tmpfs "$r/dev"
	for n in null zero random urandom; do touch "$r/dev/$n"; mount --bind "/dev/$n" "$r/dev/$n"; done
	mkdir -p "$r/dev/disk/by-uuid" "$r/dev/mapper"
	touch "$r/dev/disk/by-uuid/$2" "$r/dev/disk/by-uuid/$3" "$r/dev/sda" "$r/dev/sda1" "$r/dev/sda2" \
		"$r/dev/mapper/vg0-root" "$r/dev/mapper/vg0-swap"
	mountpoint -q "$r/proc" || mount -t proc proc "$r/proc"
	mountpoint -q "$r/sys" || mount -t sysfs sysfs "$r/sys"
	chroot "$r" grub-mkconfig -o /boot/grub/grub.cfg
' sh "$root" "$ROOT_UUID" "$BOOT_UUID"
mv "$work/grub-probe.orig" "$root/usr/sbin/grub-probe"
mv "$work/grub-mkrelpath.orig" "$root/usr/bin/grub-mkrelpath"
rm -f "$root/etc/xenify-e2e-probe.env"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
grep -q "root=" "$root/boot/grub/grub.cfg" || { echo "grub.cfg has no linux entry" >&2; exit 1; }

# --- disk image ---------------------------------------------------------------
img="$work/disk.img"
truncate -s "${disk_mib}M" "$img"
{
	echo "label: dos"
	echo "label-id: $DISK_ID"
	echo "start=$((p1_start * 2048)), size=$((p1_mib * 2048)), type=83, bootable"
	case $LAYOUT in
	bootlvm) echo "start=$((p2_start * 2048)), size=$((p2_mib * 2048)), type=8e" ;;
	bootpart) echo "start=$((p2_start * 2048)), size=$((p2_mib * 2048)), type=83" ;;
	esac
} | sfdisk -q "$img"

mkfs() { # mkfs OFFSET_BYTES SIZE_MIB UUID LABEL DIR
	if [ "$FS" = ext4 ]; then
		mke2fs -q -F -t ext4 -U "$3" -L "$4" -E "offset=$1" -d "$5" "$img" "$(($2 * 1024))k"
		return
	fi
	# mkfs.xfs with its defaults (v5 superblock, ftype=1: what pygrub 4.17
	# cannot read), filled through a mount of the same loop device.
	loop=$(losetup -f --show --offset "$1" --sizelimit $(($2 * MiB)) "$img")
	mkfs.xfs -q -f -m "uuid=$3" -L "$4" "$loop"
	mkdir -p "$work/mnt"
	mount -t xfs "$loop" "$work/mnt"
	cp -a "$5/." "$work/mnt/"
	umount "$work/mnt"
	losetup -d "$loop" && loop=
}
if [ "$LAYOUT" = plain ]; then
	mkfs $((p1_start * MiB)) "$p1_mib" "$ROOT_UUID" root "$root"
	printf 'root_dev=%s\nroot_offset=%d\nroot_size=%d\n' "$ROOT_DEV" $((p1_start * MiB)) $((p1_mib * MiB)) >"$work/layout"
elif [ "$LAYOUT" = bootpart ]; then
	mv "$root/boot" "$work/boot" && mkdir "$root/boot"
	mkfs $((p1_start * MiB)) "$p1_mib" "$BOOT_UUID" boot "$work/boot"
	mkfs $((p2_start * MiB)) "$p2_mib" "$ROOT_UUID" root "$root"
	printf 'root_dev=%s\nroot_offset=%d\nroot_size=%d\nboot_offset=%d\nboot_size=%d\n' "$ROOT_DEV" \
		$((p2_start * MiB)) $((p2_mib * MiB)) $((p1_start * MiB)) $((p1_mib * MiB)) >"$work/layout"
else
	mv "$root/boot" "$work/boot" && mkdir "$root/boot"
	mkfs $((p1_start * MiB)) "$p1_mib" "$BOOT_UUID" boot "$work/boot"
	export LVM_SUPPRESS_FD_WARNINGS=1
	loop=$(losetup -f --show --offset $((p2_start * MiB)) --sizelimit $((p2_mib * MiB)) "$img")
	lvmc=(--devicesfile= --config "global{activation=0} devices{filter=[\"a|^$loop\$|\",\"r|.*|\"]}")
	lvm pvcreate -q "${lvmc[@]}" "$loop"
	lvm vgcreate -q "${lvmc[@]}" vg0 "$loop"
	lvm lvcreate -q "${lvmc[@]}" -an -Zn -L "${swap_mib}M" -n swap vg0
	lvm lvcreate -q "${lvmc[@]}" -an -Zn -L "${root_mib}M" -n root vg0
	pe_start=$(lvm pvs "${lvmc[@]}" -o pe_start --units b --nosuffix --noheadings | tr -d ' ')
	extent=$(lvm vgs "${lvmc[@]}" -o vg_extent_size --units b --nosuffix --noheadings | tr -d ' ')
	first_pe() { lvm lvs "${lvmc[@]}" -o seg_pe_ranges --noheadings "vg0/$1" | sed 's/.*:\([0-9]*\)-.*/\1/'; }
	root_off=$((p2_start * MiB + pe_start + $(first_pe root) * extent))
	swap_off=$((p2_start * MiB + pe_start + $(first_pe swap) * extent))
	losetup -d "$loop" && loop=
	mkfs "$root_off" "$root_mib" "$ROOT_UUID" root "$root"
	printf 'root_dev=%s\nroot_offset=%d\nroot_size=%d\nboot_offset=%d\nboot_size=%d\n' "$ROOT_DEV" \
		"$root_off" $((root_mib * MiB)) $((p1_start * MiB)) $((p1_mib * MiB)) >"$work/layout"
	truncate -s "${swap_mib}M" "$work/swap"
	mkswap -q -U "$SWAP_UUID" "$work/swap"
	[ $((swap_off % MiB)) = 0 ] || { echo "swap LV not MiB-aligned" >&2; exit 1; }
	dd if="$work/swap" of="$img" bs=1M seek=$((swap_off / MiB)) conv=notrunc,sparse status=none
fi
mv "$img" "$work/layout" "$out/"
