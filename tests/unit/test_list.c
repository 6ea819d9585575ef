/* test_list.c: unit tests of fm_list_parse_line(), fm_url_check() and
 * fm_entry_clear().
 *
 * Table-driven: each row is a line and everything the parser must make of
 * it, including what it must leave untouched (out, the digests and
 * mirrors stay NULL on an invalid line, why stays empty on a good one). A
 * failing row names itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fm_list.h"

#define SHA_LC "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define SHA_63 "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0"
#define SHA_UC "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"

enum { SKIP = FM_LINE_SKIP, ENTRY = FM_LINE_ENTRY, INVALID = FM_LINE_INVALID };

struct line_case {
	const char *name;
	const char *line;
	size_t len;         /* 0: strlen(line); set for lines holding NULs */
	int kind;
	const char *url;    /* expected e.url, NULL for none */
	const char *out;
	const char *sha256;
	const char *why;    /* substring of the reason; NULL: why must be "" */
};

/* A row whose entry may have mirrors. */
struct mirror_case {
	struct line_case line;
	const char *mirrors; /* e.mirrors joined by single spaces; NULL: none */
};

static void check_str(const char *row, const char *what, const char *got,
		      const char *want)
{
	if (got == NULL && want == NULL)
		return;
	if (got == NULL || want == NULL || strcmp(got, want) != 0)
		fail_msg("%s: %s is \"%s\", expected \"%s\"", row, what,
			 got != NULL ? got : "(null)",
			 want != NULL ? want : "(null)");
}

/* e's mirrors joined by single spaces, into buf; NULL when it has none
 * (and then nmirrors must be 0). */
static const char *joined_mirrors(const char *row, const struct fm_entry *e,
				  char *buf, size_t cap)
{
	size_t len = 0;

	if (e->mirrors == NULL) {
		if (e->nmirrors != 0)
			fail_msg("%s: no mirrors, but nmirrors %u", row,
				 e->nmirrors);
		return NULL;
	}
	if (e->nmirrors == 0)
		fail_msg("%s: mirrors set, but nmirrors 0", row);
	buf[0] = '\0';
	for (unsigned i = 0; i < e->nmirrors; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%s",
					i ? " " : "", e->mirrors[i]);
	assert_true(len < cap);
	return buf;
}

static void run_case_mirrors(const struct line_case *c, const char *want)
{
	struct fm_entry e;
	char why[FM_WHY_MAX], mirrors[1024];
	size_t len = c->len != 0 ? c->len : strlen(c->line);
	enum fm_line_kind kind;

	memset(&e, 0x5a, sizeof(e)); /* must be zeroed by the parser */
	memset(why, 'x', sizeof(why));
	kind = fm_list_parse_line(c->line, len, &e, why, sizeof(why));
	if ((int)kind != c->kind)
		fail_msg("%s: kind %d, expected %d (why: %s)", c->name,
			 (int)kind, c->kind, why);
	check_str(c->name, "url", e.url, c->url);
	check_str(c->name, "out", e.out, c->out);
	check_str(c->name, "sha256", e.digest[FM_SHA256], c->sha256);
	for (int a = FM_SHA256 + 1; a < FM_ALGOS; a++)
		check_str(c->name, fm_algo_name(a), e.digest[a], NULL);
	check_str(c->name, "mirrors",
		  joined_mirrors(c->name, &e, mirrors, sizeof(mirrors)),
		  want);
	if (c->why == NULL)
		check_str(c->name, "why", why, "");
	else if (strstr(why, c->why) == NULL)
		fail_msg("%s: why is \"%s\", expected it to contain \"%s\"",
			 c->name, why, c->why);
	fm_entry_clear(&e);
}

static void run_case(const struct line_case *c)
{
	run_case_mirrors(c, NULL);
}

static void run_table(const struct line_case *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		run_case(&t[i]);
}

#define RUN_TABLE(t) run_table((t), sizeof(t) / sizeof((t)[0]))

static const struct line_case text_valid[] = {
	{ "plain", "https://example.org/a/flag.gif", 0, ENTRY,
	  "https://example.org/a/flag.gif", NULL, NULL, NULL },
	{ "http with port", "http://127.0.0.1:8080/x", 0, ENTRY,
	  "http://127.0.0.1:8080/x", NULL, NULL, NULL },
	{ "fields", "https://example.org/b?id=7   out=images/b.gif   sha256=" SHA_LC,
	  0, ENTRY, "https://example.org/b?id=7", "images/b.gif", SHA_LC, NULL },
	{ "fields in other order", "https://e.org/b sha256=" SHA_LC " out=b", 0,
	  ENTRY, "https://e.org/b", "b", SHA_LC, NULL },
	{ "tab separated", "https://e.org/b\tout=b\tsha256=" SHA_LC, 0, ENTRY,
	  "https://e.org/b", "b", SHA_LC, NULL },
	{ "mixed case scheme kept as written", "HtTpS://Example.ORG/A", 0, ENTRY,
	  "HtTpS://Example.ORG/A", NULL, NULL, NULL },
	{ "surrounding white space", " \t https://e.org/a \t\v\f", 0, ENTRY,
	  "https://e.org/a", NULL, NULL, NULL },
	{ "CRLF", "https://e.org/a out=x\r", 0, ENTRY, "https://e.org/a", "x",
	  NULL, NULL },
	{ "value holding '='", "https://e.org/a out=a=b", 0, ENTRY,
	  "https://e.org/a", "a=b", NULL, NULL },
	{ "uppercase sha256 lowercased", "https://e.org/a sha256=" SHA_UC, 0,
	  ENTRY, "https://e.org/a", NULL, SHA_LC, NULL },
	{ "out kept as written", "https://e.org/a out=./a//b", 0, ENTRY,
	  "https://e.org/a", "./a//b", NULL, NULL },
	{ "IPv6 host", "http://[::1]:8080/a", 0, ENTRY, "http://[::1]:8080/a",
	  NULL, NULL, NULL },
	{ "fragment in URL", "https://e.org/a#frag", 0, ENTRY,
	  "https://e.org/a#frag", NULL, NULL, NULL },
	{ "user info", "https://u:p@e.org/a", 0, ENTRY, "https://u:p@e.org/a",
	  NULL, NULL, NULL },
};

