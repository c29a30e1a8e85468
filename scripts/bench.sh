#!/bin/sh
# Runs the Go benchmarks and prints each against the baseline measured in
# the same run (BenchmarkBaseline* of the same package).
set -eu
cd "$(dirname "$0")/.."
PATH=/usr/local/go/bin:$PATH
out=$(go test -run XXX -bench . -benchtime "${BENCHTIME:-20x}" ./internal/cli "$@")
echo "$out" | grep Benchmark
echo "$out" | awk '
/^Benchmark/ { name=$1; sub(/-[0-9]+$/, "", name); ns[name]=$3; order[n++]=name }
END {
	base=ns["BenchmarkBaselineReadTree"]
	printf "\n%-32s %12s %10s\n", "benchmark", "ms/op", "x baseline"
	for (i=0; i<n; i++) { k=order[i]; printf "%-32s %12.2f %10.1f\n", k, ns[k]/1e6, ns[k]/base }
	printf "\ntargets: plan < 100 ms, convert (own time) < 1000 ms\n"
}'
