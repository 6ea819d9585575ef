/* fuzz_list.c: libFuzzer target for fm_list_parse_line() (src/list.c).
 *
 * The whole input is one list line, NUL bytes and all. Invariants:
 *  - SKIP: no field set.
 *  - INVALID: a one-line reason (non-empty, fits, no control byte); only
 *    the URL may survive.
 *  - ENTRY: url set and accepted by fm_url_check(); each digest NULL or
 *    lowercase hex digits of its algorithm's length (64 for sha256, 128
 *    sha512, 40 sha1, 32 md5); out NULL or accepted by fm_name_check_out();
 *    at most FM_MIRRORS_MAX mirrors, each accepted by fm_url_check(),
 *    none equal to url or to another; at most FM_HEADERS_MAX headers,
 *    each accepted by fm_reqhdr_check() and at most FM_HEADER_LEN_MAX
 *    bytes.
 *  - ENTRY round trips: the same fields written as a JSON entry, and as a
 *    text entry (a value quoted when it holds white space or opens with a
 *    quote), parse to the same entry, so text and JSON lines follow the
 *    same rules.
 * fm_entry_clear() is called after every parse; LeakSanitizer catches what
 * it would miss.
 *
 * An input that starts with 0xff is a long-line probe instead: the rest of
 * it, padded with spaces to FM_LINE_MAX - 1, FM_LINE_MAX or FM_LINE_MAX + 1
 * bytes (chosen by the second byte), so that the length limit is tried at
 * its edge without making every input 64 KiB long. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fm_list.h"
#include "fm_name.h"
#include "fm_reqhdr.h"
#include "fuzz_check.h"

static bool same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	       (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool is_lower_hex(const char *s, size_t len)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == len;
}

static bool no_digest(const struct fm_entry *e)
{
	for (int a = 0; a < FM_ALGOS; a++)
		if (e->digest[a] != NULL)
			return false;
	return true;
}

static bool same_digests(const struct fm_entry *a, const struct fm_entry *b)
{
	for (int k = 0; k < FM_ALGOS; k++)
		if (!same(a->digest[k], b->digest[k]))
			return false;
	return true;
}


static bool same_mirrors(const struct fm_entry *a, const struct fm_entry *b)
{
	if (a->nmirrors != b->nmirrors)
		return false;
	for (unsigned i = 0; i < a->nmirrors; i++)
		if (strcmp(a->mirrors[i], b->mirrors[i]) != 0)
			return false;
	return true;
}

static bool same_headers(const struct fm_entry *a, const struct fm_entry *b)
{
	if (a->nheaders != b->nheaders)
		return false;
	for (unsigned i = 0; i < a->nheaders; i++)
		if (strcmp(a->headers[i], b->headers[i]) != 0)
			return false;
	return true;
}

static void check_headers(const struct fm_entry *e)
{
	FUZZ_CHECK((e->headers == NULL) == (e->nheaders == 0));
	FUZZ_CHECK(e->nheaders <= FM_HEADERS_MAX);
	for (unsigned i = 0; i < e->nheaders; i++) {
		if (fm_reqhdr_check(e->headers[i], NULL, 0) != 0)
			fuzz_fail(__FILE__, __LINE__,
				  "entry header fails fm_reqhdr_check()",
				  e->headers[i], strlen(e->headers[i]));
		FUZZ_CHECK(strlen(e->headers[i]) <= FM_HEADER_LEN_MAX);
	}
}

static void check_mirrors(const struct fm_entry *e)
{
	FUZZ_CHECK((e->mirrors == NULL) == (e->nmirrors == 0));
	FUZZ_CHECK(e->nmirrors <= FM_MIRRORS_MAX);
	for (unsigned i = 0; i < e->nmirrors; i++) {
		if (fm_url_check(e->mirrors[i], NULL, 0) != 0)
			fuzz_fail(__FILE__, __LINE__,
				  "entry mirror fails fm_url_check()",
				  e->mirrors[i], strlen(e->mirrors[i]));
		FUZZ_CHECK(strcmp(e->mirrors[i], e->url) != 0);
		for (unsigned k = 0; k < i; k++)
			FUZZ_CHECK(strcmp(e->mirrors[i], e->mirrors[k]) != 0);
	}
}

static void check_why(const char *why)
{
	size_t n = strnlen(why, FM_WHY_MAX);

	FUZZ_CHECK(n < FM_WHY_MAX);
	FUZZ_CHECK(n > 0);
	for (size_t i = 0; i < n; i++)
		if (fuzz_is_control((unsigned char)why[i]))
			fuzz_fail(__FILE__, __LINE__,
				  "control byte in an invalid line's reason",
				  why, n);
}

static enum fm_line_kind parse(const char *line, size_t len,
			       struct fm_entry *e, char *why)
{
	enum fm_line_kind kind;

	/* Poison, so that "zeroed first, whatever the result" is checked. */
	e->url = e->out = (char *)(uintptr_t)1;
	for (int a = 0; a < FM_ALGOS; a++)
		e->digest[a] = (char *)(uintptr_t)1;
	e->mirrors = e->headers = (char **)(uintptr_t)1;
	e->nmirrors = e->nheaders = 1;
	kind = fm_list_parse_line(line, len, e, why, FM_WHY_MAX);
	switch (kind) {
	case FM_LINE_SKIP:
		FUZZ_CHECK(e->url == NULL && e->out == NULL && no_digest(e));
		FUZZ_CHECK(e->mirrors == NULL && e->nmirrors == 0);
		FUZZ_CHECK(e->headers == NULL && e->nheaders == 0);
		break;
	case FM_LINE_INVALID:
		check_why(why);
		FUZZ_CHECK(e->out == NULL && no_digest(e));
		FUZZ_CHECK(e->mirrors == NULL && e->nmirrors == 0);
		FUZZ_CHECK(e->headers == NULL && e->nheaders == 0);
		break;
	case FM_LINE_ENTRY:
		FUZZ_CHECK(e->url != NULL);
		if (fm_url_check(e->url, NULL, 0) != 0)
			fuzz_fail(__FILE__, __LINE__,
				  "entry URL fails fm_url_check()", e->url,
				  strlen(e->url));
		for (int a = 0; a < FM_ALGOS; a++)
			if (e->digest[a] != NULL &&
			    !is_lower_hex(e->digest[a],
					  fm_algo_hex_len((enum fm_algo)a)))
				fuzz_fail(__FILE__, __LINE__,
					  "entry digest is not lowercase hex "
					  "of its length",
					  e->digest[a], strlen(e->digest[a]));
		if (e->out != NULL && fm_name_check_out(e->out, NULL, 0) != 0)
			fuzz_fail(__FILE__, __LINE__,
				  "entry out= fails fm_name_check_out()",
				  e->out, strlen(e->out));
		check_mirrors(e);
		check_headers(e);
		break;
	default:
		FUZZ_CHECK(!"unknown line kind");
	}
	return kind;
}

