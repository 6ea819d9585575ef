/* test_sums.c: unit tests of fm_sums.h: one checksum line parsed (every
 * form coreutils and BSD tools write, and what is malformed, each with
 * its reason), lines merged and indexed, an entry's record found by
 * path then by unique name, the entry's own digest winning, and whole
 * files loaded with the file:line of a bad line. Table-driven: a failing
 * row names itself. */
#define _GNU_SOURCE /* open_memstream */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fm_sums.h"
#include "ut.h"

#define H32 "900150983cd24fb0d6963f7d28e17f72"
#define H40 "a9993e364706816aba3e25717850c26c9cd0d89d"
#define H64 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define H64B "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define H128 H64 H64B
#define U64 "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"

enum { SKIP = FM_SUM_SKIP, LINE = FM_SUM_LINE, BAD = FM_SUM_BAD };

struct line_case {
	const char *line;
	size_t len;          /* 0: strlen(line) */
	int kind;
	int algo;            /* LINE */
	const char *hex;     /* LINE */
	const char *name;    /* LINE; may hold '\n' */
	const char *why;     /* BAD: a part of the reason */
};

static const struct line_case lines[] = {
	/* coreutils: text mode, binary mode, one space (md5 -r) */
	{ H64 "  a.tar.gz", 0, LINE, FM_SHA256, H64, "a.tar.gz", NULL },
	{ H64 " *a.tar.gz", 0, LINE, FM_SHA256, H64, "a.tar.gz", NULL },
	{ H64 " a.tar.gz", 0, LINE, FM_SHA256, H64, "a.tar.gz", NULL },
	{ H32 "  dir/x y.bin", 0, LINE, FM_MD5, H32, "dir/x y.bin", NULL },
	{ H40 "  ./x", 0, LINE, FM_SHA1, H40, "./x", NULL },
	{ H128 "  x", 0, LINE, FM_SHA512, H128, "x", NULL },
	{ U64 "  up", 0, LINE, FM_SHA256, H64, "up", NULL },
	{ "  \t" H64 "  lead", 0, LINE, FM_SHA256, H64, "lead", NULL },
	{ H64 "  crlf\r", 0, LINE, FM_SHA256, H64, "crlf", NULL },
	{ H64 "  trail ", 0, LINE, FM_SHA256, H64, "trail ", NULL },
	{ H64 "   space first", 0, LINE, FM_SHA256, H64, " space first",
	  NULL },
	{ H64 "  **star", 0, LINE, FM_SHA256, H64, "**star", NULL },
	{ H64 " **star", 0, LINE, FM_SHA256, H64, "*star", NULL },
	/* coreutils' escaped names */
	{ "\\" H64 "  a\\\\b", 0, LINE, FM_SHA256, H64, "a\\b", NULL },
	{ "\\" H64 "  n\\nl", 0, LINE, FM_SHA256, H64, "n\nl", NULL },
	{ "\\" H64 "  c\\rr", 0, LINE, FM_SHA256, H64, "c\rr", NULL },
	{ H64 "  a\\\\b", 0, LINE, FM_SHA256, H64, "a\\\\b", NULL },
	/* BSD and --tag */
	{ "SHA256 (a.tar.gz) = " H64, 0, LINE, FM_SHA256, H64, "a.tar.gz",
	  NULL },
	{ "SHA512 (a) = " H128, 0, LINE, FM_SHA512, H128, "a", NULL },
	{ "SHA1 (a) = " H40, 0, LINE, FM_SHA1, H40, "a", NULL },
	{ "MD5 (a) = " H32, 0, LINE, FM_MD5, H32, "a", NULL },
	{ "md5 (a) = " H32, 0, LINE, FM_MD5, H32, "a", NULL },
	{ "SHA256 (x) = (y) = " H64, 0, LINE, FM_SHA256, H64, "x) = (y",
	  NULL },
	{ "SHA256 ( sp ) = " H64 " \r", 0, LINE, FM_SHA256, H64, " sp ",
	  NULL },
	{ "\\SHA512 (a\\\\b\\nc) = " H128, 0, LINE, FM_SHA512, H128,
	  "a\\b\nc", NULL },
	/* skipped */
	{ "", 0, SKIP, 0, NULL, NULL, NULL },
	{ "  \t\r", 0, SKIP, 0, NULL, NULL, NULL },
	{ "# " H64 "  x", 0, SKIP, 0, NULL, NULL, NULL },
	{ "  #x", 0, SKIP, 0, NULL, NULL, NULL },
	/* malformed */
	{ "not-hex  b.bin", 0, BAD, 0, NULL, NULL, "hex" },
	{ H64, 0, BAD, 0, NULL, NULL, "no file name" },
	{ H64 "  ", 0, BAD, 0, NULL, NULL, "no file name" },
	{ H64 " *", 0, BAD, 0, NULL, NULL, "no file name" },
	{ H64 "\tx", 0, BAD, 0, NULL, NULL, "hex" },
	{ H64 "g  x", 0, BAD, 0, NULL, NULL, "hex" },
	{ "0123456789abcdef0123456789abcdef0123456789abcdef01234567  x", 0,
	  BAD, 0, NULL, NULL, "56 hex digits" },
	{ H64 "0  x", 0, BAD, 0, NULL, NULL, "65 hex digits" },
	{ "\\" H64 "  a\\qb", 0, BAD, 0, NULL, NULL, "escape '\\q'" },
	{ "\\" H64 "  ab\\", 0, BAD, 0, NULL, NULL, "escape" },
	{ "\\" H64 "  a\\\x0f", 0, BAD, 0, NULL, NULL,
	  "unknown escape '\\' and byte 0x0f in the file name" },
	{ "\\", 0, BAD, 0, NULL, NULL, "hex" },
	{ "SHA384 (a) = " H64, 0, BAD, 0, NULL, NULL,
	  "unsupported algorithm 'SHA384'" },
	{ "SHA256 (a) = " H128, 0, BAD, 0, NULL, NULL,
	  "sha256 must be 64 hex digits" },
	{ "SHA256 (a) = " H64 "x", 0, BAD, 0, NULL, NULL,
	  "sha256 must be 64 hex digits" },
	{ "SHA256 (a) " H64, 0, BAD, 0, NULL, NULL, "TAG (NAME) = HEX" },
	{ "SHA256 (a)= " H64, 0, BAD, 0, NULL, NULL, "TAG (NAME) = HEX" },
	{ "SHA256 () = " H64, 0, BAD, 0, NULL, NULL, "no file name" },
	{ "SHA256 (a) = ", 0, BAD, 0, NULL, NULL, "sha256 must be 64" },
	{ H64 "  a\0b", 68, BAD, 0, NULL, NULL, "NUL byte" },
};