static const struct line_case skipped[] = {
	{ "empty", "", 0, SKIP, NULL, NULL, NULL, NULL },
	{ "spaces", "   ", 0, SKIP, NULL, NULL, NULL, NULL },
	{ "lone CR", "\r", 0, SKIP, NULL, NULL, NULL, NULL },
	{ "all white space", "\t\v\f \r", 0, SKIP, NULL, NULL, NULL, NULL },
	{ "comment", "# a comment", 0, SKIP, NULL, NULL, NULL, NULL },
	{ "indented comment", "  \t# a comment", 0, SKIP, NULL, NULL, NULL, NULL },
	{ "commented-out URL", "#https://e.org/a", 0, SKIP, NULL, NULL, NULL, NULL },
	{ "comment with CR", "# x\r", 0, SKIP, NULL, NULL, NULL, NULL },
};

static const struct line_case text_invalid[] = {
	{ "ftp", "ftp://e.org/a", 0, INVALID, "ftp://e.org/a", NULL, NULL,
	  "unsupported scheme 'ftp'" },
	{ "file", "file:///etc/passwd", 0, INVALID, "file:///etc/passwd", NULL,
	  NULL, "unsupported scheme 'file'" },
	{ "unknown scheme", "foo://e.org/a", 0, INVALID, "foo://e.org/a", NULL,
	  NULL, "unsupported scheme 'foo'" },
	{ "no scheme", "example.org/a", 0, INVALID, "example.org/a", NULL, NULL,
	  "not an absolute URL (missing http:// or https://)" },
	{ "host:port without scheme", "example.org:8080/a", 0, INVALID,
	  "example.org:8080/a", NULL, NULL, "not an absolute URL" },
	{ "absolute path", "/a/b", 0, INVALID, "/a/b", NULL, NULL,
	  "not an absolute URL" },
	{ "mailto", "mailto:a@e.org", 0, INVALID, "mailto:a@e.org", NULL, NULL,
	  "not an absolute URL" },
	{ "JSON array is a text line", "[\"https://e.org/a\"]", 0, INVALID,
	  "[\"https://e.org/a\"]", NULL, NULL, "not an absolute URL" },
	{ "bad port", "http://e.org:99999/", 0, INVALID, "http://e.org:99999/",
	  NULL, NULL, "malformed URL: " },
	{ "no host", "http://:80/", 0, INVALID, "http://:80/", NULL, NULL,
	  "malformed URL: " },
	{ "bad slashes", "http:e.org", 0, INVALID, "http:e.org", NULL, NULL,
	  "malformed URL: " },
	{ "bad IPv6", "http://[::1/", 0, INVALID, "http://[::1/", NULL, NULL,
	  "malformed URL: " },
	{ "unknown key", "https://e.org/a foo=1", 0, INVALID, "https://e.org/a",
	  NULL, NULL, "unknown key 'foo'" },
	{ "field without '='", "https://e.org/a bar", 0, INVALID,
	  "https://e.org/a", NULL, NULL, "field 'bar' is not key=value" },
	{ "field with empty key", "https://e.org/a =x", 0, INVALID,
	  "https://e.org/a", NULL, NULL, "field '=x' is not key=value" },
	{ "empty out", "https://e.org/a out=", 0, INVALID, "https://e.org/a",
	  NULL, NULL, "empty value for key 'out'" },
	{ "empty sha256", "https://e.org/a sha256=", 0, INVALID,
	  "https://e.org/a", NULL, NULL, "empty value for key 'sha256'" },
	{ "duplicate out", "https://e.org/a out=x out=y", 0, INVALID,
	  "https://e.org/a", NULL, NULL, "duplicate key 'out'" },
	{ "duplicate sha256", "https://e.org/a sha256=" SHA_LC " sha256=" SHA_LC,
	  0, INVALID, "https://e.org/a", NULL, NULL, "duplicate key 'sha256'" },
	{ "sha256 too short", "https://e.org/a sha256=" SHA_63, 0, INVALID,
	  "https://e.org/a", NULL, NULL, "sha256 must be 64 hex digits" },
	{ "sha256 too long", "https://e.org/a sha256=0" SHA_LC, 0, INVALID,
	  "https://e.org/a", NULL, NULL, "sha256 must be 64 hex digits" },
	{ "sha256 not hex",
	  "https://e.org/a sha256=g" SHA_63, 0, INVALID, "https://e.org/a",
	  NULL, NULL, "sha256 must be 64 hex digits" },
	{ "absolute out", "https://e.org/a out=/etc/passwd", 0, INVALID,
	  "https://e.org/a", NULL, NULL, "unsafe out=: absolute path" },
	{ "climbing out", "https://e.org/a out=a/../../x", 0, INVALID,
	  "https://e.org/a", NULL, NULL, "unsafe out=: '..' segment" },
	{ "out ending in '/'", "https://e.org/a out=dir/", 0, INVALID,
	  "https://e.org/a", NULL, NULL, "unsafe out=: ends with '/'" },
	{ "good out then bad field", "https://e.org/a out=x nope", 0, INVALID,
	  "https://e.org/a", NULL, NULL, "field 'nope' is not key=value" },
	{ "control byte in field", "https://e.org/a b\001r", 0, INVALID,
	  "https://e.org/a", NULL, NULL, "field 'b?r' is not key=value" },
};

/* Lines with NUL bytes: len is given explicitly. */
static const struct line_case nul_lines[] = {
	{ "NUL in URL", "https://e.org/a\0b", 17, INVALID, NULL, NULL, NULL,
	  "NUL byte in line" },
	{ "NUL in a field", "https://e.org/a out=\0x", 22, INVALID,
	  "https://e.org/a", NULL, NULL, "NUL byte in line" },
	{ "NUL alone", "\0", 1, INVALID, NULL, NULL, NULL, "NUL byte in line" },
	{ "NUL at the end", "https://e.org/a\0", 16, INVALID, NULL, NULL, NULL,
	  "NUL byte in line" },
	{ "NUL in a comment", "# x\0y", 5, INVALID, NULL, NULL, NULL,
	  "NUL byte in line" },
	{ "NUL in JSON", "{\"url\":\"https://e.org/a\0\"}", 26, INVALID, NULL,
	  NULL, NULL, "NUL byte in line" },
	{ "escaped NUL in JSON", "{\"url\":\"https://e.org/a\\u0000b\"}", 0,
	  INVALID, NULL, NULL, NULL, "NUL byte in line" },
};