/* Parses line (a C string) and checks it gives back exactly e. */
static void expect_same_entry(const char *line, const struct fm_entry *e,
			      const char *how)
{
	struct fm_entry e2;
	char *why = malloc(FM_WHY_MAX);
	size_t n = strlen(line);

	if (why == NULL)
		abort();
	if (n <= FM_LINE_MAX) {
		if (parse(line, n, &e2, why) != FM_LINE_ENTRY) {
			fprintf(stderr, "%s: %s\n", how, why);
			fuzz_fail(__FILE__, __LINE__,
				  "a valid entry, written again, is invalid",
				  line, n);
		}
		if (!same(e->url, e2.url) || !same(e->out, e2.out) ||
		    !same_digests(e, &e2) || !same_mirrors(e, &e2) ||
		    !same_headers(e, &e2))
			fuzz_fail(__FILE__, __LINE__,
				  "a valid entry, written again, reads differently",
				  line, n);
		fm_entry_clear(&e2);
	}
	free(why);
}

/* Appends " key=value" to text (len bytes so far, cap in all): value
 * quoted (\" and \\ escaped) when it holds white space or opens with a
 * quote, as the list format reads it. Returns the new length. */
static size_t put_field(char *text, size_t len, size_t cap, const char *key,
			const char *value)
{
	bool q = value[0] == '"' || strpbrk(value, " \t\r\v\f") != NULL;

	len += (size_t)snprintf(text + len, cap - len, " %s=%s", key,
				q ? "\"" : "");
	for (const char *p = value; *p && len + 3 < cap; p++) {
		if (q && (*p == '"' || *p == '\\'))
			text[len++] = '\\';
		text[len++] = *p;
	}
	len += (size_t)snprintf(text + len, cap - len, "%s", q ? "\"" : "");
	return len;
}

