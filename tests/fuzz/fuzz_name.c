/* fuzz_name.c: libFuzzer target for naming and confinement (src/name.c,
 * and fm_disposition_filename() of src/headers.c).
 *
 * Input layout:
 *   byte 0            flags: bit 0 mirror, bit 1 use the out= part,
 *                     bit 2 small output buffer for the file name
 *                     (its size taken from bits 3-7)
 *   URL part          up to the first 0x00 (or the end)
 *   out= part         up to the next 0x00 (or the end)
 *   disposition part  the rest, NUL bytes included
 *
 * Invariants (fuzz_check.h spells them out): every successful
 * fm_name_resolve() of a URL that fm_url_check() accepts, and of every
 * out= value, is a confined relative path; without mirror or out= it is a
 * single component; out= resolves iff fm_name_check_out() accepts it, to
 * itself less "." and empty segments. fm_name_sanitize() always yields a
 * safe component (or "" without fallback). fm_disposition_filename()
 * yields a safe component that fits the buffer, and swapping it in as the
 * leaf of a confined path keeps the path confined. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fm_headers.h"
#include "fm_list.h"
#include "fm_name.h"
#include "fuzz_check.h"

/* Splits off the bytes up to the next NUL (or the end) as a C string. */
static char *take_cstr(const uint8_t **p, const uint8_t *end, bool *found)
{
	const uint8_t *nul = memchr(*p, '\0', (size_t)(end - *p));
	size_t n = nul != NULL ? (size_t)(nul - *p) : (size_t)(end - *p);
	char *s = fuzz_dup(*p, n, true);

	*found = nul != NULL;
	*p = nul != NULL ? nul + 1 : end;
	return s;
}

/* out= with "." and empty segments dropped: what resolve must return. */
static char *expected_out(const char *out)
{
	size_t n = strlen(out), o = 0;
	char *r = fuzz_dup(out, n, true);
	const char *seg = out;

	for (;;) {
		const char *slash = strchr(seg, '/');
		size_t len = slash ? (size_t)(slash - seg) : strlen(seg);

		if (len > 0 && !(len == 1 && seg[0] == '.')) {
			if (o > 0)
				r[o++] = '/';
			memcpy(r + o, seg, len);
			o += len;
		}
		if (!slash)
			break;
		seg = slash + 1;
	}
	r[o] = '\0';
	return r;
}

static void check_leaf_swap(const char *rel, const char *name, bool url_derived)
{
	char *swapped;

	if (rel == NULL || name == NULL)
		return;
	swapped = fm_name_replace_leaf(rel, name);
	FUZZ_CHECK(swapped != NULL);
	/* The swapped-in name is a server's: hold it to the URL rules, but the
	 * directories may still be the user's (out=). */
	FUZZ_CHECK_STR(fuzz_relpath_problem(swapped, url_derived), swapped);
	free(swapped);
}

