#!/usr/bin/env bash
# tests/fuzz/run.sh: run the libFuzzer targets of a -Dfuzz=enabled build.
#
#   tests/fuzz/run.sh BUILDDIR [SECONDS] [TARGET...]
#       For each target (default: all four): replay the saved crash
#       reproducers in crashes/TARGET/, then fuzz for SECONDS (default 60)
#       starting from a temporary copy of corpus/TARGET/, so the seed corpus
#       in the repository is never written to. New crashes land in
#       BUILDDIR/fuzz-artifacts/. Exits non-zero when any target crashed.
#   tests/fuzz/run.sh --replay BINARY TARGET
#       Runs every seed and every saved reproducer of TARGET once (what
#       `meson test --suite fuzz` does).
#
# Environment: FUZZ_CORPUS_DIR=DIR fuzzes in DIR/TARGET/ instead of a
# temporary directory and keeps what it finds there (handy locally;
# seeds are copied in first). FUZZ_ARGS adds libFuzzer options.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
all_targets=(fuzz_list fuzz_name fuzz_headers fuzz_sums)

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# The files of a directory, for libFuzzer to run once each.
files_of() {
	[[ -d $1 ]] || return 0
	find "$1" -maxdepth 1 -type f ! -name 'README*' ! -name '.*' | sort
}

replay() {
	local bin=$1 target=$2 f
	local -a inputs=()

	while IFS= read -r f; do inputs+=("$f"); done < <(
		files_of "$here/corpus/$target"
		files_of "$here/crashes/$target")
	if [[ ${#inputs[@]} -eq 0 ]]; then
		echo "$target: nothing to replay" >&2
		return 1
	fi
	echo "$target: replaying ${#inputs[@]} inputs"
	# libFuzzer runs files given by name once each, without fuzzing.
	local log rc=0
	log=$(mktemp)
	"$bin" -rss_limit_mb=2048 -timeout=10 "${inputs[@]}" >"$log" 2>&1 || rc=$?
	grep -v '^Running: \|^Executed ' "$log" || true
	rm -f "$log"
	# Not libFuzzer's 77, which meson test would take for "skipped".
	[[ $rc -eq 0 ]] || return 1
}

hexdump_of() {
	od -An -tx1 -v "$1" | tr -d ' \n' | fold -w 64 | head -n 64
	echo
}

if [[ ${1:-} == --replay ]]; then
	[[ $# -eq 3 ]] || { echo "usage: $0 --replay BINARY TARGET" >&2; exit 2; }
	replay "$2" "$3"
	exit
fi

if [[ $# -lt 1 ]]; then
	echo "usage: $0 BUILDDIR [SECONDS] [TARGET...]" >&2
	exit 2
fi
builddir=$(cd "$1" && pwd)
seconds=${2:-60}
shift $(($# >= 2 ? 2 : 1))
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all_targets[@]}")

artifacts=$builddir/fuzz-artifacts
mkdir -p "$artifacts"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fetchmany-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

failed=()
for t in "${targets[@]}"; do
	bin=$builddir/tests/fuzz/$t
	if [[ ! -x $bin ]]; then
		echo "$t: no $bin; configure with -Dfuzz=enabled and compile" >&2
		exit 2
	fi
	printf '\n---- %s: replay ----\n' "$t"
	if ! replay "$bin" "$t"; then
		echo "$t: a seed or a saved reproducer in tests/fuzz/crashes/$t/ crashes" >&2
		failed+=("$t(replay)")
		continue
	fi

	if [[ -n ${FUZZ_CORPUS_DIR:-} ]]; then
		corpus=$FUZZ_CORPUS_DIR/$t
	else
		corpus=$tmp/$t
	fi
	mkdir -p "$corpus"
	cp -R "$here/corpus/$t/." "$corpus/"
	dict=()
	[[ -f $here/$t.dict ]] && dict=("-dict=$here/$t.dict")
	printf '\n---- %s: fuzzing for %ss ----\n' "$t" "$seconds"
	stamp=$tmp/started.$t
	touch "$stamp"
	rc=0
	# shellcheck disable=SC2086 # FUZZ_ARGS is a list of options
	"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 "${dict[@]}" \
		-artifact_prefix="$artifacts/$t-" ${FUZZ_ARGS:-} "$corpus" || rc=$?
	if [[ $rc -ne 0 ]]; then
		failed+=("$t")
		echo "$t: libFuzzer exited $rc" >&2
		find "$artifacts" -maxdepth 1 -name "$t-*" -newer "$stamp" |
		while IFS= read -r a; do
			echo "$t: reproducer $a (hex):" >&2
			hexdump_of "$a" >&2
		done
		echo "$t: keep the reproducer in tests/fuzz/crashes/$t/;" \
			"rerun it with: $bin FILE" >&2
	fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
	printf '\nfuzzing FAILED: %s\n' "${failed[*]}" >&2
	exit 1
fi
printf '\nfuzzing passed: %s, %ss each\n' "${targets[*]}" "$seconds"
