/* fm_result.h: the result record of one entry, and its two renderings.
 *
 * Pure formatting: the text line and the JSON Lines record of spec
 * section 6, and the closing summary line. */
#ifndef FM_RESULT_H
#define FM_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fm_digest.h"

enum fm_status {
	FM_STATUS_OK,
	FM_STATUS_UNCHANGED,
	FM_STATUS_SKIPPED,
	FM_STATUS_FAILED,
	FM_STATUS_INVALID,
	FM_STATUS_PLANNED, /* --dry-run: would be fetched */
	FM_STATUS_COUNT
};

struct fm_result {
	const char *url;     /* may be NULL (an invalid line with no URL) */
	const char *from;    /* with mirrors: the URL whose answer settled
				the entry (delivered the body, or said it is
				unchanged), or NULL when none did */
	char *const *mirrors; /* the entry's other URLs, nmirrors of them;
				NULL: it has none, and the JSON record has
				neither "from" nor "mirrors" */
	unsigned nmirrors;
	const char *out;     /* the entry's out=, or NULL */
	const char *path;    /* output path as opened, or NULL */
	enum fm_status status;
	long http_status;    /* 0: no response arrived */
	uint64_t bytes;      /* body bytes written (--check: announced) */
	bool bytes_unknown;  /* --check: no size announced (null, "-") */
	double seconds;      /* final attempt's start to outcome */
	unsigned attempts;
	const char *error;   /* NULL when none */
	const char *digest[FM_ALGOS]; /* each the expected digest, or the
				computed one (--sha256), or NULL */
	unsigned long line;  /* input line number, 0 for URL arguments */
	const char *source;  /* list name, "-" for stdin, NULL for arguments */
};

/* Tally of results for the summary line. */
struct fm_tally {
	unsigned long count[FM_STATUS_COUNT];
	uint64_t bytes;
};

/* Returns the status name used in both formats ("ok", "failed", ...). */
const char *fm_status_name(enum fm_status s);

/* Renders r as one JSON object, keys in the spec's order, with a trailing
 * newline ("from" and "mirrors" only with mirrors). Returns a malloc'd
 * string or NULL when out of memory. */
char *fm_result_json(const struct fm_result *r);

/* Renders r as the default tab-separated line, with a trailing newline:
 * STATUS HTTP BYTES SECONDS URL PATH-or-ERROR ("-" for what is missing).
 * Returns a malloc'd string or NULL when out of memory. */
char *fm_result_text(const struct fm_result *r);

/* The error of an entry with mirrors that failed on all its URLs, or ran
 * out of retries: "all N URLs failed: URL: WHY; URL: WHY; ..." with each
 * URL's last failure, in order, or, when some were never tried,
 * "M of N URLs failed, no retries left: " and those tried. urls[i] is URL
 * i, whys[i] its last failure (NULL: not tried). Written into buf (cap
 * bytes); when it does not fit, the longest parts are cut alike, each
 * ending in "...", so that every URL keeps a fair share (never splitting
 * a UTF-8 sequence), and when even that leaves too little of each, the
 * first ones are named and "+K more" counts the rest. Returns buf. */
char *fm_result_urls_failed(char *buf, size_t cap, const char *const urls[],
			    const char *const whys[], unsigned n);

/* Formats n bytes as "12.3 MiB" into buf. Returns buf. */
char *fm_human_bytes(uint64_t n, char *buf, size_t cap);

/* Renders the summary: counts by status (zero counts left out), bytes,
 * elapsed seconds and mean rate, plus "N left" when left > 0, into buf
 * without a trailing newline. Returns buf. */
char *fm_summary_format(const struct fm_tally *t, double elapsed,
			unsigned long left, char *buf, size_t cap);

#endif
