/* list.c: turns one line of a URL list into one entry (see fm_list.h).
 *
 * A line is a text entry (URL then key=value fields), a JSON object, a
 * comment or blank. Everything that can be judged from the line alone is
 * judged here, so that a bad line becomes an "invalid" result with a
 * precise reason before any network or file system work: the URL goes
 * through libcurl's own parser, the fields through a fixed table, out=
 * through fm_name_check_out(), each mirror URL through the same checks as
 * the URL, each header through fm_reqhdr_check(). No I/O and no global
 * state, so the reader and the unit tests drive it the same way. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "fm_error.h"
#include "fm_list.h"
#include "fm_name.h"
#include "fm_reqhdr.h"

/* How much of a user-given field or key a reason quotes: enough to
 * recognise it, short enough that the reason fits in FM_WHY_MAX. */
#define QUOTE_MAX 48
#define QUOTE_SIZE (QUOTE_MAX + 4)

/* Keys of fetchmany's own --json result records. They are ignored in a
 * JSON entry so that a result line can be fed back as a retry list. */
static const char *const result_keys[] = {
	"from", "path", "status", "http_status", "bytes", "seconds",
	"attempts", "error", "line", "source",
};


/* The white space of the list format. '\n' cannot occur in a line the
 * reader split, but treating it as space costs nothing. */
static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' ||
	       c == '\n';
}

/* Copies at most QUOTE_MAX bytes of s into dst (QUOTE_SIZE bytes) for
 * quoting in a reason: control bytes become '?' so the reason stays one
 * printable line, a cut falls on a UTF-8 boundary and "..." marks it. */
