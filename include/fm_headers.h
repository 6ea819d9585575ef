/* fm_headers.h: the response headers fetchmany acts on.
 *
 * Pure parsing of header lines as libcurl hands them over, one at a time:
 * the validators (ETag, Last-Modified) kept for resuming and conditional
 * requests, Content-Range for resumes, and the Content-Disposition file
 * name, sanitised. A status line starts a new response (redirect hops,
 * 1xx answers), so only the final response's headers are kept. */
#ifndef FM_HEADERS_H
#define FM_HEADERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fm_name.h"

#define FM_ETAG_MAX 256

/* The strings are "" when absent, never NULL once initialised; present
 * ones are held on the heap, only as long as they are (a slot keeps one
 * of these per transfer, and most values are a few dozen bytes). */
struct fm_resp {
	char *etag;              /* as sent, quotes included; < FM_ETAG_MAX */
	char *last_modified;     /* as sent; < 64 bytes */
	char *filename;          /* sanitised Content-Disposition name */
	bool has_range;          /* a usable Content-Range was seen */
	bool encoded;            /* a Content-Encoding other than identity */
	int64_t range_first, range_last; /* -1 for "bytes * /total" */
	int64_t range_total;     /* -1 when "*" */
	double retry_after;      /* Retry-After as delta-seconds; HUGE_VAL
				    when too large to represent; -1 when
				    absent or unusable */
	int64_t retry_date;      /* Retry-After as an HTTP-date (seconds
				    since 1970), -1 when not one */
};

/* Makes r an empty record; r holds nothing to free before this. */
void fm_resp_init(struct fm_resp *r);

/* Frees what r holds (r zeroed or initialised) and empties it: a new
 * response begins. */
void fm_resp_clear(struct fm_resp *r);

/* Takes one header line (with or without its CRLF). A status line
 * ("HTTP/...") resets r; unknown headers are ignored; values that are
 * malformed or too long are dropped, never truncated. */
void fm_resp_feed(struct fm_resp *r, const char *line, size_t len);

/* Extracts the file name of a Content-Disposition value per RFC 6266:
 * filename*= (UTF-8 or ISO-8859-1, percent-encoded) wins over filename=
 * (token or quoted-string). Only the last path segment is kept ('/' and
 * '\\' both separate), then it is sanitised by fm_name_sanitize().
 * Returns 0 with the name in out, or -1 when there is no usable name. */
int fm_disposition_filename(const char *v, size_t n, char *out, size_t cap);

/* Parses a Content-Range value: "bytes FIRST-LAST/TOTAL" or with TOTAL
 * "*", or "bytes * /TOTAL" (written without the space). Returns 0 or -1. */
int fm_content_range(const char *v, size_t n, int64_t *first, int64_t *last,
		     int64_t *total);

/* Parses an IMF-fixdate (RFC 9110 5.6.7: "Sun, 06 Nov 1994 08:49:37
 * GMT"), the form servers send, strictly: the day name is not checked
 * against the date. Returns seconds since 1970 (UTC), or -1 for anything
 * else, including the obsolete forms and years before 1970 (which a
 * caller may hand to curl_getdate()). */
int64_t fm_http_date(const char *s);

/* Parses a Retry-After value (RFC 9110 10.2.3) of n bytes: delta-seconds
 * (digits only) into *seconds, HUGE_VAL when the number does not fit in
 * 63 bits (so that it exceeds any cap), or an IMF-fixdate into *date.
 * Returns 0 with the other output -1, or -1 (both -1) for anything else:
 * signs, fractions, other date forms, garbage. libcurl's own parser
 * (CURLINFO_RETRY_AFTER) turns an overflowing number into 0: "now". */
int fm_retry_after_parse(const char *v, size_t n, double *seconds,
			 int64_t *date);

/* The wait r's Retry-After asks for at time now (seconds since 1970): its
 * seconds (maybe HUGE_VAL), a date's distance from now (0 when past), or
 * -1 when it has none usable. */
double fm_resp_retry_after(const struct fm_resp *r, int64_t now);

/* True when an ETag is strong (not W/), as If-Range requires. */
bool fm_etag_is_strong(const char *etag);

#endif
