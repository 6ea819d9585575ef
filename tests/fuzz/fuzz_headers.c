/* fuzz_headers.c: libFuzzer target for the response header parsers
 * (src/headers.c).
 *
 * The input is a header block: it is split at '\n' and each line, its
 * '\n' included, goes to fm_resp_feed() on one struct fm_resp, in an
 * exact-size heap copy so that AddressSanitizer sees a read past the
 * line. After each line:
 *  - etag and last_modified are shorter than their limits (FM_ETAG_MAX,
 *    64) and hold no control byte;
 *  - filename is "" or one safe component (fuzz_check.h) that fits;
 *  - has_range: either FIRST-LAST with 0 <= FIRST <= LAST and TOTAL -1
 *    or > LAST, or "* /TOTAL" with FIRST = LAST = -1 and TOTAL >= 0;
 *    without has_range all three are -1;
 *  - a status line ("HTTP/...") leaves the state fm_resp_init() gives.
 * fm_content_range() also gets the whole input, with the same rules, and
 * so does fm_http_date(): -1, or a time that formats back to the input
 * (but for the day name, which it does not check). The record is cleared
 * at the end: LeakSanitizer sees a value left behind. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fm_headers.h"
#include "fuzz_check.h"

static void check_text_field(const char *f, size_t cap, const char *what)
{
	size_t n = strnlen(f, cap);

	if (n >= cap)
		fuzz_fail(__FILE__, __LINE__, what, f, cap);
	for (size_t i = 0; i < n; i++)
		if (fuzz_is_control((unsigned char)f[i]))
			fuzz_fail(__FILE__, __LINE__, what, f, n);
}

static void check_range(bool ok, int64_t first, int64_t last, int64_t total)
{
	if (!ok) {
		FUZZ_CHECK(first == -1 && last == -1 && total == -1);
		return;
	}
	if (first < 0) {
		FUZZ_CHECK(first == -1 && last == -1);
		FUZZ_CHECK(total >= 0);
	} else {
		FUZZ_CHECK(last >= first);
		FUZZ_CHECK(total == -1 || total > last);
	}
}

static void check_resp(const struct fm_resp *r)
{
	check_text_field(r->etag, FM_ETAG_MAX, "bad etag");
	check_text_field(r->last_modified, 64, "bad last_modified");
	FUZZ_CHECK(strlen(r->filename) <= FM_NAME_COMPONENT_MAX);
	if (r->filename[0] != '\0')
		FUZZ_CHECK_STR(fuzz_component_problem(r->filename,
						      FM_NAME_COMPONENT_MAX),
			       r->filename);
	check_range(r->has_range, r->range_first, r->range_last, r->range_total);
	(void)fm_etag_is_strong(r->etag);
}

static void check_date(const uint8_t *data, size_t size)
{
	char *s = fuzz_dup((const char *)data, size, true);
	int64_t t = fm_http_date(s);

	if (t != -1) {
		time_t tt = (time_t)t;
		struct tm tm;
		char back[64];

		FUZZ_CHECK(t >= 0 && t <= INT64_C(253402300800));
		FUZZ_CHECK(gmtime_r(&tt, &tm) != NULL);
		strftime(back, sizeof(back), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		/* A leap second reads as the next minute's first. */
		if (strcmp(s + 23, "60 GMT") != 0)
			FUZZ_CHECK_STR(strcmp(back + 3, s + 3) == 0 ? NULL
								     : back,
				       s);
	}
	free(s);
}

/* Field by field: the padding of struct fm_resp is not ours to compare. */
static bool is_fresh(const struct fm_resp *r)
{
	return r->etag[0] == '\0' && r->last_modified[0] == '\0' &&
	       r->filename[0] == '\0' && !r->has_range &&
	       r->range_first == -1 && r->range_last == -1 &&
	       r->range_total == -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct fm_resp r;
	int64_t first = -1, last = -1, total = -1;
	int rc;

	fm_resp_init(&r);
	FUZZ_CHECK(is_fresh(&r));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		char *line = fuzz_dup(p, n, false);

		fm_resp_feed(&r, line, n);
		check_resp(&r);
		if (n >= 5 && memcmp(line, "HTTP/", 5) == 0)
			FUZZ_CHECK(is_fresh(&r));
		free(line);
		p += n;
	}

	fm_resp_clear(&r);

	rc = fm_content_range((const char *)data, size, &first, &last, &total);
	if (rc == 0)
		check_range(true, first, last, total);
	check_date(data, size);
	return 0;
}