static const struct line_case json_lines[] = {
	{ "JSON url only", "{\"url\":\"https://e.org/a\"}", 0, ENTRY,
	  "https://e.org/a", NULL, NULL, NULL },
	{ "JSON all fields", "{\"url\": \"https://e.org/a\", \"out\": \"x/y\", "
	  "\"sha256\": \"" SHA_UC "\"}", 0, ENTRY, "https://e.org/a", "x/y",
	  SHA_LC, NULL },
	{ "JSON indented, CRLF", "  {\"url\":\"https://e.org/a\"}\r", 0, ENTRY,
	  "https://e.org/a", NULL, NULL, NULL },
	{ "JSON escapes decoded", "{\"url\":\"https:\\/\\/e.org\\/a\"}", 0,
	  ENTRY, "https://e.org/a", NULL, NULL, NULL },
	{ "JSON sha256 null", "{\"url\":\"https://e.org/a\",\"sha256\":null}", 0,
	  ENTRY, "https://e.org/a", NULL, NULL, NULL },
	{ "result record", "{\"url\":\"https://e.org/a\",\"path\":\"dl/a\","
	  "\"status\":\"failed\",\"http_status\":null,\"bytes\":0,"
	  "\"seconds\":0.1,\"attempts\":1,\"error\":\"x\",\"line\":3,"
	  "\"source\":\"-\"}", 0, ENTRY, "https://e.org/a", NULL, NULL, NULL },
	{ "result record with out and sha256", "{\"url\":\"https://e.org/a\","
	  "\"out\":\"o/a\",\"path\":\"dl/o/a\",\"status\":\"failed\","
	  "\"http_status\":503,\"bytes\":10,\"seconds\":1.5,\"attempts\":3,"
	  "\"error\":\"HTTP 503\",\"sha256\":\"" SHA_LC "\",\"line\":null,"
	  "\"source\":null}", 0, ENTRY, "https://e.org/a", "o/a", SHA_LC, NULL },
	{ "result keys of any type", "{\"path\":[1,{}],\"url\":\"http://e.org/\","
	  "\"status\":{\"a\":1},\"error\":true}", 0, ENTRY, "http://e.org/", NULL,
	  NULL, NULL },
	{ "JSON url not a string", "{\"url\":5}", 0, INVALID, NULL, NULL, NULL,
	  "'url' must be a string" },
	{ "JSON url null", "{\"url\":null}", 0, INVALID, NULL, NULL, NULL,
	  "'url' must be a string" },
	{ "JSON missing url", "{\"out\":\"a\"}", 0, INVALID, NULL, NULL, NULL,
	  "JSON entry has no 'url'" },
	{ "JSON empty object", "{}", 0, INVALID, NULL, NULL, NULL,
	  "JSON entry has no 'url'" },
	{ "JSON key case matters", "{\"URL\":\"https://e.org/a\"}", 0, INVALID,
	  NULL, NULL, NULL, "JSON entry has no 'url'" },
	{ "JSON duplicate url", "{\"url\":\"https://e.org/a\",\"url\":\"https://e.org/b\"}",
	  0, INVALID, "https://e.org/a", NULL, NULL, "duplicate key 'url'" },
	{ "JSON duplicate out", "{\"url\":\"https://e.org/a\",\"out\":\"a\",\"out\":\"b\"}",
	  0, INVALID, "https://e.org/a", NULL, NULL, "duplicate key 'out'" },
	{ "JSON duplicate sha256 after null", "{\"url\":\"https://e.org/a\","
	  "\"sha256\":null,\"sha256\":\"" SHA_LC "\"}", 0, INVALID,
	  "https://e.org/a", NULL, NULL, "duplicate key 'sha256'" },
	{ "JSON unknown key", "{\"url\":\"https://e.org/a\",\"foo\":1}", 0,
	  INVALID, "https://e.org/a", NULL, NULL, "unknown key 'foo'" },
	{ "JSON unknown key before url", "{\"foo\":1,\"url\":\"https://e.org/a\"}",
	  0, INVALID, "https://e.org/a", NULL, NULL, "unknown key 'foo'" },
	{ "JSON out not a string", "{\"url\":\"https://e.org/a\",\"out\":1}", 0,
	  INVALID, "https://e.org/a", NULL, NULL, "'out' must be a string" },
	{ "JSON out null", "{\"url\":\"https://e.org/a\",\"out\":null}", 0,
	  INVALID, "https://e.org/a", NULL, NULL, "'out' must be a string" },
	{ "JSON sha256 number", "{\"url\":\"https://e.org/a\",\"sha256\":1}", 0,
	  INVALID, "https://e.org/a", NULL, NULL, "'sha256' must be a string" },
	{ "JSON bad sha256", "{\"url\":\"https://e.org/a\",\"sha256\":\"zz\"}", 0,
	  INVALID, "https://e.org/a", NULL, NULL, "sha256 must be 64 hex digits" },
	{ "JSON unsafe out", "{\"url\":\"https://e.org/a\",\"out\":\"../x\"}", 0,
	  INVALID, "https://e.org/a", NULL, NULL, "unsafe out=: '..'" },
	{ "JSON empty out", "{\"url\":\"https://e.org/a\",\"out\":\"\"}", 0,
	  INVALID, "https://e.org/a", NULL, NULL, "empty value for key 'out'" },
	{ "JSON ftp url", "{\"url\":\"ftp://e.org/a\",\"out\":\"a\"}", 0, INVALID,
	  "ftp://e.org/a", NULL, NULL, "unsupported scheme 'ftp'" },
	{ "JSON url with space", "{\"url\":\"https://e.org/a b\"}", 0, INVALID,
	  "https://e.org/a b", NULL, NULL, "malformed URL: " },
	{ "broken JSON", "{\"url\": ", 0, INVALID, NULL, NULL, NULL,
	  "invalid JSON at column " },
	{ "broken JSON position", "  {\"url\" \"https://e.org/a\"}", 0, INVALID,
	  NULL, NULL, NULL, "invalid JSON at column 10" },
	{ "trailing garbage", "{\"url\":\"https://e.org/a\"} x", 0, INVALID, NULL,
	  NULL, NULL, "invalid JSON at column 27" },
	{ "two objects", "{\"url\":\"https://e.org/a\"}{}", 0, INVALID, NULL,
	  NULL, NULL, "invalid JSON" },
	{ "escaped backslash before u0000 is no NUL",
	  "{\"url\":\"https://e.org/a\",\"error\":\"\\\\u0000\"}", 0, ENTRY,
	  "https://e.org/a", NULL, NULL, NULL },
};

