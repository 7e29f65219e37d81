#!/bin/sh
# Client CPU per visitor (issue 15, item 7): `targetflow run --execute
# hero,cart --concurrency 256` against the bare net/http loop, alternated
# round by round, both against one Delivery API stand-in at 20 ms latency
# (a process of its own, so its CPU is in neither figure). Between them run
# the floor, the bare loop with what targetflow run cannot skip (a timeout
# context per call, every answer decoded by the client's own decoder), and
# clientloop, target.Client's GetOffers alone from as many goroutines,
# which tells the client's share of the difference from the pipeline's
# (bareloop and clientloop exit non-zero when a visitor failed). Each line: who,
# wall-clock rate, process CPU (user + system, from /usr/bin/time) per
# visitor, max RSS; the last lines give the ratios of each round.
#
#   internal/bench/clientcpu.sh [rounds (5)] [visitors (60000)] [concurrency (256)]
#
# Run from the repository root. BASELINE=/path/to/another/targetflow adds a
# third contestant to every round (e.g. main's build). PORT picks the
# stand-in's loopback port (18090).
set -eu
rounds=${1:-5}
visitors=${2:-60000}
conc=${3:-256}
port=${PORT:-18090}
. "$(dirname "$0")/lib.sh"

go build -o "$dir/targetflow" ./cmd/targetflow
go build -o "$dir/standin" ./internal/bench/cmd/standin
go build -o "$dir/bareloop" ./internal/bench/cmd/bareloop
go build -o "$dir/clientloop" ./internal/bench/cmd/clientloop
generate_visitors "$visitors" "$dir/visitors.jsonl"

serve "$dir/standin.log" "$dir/standin" --addr "127.0.0.1:$port" --latency 20ms

# measure NAME COMMAND...: one run, one line.
measure() {
	name=$1
	shift
	if ! /usr/bin/time -f "%e %U %S %M" -o "$dir/time" "$@" >/dev/null 2>"$dir/err"; then
		echo "$name failed:" >&2
		cat "$dir/err" >&2
		exit 1
	fi
	if [ "$name" != bare ] && [ "$name" != floor ] && [ "$name" != client ] && ! grep -q "ok $visitors " "$dir/err"; then
		echo "$name: not every visitor ok:" >&2
		cat "$dir/err" >&2
		exit 1
	fi
	awk -v name="$name" -v n="$visitors" '{
		printf "%-10s %8.0f visitors/s %7.1f µs CPU/visitor %7.0f MB RSS\n", name, n / $1, ($2 + $3) * 1e6 / n, $4 / 1024
	}' "$dir/time" | tee -a "$dir/results"
}

run_targetflow() {
	measure "$1" "$2" run --input "$dir/visitors.jsonl" --execute hero,cart \
		--server-domain "127.0.0.1:$port" --insecure --client targetflow-demo --organization-id "$org" \
		--concurrency "$conc" --output /dev/null
}

for round in $(seq "$rounds"); do
	echo "round $round"
	measure bare "$dir/bareloop" --url "http://127.0.0.1:$port" --visitors "$visitors" --concurrency "$conc" --organization-id "$org"
	measure floor "$dir/bareloop" --url "http://127.0.0.1:$port" --visitors "$visitors" --concurrency "$conc" --organization-id "$org" \
		--timeout 3s --decode
	measure client "$dir/clientloop" --server-domain "127.0.0.1:$port" --visitors "$visitors" --concurrency "$conc" --organization-id "$org"
	run_targetflow targetflow "$dir/targetflow"
	if [ -n "${BASELINE:-}" ]; then
		run_targetflow baseline "$BASELINE"
	fi
done

echo "ratios per round (to bare): rate, CPU per visitor; and CPU per visitor to the floor's"
awk '
	$1 == "bare" { rate = $2; cpu = $4 }
	$1 == "floor" { floor = $4; printf "  floor       rate %.2f×  CPU %.2f×\n", $2 / rate, $4 / cpu }
	$1 == "client" || $1 == "targetflow" || $1 == "baseline" {
		printf "  %-10s  rate %.2f×  CPU %.2f×  (%.2f× the floor)\n", $1, $2 / rate, $4 / cpu, $4 / floor
	}
' "$dir/results"
