# What the bench scripts share; each sources it after `set -eu`. It makes
# $dir, a temporary directory removed at exit together with the server that
# serve started, and names the demo organization.
org=7A1B2C3D4E5F60718293A4B5@AdobeOrg
dir=$(mktemp -d)
server=
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null && { wait "$server" 2>/dev/null || true; }
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

# serve LOG COMMAND...: COMMAND in the background, its output in LOG, given a
# second to listen. It is stopped at exit.
serve() {
	log=$1
	shift
	"$@" >"$log" 2>&1 &
	server=$!
	sleep 1
}

# generate_visitors N FILE: N visitors, each with a tntId of its own.
generate_visitors() {
	seq "$1" | awk '{printf "{\"id\":{\"tntId\":\"%032x\"}}\n", $1}' >"$2"
}
