#!/bin/sh
# Installs every Debian 12 package xenify's build and tests use, and a Go
# toolchain new enough for go.mod when the machine has none.
# Run as root on a fresh Debian 12 machine (CI does the same).
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
	ca-certificates make gcc git \
	e2fsprogs xfsprogs btrfs-progs dosfstools fdisk util-linux lvm2 mdadm cryptsetup-bin \
	cpio gzip bzip2 xz-utils zstd lz4 lzop \
	rpm dpkg-dev file kmod busybox-static grub-common grub-xen-host grub-pc-bin grub2-common iproute2 iputils-ping \
	xen-utils-4.17 mmdebstrap qemu-system-x86 qemu-utils \
	openssh-client rsync \
	python3

# openssh-server for the remote copy tests, which run their own sshd on
# 127.0.0.1: keep its package scripts from starting a system service
# (policy-rc.d exit 101 = "not allowed").
if ! dpkg -s openssh-server >/dev/null 2>&1; then
	policy=/usr/sbin/policy-rc.d
	had_policy=0
	[ -e "$policy" ] && had_policy=1
	[ "$had_policy" = 1 ] || { printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; }
	apt-get install -y --no-install-recommends openssh-server
	[ "$had_policy" = 1 ] || rm -f "$policy"
fi

# Go: the version go.mod names, unless /usr/local/go already has it. On a
# machine without Go, scripts/install-go.sh fetches it through the go
# command's own module proxy (bootstrapped from Debian's golang-go); an
# older /usr/local/go fetches go$want itself (GOTOOLCHAIN=auto).
want=$(awk '/^go /{print $2}' "$(dirname "$0")/../go.mod")
if [ ! -x /usr/local/go/bin/go ]; then
	"$(dirname "$0")/install-go.sh" "$want" /usr/local/go
fi
/usr/local/go/bin/go version