static void run_line(const struct line_case *c, size_t row)
{
	struct fm_sum_line l;
	char why[256];
	size_t len = c->len ? c->len : strlen(c->line);
	enum fm_sum_kind kind;

	memset(&l, 0x5a, sizeof(l)); /* must be zeroed by the parser */
	memset(why, 'x', sizeof(why));
	why[sizeof(why) - 1] = '\0';
	kind = fm_sums_parse_line(c->line, len, &l, why, sizeof(why));
	if ((int)kind != c->kind)
		fail_msg("row %zu (%s): kind %d, want %d (why: %s)", row,
			 c->line, (int)kind, c->kind, why);
	if (kind == FM_SUM_LINE) {
		if ((int)l.algo != c->algo || strcmp(l.hex, c->hex) ||
		    !l.name || strcmp(l.name, c->name))
			fail_msg("row %zu (%s): algo %d hex %s name \"%s\"",
				 row, c->line, (int)l.algo, l.hex,
				 l.name ? l.name : "(null)");
	} else {
		assert_null(l.name);
	}
	if (kind == FM_SUM_BAD && !strstr(why, c->why))
		fail_msg("row %zu (%s): why \"%s\", want it to hold \"%s\"",
			 row, c->line, why, c->why);
	free(l.name);
}

static void parse_lines(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		run_line(&lines[i], i);
}

/* A line over FM_SUMS_LINE_MAX is malformed, whatever it holds. */
static void parse_long_line(void **state)
{
	size_t n = FM_SUMS_LINE_MAX + 1;
	char *s = malloc(n + 1);
	struct fm_sum_line l;
	char why[128];

	(void)state;
	assert_non_null(s);
	memcpy(s, H64 "  ", 66);
	memset(s + 66, 'a', n - 66);
	s[n] = '\0';
	assert_int_equal(fm_sums_parse_line(s, n, &l, why, sizeof(why)),
			 FM_SUM_BAD);
	assert_non_null(strstr(why, "longer than"));
	assert_int_equal(fm_sums_parse_line(s, n - 1, &l, why, sizeof(why)),
			 FM_SUM_LINE);
	free(l.name);
	free(s);
}

/* Adds "HEX  NAME" lines (coreutils, any algorithm by length) of file. */
static void add_lines(struct fm_sums *s, unsigned file,
		      const char *const text[])
{
	for (unsigned long i = 0; text[i]; i++) {
		struct fm_sum_line l;
		char why[128];

		assert_int_equal(fm_sums_parse_line(text[i], strlen(text[i]),
						    &l, why, sizeof(why)),
				 FM_SUM_LINE);
		assert_int_equal(fm_sums_add(s, &l, file, i + 1), 0);
		assert_null(l.name);
	}
}

