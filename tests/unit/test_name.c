/* test_name.c: unit tests of fm_name_resolve(), fm_name_check_out() and
 * fm_name_sanitize().
 *
 * Tables for the named cases, then a property check over a few thousand
 * hostile URLs built from awkward segments: whatever the URL, the path
 * must stay inside the output directory and be a name the file system
 * takes (see fm_name.h for the exact promise). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fm_list.h"
#include "fm_name.h"

struct name_case {
	const char *url;
	const char *out;
	bool mirror;
	const char *want; /* expected path, NULL when refused */
	const char *why;  /* substring of the reason when refused */
};

/* fm_name_resolve_parsed() on what fm_url_parse() made of url (when it
 * accepts url) must agree with fm_name_resolve(), which got rc and rel. */
static void same_when_parsed(const char *url, const char *out, bool mirror,
			     int rc, const char *rel)
{
	char why[FM_WHY_MAX] = "";
	char *rel2 = NULL;
	CURLU *uh;
	int rc2;

	if (fm_url_parse(url, &uh, why, sizeof(why)) != 0)
		return;
	rc2 = fm_name_resolve_parsed(uh, out, mirror, &rel2, why, sizeof(why));
	if (rc2 != rc || (rc == 0 && (!rel2 || strcmp(rel2, rel) != 0)))
		fail_msg("%.80s out=%s mirror=%d: parsed: rc %d \"%s\", "
			 "unparsed: rc %d \"%s\"", url, out ? out : "(none)",
			 mirror, rc2, rel2 ? rel2 : "(null)", rc,
			 rc == 0 ? rel : "(null)");
	free(rel2);
	curl_url_cleanup(uh);
}

/* Runs one case: a refusal must leave *relpath NULL and say why. */
static void run_case(const struct name_case *c)
{
	char why[FM_WHY_MAX] = "";
	char *rel = (char *)"untouched";
	int rc = fm_name_resolve(c->url, c->out, c->mirror, &rel, why, sizeof(why));

	same_when_parsed(c->url, c->out, c->mirror, rc, rel);

	if (c->want != NULL) {
		if (rc != 0 || rel == NULL || strcmp(rel, c->want) != 0)
			fail_msg("%s out=%s mirror=%d: rc %d, path \"%s\" (%s), expected \"%s\"",
				 c->url, c->out != NULL ? c->out : "(none)", c->mirror,
				 rc, rc == 0 ? rel : "(null)", why, c->want);
		free(rel);
		return;
	}
	if (rc != -1 || rel != NULL || strstr(why, c->why) == NULL)
		fail_msg("%s out=%s: rc %d, why \"%s\", expected \"%s\"", c->url,
			 c->out != NULL ? c->out : "(none)", rc, why, c->why);
}

static void run_table(const struct name_case *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		run_case(&t[i]);
}

#define RUN_TABLE(t) run_table((t), sizeof(t) / sizeof((t)[0]))

