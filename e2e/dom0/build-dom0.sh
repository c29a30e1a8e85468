#!/bin/bash
# build-dom0.sh OUTDIR HYPERVISOR_DEB
#
# Builds the Debian 12 dom0 used by the e2e boot-proof tier:
#   OUTDIR/dom0.img     ext4 root filesystem (made with mke2fs -d, no loop/mount)
#   OUTDIR/vmlinuz      dom0 kernel
#   OUTDIR/initrd.img   dom0 initramfs
#   OUTDIR/xen          gunzipped Xen 4.17 hypervisor (multiboot image for QEMU -kernel)
# HYPERVISOR_DEB is the xen-hypervisor-4.17-amd64 .deb; it is only unpacked with
# dpkg-deb -x, never installed on the host. qemu-system-xen is the device
# model for HVM guests and serves a PV guest's framebuffer over VNC.
# The image holds only xenify-e2e-boot; the driver comes with each job.
set -euo pipefail

out=$1
hvdeb=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${out}/.dom0.XXXXXX")
cleanup() {
	# Never recurse into a chroot that still has /proc, /sys or /dev mounted.
	if grep -q " $work/" /proc/self/mountinfo; then
		echo "not removing $work: still has mounts" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

mkdir -p "$work/hv"
dpkg-deb -x "$hvdeb" "$work/hv"
gz=$(ls "$work"/hv/boot/xen-4.17-amd64.gz)
gunzip -c "$gz" >"$work/xen"

root="$work/root"
mmdebstrap \
	--variant=minbase \
	--aptopt='Apt::Install-Recommends "false"' \
	--include=systemd-sysv,udev,kmod,iproute2,procps,linux-image-amd64,initramfs-tools,xen-utils-4.17,xen-utils-common,python3,util-linux,tar,lvm2,dmsetup,qemu-system-xen,seabios \
	--customize-hook='echo xenify-dom0 >"$1/etc/hostname"' \
	--customize-hook='printf "/dev/vda / ext4 rw,errors=remount-ro 0 1\n" >"$1/etc/fstab"' \
	--customize-hook='printf "xen-blkback\nxen-gntdev\nxen-evtchn\nxenfs\nqemu_fw_cfg\n" >"$1/etc/modules-load.d/xenify-e2e.conf"' \
	--customize-hook="copy-in $here/xenify-e2e.service /etc/systemd/system" \
	--customize-hook="copy-in $here/xenify-e2e-boot /usr/local/sbin" \
	--customize-hook='chmod 0755 "$1/usr/local/sbin/xenify-e2e-boot"' \
	--customize-hook='ln -sf /etc/systemd/system/xenify-e2e.service "$1/etc/systemd/system/multi-user.target.wants/xenify-e2e.service"' \
	--customize-hook='for u in xendomains.service serial-getty@hvc0.service getty@tty1.service serial-getty@ttyS0.service systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer e2scrub_reap.service; do ln -sf /dev/null "$1/etc/systemd/system/$u"; done' \
	--customize-hook='passwd --root "$1" -d root' \
	--customize-hook='sed -i "s/^activation {\$/&\n\tauto_activation_volume_list = []/" "$1/etc/lvm/lvm.conf"' \
	--customize-hook='chroot "$1" lvmconfig activation/auto_activation_volume_list | grep -qx "auto_activation_volume_list=\[\]"' \
	bookworm "$root"

cp "$root"/boot/vmlinuz-* "$work/vmlinuz"
cp "$root"/boot/initrd.img-* "$work/initrd.img"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
size=$(( $(du -sm "$root" | cut -f1) + 400 ))
mke2fs -q -t ext4 -L dom0root -d "$root" "$work/dom0.img" "${size}M"

mv "$work/xen" "$work/vmlinuz" "$work/initrd.img" "$work/dom0.img" "$out/"
