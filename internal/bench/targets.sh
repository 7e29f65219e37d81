#!/bin/sh
# The run targets of the README's Performance section, side by side: every
# measurement alternates NEW (a targetflow binary) with OLD (another build,
# e.g. of the code before a change), round by round, each run under
# /usr/bin/time (wall, user, system, max RSS):
#
#   - decide over 100,000 generated requests (outputs compared byte for byte);
#   - on-device runs over 1,000,000 visitors, prefetch hero,cart;
#   - --checkpoint against no checkpoint, both writing to a file (NEW only);
#   - peak RSS at 100,000 and 1,000,000 visitors with --checkpoint (NEW only);
#   - remote runs of 20,000 visitors x 2 mboxes against NEW's edge at 20 ms.
#
#   internal/bench/targets.sh NEW OLD [rounds (3)]
#
# Inputs and outputs go to a temporary directory, removed at the end.
# PORT picks the edge's loopback port (18081).
set -eu
new=$(realpath "$1")
old=$(realpath "$2")
rounds=${3:-3}
port=${PORT:-18081}
. "$(dirname "$0")/lib.sh"
cd "$dir"

generate_visitors 1000000 v1m.jsonl
head -100000 v1m.jsonl >v100k.jsonl
head -20000 v1m.jsonl >v20k.jsonl
"$new" decide --artifact demo --generate 100000 --output req.jsonl

# measure NAME COMMAND...: one run, one line (and the run's own summary line).
measure() {
	name=$1
	shift
	if ! /usr/bin/time -f "%e %U %S %M" -o time "$@" >/dev/null 2>err; then
		echo "$name failed:" >&2
		cat err >&2
		exit 1
	fi
	summary=$(grep -m1 -E 'visitors/s' err || true)
	awk -v name="$name" -v s="$summary" '{
		printf "%-12s %6.2f s wall %6.2f s CPU %4.0f MB   %s\n", name, $1, $2 + $3, $4 / 1024, s
	}' time
}

echo "== decide, 100,000 requests"
for _ in $(seq "$rounds"); do
	measure old "$old" decide --artifact demo --client targetflow-demo --input req.jsonl --output resp-old.jsonl
	measure new "$new" decide --artifact demo --client targetflow-demo --input req.jsonl --output resp-new.jsonl
done
cmp resp-old.jsonl resp-new.jsonl && echo "outputs identical"

ondevice() { echo run --decisioning on-device --prefetch hero,cart --input "$@"; }
echo "== on-device, 1,000,000 visitors"
for _ in $(seq "$rounds"); do
	measure old "$old" $(ondevice v1m.jsonl) --output /dev/null
	measure new "$new" $(ondevice v1m.jsonl) --output /dev/null
done
echo "== --checkpoint, 1,000,000 visitors to a file"
for _ in $(seq $((rounds + 2))); do
	rm -f out.jsonl ck
	measure file "$new" $(ondevice v1m.jsonl) --output out.jsonl
	rm -f out.jsonl ck
	measure checkpoint "$new" $(ondevice v1m.jsonl) --output out.jsonl --checkpoint ck
done
rm -f out.jsonl ck
measure 100k+ck "$new" $(ondevice v100k.jsonl) --output out.jsonl --checkpoint ck
rm -f out.jsonl ck

echo "== remote, 20 ms edge, 20,000 visitors"
serve edge.log "$new" edge --addr "127.0.0.1:$port" --latency 20ms --log-level warn
for _ in $(seq "$rounds"); do
	for who in old new; do
		bin=$old
		[ "$who" = new ] && bin=$new
		measure "$who" "$bin" run --input v20k.jsonl --execute hero,cart --server-domain "127.0.0.1:$port" --insecure \
			--client targetflow-demo --organization-id "$org" --concurrency 256 --output /dev/null
	done
done
