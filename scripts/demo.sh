#!/bin/sh
# Converts the bundled CentOS 5 sample guest in a scratch copy and shows
# what changed; then rolls it back. Needs no disks and changes nothing
# outside a temporary directory.
set -eu
cd "$(dirname "$0")/.."
PATH=/usr/local/go/bin:$PATH
go build -o bin/xenify ./cmd/xenify
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -a testdata/guests/centos5-x86_64 "$work/guest"
echo "== xenify inspect (bundled CentOS 5 x86_64 sample)"
bin/xenify inspect "$work/guest"
echo
echo "== xenify convert"
# The sample's binaries are placeholders, so the guest's own commands
# (mkinitrd) are printed rather than run.
bin/xenify convert --skip-guest-commands --name centos5 \
	--hypervisor-caps "xen-3.0-x86_64 xen-3.0-x86_32p" \
	--config-out "$work/centos5.cfg" "$work/guest"
echo
echo "== domain config ($work/centos5.cfg)"
cat "$work/centos5.cfg"
echo
echo "== fstab after conversion"
cat "$work/guest/etc/fstab"
echo
echo "== xenify rollback"
bin/xenify rollback "$work/guest"
diff -r testdata/guests/centos5-x86_64 "$work/guest" && echo "rollback restored the sample exactly"
