#!/bin/sh
# Runs the Go benchmarks and prints each against the baseline measured in
# the same run (BenchmarkBaseline* of the same package), and verify on a
# real Debian 12 guest (root only) against an older build of xenify: by
# default the revision before verify stopped decoding kernels at their
# Xen notes (XENIFY_BENCH_BASE_REV overrides it).
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
out=$(go test -run XXX -bench . -benchtime "${BENCHTIME:-20x}" ./internal/cli "$@")
echo "$out" | grep Benchmark
echo "$out" | awk '
/^Benchmark/ && $2 ~ /^[0-9]+$/ { name=$1; sub(/-[0-9]+$/, "", name); ns[name]=$3; order[n++]=name }
END {
	base=ns["BenchmarkBaselineReadTree"]
	printf "\n%-44s %12s %10s\n", "benchmark", "ms/op", "x baseline"
	for (i=0; i<n; i++) { k=order[i]; printf "%-44s %12.2f %10.1f\n", k, ns[k]/1e6, ns[k]/base }
	v="BenchmarkIntegrationVerifyDebian12"
	if ((v "/base") in ns && (v "/binary") in ns)
		printf "\nverify on Debian 12: %.0f ms, was %.0f ms (%.2fx the older build, same run)\n", ns[v "/binary"]/1e6, ns[v "/base"]/1e6, ns[v "/binary"]/ns[v "/base"]
	printf "\ntargets: plan < 100 ms, convert (own time) < 1000 ms, verify on Debian 12 < 300 ms\n"
}'