/* mirror= (text) and "mirrors" (JSON), a result record's "from". */
static const struct mirror_case mirror_lines[] = {
	{ { "one mirror", "https://a.org/x mirror=https://b.org/x", 0, ENTRY,
	  "https://a.org/x", NULL, NULL, NULL },
	  "https://b.org/x" },
	{ { "mirrors in order, among fields",
	  "https://a.org/x mirror=http://b.org/x out=o\tmirror=https://c.org:8443/x?y=1",
	  0, ENTRY, "https://a.org/x", "o", NULL, NULL },
	  "http://b.org/x https://c.org:8443/x?y=1" },
	{ { "a mirror holding '='", "https://a.org/x mirror=https://b.org/x?a=b=c",
	  0, ENTRY, "https://a.org/x", NULL, NULL, NULL },
	  "https://b.org/x?a=b=c" },
	{ { "repeats left out",
	  "https://a.org/x mirror=https://a.org/x mirror=https://b.org/x "
	  "mirror=https://b.org/x", 0, ENTRY, "https://a.org/x", NULL, NULL,
	  NULL },
	  "https://b.org/x" },
	{ { "only the URL itself", "https://a.org/x mirror=https://a.org/x", 0,
	  ENTRY, "https://a.org/x", NULL, NULL, NULL },
	  NULL },
	{ { "mirror with another scheme's case", "https://a.org/x mirror=HTTP://b.org/x",
	  0, ENTRY, "https://a.org/x", NULL, NULL, NULL },
	  "HTTP://b.org/x" },
	{ { "mirror: unsupported scheme", "https://a.org/x mirror=ftp://b.org/x", 0,
	  INVALID, "https://a.org/x", NULL, NULL,
	  "mirror 'ftp://b.org/x': unsupported scheme 'ftp'" },
	  NULL },
	{ { "mirror: not absolute", "https://a.org/x mirror=b.org/x", 0, INVALID,
	  "https://a.org/x", NULL, NULL,
	  "mirror 'b.org/x': not an absolute URL" },
	  NULL },
	{ { "mirror: malformed", "https://a.org/x mirror=http://b.org:99999/x", 0,
	  INVALID, "https://a.org/x", NULL, NULL,
	  "mirror 'http://b.org:99999/x': malformed URL: " },
	  NULL },
	{ { "mirror: empty", "https://a.org/x mirror=", 0, INVALID,
	  "https://a.org/x", NULL, NULL, "empty value for key 'mirror'" },
	  NULL },
	{ { "good mirror, then a bad one", "https://a.org/x mirror=https://b.org/x "
	  "mirror=gopher://c.org/x", 0, INVALID, "https://a.org/x", NULL, NULL,
	  "mirror 'gopher://c.org/x'" },
	  NULL },
	{ { "good mirror, then a bad field", "https://a.org/x mirror=https://b.org/x "
	  "oops", 0, INVALID, "https://a.org/x", NULL, NULL,
	  "field 'oops' is not key=value" },
	  NULL },
	{ { "a long bad mirror quoted short", "https://a.org/x mirror=ftp://"
	  "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/x",
	  0, INVALID, "https://a.org/x", NULL, NULL,
	  "mirror 'ftp://" "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb...': "
	  "unsupported scheme 'ftp'" },
	  NULL },
	{ { "'mirrors' is no text key", "https://a.org/x mirrors=https://b.org/x",
	  0, INVALID, "https://a.org/x", NULL, NULL, "unknown key 'mirrors'" },
	  NULL },
	{ { "JSON mirrors", "{\"url\":\"https://a.org/x\",\"mirrors\":"
	  "[\"https://b.org/x\",\"http://c.org/x\"]}", 0, ENTRY,
	  "https://a.org/x", NULL, NULL, NULL },
	  "https://b.org/x http://c.org/x" },
	{ { "JSON mirrors before url", "{\"mirrors\":[\"https://b.org/x\"],"
	  "\"url\":\"https://a.org/x\"}", 0, ENTRY, "https://a.org/x", NULL,
	  NULL, NULL },
	  "https://b.org/x" },
	{ { "JSON mirrors empty", "{\"url\":\"https://a.org/x\",\"mirrors\":[]}",
	  0, ENTRY, "https://a.org/x", NULL, NULL, NULL },
	  NULL },
	{ { "JSON mirrors repeats left out", "{\"url\":\"https://a.org/x\","
	  "\"mirrors\":[\"https://b.org/x\",\"https://a.org/x\","
	  "\"https://b.org/x\"]}", 0, ENTRY, "https://a.org/x", NULL, NULL,
	  NULL },
	  "https://b.org/x" },
	{ { "JSON mirrors a string", "{\"url\":\"https://a.org/x\",\"mirrors\":"
	  "\"https://b.org/x\"}", 0, INVALID, "https://a.org/x", NULL, NULL,
	  "'mirrors' must be an array of strings" },
	  NULL },
	{ { "JSON mirrors null", "{\"url\":\"https://a.org/x\",\"mirrors\":null}",
	  0, INVALID, "https://a.org/x", NULL, NULL,
	  "'mirrors' must be an array of strings" },
	  NULL },
	{ { "JSON mirrors holding a number", "{\"url\":\"https://a.org/x\","
	  "\"mirrors\":[\"https://b.org/x\",1]}", 0, INVALID, "https://a.org/x",
	  NULL, NULL, "'mirrors' must be an array of strings" },
	  NULL },
	{ { "JSON mirrors holding an object", "{\"url\":\"https://a.org/x\","
	  "\"mirrors\":[{\"url\":\"https://b.org/x\"}]}", 0, INVALID,
	  "https://a.org/x", NULL, NULL, "'mirrors' must be an array of strings" },
	  NULL },
	{ { "JSON bad mirror", "{\"url\":\"https://a.org/x\",\"mirrors\":"
	  "[\"https://b.org/x\",\"file:///etc/passwd\"]}", 0, INVALID,
	  "https://a.org/x", NULL, NULL,
	  "mirror 'file:///etc/passwd': unsupported scheme 'file'" },
	  NULL },
	{ { "JSON empty mirror", "{\"url\":\"https://a.org/x\",\"mirrors\":[\"\"]}",
	  0, INVALID, "https://a.org/x", NULL, NULL,
	  "empty value for key 'mirror'" },
	  NULL },
	{ { "JSON duplicate mirrors", "{\"url\":\"https://a.org/x\",\"mirrors\":"
	  "[\"https://b.org/x\"],\"mirrors\":[\"https://c.org/x\"]}", 0,
	  INVALID, "https://a.org/x", NULL, NULL, "duplicate key 'mirrors'" },
	  NULL },
	{ { "JSON duplicate mirrors, the first empty", "{\"url\":\"https://a.org/x\","
	  "\"mirrors\":[],\"mirrors\":[]}", 0, INVALID, "https://a.org/x", NULL,
	  NULL, "duplicate key 'mirrors'" },
	  NULL },
	{ { "'mirror' is no JSON key", "{\"url\":\"https://a.org/x\",\"mirror\":"
	  "\"https://b.org/x\"}", 0, INVALID, "https://a.org/x", NULL, NULL,
	  "unknown key 'mirror'" },
	  NULL },
	{ { "result record with mirrors fed back",
	  "{\"url\":\"https://a.org/x\",\"from\":\"https://b.org/x\","
	  "\"out\":\"o/x\",\"mirrors\":[\"https://b.org/x\",\"https://c.org/x\"],"
	  "\"path\":\"dl/o/x\",\"status\":\"ok\",\"http_status\":200,"
	  "\"bytes\":10,\"seconds\":0.1,\"attempts\":2,\"error\":null,"
	  "\"line\":4,\"source\":\"l.txt\"}", 0, ENTRY, "https://a.org/x",
	  "o/x", NULL, NULL },
	  "https://b.org/x https://c.org/x" },
	{ { "failed record with mirrors fed back",
	  "{\"url\":\"https://a.org/x\",\"from\":null,"
	  "\"mirrors\":[\"https://b.org/x\"],\"path\":null,"
	  "\"status\":\"failed\",\"http_status\":404,\"bytes\":0,"
	  "\"seconds\":0.1,\"attempts\":2,\"error\":\"all 2 URLs failed: "
	  "https://a.org/x: HTTP 404; https://b.org/x: HTTP 404\",\"line\":null,"
	  "\"source\":null}", 0, ENTRY, "https://a.org/x", NULL, NULL, NULL },
	  "https://b.org/x" },
	{ { "result key 'from' without mirrors", "{\"url\":\"https://a.org/x\","
	  "\"from\":5}", 0, ENTRY, "https://a.org/x", NULL, NULL, NULL },
	  NULL },
};