static void round_trip(const struct fm_entry *e)
{
	cJSON *o = cJSON_CreateObject(), *m = NULL, *h = NULL;
	size_t n, len;
	char *json, *text;

	if (e->mirrors != NULL)
		m = cJSON_CreateStringArray((const char *const *)e->mirrors,
					    (int)e->nmirrors);
	if (e->headers != NULL)
		h = cJSON_CreateStringArray((const char *const *)e->headers,
					    (int)e->nheaders);
	if (o == NULL || cJSON_AddStringToObject(o, "url", e->url) == NULL ||
	    (e->out != NULL && cJSON_AddStringToObject(o, "out", e->out) == NULL) ||
	    (e->mirrors != NULL && (m == NULL ||
				    !cJSON_AddItemToObject(o, "mirrors", m))) ||
	    (e->headers != NULL && (h == NULL ||
				    !cJSON_AddItemToObject(o, "headers", h))))
		abort();
	for (int a = 0; a < FM_ALGOS; a++)
		if (e->digest[a] != NULL &&
		    cJSON_AddStringToObject(o, fm_algo_name((enum fm_algo)a),
					    e->digest[a]) == NULL)
			abort();
	json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (json == NULL)
		abort();
	expect_same_entry(json, e, "as JSON");
	cJSON_free(json);

	/* As text: URL, then fields, each value doubled at worst by its
	 * escapes. The URL never holds white space (curl_url() refuses
	 * it). */
	n = strlen(e->url) + 600 + (e->out ? 2 * strlen(e->out) : 0);
	for (unsigned i = 0; i < e->nmirrors; i++)
		n += strlen(e->mirrors[i]) + 16;
	for (unsigned i = 0; i < e->nheaders; i++)
		n += 2 * strlen(e->headers[i]) + 16;
	text = malloc(n);
	if (text == NULL)
		abort();
	len = (size_t)snprintf(text, n, "%s", e->url);
	if (e->out)
		len = put_field(text, len, n, "out", e->out);
	for (int a = 0; a < FM_ALGOS; a++)
		if (e->digest[a] != NULL)
			len = put_field(text, len, n,
					fm_algo_name((enum fm_algo)a),
					e->digest[a]);
	for (unsigned i = 0; i < e->nmirrors; i++)
		len = put_field(text, len, n, "mirror", e->mirrors[i]);
	for (unsigned i = 0; i < e->nheaders; i++)
		len = put_field(text, len, n, "header", e->headers[i]);
	expect_same_entry(text, e, "as text");
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fm_entry e;
	char *why = malloc(FM_WHY_MAX), *longline = NULL;
	enum fm_line_kind kind;

	if (why == NULL)
		abort();
	if (size >= 2 && data[0] == 0xff) {
		size_t n = FM_LINE_MAX - 1 + data[1] % 3, k = size - 2;

		if (k > n)
			k = n;
		longline = malloc(n);
		if (longline == NULL)
			abort();
		memcpy(longline, data + 2, k);
		memset(longline + k, ' ', n - k);
		kind = parse(longline, n, &e, why);
		if (n > FM_LINE_MAX)
			FUZZ_CHECK(kind == FM_LINE_INVALID && e.url == NULL);
	} else {
		kind = parse((const char *)data, size, &e, why);
	}
	if (kind == FM_LINE_ENTRY)
		round_trip(&e);
	fm_entry_clear(&e);
	free(longline);
	FUZZ_CHECK(e.url == NULL && e.out == NULL && no_digest(&e));
	FUZZ_CHECK(e.mirrors == NULL && e.nmirrors == 0);
	FUZZ_CHECK(e.headers == NULL && e.nheaders == 0);
	free(why);
	return 0;
}
