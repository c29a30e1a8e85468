#!/bin/sh
# Installs every Debian 12 package xenify's build and tests use.
# Run as root on a fresh Debian 12 machine (CI does the same).
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
	ca-certificates make gcc git \
	e2fsprogs xfsprogs dosfstools fdisk util-linux lvm2 mdadm \
	cpio gzip bzip2 xz-utils zstd lz4 lzop \
	rpm dpkg-dev file kmod \
	xen-utils-4.17 mmdebstrap qemu-system-x86 qemu-utils
if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
	apt-get install -y --no-install-recommends golang-go
fi