static void parse_text_valid(void **state)
{
	(void)state;
	RUN_TABLE(text_valid);
}

static void parse_skipped(void **state)
{
	(void)state;
	RUN_TABLE(skipped);
}

static void parse_text_invalid(void **state)
{
	(void)state;
	RUN_TABLE(text_invalid);
}

static void parse_nul_bytes(void **state)
{
	(void)state;
	RUN_TABLE(nul_lines);
}

#define MD5_LC "900150983cd24fb0d6963f7d28e17f72"
#define SHA1_LC "a9993e364706816aba3e25717850c26c9cd0d89d"
#define SHA512_LC SHA_LC SHA_LC

/* A row for the digests other than sha256. */
struct digest_case {
	const char *name;
	const char *line;
	int kind;
	const char *want[FM_ALGOS]; /* e.digest[], NULL: none */
	const char *why;            /* as in struct line_case */
};

static const struct digest_case digest_lines[] = {
	{ "md5 and sha1", "https://e.org/a md5=" MD5_LC " sha1=" SHA1_LC,
	  ENTRY, { [FM_MD5] = MD5_LC, [FM_SHA1] = SHA1_LC }, NULL },
	{ "all four", "https://e.org/a sha512=" SHA512_LC " sha256=" SHA_UC
	  " md5=900150983CD24FB0D6963F7D28E17F72 sha1=" SHA1_LC, ENTRY,
	  { SHA_LC, SHA512_LC, SHA1_LC, MD5_LC }, NULL },
	{ "JSON sha512 and md5", "{\"url\":\"https://e.org/a\",\"sha512\":\""
	  SHA512_LC "\",\"md5\":\"" MD5_LC "\",\"sha1\":null}", ENTRY,
	  { [FM_SHA512] = SHA512_LC, [FM_MD5] = MD5_LC }, NULL },
	{ "result record with the digests", "{\"url\":\"https://e.org/a\","
	  "\"path\":null,\"status\":\"failed\",\"http_status\":200,"
	  "\"bytes\":0,\"seconds\":0.1,\"attempts\":1,\"error\":\"x\","
	  "\"sha256\":\"" SHA_LC "\",\"sha512\":\"" SHA512_LC "\","
	  "\"sha1\":\"" SHA1_LC "\",\"md5\":\"" MD5_LC "\",\"line\":1,"
	  "\"source\":\"l\"}", ENTRY, { SHA_LC, SHA512_LC, SHA1_LC, MD5_LC },
	  NULL },
	{ "md5 short", "https://e.org/a md5=" SHA1_LC, INVALID, { 0 },
	  "md5 must be 32 hex digits" },
	{ "sha1 of md5's length", "https://e.org/a sha1=" MD5_LC, INVALID,
	  { 0 }, "sha1 must be 40 hex digits" },
	{ "sha512 of sha256's length", "https://e.org/a sha512=" SHA_LC,
	  INVALID, { 0 }, "sha512 must be 128 hex digits" },
	{ "sha512 not hex", "https://e.org/a sha512=" SHA_LC SHA_63 "x",
	  INVALID, { 0 }, "sha512 must be 128 hex digits" },
	{ "empty md5", "https://e.org/a md5=", INVALID, { 0 },
	  "empty value for key 'md5'" },
	{ "duplicate sha1", "https://e.org/a sha1=" SHA1_LC " sha1=" SHA1_LC,
	  INVALID, { 0 }, "duplicate key 'sha1'" },
	{ "good sha256, bad md5: nothing kept", "https://e.org/a sha256="
	  SHA_LC " md5=00", INVALID, { 0 }, "md5 must be 32 hex digits" },
	{ "key case matters", "https://e.org/a MD5=" MD5_LC, INVALID, { 0 },
	  "unknown key 'MD5'" },
	{ "sha384 unknown", "https://e.org/a sha384=" MD5_LC, INVALID, { 0 },
	  "unknown key 'sha384'" },
	{ "JSON md5 number", "{\"url\":\"https://e.org/a\",\"md5\":5}",
	  INVALID, { 0 }, "'md5' must be a string" },
	{ "JSON duplicate sha512 after null", "{\"url\":\"https://e.org/a\","
	  "\"sha512\":null,\"sha512\":\"" SHA512_LC "\"}", INVALID, { 0 },
	  "duplicate key 'sha512'" },
};