static const struct name_case default_names[] = {
	{ "https://e.org/a/flag.gif", NULL, false, "flag.gif", NULL },
	{ "https://e.org/dir/", NULL, false, "index.html", NULL },
	{ "https://e.org", NULL, false, "index.html", NULL },
	{ "https://e.org/", NULL, false, "index.html", NULL },
	{ "https://e.org/a?x=1/2", NULL, false, "a", NULL },
	{ "https://e.org/?name=x.gif", NULL, false, "index.html", NULL },
	{ "https://e.org/a/b.gif?x=y#frag", NULL, false, "b.gif", NULL },
	{ "https://e.org/a%20b.txt", NULL, false, "a b.txt", NULL },
	{ "https://e.org/caf%C3%A9.txt", NULL, false, "caf\xc3\xa9.txt", NULL },
	{ "https://e.org/caf\xc3\xa9.txt", NULL, false, "caf\xc3\xa9.txt", NULL },
	{ "https://e.org/a%2Fb", NULL, false, "a_b", NULL },
	{ "https://e.org/a%2fb", NULL, false, "a_b", NULL },
	{ "https://e.org/a/%2e%2e", NULL, false, "index.html", NULL },
	{ "https://e.org/a/%2E%2e/", NULL, false, "index.html", NULL },
	{ "https://e.org/%2e%2e%2f%2e%2e%2fetc%2fpasswd", NULL, false,
	  ".._.._etc_passwd", NULL },
	{ "https://e.org/a%00b", NULL, false, "a_b", NULL },
	{ "https://e.org/%0a", NULL, false, "_", NULL },
	{ "https://e.org/a%0d%0ab", NULL, false, "a__b", NULL },
	{ "https://e.org/%7f", NULL, false, "_", NULL },
	{ "https://e.org/a\\b", NULL, false, "a_b", NULL },
	{ "https://e.org/a%5cb", NULL, false, "a_b", NULL },
	{ "https://e.org/a/.", NULL, false, "index.html", NULL },
	{ "https://e.org/...", NULL, false, "index.html", NULL },
	{ "https://e.org/%2e", NULL, false, "index.html", NULL },
	{ "https://e.org/.hidden", NULL, false, ".hidden", NULL },
	{ "https://e.org/a..b", NULL, false, "a..b", NULL },
	{ "https://e.org/%zz%4", NULL, false, "%zz%4", NULL },
	{ "https://e.org/100%25", NULL, false, "100%", NULL },
	{ "https://e.org/a;p=1", NULL, false, "a;p=1", NULL },
	{ "https://e.org:8080/x/y.tar.gz", NULL, false, "y.tar.gz", NULL },
	/* Names on disk are UTF-8: what does not decode to it stays
	 * percent-encoded (upper-case hex), valid sequences are decoded. */
	{ "https://e.org/%FFx.bin", NULL, false, "%FFx.bin", NULL },
	{ "https://e.org/%ffx.bin", NULL, false, "%FFx.bin", NULL },
	{ "https://e.org/r\xffw", NULL, false, "r%FFw", NULL },
	{ "https://e.org/%C0%AFa", NULL, false, "%C0%AFa", NULL },
	{ "https://e.org/%ED%A0%80", NULL, false, "%ED%A0%80", NULL },
	{ "https://e.org/t%E2%82.bin", NULL, false, "t%E2%82.bin", NULL },
	{ "https://e.org/%e2%82%ac%F0%9F%98%80", NULL, false,
	  "\xe2\x82\xac\xf0\x9f\x98\x80", NULL },
	{ "https://e.org/%c3%a9%a9", NULL, false, "\xc3\xa9%A9", NULL },
	{ "https://e.org/%FF%2F%00", NULL, false, "%FF__", NULL },
	{ "https://e.org/%25FF", NULL, false, "%FF", NULL },
};

static const struct name_case mirror_names[] = {
	{ "https://Example.ORG/a/b/c.gif", NULL, true, "example.org/a/b/c.gif", NULL },
	{ "http://e.org:8080/x", NULL, true, "e.org_8080/x", NULL },
	{ "http://e.org:80/x", NULL, true, "e.org/x", NULL },
	{ "https://e.org:443/x", NULL, true, "e.org/x", NULL },
	{ "https://e.org:80/x", NULL, true, "e.org_80/x", NULL },
	{ "http://e.org:443/x", NULL, true, "e.org_443/x", NULL },
	{ "http://[::1]:8080/a", NULL, true, "::1_8080/a", NULL },
	{ "http://[2001:DB8::1]/", NULL, true, "2001:db8::1/index.html", NULL },
	{ "https://e.org", NULL, true, "e.org/index.html", NULL },
	{ "https://e.org/dir/", NULL, true, "e.org/dir/index.html", NULL },
	{ "https://e.org/a//b/./c/%2e%2e/d", NULL, true, "e.org/a/b/c/d", NULL },
	{ "https://e.org/a/../../../b", NULL, true, "e.org/b", NULL },
	{ "https://e.org/%2e%2e/%2e%2e/b", NULL, true, "e.org/b", NULL },
	{ "https://e.org/a%2Fb/c", NULL, true, "e.org/a_b/c", NULL },
	{ "https://e.org/a%00/b%0a/c", NULL, true, "e.org/a_/b_/c", NULL },
	{ "https://e.org/.../c", NULL, true, "e.org/c", NULL },
	{ "http://u:p@e.org/x", NULL, true, "e.org/x", NULL },
	{ "http://%2e%2e/x", NULL, true, "_/x", NULL },
	{ "http://.../x", NULL, true, "_/x", NULL },
	{ "https://e.org/q?a=b/c", NULL, true, "e.org/q", NULL },
	{ "file:///etc/passwd", NULL, true, "_/etc/passwd", NULL },
	{ "https://e.org/%FE/a%C3/x%ff", NULL, true, "e.org/%FE/a%C3/x%FF",
	  NULL },
};