static char *quote(char *dst, const char *s)
{
	size_t n = strlen(s), i;
	bool cut = n > QUOTE_MAX;

	if (cut) {
		n = QUOTE_MAX;
		while (n > QUOTE_MAX - 3 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		dst[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	strcpy(dst + i, cut ? "..." : "");
	return dst;
}

static bool is_result_key(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(result_keys) / sizeof(result_keys[0]); i++)
		if (strcmp(key, result_keys[i]) == 0)
			return true;
	return false;
}

/* A scheme as RFC 3986 spells it, followed by ':'. Returns its length, or
 * 0 when url does not start with one. */
static size_t scheme_len(const char *url)
{
	size_t i = 0;

	if (!((url[0] >= 'a' && url[0] <= 'z') || (url[0] >= 'A' && url[0] <= 'Z')))
		return 0;
	while (url[i] != '\0' && url[i] != ':') {
		char c = url[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
			return 0;
		i++;
	}
	return url[i] == ':' ? i : 0;
}

static bool is_http_scheme(const char *s, size_t n)
{
	return (n == 4 && strncasecmp(s, "http", 4) == 0) ||
	       (n == 5 && strncasecmp(s, "https", 5) == 0);
}

/* Judges what curl_url() made of a URL: its scheme and its host. */
static int check_parts(CURLU *h, char *why, size_t whylen)
{
	char *scheme = NULL, *host = NULL;
	int rc = 0;

	if (curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
		rc = fm_why(why, whylen, "not an absolute URL "
					 "(missing http:// or https://)");
	else if (!is_http_scheme(scheme, strlen(scheme)))
		rc = fm_why(why, whylen, "unsupported scheme '%.32s'", scheme);
	else if (curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
		 host[0] == '\0')
		rc = fm_why(why, whylen, "malformed URL: no host");
	curl_free(scheme);
	curl_free(host);
	return rc;
}

int fm_url_check(const char *url, char *why, size_t whylen)
{
	CURLU *h;
	int rc = fm_url_parse(url, &h, why, whylen);

	curl_url_cleanup(h);
	return rc;
}

int fm_url_parse(const char *url, CURLU **uh, char *why, size_t whylen)
{
	size_t slen = url != NULL ? scheme_len(url) : 0;
	CURLUcode uc;
	CURLU *h;
	int rc;

	*uh = NULL;
	if (slen == 0)
		return fm_why(why, whylen, "not an absolute URL "
					   "(missing http:// or https://)");
	h = curl_url();
	if (h == NULL)
		return fm_why(why, whylen, "out of memory");
	/* No default scheme and no guessing: the list must say what it means.
	 * CURLU_NON_SUPPORT_SCHEME lets any scheme parse, so that "foo://x"
	 * is reported as an unsupported scheme rather than a parse error. */
	uc = curl_url_set(h, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
	if (uc == CURLUE_OK)
		rc = check_parts(h, why, whylen);
	else if (!is_http_scheme(url, slen) && strncmp(url + slen, "://", 3) != 0)
		/* "example.org:8080/x" or "mailto:x": what looked like a
		 * scheme is a host name or not a URL we could fetch. */
		rc = fm_why(why, whylen, "not an absolute URL "
					 "(missing http:// or https://)");
	else
		rc = fm_why(why, whylen, "malformed URL: %s", curl_url_strerror(uc));
	if (rc == 0)
		*uh = h;
	else
		curl_url_cleanup(h);
	return rc;
}

static void clear_mirrors(struct fm_entry *e)
{
	for (unsigned i = 0; i < e->nmirrors; i++)
		free(e->mirrors[i]);
	free(e->mirrors);
	e->mirrors = NULL;
	e->nmirrors = 0;
}

static void clear_digests(struct fm_entry *e)
{
	for (int a = 0; a < FM_ALGOS; a++) {
		free(e->digest[a]);
		e->digest[a] = NULL;
	}
}

static void clear_headers(struct fm_entry *e)
{
	for (unsigned i = 0; i < e->nheaders; i++)
		free(e->headers[i]);
	free(e->headers);
	e->headers = NULL;
	e->nheaders = 0;
}

void fm_entry_clear(struct fm_entry *e)
{
	if (e == NULL)
		return;
	free(e->url);
	free(e->out);
	clear_digests(e);
	clear_mirrors(e);
	clear_headers(e);
	curl_url_cleanup(e->uh);
	e->url = e->out = NULL;
	e->uh = NULL;
}

/* The algorithm whose list key is key ("sha512"), or -1. */
static int digest_key(const char *key)
{
	return fm_algo_by_name(key, strlen(key), false);
}

/* Whether url is the entry's URL or one of its mirrors already. */
static bool has_url(const struct fm_entry *e, const char *url)
{
	if (strcmp(url, e->url) == 0)
		return true;
	for (unsigned i = 0; i < e->nmirrors; i++)
		if (strcmp(url, e->mirrors[i]) == 0)
			return true;
	return false;
}

/* Appends a copy of s to the array *v of *n strings. */
static int push(char ***v, unsigned *n, const char *s, char *why,
		size_t whylen)
{
	char **grown = realloc(*v, (*n + 1) * sizeof(*grown));

	if (grown == NULL)
		return fm_why(why, whylen, "out of memory");
	*v = grown;
	grown[*n] = strdup(s);
	if (grown[*n] == NULL)
		return fm_why(why, whylen, "out of memory");
	(*n)++;
	return 0;
}

/* Adds a mirror (a text mirror= field, or a string of a JSON "mirrors"),
 * checked as the URL itself, to e, whose url is set. A repeat of a URL
 * the entry has adds nothing: it could only fail the same way twice. */
static int add_mirror(struct fm_entry *e, const char *url, char *why,
		      size_t whylen)
{
	char q[QUOTE_SIZE], reason[FM_WHY_MAX];

	if (url[0] == '\0')
		return fm_why(why, whylen, "empty value for key 'mirror'");
	if (fm_url_check(url, reason, sizeof(reason)) != 0)
		return fm_why(why, whylen, "mirror '%s': %s", quote(q, url),
			      reason);
	if (has_url(e, url))
		return 0;
	if (e->nmirrors == FM_MIRRORS_MAX)
		return fm_why(why, whylen, "more than %d mirrors",
			      FM_MIRRORS_MAX);
	return push(&e->mirrors, &e->nmirrors, url, why, whylen);
}

/* Adds a header (a text header= field, or a string of a JSON "headers")
 * to e. A reason names the header, never quotes its value: that may be a
 * credential, and the reason goes into the entry's result. */
static int add_header(struct fm_entry *e, const char *h, char *why,
		      size_t whylen)
{
	size_t len = strlen(h), n = strcspn(h, ":");

	if (h[0] == '\0')
		return fm_why(why, whylen, "empty value for key 'header'");
	if (fm_reqhdr_check(h, why, whylen) != 0)
		return -1;
	if (len > FM_HEADER_LEN_MAX)
		return fm_why(why, whylen, "header '%.*s' longer than %d bytes",
			      (int)(n < QUOTE_MAX ? n : QUOTE_MAX), h,
			      FM_HEADER_LEN_MAX);
	if (e->nheaders == FM_HEADERS_MAX)
		return fm_why(why, whylen, "more than %d headers",
			      FM_HEADERS_MAX);
	return push(&e->headers, &e->nheaders, h, why, whylen);
}

/* Stores one field of an entry, shared by text and JSON lines so that both
 * follow the same rules: a known key, given once (mirror and header: any
 * number of times), with a valid value. */
static int set_field(struct fm_entry *e, const char *key, const char *val,
		     char *why, size_t whylen)
{
	char q[QUOTE_SIZE];
	int algo = digest_key(key);
	char **slot;

	if (strcmp(key, "mirror") == 0)
		return add_mirror(e, val, why, whylen);
	if (strcmp(key, "header") == 0)
		return add_header(e, val, why, whylen);
	if (strcmp(key, "out") == 0)
		slot = &e->out;
	else if (algo >= 0)
		slot = &e->digest[algo];
	else
		return fm_why(why, whylen, "unknown key '%s'", quote(q, key));
	if (*slot != NULL)
		return fm_why(why, whylen, "duplicate key '%s'", key);
	if (val[0] == '\0')
		return fm_why(why, whylen, "empty value for key '%s'", key);
	if (slot == &e->out && fm_name_check_out(val, why, whylen) != 0)
		return -1;
	*slot = strdup(val);
	if (*slot == NULL)
		return fm_why(why, whylen, "out of memory");
	if (algo >= 0)
		return fm_digest_check((enum fm_algo)algo, *slot, why, whylen);
	return 0;
}

/* Splits off the next white-space separated token of *pos, in place. */
static char *next_token(char **pos)
{
	char *p = *pos, *tok;

	while (is_ws(*p))
		p++;
	if (*p == '\0')
		return NULL;
	tok = p;
	while (*p != '\0' && !is_ws(*p))
		p++;
	if (*p != '\0')
		*p++ = '\0';
	*pos = p;
	return tok;
}

/* The value of a field that opens with a double quote, from q (just past
 * it), unquoted in place to dst: white space stays, \" and \\ stand for
 * " and \, any other backslash is itself. The closing quote must end
 * the field. Returns what follows the field, or NULL with a reason (the
 * key named, the value never: it may be a credential). */
static char *unquote(char *dst, char *q, const char *key, char *why,
		     size_t whylen)
{
	for (;;) {
		if (*q == '\0') {
			fm_why(why, whylen, "no closing quote in field '%s'",
			       key);
			return NULL;
		}
		if (*q == '"')
			break;
		if (q[0] == '\\' && (q[1] == '"' || q[1] == '\\'))
			q++;
		*dst++ = *q++;
	}
	*dst = '\0';
	q++;
	if (*q != '\0' && !is_ws(*q)) {
		fm_why(why, whylen, "text after the closing quote of field '%s'",
		       key);
		return NULL;
	}
	return q;
}

/* Splits off the next field of *pos, in place, into *tok: like
 * next_token(), but a value that opens with a double quote ends at its
 * closing quote (key="a b"), so that it may hold white space. Returns 1,
 * 0 at the end of the line, or -1 with a reason. */
static int next_field(char **pos, char **tok, char *why, size_t whylen)
{
	char *p = *pos, *eq, *rest;
	char q[QUOTE_SIZE];

	while (is_ws(*p))
		p++;
	if (*p == '\0')
		return 0;
	*tok = p;
	while (*p != '\0' && !is_ws(*p) && *p != '=')
		p++;
	if (*p != '=' || p[1] != '"') {
		*pos = *tok;
		*tok = next_token(pos);
		return 1;
	}
	eq = p;
	*eq = '\0'; /* the key, for a reason; restored below */
	rest = unquote(eq + 1, eq + 2, quote(q, *tok), why, whylen);
	*eq = '=';
	if (rest == NULL)
		return -1;
	if (*rest != '\0')
		rest++;
	*pos = rest;
	return 1;
}

static int parse_field(char *tok, struct fm_entry *e, char *why, size_t whylen)
{
	char q[QUOTE_SIZE];
	char *eq = strchr(tok, '=');

	if (eq == NULL || eq == tok) {
		fm_why(why, whylen, "field '%s' is not key=value", quote(q, tok));
		return -1;
	}
	*eq = '\0';
	return set_field(e, tok, eq + 1, why, whylen);
}

/* s: the trimmed, non-blank line as a C string we may cut up. */
static enum fm_line_kind parse_text(char *s, struct fm_entry *e, char *why,
				    size_t whylen)
{
	char *pos = s, *tok = next_token(&pos);
	int rc;

	e->url = strdup(tok);
	if (e->url == NULL) {
		fm_why(why, whylen, "out of memory");
		return FM_LINE_INVALID;
	}
	if (fm_url_parse(e->url, &e->uh, why, whylen) != 0)
		return FM_LINE_INVALID;
	while ((rc = next_field(&pos, &tok, why, whylen)) > 0)
		if (parse_field(tok, e, why, whylen) != 0)
			return FM_LINE_INVALID;
	return rc < 0 ? FM_LINE_INVALID : FM_LINE_ENTRY;
}

/* Takes the entry's "url" first, so that an invalid line still shows
 * its URL in the result whatever member is at fault. */
static int json_url(const cJSON *root, struct fm_entry *e, char *why,
		    size_t whylen)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, root) {
		if (strcmp(item->string, "url") != 0)
			continue;
		if (e->url != NULL)
			return fm_why(why, whylen, "duplicate key 'url'");
		if (!cJSON_IsString(item))
			return fm_why(why, whylen, "'url' must be a string");
		e->url = strdup(item->valuestring);
		if (e->url == NULL)
			return fm_why(why, whylen, "out of memory");
	}
	if (e->url == NULL)
		return fm_why(why, whylen, "JSON entry has no 'url'");
	return fm_url_parse(e->url, &e->uh, why, whylen);
}

/* Members seen so far that may leave no trace in the entry (a null
 * digest, an empty "mirrors"), so that a repeat is still caught. */
struct json_seen {
	unsigned digests;       /* FM_ALGO_BIT()s */
	bool mirrors;
	bool headers;
};

/* "mirrors" or "headers" (key): an array of strings, each added as a
 * mirror= or header= field by add. */
static int json_strings(const cJSON *item, const char *key,
			int (*add)(struct fm_entry *, const char *, char *,
				   size_t),
			struct fm_entry *e, char *why, size_t whylen)
{
	const cJSON *m;

	if (!cJSON_IsArray(item))
		return fm_why(why, whylen, "'%s' must be an array of strings",
			      key);
	cJSON_ArrayForEach(m, item)
		if (!cJSON_IsString(m))
			return fm_why(why, whylen,
				      "'%s' must be an array of strings", key);
	cJSON_ArrayForEach(m, item)
		if (add(e, m->valuestring, why, whylen) != 0)
			return -1;
	return 0;
}

/* One member other than "url". A null digest is absent, as in the result
 * record of an entry that gave none; seen still catches a repeat. */
static int json_member(const cJSON *item, struct fm_entry *e,
		       struct json_seen *seen, char *why, size_t whylen)
{
	const char *key = item->string;
	int algo = digest_key(key);
	char q[QUOTE_SIZE];

	if (strcmp(key, "url") == 0 || is_result_key(key))
		return 0;
	if (strcmp(key, "mirrors") == 0) {
		if (seen->mirrors)
			return fm_why(why, whylen, "duplicate key 'mirrors'");
		seen->mirrors = true;
		return json_strings(item, key, add_mirror, e, why, whylen);
	}
	if (strcmp(key, "headers") == 0) {
		if (seen->headers)
			return fm_why(why, whylen, "duplicate key 'headers'");
		seen->headers = true;
		return json_strings(item, key, add_header, e, why, whylen);
	}
	if (strcmp(key, "out") != 0 && algo < 0)
		return fm_why(why, whylen, "unknown key '%s'", quote(q, key));
	if (algo >= 0) {
		if (seen->digests & FM_ALGO_BIT(algo))
			return fm_why(why, whylen, "duplicate key '%s'", key);
		seen->digests |= FM_ALGO_BIT(algo);
		if (cJSON_IsNull(item))
			return 0;
	}
	if (!cJSON_IsString(item))
		return fm_why(why, whylen, "'%s' must be a string", key);
	return set_field(e, key, item->valuestring, why, whylen);
}

/* True when a JSON string in s holds the escape \u0000: cJSON would decode
 * it into a NUL byte that silently cuts the string short. */
static bool has_escaped_nul(const char *s)
{
	bool in_str = false;

	for (; *s != '\0'; s++) {
		if (*s == '"') {
			in_str = !in_str;
		} else if (in_str && *s == '\\') {
			if (strncmp(s + 1, "u0000", 5) == 0)
				return true;
			if (s[1] != '\0')
				s++;
		}
	}
	return false;
}

static enum fm_line_kind json_entry(const cJSON *root, struct fm_entry *e,
				    char *why, size_t whylen)
{
	const cJSON *item;
	struct json_seen seen = {0};

	if (!cJSON_IsObject(root)) {
		fm_why(why, whylen, "JSON entry is not an object");
		return FM_LINE_INVALID;
	}
	if (json_url(root, e, why, whylen) != 0)
		return FM_LINE_INVALID;
	cJSON_ArrayForEach(item, root)
		if (json_member(item, e, &seen, why, whylen) != 0)
			return FM_LINE_INVALID;
	return FM_LINE_ENTRY;
}

/* s: the trimmed line, '{' first; col0: its column in the original line,
 * so that an error position points into what the user wrote. */
static enum fm_line_kind parse_json(const char *s, size_t col0,
				    struct fm_entry *e, char *why,
				    size_t whylen)
{
	const char *end = NULL;
	enum fm_line_kind kind;
	cJSON *root;

	if (has_escaped_nul(s)) {
		fm_why(why, whylen, "NUL byte in line (\\u0000 in a JSON string)");
		return FM_LINE_INVALID;
	}
	root = cJSON_ParseWithLengthOpts(s, strlen(s), &end, 0);
	if (end == NULL)
		end = s;
	while (root != NULL && is_ws(*end))
		end++;
	if (root == NULL || *end != '\0') {
		/* Past the object, end points at what follows it. */
		fm_why(why, whylen, "invalid JSON at column %zu",
		    col0 + (size_t)(end - s) + 1);
		cJSON_Delete(root);
		return FM_LINE_INVALID;
	}
	kind = json_entry(root, e, why, whylen);
	cJSON_Delete(root);
	return kind;
}

/* A line with a NUL byte is invalid, but its URL token, when it ends
 * before the NUL, still helps the user find the line in the result. */
static void nul_line(const char *b, const char *end, struct fm_entry *e,
		     char *why, size_t whylen)
{
	const char *p = b;

	fm_why(why, whylen, "NUL byte in line");
	if (*b == '#' || *b == '{')
		return;
	while (p < end && *p != '\0' && !is_ws(*p))
		p++;
	if (p < end && *p != '\0')
		e->url = strndup(b, (size_t)(p - b));
}

static enum fm_line_kind parse_trimmed(const char *line, const char *b,
				       const char *end, struct fm_entry *e,
				       char *why, size_t whylen)
{
	enum fm_line_kind kind;
	char *s;

	if (memchr(b, '\0', (size_t)(end - b)) != NULL) {
		nul_line(b, end, e, why, whylen);
		return FM_LINE_INVALID;
	}
	if (*b == '#')
		return FM_LINE_SKIP;
	s = strndup(b, (size_t)(end - b));
	if (s == NULL) {
		fm_why(why, whylen, "out of memory");
		return FM_LINE_INVALID;
	}
	if (*s == '{')
		kind = parse_json(s, (size_t)(b - line), e, why, whylen);
	else
		kind = parse_text(s, e, why, whylen);
	free(s);
	return kind;
}

enum fm_line_kind fm_list_parse_line(const char *line, size_t len,
				     struct fm_entry *e, char *why,
				     size_t whylen)
{
	const char *b = line, *end = line + len;
	enum fm_line_kind kind;

	memset(e, 0, sizeof(*e));
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (len > FM_LINE_MAX) {
		fm_why(why, whylen, "line longer than %d bytes", FM_LINE_MAX);
		return FM_LINE_INVALID;
	}
	while (b < end && is_ws(*b))
		b++;
	while (end > b && is_ws(end[-1]))
		end--;
	if (b == end)
		return FM_LINE_SKIP;
	kind = parse_trimmed(line, b, end, e, why, whylen);
	if (kind == FM_LINE_INVALID) {
		/* Only the URL survives an invalid line: the rest was not
		 * (fully) checked and must not be used. */
		free(e->out);
		e->out = NULL;
		clear_digests(e);
		clear_mirrors(e);
		clear_headers(e);
	}
	return kind;
}
