#!/bin/sh
# Runs the Go benchmarks and prints each against the baseline measured in
# the same run (BenchmarkBaseline* of the same package), and verify on a
# real Debian 12 guest (root only) against an older build of xenify: by
# default the revision before verify stopped decoding kernels at their
# Xen notes (XENIFY_BENCH_BASE_REV overrides it). As root, it also
# converts the real Debian 12 guest (built with mmdebstrap, cached) with
# --initrd append and with --initrd rebuild, and runs the guest's own
# update-initramfs -u in a chroot, in the same run, and prints the ratios.
# verify and convert are measured with the host's kernel cache holding
# the guest's kernel (as after any earlier verify of it on this host) and
# without it (XENIFY_CACHE_DIR=off, or an empty cache).
set -eu
cd "$(dirname "$0")/.."
PATH=/usr/local/go/bin:$PATH
base_rev=${XENIFY_BENCH_BASE_REV:-3aa64ea}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/xenify" ./cmd/xenify
export XENIFY_BENCH_BIN="$tmp/xenify"
if git cat-file -e "$base_rev^{commit}" 2>/dev/null; then
	mkdir "$tmp/base"
	git archive "$base_rev" | tar -x -C "$tmp/base"
	(cd "$tmp/base" && go build -o "$tmp/xenify-base" ./cmd/xenify)
	export XENIFY_BENCH_BASE="$tmp/xenify-base"
fi
out=$(go test -run XXX -bench . -skip 'Debian12Initrd' -benchtime "${BENCHTIME:-20x}" ./internal/cli "$@")
echo "$out" | grep Benchmark
echo "$out" | awk '
/^Benchmark/ && $2 ~ /^[0-9]+$/ { name=$1; sub(/-[0-9]+$/, "", name); ns[name]=$3; order[n++]=name }
END {
	base=ns["BenchmarkBaselineReadTree"]
	printf "\n%-44s %12s %10s\n", "benchmark", "ms/op", "x baseline"
	for (i=0; i<n; i++) { k=order[i]; printf "%-44s %12.2f %10.1f\n", k, ns[k]/1e6, ns[k]/base }
	v="BenchmarkIntegrationVerifyDebian12"
	if ((v "/base") in ns && (v "/binary") in ns) {
		printf "\nverify on Debian 12: %.0f ms, was %.0f ms (%.2fx the older build, same run)\n", ns[v "/binary"]/1e6, ns[v "/base"]/1e6, ns[v "/binary"]/ns[v "/base"]
		if ((v "/binary-nocache") in ns)
			printf "verify without the host cache (a kernel never seen): %.0f ms (%.2fx the older build)\n", ns[v "/binary-nocache"]/1e6, ns[v "/binary-nocache"]/ns[v "/base"]
	}
	printf "\ntargets: plan < 100 ms, convert (own time) < 1000 ms, verify on Debian 12 < 300 ms\n"
}'
if [ "$(id -u)" != 0 ]; then
	printf '\n(not root: the real Debian 12 initrd benchmarks need root; run sudo make bench)\n'
	exit 0
fi
out=$(go test -run XXX -bench 'BenchmarkIntegrationDebian12Initrd' -benchtime "${BENCHTIME_INITRD:-3x}" -timeout 60m ./internal/cli)
echo "$out" | grep Benchmark
echo "$out" | awk '
/^Benchmark/ && $2 ~ /^[0-9]+$/ { name=$1; sub(/-[0-9]+$/, "", name); sub(/^BenchmarkIntegrationDebian12Initrd\//, "", name); ns[name]=$3 }
END {
	a=ns["convert-append"]; c=ns["convert-append-cold"]; r=ns["convert-rebuild"]; u=ns["guest-update-initramfs"]
	printf "\nreal Debian 12 guest, end to end (open, plan, apply, verify):\n"
	printf "%-44s %10.0f ms\n", "convert --initrd append", a/1e6
	printf "%-44s %10.0f ms\n", "convert --initrd append (empty kernel cache)", c/1e6
	printf "%-44s %10.0f ms\n", "convert --initrd rebuild", r/1e6
	printf "%-44s %10.0f ms\n", "update-initramfs -u (chroot)", u/1e6
	printf "rebuild / append: %.1fx (cold cache: %.1fx); update-initramfs / append: %.1fx\n", r/a, r/c, u/a
	printf "targets: append < 1000 ms and > 10x faster than rebuild\n"
}'