static void parse_other_digests(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(digest_lines) / sizeof(digest_lines[0]);
	     i++) {
		const struct digest_case *c = &digest_lines[i];
		struct fm_entry e;
		char why[FM_WHY_MAX];
		enum fm_line_kind kind;

		memset(&e, 0x5a, sizeof(e));
		kind = fm_list_parse_line(c->line, strlen(c->line), &e, why,
					  sizeof(why));
		if ((int)kind != c->kind)
			fail_msg("%s: kind %d, expected %d (why: %s)", c->name,
				 (int)kind, c->kind, why);
		for (int a = 0; a < FM_ALGOS; a++)
			check_str(c->name, fm_algo_name(a), e.digest[a],
				  c->want[a]);
		if (c->why == NULL)
			check_str(c->name, "why", why, "");
		else if (strstr(why, c->why) == NULL)
			fail_msg("%s: why is \"%s\", expected it to contain "
				 "\"%s\"", c->name, why, c->why);
		fm_entry_clear(&e);
	}
}

static void parse_json_lines(void **state)
{
	(void)state;
	RUN_TABLE(json_lines);
}

static void parse_mirrors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mirror_lines) / sizeof(mirror_lines[0]);
	     i++)
		run_case_mirrors(&mirror_lines[i].line, mirror_lines[i].mirrors);
}

/* FM_MIRRORS_MAX mirrors are accepted, in text and JSON; one more makes
 * the entry invalid. */
static void parse_mirrors_limit(void **state)
{
	char *text = malloc(FM_LINE_MAX), *json = malloc(FM_LINE_MAX);
	char why[FM_WHY_MAX];
	struct fm_entry e;
	size_t t, j;

	(void)state;
	assert_non_null(text);
	assert_non_null(json);
	t = (size_t)sprintf(text, "https://a.org/x");
	j = (size_t)sprintf(json, "{\"url\":\"https://a.org/x\",\"mirrors\":[");
	for (int i = 0; i < FM_MIRRORS_MAX; i++) {
		t += (size_t)sprintf(text + t, " mirror=https://m%d.org/x", i);
		j += (size_t)sprintf(json + j, "%s\"https://m%d.org/x\"",
				     i ? "," : "", i);
	}
	assert_int_equal(fm_list_parse_line(text, t, &e, why, sizeof(why)),
			 FM_LINE_ENTRY);
	assert_int_equal(e.nmirrors, FM_MIRRORS_MAX);
	assert_string_equal(e.mirrors[FM_MIRRORS_MAX - 1],
			    "https://m99.org/x");
	fm_entry_clear(&e);
	strcpy(json + j, "]}");
	assert_int_equal(fm_list_parse_line(json, j + 2, &e, why, sizeof(why)),
			 FM_LINE_ENTRY);
	assert_int_equal(e.nmirrors, FM_MIRRORS_MAX);
	fm_entry_clear(&e);

	t += (size_t)sprintf(text + t, " mirror=https://one-more.org/x");
	j += (size_t)sprintf(json + j, ",\"https://one-more.org/x\"]}");
	assert_int_equal(fm_list_parse_line(text, t, &e, why, sizeof(why)),
			 FM_LINE_INVALID);
	assert_string_equal(why, "more than 100 mirrors");
	assert_null(e.mirrors);
	fm_entry_clear(&e);
	assert_int_equal(fm_list_parse_line(json, j, &e, why, sizeof(why)),
			 FM_LINE_INVALID);
	assert_string_equal(why, "more than 100 mirrors");
	assert_null(e.mirrors);
	fm_entry_clear(&e);
	free(text);
	free(json);
}

/* A line of exactly FM_LINE_MAX bytes is accepted, one more is not. */
static void parse_line_length_limit(void **state)
{
	static const char head[] = "https://e.org/";
	char *line = malloc(FM_LINE_MAX + 2);
	char why[FM_WHY_MAX];
	struct fm_entry e;

	(void)state;
	assert_non_null(line);
	memcpy(line, head, sizeof(head) - 1);
	memset(line + sizeof(head) - 1, 'a', FM_LINE_MAX + 1 - (sizeof(head) - 1));
	line[FM_LINE_MAX + 1] = '\0';
	assert_int_equal(fm_list_parse_line(line, FM_LINE_MAX, &e, why, sizeof(why)),
			 FM_LINE_ENTRY);
	assert_int_equal(strlen(e.url), FM_LINE_MAX);
	fm_entry_clear(&e);
	assert_int_equal(fm_list_parse_line(line, FM_LINE_MAX + 1, &e, why,
					    sizeof(why)), FM_LINE_INVALID);
	assert_string_equal(why, "line longer than 65536 bytes");
	assert_null(e.url);
	free(line);
}

/* A long offending field is quoted short, so the reason stays whole. */
static void parse_long_field_quoted(void **state)
{
	char line[512], why[FM_WHY_MAX];
	struct fm_entry e;

	(void)state;
	strcpy(line, "https://e.org/a ");
	memset(line + 16, 'k', 400);
	strcpy(line + 416, "=1");
	assert_int_equal(fm_list_parse_line(line, strlen(line), &e, why, sizeof(why)),
			 FM_LINE_INVALID);
	assert_non_null(strstr(why, "unknown key 'kkkk"));
	assert_non_null(strstr(why, "...'"));
	assert_true(strlen(why) < 100);
	fm_entry_clear(&e);
}

