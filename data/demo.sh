#!/usr/bin/env bash
# data/demo.sh: serve data/demo/ from a local test server and fetch all of it
# back with fetchmany, so that one command shows what the tool does.
#
# Usage: data/demo.sh [EXTRA-FETCHMANY-OPTIONS]...
#   e.g. data/demo.sh --json
#
# Environment:
#   FETCHMANY   the binary to run        (default: build/src/fetchmany)
#   DEMO_OUT    the output directory     (default: demo-out)
#   DEMO_JOBS   transfers at once (-j)   (default: 50)
#   DEMO_LIST   where the generated list goes (default: build/demo-urls.txt
#               when build/ exists, else a temporary file)
#   DEMO_FAIL   when 1, add one URL that answers 404 and one invalid line,
#               to show failures and exit status 1
#   HTTPD       the test server          (default: tests/httpd.py)
#   PYTHON      its interpreter          (default: python3)
#
# Exits with fetchmany's own exit status, or 3 when the demo itself could
# not be set up (no binary, server did not start).
set -euo pipefail

cd "$(dirname "$0")/.."

FETCHMANY=${FETCHMANY:-build/src/fetchmany}
DEMO_OUT=${DEMO_OUT:-demo-out}
DEMO_JOBS=${DEMO_JOBS:-50}
DEMO_FAIL=${DEMO_FAIL:-0}
HTTPD=${HTTPD:-tests/httpd.py}
PYTHON=${PYTHON:-python3}
ROOT=data/demo

die() {
	printf 'demo: %s\n' "$*" >&2
	exit 3
}

[[ -x $FETCHMANY ]] || die "$FETCHMANY not found; run 'make build' first"
[[ -f $HTTPD ]] || die "$HTTPD not found"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fetchmany-demo.XXXXXX")
server_pid=

# shellcheck disable=SC2317  # called by the EXIT trap
# Stops the server whatever happened: closing its standard input is the
# polite way; a kill follows if it is still there a moment later.
cleanup() {
	exec 3>&-
	if [[ -n $server_pid ]]; then
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$server_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The server's standard input is a FIFO held open on fd 3, so that it lives
# exactly as long as this script. --lifetime is a backstop should fd 3 leak.
mkfifo "$tmp/stdin"
PYTHONUNBUFFERED=1 "$PYTHON" "$HTTPD" --root "$ROOT" --lifetime 600 \
	<"$tmp/stdin" >"$tmp/server.out" 2>"$tmp/server.err" &
server_pid=$!
exec 3>"$tmp/stdin"

port=
for _ in $(seq 100); do
	if read -r word value <"$tmp/server.out" && [[ $word == PORT ]]; then
		port=$value
		break
	fi
	kill -0 "$server_pid" 2>/dev/null || break
	sleep 0.1
done
if [[ ! $port =~ ^[0-9]+$ ]]; then
	cat "$tmp/server.err" >&2 || true
	die "the test server did not report its port"
fi
base="http://127.0.0.1:$port/static"

# The list: files at the top of data/demo keep the name from their URL;
# files in subfolders get out= so that the output mirrors data/demo. Each
# file is served after its own delay (0.1 to 1 s, the same every run), as
# a real server's would vary, and every ninth answers 503 once, which a
# retry absorbs: completion order and retries show.
if [[ -n ${DEMO_LIST:-} ]]; then
	list=$DEMO_LIST
elif [[ -d build ]]; then
	list=build/demo-urls.txt
else
	list=$tmp/urls.txt
fi
files=()
flaky=0
{
	printf '# fetchmany demo: %s served on port %s\n' "$ROOT" "$port"
	i=0
	while IFS= read -r rel; do
		files+=("$rel")
		i=$((i + 1))
		# 0.1 .. 1.0 s, spread by a multiplicative hash of i
		delay=$(printf '0.%s' $(((i * 2654435761 % 1000) * 9 / 10 + 100)))
		query="?delay=$delay"
		if ((i % 9 == 0)); then
			query="$query&fail=1"
			flaky=$((flaky + 1))
		fi
		if [[ $rel == */* ]]; then
			printf '%s/%s%s out=%s\n' "$base" "$rel" "$query" "$rel"
		else
			printf '%s/%s%s\n' "$base" "$rel" "$query"
		fi
	done < <(cd "$ROOT" && find . -type f ! -name '.*' | sed 's|^\./||' | LC_ALL=C sort)
	if [[ $DEMO_FAIL == 1 ]]; then
		printf '%s/flags/xx.png out=flags/xx.png\n' "$base"
		printf 'ftp://127.0.0.1:%s/not-http.txt\n' "$port"
	fi
} >"$list"

count=$(grep -vc '^#' "$list")
printf '==> %d URLs from %s/, served on %s, into %s/ with -j %s\n' \
	"$count" "$ROOT" "$base" "$DEMO_OUT" "$DEMO_JOBS"
printf '==> %s -j %s -o %s%s %s\n\n' "$FETCHMANY" "$DEMO_JOBS" \
	"$DEMO_OUT" "${*:+ $*}" "$list"

status=0
t0=$(date +%s.%N)
"$FETCHMANY" -j "$DEMO_JOBS" -o "$DEMO_OUT" "$@" "$list" \
	| tee "$tmp/results" || status=${PIPESTATUS[0]}
t1=$(date +%s.%N)

# Check what landed against what was served.
same=0
differ=()
for rel in "${files[@]}"; do
	if cmp -s "$ROOT/$rel" "$DEMO_OUT/$rel"; then
		same=$((same + 1))
	else
		differ+=("$rel")
	fi
done
printf '\n==> fetchmany exit status %d; %d of %d files in %s/ match %s/\n' \
	"$status" "$same" "${#files[@]}" "$DEMO_OUT" "$ROOT"
for rel in "${differ[@]}"; do
	printf '    differs or missing: %s\n' "$rel"
done
# What one at a time would have cost: the sum of each file's own time
# (text: the fourth field; --json: "seconds"), against the run's wall time.
"$PYTHON" - "$tmp/results" "$t0" "$t1" "$flaky" <<'PY' || true
import json, sys
total, n = 0.0, 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    line = line.strip()
    try:
        total += float(json.loads(line)["seconds"]) if line.startswith("{") \
            else float(line.split("\t")[3])
        n += 1
    except (ValueError, KeyError, IndexError, TypeError):
        pass
wall = float(sys.argv[3]) - float(sys.argv[2])
if n and wall > 0:
    print("==> %d entries in %.2f s; one at a time they would have taken "
          "%.2f s (%.1fx); %s of them answered 503 once and were retried"
          % (n, wall, total, total / wall, sys.argv[4]))
PY
exit "$status"