static const struct name_case out_names[] = {
	{ "https://e.org/a", "images/b.gif", false, "images/b.gif", NULL },
	{ "https://e.org/a", "images/b.gif", true, "images/b.gif", NULL },
	{ "https://e.org/a", "./a//b", false, "a/b", NULL },
	{ "https://e.org/a", "a/./b", false, "a/b", NULL },
	{ "https://e.org/a", "././x", false, "x", NULL },
	{ "https://e.org/a", ".hidden", false, ".hidden", NULL },
	{ "https://e.org/a", "...", false, "...", NULL },
	{ "https://e.org/a", "..a/b..", false, "..a/b..", NULL },
	{ "https://e.org/a", "a\\b", false, "a\\b", NULL },
	{ "https://e.org/a", "caf\xc3\xa9", false, "caf\xc3\xa9", NULL },
	{ "https://e.org/a", "/etc/passwd", false, NULL, "unsafe out=: absolute path" },
	{ "https://e.org/a", "../x", false, NULL,
	  "unsafe out=: '..' segment climbs out of the output directory" },
	{ "https://e.org/a", "a/../../x", true, NULL, "unsafe out=: '..' segment" },
	{ "https://e.org/a", "a/..", false, NULL, "unsafe out=: '..' segment" },
	{ "https://e.org/a", "..", false, NULL, "unsafe out=: '..' segment" },
	{ "https://e.org/a", "", false, NULL, "unsafe out=: empty" },
	{ "https://e.org/a", "a/", false, NULL, "unsafe out=: ends with '/'" },
	{ "https://e.org/a", "./", false, NULL, "unsafe out=: ends with '/'" },
	{ "https://e.org/a", ".", false, NULL, "unsafe out=: ends with '.'" },
	{ "https://e.org/a", "a/.", false, NULL, "unsafe out=: ends with '.'" },
	{ "https://e.org/a", "a\nb", false, NULL, "unsafe out=: control character 0x0a" },
	{ "https://e.org/a", "a\x7f", false, NULL, "unsafe out=: control character 0x7f" },
	{ "https://e.org/a", "a\tb", false, NULL, "unsafe out=: control character" },
	{ "https://e.org/a", "caf\xe9", false, NULL,
	  "unsafe out=: not valid UTF-8 (byte 0xe9)" },
	{ "https://e.org/a", "d\xc0\xaf/x", false, NULL,
	  "unsafe out=: not valid UTF-8 (byte 0xc0)" },
	{ "https://e.org/a", "x\xed\xa0\x80", false, NULL,
	  "unsafe out=: not valid UTF-8 (byte 0xed)" },
	{ "https://e.org/a", "x\xe2\x82", false, NULL,
	  "unsafe out=: not valid UTF-8 (byte 0xe2)" },
	{ "http://[::1/", NULL, false, NULL, "malformed URL: " },
};

static void resolve_default(void **state)
{
	(void)state;
	RUN_TABLE(default_names);
}

static void resolve_mirror(void **state)
{
	(void)state;
	RUN_TABLE(mirror_names);
}

static void resolve_out(void **state)
{
	(void)state;
	RUN_TABLE(out_names);
}

/* Returns a malloc'd string: prefix, then n copies of unit, then suffix. */
static char *repeat(const char *prefix, const char *unit, size_t n,
		    const char *suffix)
{
	size_t pl = strlen(prefix), ul = strlen(unit), sl = strlen(suffix), i;
	char *s = malloc(pl + n * ul + sl + 1);

	assert_non_null(s);
	memcpy(s, prefix, pl);
	for (i = 0; i < n; i++)
		memcpy(s + pl + i * ul, unit, ul);
	memcpy(s + pl + n * ul, suffix, sl + 1);
	return s;
}

/* Component lengths at the limits: 255 for a directory, 250 for a file. */
static void check_out_lengths(void **state)
{
	char why[FM_WHY_MAX];
	char *dir255 = repeat("", "d", 255, "/f");
	char *dir256 = repeat("", "d", 256, "/f");
	char *file250 = repeat("a/", "f", FM_NAME_COMPONENT_MAX, "");
	char *file251 = repeat("a/", "f", FM_NAME_COMPONENT_MAX + 1, "");

	(void)state;
	assert_int_equal(fm_name_check_out(dir255, why, sizeof(why)), 0);
	assert_int_equal(fm_name_check_out(dir256, why, sizeof(why)), -1);
	assert_string_equal(why, "unsafe out=: component longer than 255 bytes");
	assert_int_equal(fm_name_check_out(file250, why, sizeof(why)), 0);
	assert_int_equal(fm_name_check_out(file251, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "unsafe out=: file name longer than 250 bytes"));
	assert_int_equal(fm_name_check_out(NULL, why, sizeof(why)), -1);
	assert_string_equal(why, "unsafe out=: empty");
	free(dir255);
	free(dir256);
	free(file250);
	free(file251);
}