static const char *const files[] = { "SHA256SUMS", "MD5SUMS" };

static void find_by_path_then_name(void **state)
{
	static const char *const sha[] = {
		H64 "  a.tar.gz",
		H64B "  ./sub/b.bin",
		H64 "  dist/c.iso",
		H64 "  x/h.bin",
		H64B "  y/h.bin",
		H64 "  h.bin/z", /* a directory named like a file: no base */
		H64 "  ./dup.bin",
		H64 "  dup.bin", /* the same NAME, the same digest */
		NULL };
	static const char *const md5[] = {
		H32 "  a.tar.gz",
		H32 "  other/c.iso", /* c.iso: two NAMEs now */
		NULL };
	struct fm_sums s = { 0 };
	const struct fm_sum *r;
	char why[256] = "";

	(void)state;
	add_lines(&s, 0, sha);
	add_lines(&s, 1, md5);
	if (fm_sums_index(&s, files, why, sizeof(why)))
		fail_msg("index: %s", why);
	assert_int_equal(s.nraw, 0);

	/* by path: both files' digests merged */
	r = fm_sums_find(&s, "a.tar.gz");
	assert_non_null(r);
	assert_string_equal(r->hex[FM_SHA256], H64);
	assert_string_equal(r->hex[FM_MD5], H32);
	assert_null(r->hex[FM_SHA1]);
	assert_null(r->hex[FM_SHA512]);
	/* "./" dropped */
	r = fm_sums_find(&s, "sub/b.bin");
	assert_non_null(r);
	assert_string_equal(r->hex[FM_SHA256], H64B);
	assert_string_equal(r->name, "sub/b.bin");
	assert_string_equal(r->base, "b.bin");
	/* by a unique name */
	r = fm_sums_find(&s, "b.bin");
	assert_non_null(r);
	assert_string_equal(r->name, "sub/b.bin");
	r = fm_sums_find(&s, "host/deep/b.bin");
	assert_non_null(r);
	assert_string_equal(r->name, "sub/b.bin");
	/* a name two NAMEs have: only their own paths */
	assert_null(fm_sums_find(&s, "h.bin"));
	assert_null(fm_sums_find(&s, "c.iso"));
	r = fm_sums_find(&s, "x/h.bin");
	assert_non_null(r);
	assert_string_equal(r->hex[FM_SHA256], H64);
	r = fm_sums_find(&s, "y/h.bin");
	assert_non_null(r);
	assert_string_equal(r->hex[FM_SHA256], H64B);
	r = fm_sums_find(&s, "dist/c.iso");
	assert_non_null(r);
	assert_string_equal(r->hex[FM_SHA256], H64);
	assert_null(r->hex[FM_MD5]);
	/* a repeated line is one record */
	r = fm_sums_find(&s, "dup.bin");
	assert_non_null(r);
	assert_int_equal(s.n, 8);
	/* a directory's name is no file name: h.bin/z counts for z only */
	r = fm_sums_find(&s, "z");
	assert_non_null(r);
	assert_string_equal(r->name, "h.bin/z");
	assert_null(fm_sums_find(&s, "nothing"));
	assert_null(fm_sums_find(&s, ""));
	fm_sums_free(&s);
	assert_null(s.sums);
	assert_int_equal(s.n, 0);
}

static void conflicting_digests(void **state)
{
	static const char *const one[] = { H64 "  a", H32 "  b", NULL };
	static const char *const two[] = { H32 "  c", H64B "  ./a", NULL };
	struct fm_sums s = { 0 };
	char why[256] = "";

	(void)state;
	add_lines(&s, 0, one);
	add_lines(&s, 1, two);
	assert_int_equal(fm_sums_index(&s, files, why, sizeof(why)), -1);
	assert_string_equal(why, "MD5SUMS:2: another sha256 for 'a' than "
				 "SHA256SUMS:1");
	fm_sums_free(&s);
}

