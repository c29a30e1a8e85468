// Package e2e is xenify's boot-proof test tier: it builds native Debian disk
// images "as if installed on a physical PC", converts them with the xenify
// binary, and boots each one as a paravirtualized guest under a real Xen 4.17,
// which itself runs inside QEMU with a Debian 12 dom0.
//
// The tier's tests carry the build tag "e2e" and need root:
//
//	go test -tags e2e ./e2e -timeout 80m -v
//
// The pure helpers in this package (serial log parsing, domain config disk
// rewrite, QEMU argv) are tested without the tag.
//
// Layout:
//
//	dom0/      dom0 image recipe (mmdebstrap), its one-shot service and console driver
//	guest/     native guest image recipe (mmdebstrap + sfdisk + mke2fs -E offset=)
//	qemu.go    the QEMU command line and accelerator detection
//	cache.go   the build cache under $XENIFY_E2E_CACHE (default /var/cache/xenify-e2e)
//	convert.go the convert step: $XENIFY_BIN, or the hand conversion positive control
//	report.go  reading the marker lines dom0 prints to QEMU's serial port
package e2e
