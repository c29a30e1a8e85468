#!/bin/sh
# Installs Go toolchain VERSION (e.g. 1.26.8) into DEST (default
# /usr/local/go), fetched as the module golang.org/toolchain through the go
# command's own module proxy, the way `GOTOOLCHAIN=goX.Y.Z` does. The
# repository names no download host: the bootstrap go command ($GO, else
# Debian's golang-go, installed when missing) uses its default GOPROXY and
# checksum database.
#
#	scripts/install-go.sh VERSION [DEST]
set -eu
want=$1
dest=${2:-/usr/local/go}
case "$(uname -m)" in
x86_64) arch=amd64 ;;
aarch64) arch=arm64 ;;
*) echo "install-go: no Go toolchain for $(uname -m)" >&2; exit 1 ;;
esac
if [ -z "${GO:-}" ]; then
	if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/lib/go/bin/go ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends golang-go
	fi
	GO=$(command -v go || echo /usr/lib/go/bin/go)
fi
mod="golang.org/toolchain@v0.0.1-go$want.linux-$arch"
scratch=$(mktemp -d)
cleanup() { chmod -R u+w "$scratch" 2>/dev/null || true; rm -rf "$scratch"; }
trap cleanup EXIT
# A scratch module and module cache, so nothing of the machine's own
# GOPATH or of this repository is touched.
cd "$scratch"
export GOMODCACHE="$scratch/modcache" GOPATH="$scratch/gopath" GOFLAGS=-mod=mod GOTOOLCHAIN=local
"$GO" mod init scratch >/dev/null 2>&1
"$GO" mod download -json "$mod" >download.json
dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' download.json)
if [ -z "$dir" ] || [ ! -d "$dir/bin" ]; then
	echo "install-go: go mod download $mod gave no directory:" >&2
	cat download.json >&2
	exit 1
fi
rm -rf "$dest.new"
cp -R "$dir" "$dest.new"
chmod -R u+w "$dest.new"
# Module zips keep no file modes: restore the exec bits of the commands,
# as the go command does when it switches toolchains itself.
chmod +x "$dest.new"/bin/* "$dest.new"/pkg/tool/*/*
"$dest.new/bin/go" version >/dev/null
rm -rf "$dest"
mv "$dest.new" "$dest"
"$dest/bin/go" version
