#!/bin/sh
# Installs every Debian 12 package xenify's build and tests use, and a Go
# toolchain new enough for go.mod when the machine has none.
# Run as root on a fresh Debian 12 machine (CI does the same).
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
	ca-certificates curl unzip make gcc git \
	e2fsprogs xfsprogs btrfs-progs dosfstools fdisk util-linux lvm2 mdadm grub-common \
	cpio gzip bzip2 xz-utils zstd lz4 lzop \
	rpm dpkg-dev file kmod grub-xen-host \
	xen-utils-4.17 mmdebstrap qemu-system-x86 qemu-utils

# Go: the version go.mod names, from the Go module proxy (which serves
# toolchains as modules), unless /usr/local/go already has it.
want=$(awk '/^go /{print $2}' "$(dirname "$0")/../go.mod")
have=""
[ -x /usr/local/go/bin/go ] && have=$(/usr/local/go/bin/go env GOVERSION 2>/dev/null || true)
if [ "$have" != "go$want" ] && ! /usr/local/go/bin/go version 2>/dev/null | grep -q "go$want"; then
	case "$(uname -m)" in
	x86_64) arch=amd64 ;;
	aarch64) arch=arm64 ;;
	*) echo "install-deps: no Go toolchain for $(uname -m)" >&2; exit 1 ;;
	esac
	if [ -z "$have" ]; then
		tmp=$(mktemp -d)
		curl -fsSL -o "$tmp/go.zip" "https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-go$want.linux-$arch.zip"
		unzip -q "$tmp/go.zip" -d "$tmp"
		rm -rf /usr/local/go
		mv "$tmp/golang.org/toolchain@v0.0.1-go$want.linux-$arch" /usr/local/go
		chmod +x /usr/local/go/bin/* /usr/local/go/pkg/tool/*/* 2>/dev/null || true
		rm -rf "$tmp"
	fi
	# An older /usr/local/go fetches go$want itself (GOTOOLCHAIN=auto).
fi
/usr/local/go/bin/go version