/* True when s is well-formed UTF-8 (RFC 3629: no stray continuation
 * byte, overlong form, surrogate, code point beyond U+10FFFF, or cut
 * sequence); written apart from name.c's, to check it. */
static bool valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		unsigned c = *p, v, min;
		int n;

		if (c < 0x80) {
			p++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			n = 1, v = c & 0x1f, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			n = 2, v = c & 0x0f, min = 0x800;
		else if ((c & 0xf8) == 0xf0)
			n = 3, v = c & 0x07, min = 0x10000;
		else
			return false;
		for (p++; n > 0; n--, p++) {
			if ((*p & 0xc0) != 0x80)
				return false;
			v = v << 6 | (*p & 0x3fu);
		}
		if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
			return false;
	}
	return true;
}

/* Resolves url (no out=) and returns the path, failing the test on error. */
static char *resolve(const char *url, bool mirror)
{
	char why[FM_WHY_MAX] = "";
	char *rel = NULL;

	if (fm_name_resolve(url, NULL, mirror, &rel, why, sizeof(why)) != 0)
		fail_msg("%.80s: refused: %s", url, why);
	same_when_parsed(url, NULL, mirror, 0, rel);
	return rel;
}

/* An overlong segment is cut to FM_NAME_COMPONENT_MAX bytes on a UTF-8
 * boundary; a short extension survives the cut. */