/* A small or absent reason buffer is cut, never overrun. */
static void parse_small_why(void **state)
{
	static const char line[] = "https://e.org/a foo=1";
	char why[8 + 1];
	struct fm_entry e;

	(void)state;
	why[8] = '#';
	assert_int_equal(fm_list_parse_line(line, strlen(line), &e, why, 8),
			 FM_LINE_INVALID);
	assert_string_equal(why, "unknown");
	assert_int_equal(why[8], '#');
	fm_entry_clear(&e);
	assert_int_equal(fm_list_parse_line(line, strlen(line), &e, NULL, 0),
			 FM_LINE_INVALID);
	fm_entry_clear(&e);
}

struct url_case {
	const char *url;
	const char *why; /* substring, NULL when the URL is good */
};

static const struct url_case urls[] = {
	{ "http://e.org", NULL },
	{ "https://e.org/a/b?c=d#e", NULL },
	{ "HTTP://E.ORG/", NULL },
	{ "https://[2001:db8::1]:8443/x", NULL },
	{ "http://e.org:80/", NULL },
	{ "ftp://e.org/", "unsupported scheme 'ftp'" },
	{ "FTP://e.org/", "unsupported scheme 'ftp'" },
	{ "file:///etc/passwd", "unsupported scheme 'file'" },
	{ "httpx://e.org/", "unsupported scheme 'httpx'" },
	{ "e.org", "not an absolute URL (missing http:// or https://)" },
	{ "//e.org/a", "not an absolute URL" },
	{ "://e.org/a", "not an absolute URL" },
	{ "", "not an absolute URL" },
	{ "1http://e.org/", "not an absolute URL" },
	{ "localhost:8080", "not an absolute URL" },
	{ "http://", "malformed URL: " },
	{ "http://:80/", "malformed URL: No host part in the URL" },
	{ "http://e.org:65536/", "malformed URL: Port number" },
	{ "http://e.org/a b", "malformed URL: " },
	{ "http://e.org/\x01", "malformed URL: " },
	{ NULL, "not an absolute URL" },
};

static void url_check_table(void **state)
{
	char why[FM_WHY_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		const struct url_case *c = &urls[i];
		int rc;

		why[0] = '\0';
		rc = fm_url_check(c->url, why, sizeof(why));
		if (c->why == NULL && rc != 0)
			fail_msg("%s: refused: %s", c->url, why);
		if (c->why != NULL && (rc != -1 || strstr(why, c->why) == NULL))
			fail_msg("%s: rc %d, why \"%s\", expected \"%s\"",
				 c->url != NULL ? c->url : "(null)", rc, why, c->why);
	}
}

/* header= and "headers": a row is a line, what the entry's headers must
 * be (joined by " | "; NULL: none), and for an invalid line the reason
 * (a substring) and a secret that the reason must not quote: a header's
 * value may be a credential, and the reason ends up in a result. */
struct header_case {
	const char *name;
	const char *line;
	int kind;
	const char *headers;
	const char *why;
	const char *secret;
};

#define U "https://e.org/a"

static const struct header_case header_lines[] = {
	{ "one, quoted", U " header=\"X-Token: abc def\"", ENTRY,
	  "X-Token: abc def", NULL, NULL },
	{ "unquoted", U " header=X-A:b", ENTRY, "X-A:b", NULL, NULL },
	{ "repeated, in order", U " header=\"A: 1\" out=o header=\"B: 2\"",
	  ENTRY, "A: 1 | B: 2", NULL, NULL },
	{ "a name repeated is kept twice", U " header=A:1 header=a:2", ENTRY,
	  "A:1 | a:2", NULL, NULL },
	{ "escapes", U " header=\"X-Q: say \\\"hi\\\" \\\\ ok\"", ENTRY,
	  "X-Q: say \"hi\" \\ ok", NULL, NULL },
	{ "other backslashes kept", U " header=\"X: a\\nb\\tc\"", ENTRY,
	  "X: a\\nb\\tc", NULL, NULL },
	{ "tab inside quotes", U " header=\"X: a\tb\"", ENTRY, "X: a\tb",
	  NULL, NULL },
	{ "empty value removes a header", U " header=Accept:", ENTRY,
	  "Accept:", NULL, NULL },
	{ "quote inside an unquoted value is literal", U " header=X:a\"b",
	  ENTRY, "X:a\"b", NULL, NULL },
	{ "no colon", U " header=NoColonSECRET", INVALID, NULL,
	  "header has no ':'", "SECRET" },
	{ "curl's empty-header form is not one", U " header=X-Empty;", INVALID,
	  NULL, "has no ':'", NULL },
	{ "empty name", U " header=\": SECRET\"", INVALID, NULL,
	  "empty header name", "SECRET" },
	{ "space in the name", U " header=\"Bad Name: SECRET\"", INVALID, NULL,
	  "header name 'Bad Name'", "SECRET" },
	{ "CR in the value", U " header=\"X-Token: a\rSECRET\"", INVALID, NULL,
	  "header 'X-Token': CR or LF", "SECRET" },
	{ "other control in the value", U " header=\"X-Token: \x01SECRET\"",
	  INVALID, NULL, "header 'X-Token': control character", "SECRET" },
	{ "empty", U " header=", INVALID, NULL, "empty value for key 'header'",
	  NULL },
	{ "empty quoted", U " header=\"\"", INVALID, NULL,
	  "empty value for key 'header'", NULL },
	{ "unterminated quote", U " header=\"X: SECRET", INVALID, NULL,
	  "no closing quote in field 'header'", "SECRET" },
	{ "text after the closing quote", U " header=\"X: a\"SECRET", INVALID,
	  NULL, "text after the closing quote of field 'header'", "SECRET" },
	{ "a bad line keeps no header", U " header=\"A: 1\" bogus=1", INVALID,
	  NULL, "unknown key 'bogus'", NULL },
	{ "JSON", "{\"url\":\"" U "\",\"headers\":[\"X-A: 1\",\"B: two words\"]}",
	  ENTRY, "X-A: 1 | B: two words", NULL, NULL },
	{ "JSON empty array", "{\"url\":\"" U "\",\"headers\":[]}", ENTRY, NULL,
	  NULL, NULL },
	{ "JSON not an array", "{\"url\":\"" U "\",\"headers\":\"X: 1\"}",
	  INVALID, NULL, "'headers' must be an array of strings", NULL },
	{ "JSON not strings", "{\"url\":\"" U "\",\"headers\":[1]}", INVALID,
	  NULL, "'headers' must be an array of strings", NULL },
	{ "JSON CRLF injection",
	  "{\"url\":\"" U "\",\"headers\":[\"X: a\\r\\nSECRET: 1\"]}", INVALID,
	  NULL, "header 'X': CR or LF", "SECRET" },
	{ "JSON no colon", "{\"url\":\"" U "\",\"headers\":[\"SECRET\"]}",
	  INVALID, NULL, "header has no ':'", "SECRET" },
	{ "JSON repeated key",
	  "{\"url\":\"" U "\",\"headers\":[],\"headers\":[\"A: 1\"]}", INVALID,
	  NULL, "duplicate key 'headers'", NULL },
	{ "quotes open any value", U " out=\"my file.bin\"", ENTRY, NULL, NULL,
	  NULL },
};