static void check_join(const char *rel)
{
	char *joined = fm_name_join("/out", rel);

	FUZZ_CHECK(joined != NULL);
	FUZZ_CHECK(strncmp(joined, "/out/", 5) == 0 && strcmp(joined + 5, rel) == 0);
	free(joined);
	joined = fm_name_join("/out//", rel);
	FUZZ_CHECK(joined != NULL);
	FUZZ_CHECK(strncmp(joined, "/out/", 5) == 0 && strcmp(joined + 5, rel) == 0);
	free(joined);
	joined = fm_name_join(NULL, rel);
	FUZZ_CHECK(joined != NULL && strcmp(joined, rel) == 0);
	free(joined);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	uint8_t flags;
	bool mirror, use_out, has_out, more;
	char *url, *out, *cd, *why, *rel_url = NULL, *rel_out = NULL, *name;
	char host[256];
	size_t cdlen, cap;
	int rc, url_ok;

	if (size < 1)
		return 0;
	flags = *p++;
	mirror = flags & 1;
	use_out = flags & 2;
	cap = flags & 4 ? 2 + (flags >> 3) : FM_NAME_COMPONENT_MAX + 1;
	url = take_cstr(&p, end, &more);
	out = take_cstr(&p, end, &has_out);
	(void)more;
	cdlen = (size_t)(end - p);
	cd = fuzz_dup(p, cdlen, false);
	why = malloc(FM_WHY_MAX);
	if (why == NULL)
		abort();

	/* The URL alone. */
	url_ok = fm_url_check(url, why, FM_WHY_MAX) == 0;
	rc = fm_name_resolve(url, NULL, mirror, &rel_url, why, FM_WHY_MAX);
	if (url_ok) {
		if (rc != 0) {
			fprintf(stderr, "resolve: %s\n", why);
			fuzz_fail(__FILE__, __LINE__,
				  "a URL fm_url_check() accepts gets no name",
				  url, strlen(url));
		}
		FUZZ_CHECK_STR(fuzz_relpath_problem(rel_url, true), rel_url);
		if (!mirror && strchr(rel_url, '/') != NULL)
			fuzz_fail(__FILE__, __LINE__,
				  "a name without --mirror has a directory",
				  rel_url, strlen(rel_url));
		check_join(rel_url);
		rc = fm_url_host(url, host, sizeof(host));
		if (rc == 0)
			FUZZ_CHECK(strnlen(host, sizeof(host)) < sizeof(host));
	} else if (rc == 0) {
		/* Outside the contract (the URL was never checked): no
		 * assertion on the name, but memory safety still holds. */
		FUZZ_CHECK(rel_url != NULL);
		free(rel_url);
		rel_url = NULL;
	} else {
		FUZZ_CHECK(rel_url == NULL);
	}

	/* out= wins, whatever the URL. */
	if (use_out) {
		int ok = fm_name_check_out(out, NULL, 0) == 0;

		rc = fm_name_resolve(url, out, mirror, &rel_out, why, FM_WHY_MAX);
		if (ok != (rc == 0))
			fuzz_fail(__FILE__, __LINE__,
				  "fm_name_resolve() and fm_name_check_out() "
				  "disagree on out=", out, strlen(out));
		if (rc == 0) {
			char *want = expected_out(out);

			FUZZ_CHECK_STR(fuzz_relpath_problem(rel_out, false), rel_out);
			if (strcmp(want, rel_out) != 0)
				fuzz_fail(__FILE__, __LINE__,
					  "out= resolves to something else",
					  rel_out, strlen(rel_out));
			free(want);
			check_join(rel_out);
		} else {
			FUZZ_CHECK(rel_out == NULL);
		}
	}

	/* fm_name_sanitize() on the raw disposition bytes as a C string. */
	{
		size_t n = strnlen(cd, cdlen);
		char *buf = malloc(n + sizeof("index.html"));

		if (buf == NULL)
			abort();
		memcpy(buf, cd, n);
		buf[n] = '\0';
		fm_name_sanitize(buf, true);
		FUZZ_CHECK_STR(fuzz_component_problem(buf, FM_NAME_COMPONENT_MAX), buf);
		memcpy(buf, cd, n);
		buf[n] = '\0';
		fm_name_sanitize(buf, false);
		if (buf[0] != '\0')
			FUZZ_CHECK_STR(fuzz_component_problem(buf, FM_NAME_COMPONENT_MAX), buf);
		free(buf);
	}

	/* The server's Content-Disposition, into a buffer of exactly cap
	 * bytes so that AddressSanitizer sees a write past it. */
	name = malloc(cap);
	if (name == NULL)
		abort();
	if (fm_disposition_filename(cd, cdlen, name, cap) == 0) {
		FUZZ_CHECK(strnlen(name, cap) < cap);
		FUZZ_CHECK_STR(fuzz_component_problem(name, FM_NAME_COMPONENT_MAX), name);
		check_leaf_swap(rel_url, name, true);
		check_leaf_swap(rel_out, name, false);
	} else {
		FUZZ_CHECK(name[0] == '\0');
	}

	free(name);
	free(rel_url);
	free(rel_out);
	free(why);
	free(cd);
	free(out);
	free(url);
	return 0;
}