static void overlong_segments(void **state)
{
	static const struct {
		const char *prefix, *unit;
		size_t n;
		const char *suffix, *ends_with;
		size_t want_len;
	} cases[] = {
		{ "https://e.org/", "a", 300, "", "aaaa", 250 },
		/* 'x' then 200 two-byte characters: byte 250 is inside one. */
		{ "https://e.org/x", "%C3%A9", 200, "", "\xc3\xa9", 249 },
		{ "https://e.org/x", "\xc3\xa9", 200, "", "\xc3\xa9", 249 },
		{ "https://e.org/", "\xe2\x82\xac", 100, "", "\xe2\x82\xac", 249 },
		{ "https://e.org/", "a", 300, ".tar.gz", "a.tar.gz", 250 },
		{ "https://e.org/x", "\xc3\xa9", 200, ".tar.gz", "\xc3\xa9.tar.gz", 250 },
		/* the head is cut to 250 - 7 bytes: inside a character here. */
		{ "https://e.org/", "\xc3\xa9", 200, ".tar.gz", "\xc3\xa9.tar.gz", 249 },
		{ "https://e.org/", "a", 300, ".a-very-long-extension", "aaa", 250 },
		{ "https://e.org/", "a", 300, "?q=.tar.gz", "aaa", 250 },
		{ "https://e.org/", ".", 300, "", "index.html", 10 },
		{ "https://e.org/", ".", 300, "aaaaaaaaaaaaaaaaaaaaaaaa", "index.html", 10 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *url = repeat(cases[i].prefix, cases[i].unit, cases[i].n,
				   cases[i].suffix);
		char *rel = resolve(url, false);
		size_t len = strlen(rel), el = strlen(cases[i].ends_with);

		if (len != cases[i].want_len || !valid_utf8(rel) || len < el ||
		    strcmp(rel + len - el, cases[i].ends_with) != 0)
			fail_msg("case %zu: got %zu bytes \"...%s\"", i, len,
				 rel + (len > 20 ? len - 20 : 0));
		free(rel);
		free(url);
	}
}

/* In mirror mode a directory segment may use all 255 bytes. */
static void overlong_mirror_dirs(void **state)
{
	char *url = repeat("https://e.org/", "d", 300, "/f");
	char *rel = resolve(url, true);
	char *want = repeat("e.org/", "d", 255, "/f");

	(void)state;
	assert_string_equal(rel, want);
	free(rel);
	free(url);
	free(want);
}

struct sanitize_case {
	const char *in;
	bool fallback;
	const char *want;
};

static void sanitize_table(void **state)
{
	static const struct sanitize_case cases[] = {
		{ "report.pdf", true, "report.pdf" },
		{ "a/b", false, "a_b" },
		{ "../../etc/passwd", false, ".._.._etc_passwd" },
		{ "a\\b", false, "a_b" },
		{ "a\tb\x1f\x7f", false, "a_b__" },
		{ "", true, "index.html" },
		{ "", false, "" },
		{ ".", true, "index.html" },
		{ "..", false, "" },
		{ "...", true, "index.html" },
		{ "/", false, "_" },
		{ ".hidden", false, ".hidden" },
		{ "caf\xc3\xa9", false, "caf\xc3\xa9" },
	};
	char buf[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strcpy(buf, cases[i].in);
		if (fm_name_sanitize(buf, cases[i].fallback) != buf ||
		    strcmp(buf, cases[i].want) != 0)
			fail_msg("\"%s\": got \"%s\", expected \"%s\"",
				 cases[i].in, buf, cases[i].want);
	}
}

struct escape_case {
	const char *in;
	size_t n;         /* bytes of in to use; 0: strlen(in) */
	const char *want;
	size_t want_len;  /* 0: strlen(want) */
};

/* fm_name_utf8_escape(): well-formed sequences are copied, every byte of
 * anything else becomes "%XX". */
static void utf8_escape_table(void **state)
{
	static const struct escape_case cases[] = {
		{ "plain.txt", 0, "plain.txt", 0 },
		{ "", 0, "", 0 },
		/* valid multi-byte sequences are kept, up to U+10FFFF */
		{ "caf\xc3\xa9", 0, "caf\xc3\xa9", 0 },
		{ "\xe2\x82\xac", 0, "\xe2\x82\xac", 0 },
		{ "\xf0\x9f\x98\x80", 0, "\xf0\x9f\x98\x80", 0 },
		{ "\xf4\x8f\xbf\xbf", 0, "\xf4\x8f\xbf\xbf", 0 },
		{ "\xed\x9f\xbf\xee\x80\x80", 0, "\xed\x9f\xbf\xee\x80\x80", 0 },
		{ "\xc2\x80\xdf\xbf", 0, "\xc2\x80\xdf\xbf", 0 },
		/* bytes that never start a sequence */
		{ "\xff", 0, "%FF", 0 },
		{ "a\xfe" "b", 0, "a%FEb", 0 },
		{ "\x80", 0, "%80", 0 },
		{ "\xc3\xa9\xa9", 0, "\xc3\xa9%A9", 0 },
		/* overlong encodings */
		{ "\xc0\xaf", 0, "%C0%AF", 0 },
		{ "\xc1\xbf", 0, "%C1%BF", 0 },
		{ "\xe0\x80\xaf", 0, "%E0%80%AF", 0 },
		{ "\xe0\x9f\xbf", 0, "%E0%9F%BF", 0 },
		{ "\xf0\x80\x80\xaf", 0, "%F0%80%80%AF", 0 },
		{ "\xf0\x8f\xbf\xbf", 0, "%F0%8F%BF%BF", 0 },
		/* surrogates */
		{ "\xed\xa0\x80", 0, "%ED%A0%80", 0 },
		{ "\xed\xbf\xbf", 0, "%ED%BF%BF", 0 },
		/* beyond U+10FFFF */
		{ "\xf4\x90\x80\x80", 0, "%F4%90%80%80", 0 },
		{ "\xf5\x80\x80\x80", 0, "%F5%80%80%80", 0 },
		/* truncated sequences, in the middle and at the end */
		{ "\xe2\x82", 0, "%E2%82", 0 },
		{ "a\xe2\x82" "b", 0, "a%E2%82b", 0 },
		{ "\xf0\x9f\x98", 0, "%F0%9F%98", 0 },
		{ "\xc3", 0, "%C3", 0 },
		{ "\xe2\x28\xa1", 0, "%E2(%A1", 0 },
		{ "\xc3\xa9", 1, "%C3", 0 },
		/* NUL is ASCII: copied (the caller scrubs it) */
		{ "a\0b", 3, "a\0b", 3 },
	};
	char dst[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct escape_case *c = &cases[i];
		size_t n = c->n ? c->n : strlen(c->in);
		size_t wl = c->want_len ? c->want_len : strlen(c->want);
		size_t got;

		memset(dst, 'Z', sizeof(dst));
		got = fm_name_utf8_escape(dst, c->in, n);
		if (got != wl || memcmp(dst, c->want, wl) != 0 ||
		    dst[wl] != '\0')
			fail_msg("case %zu: got \"%.*s\" (%zu bytes), want "
				 "\"%s\"", i, (int)got, dst, got, c->want);
		if (memchr(c->in, '\0', n) == NULL && !valid_utf8(dst))
			fail_msg("case %zu: result is not UTF-8", i);
	}
}

static void sanitize_cuts(void **state)
{
	char *s = repeat("", "\xc3\xa9", 300, ".txt");

	(void)state;
	fm_name_sanitize(s, false);
	assert_true(strlen(s) <= FM_NAME_COMPONENT_MAX);
	assert_true(valid_utf8(s));
	assert_string_equal(s + strlen(s) - 4, ".txt");
	free(s);
}

/* Checks the promise of fm_name.h on one path. */
static void check_path(const char *url, const char *rel)
{
	const char *seg = rel, *p;

	if (rel[0] == '/' || rel[0] == '\0')
		fail_msg("%s: \"%s\" is absolute or empty", url, rel);
	if (!valid_utf8(rel))
		fail_msg("%s: \"%s\" is not valid UTF-8", url, rel);
	for (p = rel; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\')
			fail_msg("%s: \"%s\" holds byte 0x%02x", url, rel,
				 (unsigned char)*p);
	for (;;) {
		const char *slash = strchr(seg, '/');
		size_t n = slash != NULL ? (size_t)(slash - seg) : strlen(seg);
		size_t max = slash != NULL ? 255 : FM_NAME_COMPONENT_MAX;

		if (n == 0 || strspn(seg, ".") >= n)
			fail_msg("%s: \"%s\" has an empty or dot segment", url, rel);
		if (n > max)
			fail_msg("%s: \"%s\" has a %zu byte component", url, rel, n);
		if (slash == NULL)
			break;
		seg = slash + 1;
	}
}

/* Every combination of three awkward segments (the last one also very
 * long), with and without a trailing '/', named and mirrored, on a few
 * awkward hosts. */
static void hostile_urls_stay_inside(void **state)
{
	static const char *const atoms[] = {
		"", ".", "..", "...", "%2e", "%2e%2e", "%2E%2e%2F", "%2f", "%2F..",
		"%00", "%0a", "%0d", "%7f", "%5c", "%5c..%5c", "\\", "a", "%20",
		"%c3%a9", "%ff", "%", "%%32%65", "?", "#", ";", "..%00", ".%2e",
		"%c0%af", "%ed%a0%80", "%e2%82", "%f4%90%80%80", "\xff",
		"%e2%82%ac", "%c3",
	};
	static const char *const hosts[] = {
		"H.example", "%2e%2e", "...", "[::1]:81", "e.org:443", "e.org:08080",
	};
	const size_t na = sizeof(atoms) / sizeof(atoms[0]);
	const size_t nh = sizeof(hosts) / sizeof(hosts[0]);
	char *longseg = repeat("", "%c3%a9", 400, "");
	char url[4096];
	size_t i, j, k, count = 0;
	int tail, mirror;

	(void)state;
	for (i = 0; i < na; i++)
		for (j = 0; j < na; j++)
			for (k = 0; k < na + 1; k++)
				for (tail = 0; tail < 2; tail++)
					for (mirror = 0; mirror < 2; mirror++) {
						char *rel;

						snprintf(url, sizeof(url),
							 "http://%s/%s/%s/%s%s",
							 hosts[(i + j + k) % nh],
							 atoms[i], atoms[j],
							 k < na ? atoms[k] : longseg,
							 tail ? "/" : "");
						rel = resolve(url, mirror);
						check_path(url, rel);
						free(rel);
						count++;
					}
	free(longseg);
	assert_true(count > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(resolve_default),
		cmocka_unit_test(resolve_mirror),
		cmocka_unit_test(resolve_out),
		cmocka_unit_test(check_out_lengths),
		cmocka_unit_test(overlong_segments),
		cmocka_unit_test(overlong_mirror_dirs),
		cmocka_unit_test(sanitize_table),
		cmocka_unit_test(sanitize_cuts),
		cmocka_unit_test(utf8_escape_table),
		cmocka_unit_test(hostile_urls_stay_inside),
	};

	return cmocka_run_group_tests_name("name", tests, NULL, NULL);
}
