package run

// Host tools xenify calls, in one place. Guest tools (mkinitrd, dracut,
// yum, rpm, update-initramfs, setfiles) are named by the distro families in
// package distro, since their paths differ per release.
const (
	Losetup  = "losetup"
	Mount    = "mount"
	Umount   = "umount"
	Blockdev = "blockdev"
	Xl       = "xl"
	Xm       = "xm"
	Lvm      = "lvm"
	Mdadm    = "mdadm"
	SSH      = "ssh"
)
