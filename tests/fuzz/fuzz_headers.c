/* fuzz_headers.c: libFuzzer target for the response header parsers
 * (src/headers.c).
 *
 * The input is a header block: it is split at '\n' and each line, its
 * '\n' included, goes to fm_resp_feed() on one struct fm_resp, in an
 * exact-size heap copy so that AddressSanitizer sees a read past the
 * line. After each line:
 *  - etag and last_modified are NUL-terminated within their arrays and
 *    hold no control byte;
 *  - filename is "" or one safe component (fuzz_check.h) that fits;
 *  - has_range: either FIRST-LAST with 0 <= FIRST <= LAST and TOTAL -1
 *    or > LAST, or "* /TOTAL" with FIRST = LAST = -1 and TOTAL >= 0;
 *    without has_range all three are -1;
 *  - a status line ("HTTP/...") leaves the state fm_resp_init() gives.
 * fm_content_range() also gets the whole input, with the same rules. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
	check_text_field(r->etag, sizeof(r->etag), "bad etag");
	check_text_field(r->last_modified, sizeof(r->last_modified),
			 "bad last_modified");
	FUZZ_CHECK(strnlen(r->filename, sizeof(r->filename)) < sizeof(r->filename));
	if (r->filename[0] != '\0')
		FUZZ_CHECK_STR(fuzz_component_problem(r->filename,
						      FM_NAME_COMPONENT_MAX),
			       r->filename);
	check_range(r->has_range, r->range_first, r->range_last, r->range_total);
	(void)fm_etag_is_strong(r->etag);
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

	rc = fm_content_range((const char *)data, size, &first, &last, &total);
	if (rc == 0)
		check_range(true, first, last, total);
	return 0;
}
