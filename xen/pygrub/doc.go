// Package pygrub predicts what Xen 4.17's pygrub (Debian 12,
// /usr/lib/xen-4.17/bin/pygrub) does with a domU's first disk: which
// filesystems it tries, which configuration file it reads, which entries it
// sees, which one it boots, and whether the kernel and initrd exist.
//
// It is an emulation of the installed Python code, bug for bug, checked
// against the real pygrub on built disk images (TestIntegrationPygrubCorpus)
// and against pygrub's parser classes on thousands of generated configs
// (TestParsersMatchPygrubRandom). Behaviours that surprise:
//
//   - The MBR active flag is ignored (a Python 3 bytes/str comparison), so
//     partitions are tried in slot order; logical partitions are never
//     tried; type 0x82 (Linux swap) is probed as a Solaris VTOC and
//     skipped; a GPT's entries are read from LBA 2 whatever the header
//     says, and empty entries add offset 0.
//   - GRUB 2 "set default" must be a plain non-negative number: "saved",
//     "${saved_entry}", "${next_entry}", titles and submenu paths such as
//     "1>2" all give entry 0; a negative number makes pygrub skip the
//     partition. Submenus are flattened, so "2" counts entries inside
//     submenus. "if" is ignored: every "set default" line counts and the
//     last one wins (Rocky 9's fallback-counting "set default=1").
//   - An out-of-range default boots entry 0.
//   - blscfg is not implemented: BLS snippets are invisible; a Rocky 9
//     grub.cfg leaves no usable entry at all.
//   - Only linux/linux16 and initrd/initrd16 are read in a menuentry
//     (not linuxefi/initrdefi); "initrd a b" is one path "a b".
//   - extlinux: only label/kernel/append; LINUX and INITRD lines and
//     "menu default" are ignored; initrd= is taken from APPEND only when
//     KERNEL came first.
//   - XFS is readable only as v4 without ftype; ext2/3/4 through the
//     host's libext2fs; there is no btrfs reader.
//   - `pygrub -l` stops listing at the first entry without a kernel or
//     initrd line and still exits 0.
package pygrub