static void parse_headers(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(header_lines) / sizeof(header_lines[0]);
	     i++) {
		const struct header_case *c = &header_lines[i];
		char why[FM_WHY_MAX], got[1024] = "";
		struct fm_entry e;
		int kind;

		memset(&e, 0x5a, sizeof(e));
		kind = (int)fm_list_parse_line(c->line, strlen(c->line), &e,
					       why, sizeof(why));
		if (kind != c->kind)
			fail_msg("%s: kind %d, expected %d (why: %s)", c->name,
				 kind, c->kind, why);
		if ((e.headers == NULL) != (e.nheaders == 0))
			fail_msg("%s: headers %p but nheaders %u", c->name,
				 (void *)e.headers, e.nheaders);
		for (unsigned k = 0; k < e.nheaders; k++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got),
				 "%s%s", k ? " | " : "", e.headers[k]);
		check_str(c->name, "headers", e.nheaders ? got : NULL,
			  c->headers);
		if (c->why && !strstr(why, c->why))
			fail_msg("%s: why is \"%s\", expected it to contain "
				 "\"%s\"", c->name, why, c->why);
		if (c->secret && strstr(why, c->secret))
			fail_msg("%s: why \"%s\" quotes the value", c->name,
				 why);
		if (kind == ENTRY && strcmp(c->name, "quotes open any value") == 0)
			check_str(c->name, "out", e.out, "my file.bin");
		fm_entry_clear(&e);
		assert_null(e.headers);
		assert_int_equal(e.nheaders, 0);
	}
}

/* FM_HEADERS_MAX headers of FM_HEADER_LEN_MAX bytes each would not fit a
 * line; the count and the size are checked each on its own. */
static void parse_headers_limits(void **state)
{
	char *line = malloc(FM_LINE_MAX), why[FM_WHY_MAX];
	struct fm_entry e;
	size_t n;

	(void)state;
	assert_non_null(line);
	n = (size_t)sprintf(line, U);
	for (int i = 0; i < FM_HEADERS_MAX; i++)
		n += (size_t)sprintf(line + n, " header=X-%d:v", i);
	assert_int_equal(fm_list_parse_line(line, n, &e, why, sizeof(why)),
			 FM_LINE_ENTRY);
	assert_int_equal(e.nheaders, FM_HEADERS_MAX);
	fm_entry_clear(&e);
	n += (size_t)sprintf(line + n, " header=One-More:v");
	assert_int_equal(fm_list_parse_line(line, n, &e, why, sizeof(why)),
			 FM_LINE_INVALID);
	assert_non_null(strstr(why, "more than 32 headers"));
	assert_null(e.headers);
	fm_entry_clear(&e);

	n = (size_t)sprintf(line, U " header=X-Long:");
	memset(line + n, 'v', FM_HEADER_LEN_MAX - strlen("X-Long:"));
	n += FM_HEADER_LEN_MAX - strlen("X-Long:");
	assert_int_equal(fm_list_parse_line(line, n, &e, why, sizeof(why)),
			 FM_LINE_ENTRY);
	assert_int_equal(strlen(e.headers[0]), FM_HEADER_LEN_MAX);
	fm_entry_clear(&e);
	line[n++] = 'v';
	assert_int_equal(fm_list_parse_line(line, n, &e, why, sizeof(why)),
			 FM_LINE_INVALID);
	assert_non_null(strstr(why, "header 'X-Long' longer than 8192 bytes"));
	fm_entry_clear(&e);
	free(line);
}

#undef U

static void entry_clear_zeroes(void **state)
{
	struct fm_entry e;

	(void)state;
	e.url = strdup("u");
	e.out = strdup("o");
	for (int a = 0; a < FM_ALGOS; a++)
		e.digest[a] = a == FM_SHA1 ? NULL : strdup("d");
	e.mirrors = calloc(2, sizeof(*e.mirrors));
	e.nmirrors = 2;
	e.uh = curl_url();
	assert_non_null(e.url);
	assert_non_null(e.out);
	assert_non_null(e.mirrors);
	e.mirrors[0] = strdup("m0");
	e.mirrors[1] = strdup("m1");
	e.headers = calloc(1, sizeof(*e.headers));
	assert_non_null(e.headers);
	e.headers[0] = strdup("A: b");
	e.nheaders = 1;
	assert_non_null(e.uh);
	fm_entry_clear(&e);
	assert_null(e.headers);
	assert_int_equal(e.nheaders, 0);
	assert_null(e.url);
	assert_null(e.out);
	for (int a = 0; a < FM_ALGOS; a++)
		assert_null(e.digest[a]);
	assert_null(e.mirrors);
	assert_int_equal(e.nmirrors, 0);
	assert_null(e.uh);
	fm_entry_clear(&e); /* twice is harmless */
	fm_entry_clear(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_text_valid),
		cmocka_unit_test(parse_skipped),
		cmocka_unit_test(parse_text_invalid),
		cmocka_unit_test(parse_nul_bytes),
		cmocka_unit_test(parse_json_lines),
		cmocka_unit_test(parse_other_digests),
		cmocka_unit_test(parse_mirrors),
		cmocka_unit_test(parse_mirrors_limit),
		cmocka_unit_test(parse_headers),
		cmocka_unit_test(parse_headers_limits),
		cmocka_unit_test(parse_line_length_limit),
		cmocka_unit_test(parse_long_field_quoted),
		cmocka_unit_test(parse_small_why),
		cmocka_unit_test(url_check_table),
		cmocka_unit_test(entry_clear_zeroes),
	};

	return cmocka_run_group_tests_name("list", tests, NULL, NULL);
}