static void apply_to_entries(void **state)
{
	static const char *const sha[] = { H64 "  a", H40 "  a", NULL };
	struct fm_sums s = { 0 };
	char why[128], own[] = H32;
	char *want[FM_ALGOS] = { 0 };

	(void)state;
	add_lines(&s, 0, sha);
	assert_int_equal(fm_sums_index(&s, files, why, sizeof(why)), 0);
	/* no digest of its own: takes the record's */
	assert_int_equal(fm_sums_apply(&s, "a", want), 0);
	assert_string_equal(want[FM_SHA256], H64);
	assert_string_equal(want[FM_SHA1], H40);
	assert_null(want[FM_MD5]);
	assert_null(want[FM_SHA512]);
	free(want[FM_SHA256]);
	free(want[FM_SHA1]);
	/* one of its own, of another algorithm: keeps it, takes none */
	memset(want, 0, sizeof(want));
	want[FM_MD5] = own;
	assert_int_equal(fm_sums_apply(&s, "a", want), 0);
	assert_ptr_equal(want[FM_MD5], own);
	assert_null(want[FM_SHA256]);
	assert_null(want[FM_SHA1]);
	/* no record, and no checksum files at all */
	want[FM_MD5] = NULL;
	assert_int_equal(fm_sums_apply(&s, "b", want), 0);
	assert_int_equal(fm_sums_apply(NULL, "a", want), 0);
	for (int a = 0; a < FM_ALGOS; a++)
		assert_null(want[a]);
	fm_sums_free(&s);
}

/* Loads files written from texts (NULL: a file that does not exist);
 * returns fm_sums_load()'s result and what it printed (*msg, to free);
 * the paths replace "@0", "@1" in *msg. */
static int load(const char *const texts[], unsigned n, struct fm_sums *s,
		char **msg)
{
	const char *paths[4];
	char *owned[4] = { 0 };
	size_t len = 0;
	FILE *err = open_memstream(msg, &len);
	int rc;

	assert_non_null(err);
	for (unsigned i = 0; i < n; i++) {
		if (texts[i])
			paths[i] = owned[i] =
				ut_write_temp(texts[i], strlen(texts[i]));
		else
			paths[i] = "/nonexistent/SUMS";
	}
	rc = fm_sums_load(s, paths, (int)n, err);
	fclose(err);
	for (unsigned i = 0; i < n; i++) {
		char *at = strstr(*msg, paths[i]);

		/* the message names the file: make it "@i" */
		if (at) {
			size_t k = strlen(paths[i]);

			at[0] = '@';
			at[1] = (char)('0' + i);
			memmove(at + 2, at + k, strlen(at + k) + 1);
		}
		if (owned[i]) {
			unlink(owned[i]);
			free(owned[i]);
		}
	}
	return rc;
}

static void load_files(void **state)
{
	static const char *const good[] = {
		"\xef\xbb\xbf" H64 "  a\n# c\n\n" H32 "  b\r\n",
		"SHA1 (a) = " H40 "\nSHA512 (c) = " H128, /* no final \n */
	};
	static const char *const bad_line[] = {
		H64 "  a\n\n" H64 "  b\nnot-hex  c\n",
	};
	static const char *const missing[] = { NULL };
	static const char *const conflict[] = { H64 "  a\n", H64B "  a\n" };
	struct fm_sums s = { 0 };
	const struct fm_sum *r;
	char *msg = NULL;

	(void)state;
	assert_int_equal(load(good, 2, &s, &msg), 0);
	assert_string_equal(msg, "");
	r = fm_sums_find(&s, "a");
	assert_non_null(r);
	assert_string_equal(r->hex[FM_SHA256], H64);
	assert_string_equal(r->hex[FM_SHA1], H40);
	r = fm_sums_find(&s, "b");
	assert_non_null(r);
	assert_string_equal(r->hex[FM_MD5], H32);
	r = fm_sums_find(&s, "c");
	assert_non_null(r);
	assert_string_equal(r->hex[FM_SHA512], H128);
	fm_sums_free(&s);
	free(msg);

	assert_int_equal(load(bad_line, 1, &s, &msg), -1);
	assert_non_null(strstr(msg, "fetchmany: @0:4: "));
	assert_non_null(strstr(msg, "hex"));
	assert_int_equal(s.n, 0);
	free(msg);

	assert_int_equal(load(missing, 1, &s, &msg), -1);
	assert_string_equal(msg, "fetchmany: --checksums: cannot read '@0': "
				 "No such file or directory\n");
	free(msg);

	assert_int_equal(load(conflict, 2, &s, &msg), -1);
	assert_string_equal(msg, "fetchmany: @1:1: another sha256 for 'a' "
				 "than @0:1\n");
	free(msg);
	fm_sums_free(&s);

	/* No --checksums at all, as in most runs: nothing to sort, nothing
	 * found (UBSan: qsort() must not be given the NULL of no lines). */
	assert_int_equal(load(NULL, 0, &s, &msg), 0);
	assert_string_equal(msg, "");
	assert_null(fm_sums_find(&s, "a"));
	free(msg);
	fm_sums_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_lines),
		cmocka_unit_test(parse_long_line),
		cmocka_unit_test(find_by_path_then_name),
		cmocka_unit_test(conflicting_digests),
		cmocka_unit_test(apply_to_entries),
		cmocka_unit_test(load_files),
	};

	return cmocka_run_group_tests_name("sums", tests, NULL, NULL);
}
