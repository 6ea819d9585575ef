/* Integration: checksum files (spec 4, man --checksums and
 * --require-digest). The files are written by the real coreutils tools
 * (sha256sum, sha512sum --tag, md5sum) over the server's bodies, as a
 * project publishes them; entries take their digests by output path
 * relative to -o, else by a file name unique in the files; an entry's
 * own digest wins; the digests are verified and reported like an
 * entry's own. A malformed checksum line is a usage error naming file
 * and line, before any request; --require-digest makes an entry without
 * a digest invalid, with no request. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"

/* A body the server serves, written below src/ under the name a
 * checksum file gives it (name), or the body of another path (a file
 * that differs from the server's). */
struct body {
	const char *name;   /* below src/ */
	const char *path;   /* the /data path whose body it holds */
	size_t size;
};

static void write_bodies(const struct it_fixture *f, const struct body *b,
			 size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *file = it_path("%s/src/%s", f->tmp, b[i].name);
		char *slash = strrchr(file, '/');

		/* at most one directory level below src/ */
		*slash = '\0';
		if (!it_exists(file))
			assert_int_equal(mkdir(file, 0755), 0);
		*slash = '/';
		assert_int_equal(it_write_body(file, b[i].path, b[i].size), 0);
		free(file);
	}
}

/* Runs argv (a coreutils tool and its file names, relative to src/) in
 * src/ and writes what it prints into the file out of the fixture's
 * directory. */
static void make_sums(const struct it_fixture *f, const char *const argv[],
		      const char *out)
{
	char *src = it_path("%s/src", f->tmp);
	char *file = it_path("%s/%s", f->tmp, out);
	struct it_result r;
	int rc = it_run(argv, NULL, src, &r);

	IT_ASSERT_RAN(rc, r);
	IT_ASSERT_EXIT(r, 0);
	assert_int_equal(it_write_file(file, r.out, r.out_len), 0);
	it_result_free(&r);
	free(src);
	free(file);
}

/* The digest tool prints for the file name below src/. */
static void src_digest(const struct it_fixture *f, const char *tool,
		       const char *name, char *hex, size_t cap)
{
	char *file = it_path("%s/src/%s", f->tmp, name);

	assert_int_equal(it_tool_digest(tool, file, hex, cap), 0);
	free(file);
}

static void write_text(const struct it_fixture *f, const char *name,
		       const char *text)
{
	char *p = it_path("%s/%s", f->tmp, name);

	assert_int_equal(it_write_file(p, text, strlen(text)), 0);
	free(p);
}

/* The record for the test server's path and query pq. */
static const cJSON *record(const struct it_fixture *f, const cJSON *res,
			   const char *pq)
{
	char *u = it_url(&f->srv, pq);
	const cJSON *e = it_json_find_url(res, u);

	if (!e)
		fail_msg("no record for %s", u);
	free(u);
	return e;
}

/* The record for pq is ok and reports hex under key (hex NULL: no key
 * at all). */
static void expect_ok(const struct it_fixture *f, const cJSON *res,
		      const char *pq, const char *key, const char *hex)
{
	const cJSON *rec = record(f, res, pq);

	IT_ASSERT_JSTR(rec, "status", "ok");
	if (hex)
		IT_ASSERT_JSTR(rec, key, hex);
	else
		assert_null(cJSON_GetObjectItemCaseSensitive(rec, key));
}

/* A SHA256SUMS as sha256sum writes it ("HEX  NAME", "./" kept as
 * given): an entry matches by its path relative to -o (its URL's name,
 * or out=), else by its file name when that is unique in the file; a
 * name two lines share matches nothing; the entry's own sha256= wins; a
 * wrong digest fails with both values. Each body is fetched once and
 * the right ones are on disk. */
static void test_sha256sums_path_and_name(void **state)
{
	struct it_fixture *f = *state;
	static const struct body bodies[] = {
		{ "a.tar.gz", "/data/rel/a.tar.gz", 5000 },
		{ "sub/b.bin", "/data/rel/b.bin", 7000 },
		{ "dist/c.iso", "/data/rel/c.iso", 3000 },
		{ "e.bin", "/data/other.bin", 100 },  /* not the server's */
		{ "g.bin", "/data/other.bin", 200 },  /* not the server's */
		{ "x/h.bin", "/data/rel/h.bin", 900 },
		{ "y/h.bin", "/data/other.bin", 900 },
		{ "dot.bin", "/data/rel/dot.bin", 1234 },
	};
	const char *tool[] = { "sha256sum", "a.tar.gz", "sub/b.bin",
			       "dist/c.iso", "e.bin", "g.bin", "x/h.bin",
			       "y/h.bin", "./dot.bin", NULL };
	const char *args[] = { "--checksums", "SHA256SUMS", "list.txt", NULL };
	const char *pq_e = "/data/rel/e.bin?size=4000";
	char a[65], b[65], c[65], e_sums[65], e_got[65], g[65], dot[65];
	char *dl = it_path("%s/dl", f->tmp);
	struct it_buf list = { 0 };
	struct it_result r;
	const cJSON *rec;
	char *want_err;
	cJSON *res;

	write_bodies(f, bodies, sizeof(bodies) / sizeof(bodies[0]));
	make_sums(f, tool, "SHA256SUMS");
	src_digest(f, "sha256sum", "a.tar.gz", a, sizeof(a));
	src_digest(f, "sha256sum", "sub/b.bin", b, sizeof(b));
	src_digest(f, "sha256sum", "dist/c.iso", c, sizeof(c));
	src_digest(f, "sha256sum", "e.bin", e_sums, sizeof(e_sums));
	src_digest(f, "sha256sum", "dot.bin", dot, sizeof(dot));
	assert_int_equal(it_server_sha256(&f->srv, "/data/rel/e.bin", 4000,
					  e_got), 0);
	assert_int_equal(it_server_sha256(&f->srv, "/data/rel/g.bin", 200, g),
			 0);
	it_buf_printf(&list, "%s/data/rel/a.tar.gz?size=5000\n", f->srv.base);
	it_buf_printf(&list, "%s/data/rel/b.bin?size=7000 out=sub/b.bin\n",
		      f->srv.base);
	it_buf_printf(&list, "%s/data/rel/c.iso?size=3000\n", f->srv.base);
	it_buf_printf(&list, "%s%s\n", f->srv.base, pq_e);
	it_buf_printf(&list, "%s/data/rel/g.bin?size=200 sha256=%s\n",
		      f->srv.base, g);
	it_buf_printf(&list, "%s/data/rel/h.bin?size=900\n", f->srv.base);
	it_buf_printf(&list, "%s/data/rel/dot.bin?size=1234\n", f->srv.base);
	it_buf_printf(&list, "%s/data/rel/k.bin?size=10\n", f->srv.base);
	write_text(f, "list.txt", list.data);

	res = it_run_json(f, args, 1, 8, &r);

	expect_ok(f, res, "/data/rel/a.tar.gz?size=5000", "sha256", a);
	expect_ok(f, res, "/data/rel/b.bin?size=7000", "sha256", b);
	expect_ok(f, res, "/data/rel/c.iso?size=3000", "sha256", c);
	rec = record(f, res, pq_e);
	IT_ASSERT_JSTR(rec, "status", "failed");
	IT_ASSERT_JSTR(rec, "sha256", e_sums);
	IT_ASSERT_JNUM(rec, "attempts", 1);
	want_err = it_path("sha256 mismatch: expected %s, got %s", e_sums,
			   e_got);
	IT_ASSERT_JSTR(rec, "error", want_err);
	free(want_err);
	expect_ok(f, res, "/data/rel/g.bin?size=200", "sha256", g);
	expect_ok(f, res, "/data/rel/h.bin?size=900", "sha256", NULL);
	expect_ok(f, res, "/data/rel/dot.bin?size=1234", "sha256", dot);
	expect_ok(f, res, "/data/rel/k.bin?size=10", "sha256", NULL);

	it_assert_requests(f, &r, pq_e, 1);
	assert_int_equal(it_server_stat(&f->srv, "requests"), 8);
	it_expect_tree(dl, (const char *const[]){
		"a.tar.gz", "sub/", "sub/b.bin", "c.iso", "g.bin", "h.bin",
		"dot.bin", "k.bin", NULL });
	{
		char *p = it_path("%s/dl/sub/b.bin", f->tmp);

		assert_true(it_file_matches_body(p, "/data/rel/b.bin", 7000));
		free(p);
	}

	cJSON_Delete(res);
	it_result_free(&r);
	free(list.data);
	free(dl);
}

/* A BSD-style file from sha512sum --tag ("SHA512 (NAME) = HEX", with
 * its '\' form for a name holding a backslash) and an MD5SUMS from
 * md5sum, both given: an entry takes the digests of both and each is
 * verified and reported; a wrong sha512 fails with both values. */
static void test_bsd_tag_and_two_files(void **state)
{
	struct it_fixture *f = *state;
	static const struct body bodies[] = {
		{ "a.bin", "/data/t/a.bin", 6000 },
		{ "we\\ird.bin", "/data/t/w.bin", 700 },
		{ "z.bin", "/data/other.bin", 50 },   /* not the server's */
		{ "zz.bin", "/data/t/z.bin", 5000 },  /* the server's z.bin */
	};
	const char *tag[] = { "sha512sum", "--tag", "a.bin", "we\\ird.bin",
			      "z.bin", NULL };
	const char *md5[] = { "md5sum", "a.bin", NULL };
	const char *args[] = { "--checksums", "SHA512SUMS", "--checksums",
			       "MD5SUMS", "list.txt", NULL };
	char a512[129], amd5[33], w512[129], z_sums[129], z_got[129];
	char *sums, *want_err;
	struct it_buf list = { 0 };
	struct it_result r;
	const cJSON *rec;
	cJSON *res;

	write_bodies(f, bodies, sizeof(bodies) / sizeof(bodies[0]));
	make_sums(f, tag, "SHA512SUMS");
	make_sums(f, md5, "MD5SUMS");
	sums = it_path("%s/SHA512SUMS", f->tmp);
	{
		char *text = it_read_file(sums, NULL);

		/* the forms under test are really there */
		assert_non_null(text);
		assert_true(it_starts_with(text, "SHA512 (a.bin) = "));
		assert_non_null(strstr(text, "\n\\SHA512 (we\\\\ird.bin) = "));
		free(text);
	}
	free(sums);
	src_digest(f, "sha512sum", "a.bin", a512, sizeof(a512));
	src_digest(f, "md5sum", "a.bin", amd5, sizeof(amd5));
	src_digest(f, "sha512sum", "we\\ird.bin", w512, sizeof(w512));
	src_digest(f, "sha512sum", "z.bin", z_sums, sizeof(z_sums));
	src_digest(f, "sha512sum", "zz.bin", z_got, sizeof(z_got));
	it_buf_printf(&list, "%s/data/t/a.bin?size=6000\n", f->srv.base);
	it_buf_printf(&list, "{\"url\":\"%s/data/t/w.bin?size=700\","
		      "\"out\":\"we\\\\ird.bin\"}\n", f->srv.base);
	it_buf_printf(&list, "%s/data/t/z.bin?size=5000\n", f->srv.base);
	write_text(f, "list.txt", list.data);

	res = it_run_json(f, args, 1, 3, &r);

	expect_ok(f, res, "/data/t/a.bin?size=6000", "sha512", a512);
	expect_ok(f, res, "/data/t/a.bin?size=6000", "md5", amd5);
	expect_ok(f, res, "/data/t/a.bin?size=6000", "sha256", NULL);
	expect_ok(f, res, "/data/t/w.bin?size=700", "sha512", w512);
	expect_ok(f, res, "/data/t/w.bin?size=700", "path", "dl/we\\ird.bin");
	rec = record(f, res, "/data/t/z.bin?size=5000");
	IT_ASSERT_JSTR(rec, "status", "failed");
	IT_ASSERT_JSTR(rec, "sha512", z_sums);
	want_err = it_path("sha512 mismatch: expected %s, got %s", z_sums,
			   z_got);
	IT_ASSERT_JSTR(rec, "error", want_err);
	free(want_err);
	assert_int_equal(it_server_stat(&f->srv, "requests"), 3);
	{
		char *dl = it_path("%s/dl", f->tmp);

		it_expect_tree(dl, (const char *const[]){ "a.bin",
							  "we\\ird.bin",
							  NULL });
		free(dl);
	}

	cJSON_Delete(res);
	it_result_free(&r);
	free(list.data);
}

/* A checksum file that cannot be used stops the run before any request
 * and before the output directory is made: exit 2, a message naming the
 * file and the line. */
static void test_malformed_sums_usage_error(void **state)
{
#define H64 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define H56 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
	struct it_fixture *f = *state;
	static const struct {
		const char *text;   /* of SUMS; NULL: it does not exist */
		const char *second; /* of SUMS2, a second --checksums; or
				       NULL */
		const char *where;  /* in stderr */
		const char *why;    /* in stderr, too (any case) */
	} cases[] = {
		{ H64 "  a.bin\n\nnot-hex  b.bin\n", NULL, "SUMS:3:", "hex" },
		{ "# comment\n" H56 "  a.bin\n", NULL, "SUMS:2:", "56" },
		{ "SHA512 (a.bin) = " H64 "\n", NULL, "SUMS:1:", "128" },
		{ "SHA384 (a.bin) = " H64 "\n", NULL, "SUMS:1:", "SHA384" },
		{ H64 "  \n", NULL, "SUMS:1:", "name" },
		{ H64 "\n", NULL, "SUMS:1:", "name" },
		{ "\\" H64 "  a\\qb\n", NULL, "SUMS:1:", "escape" },
		{ NULL, NULL, "SUMS", "No such file" },
		{ H64 "  a.bin\n", "0" H64 "\n", "SUMS2:1:", "name" },
		{ H64 "  a.bin\n", "1" H56 "1234567  ./a.bin\n", "SUMS2:1:",
		  "SUMS:1" },
	};
	char *dl = it_path("%s/dl", f->tmp);
	char *sums = it_path("%s/SUMS", f->tmp);
	char *line = it_path("%s/data/a.bin\n", f->srv.base);

	write_text(f, "list.txt", line);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[12] = { it_bin(), "--json", "-o", "dl",
					 "--checksums", "SUMS" };
		struct it_result r;
		int n = 6, rc;

		remove(sums);
		if (cases[i].text)
			write_text(f, "SUMS", cases[i].text);
		if (cases[i].second) {
			write_text(f, "SUMS2", cases[i].second);
			argv[n++] = "--checksums";
			argv[n++] = "SUMS2";
		}
		argv[n++] = "list.txt";
		argv[n] = NULL;
		rc = it_run(argv, NULL, f->tmp, &r);
		IT_ASSERT_RAN(rc, r);
		IT_ASSERT_EXIT(r, 2);
		if (!strstr(r.err, cases[i].where) ||
		    !it_ci_contains(r.err, cases[i].why)) {
			it_dump(&r);
			fail_msg("case %zu: stderr should name \"%s\" and say "
				 "\"%s\"", i, cases[i].where, cases[i].why);
		}
		assert_int_equal(r.out_len, 0);
		assert_int_equal(it_server_stat(&f->srv, "requests"), 0);
		assert_false(it_exists(dl));
		it_result_free(&r);
	}
	free(line);
	free(sums);
	free(dl);
#undef H64
#undef H56
}

/* --require-digest: an entry with no expected digest, neither its own
 * nor from --checksums, is invalid and never requested; entries with
 * one (sha256=, md5= in JSON, from the checksum file) are fetched. */
static void test_require_digest(void **state)
{
	struct it_fixture *f = *state;
	static const struct body bodies[] = {
		{ "r2.bin", "/data/r2.bin", 2000 },
	};
	const char *tool[] = { "sha256sum", "r2.bin", NULL };
	const char *args[] = { "--require-digest", "--checksums", "SUMS",
			       "list.txt", NULL };
	char r1[65], r2[65], r4[33];
	struct it_buf list = { 0 };
	struct it_result r;
	const cJSON *rec;
	cJSON *res;

	write_bodies(f, bodies, 1);
	make_sums(f, tool, "SUMS");
	src_digest(f, "sha256sum", "r2.bin", r2, sizeof(r2));
	assert_int_equal(it_server_sha256(&f->srv, "/data/r1.bin", 1000, r1),
			 0);
	{
		char *file = it_path("%s/src/r4.bin", f->tmp);

		assert_int_equal(it_write_body(file, "/data/r4.bin", 400), 0);
		assert_int_equal(it_tool_digest("md5sum", file, r4,
						sizeof(r4)), 0);
		free(file);
	}
	it_buf_printf(&list, "%s/data/r1.bin?size=1000 sha256=%s\n",
		      f->srv.base, r1);
	it_buf_printf(&list, "%s/data/r2.bin?size=2000\n", f->srv.base);
	it_buf_printf(&list, "%s/data/r3.bin?size=3000\n", f->srv.base);
	it_buf_printf(&list, "{\"url\":\"%s/data/r4.bin?size=400\","
		      "\"md5\":\"%s\"}\n", f->srv.base, r4);
	write_text(f, "list.txt", list.data);

	res = it_run_json(f, args, 1, 4, &r);
	expect_ok(f, res, "/data/r1.bin?size=1000", "sha256", r1);
	expect_ok(f, res, "/data/r2.bin?size=2000", "sha256", r2);
	rec = record(f, res, "/data/r3.bin?size=3000");
	IT_ASSERT_JSTR(rec, "status", "invalid");
	IT_ASSERT_JSTR(rec, "error",
		       "no expected digest (--require-digest)");
	IT_ASSERT_JNUM(rec, "line", 3);
	IT_ASSERT_JNUM(rec, "attempts", 0);
	expect_ok(f, res, "/data/r4.bin?size=400", "md5", r4);
	it_assert_requests(f, &r, "/data/r3.bin?size=3000", 0);
	assert_int_equal(it_server_stat(&f->srv, "requests"), 3);

	cJSON_Delete(res);
	it_result_free(&r);
	free(list.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sha256sums_path_and_name,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_bsd_tag_and_two_files,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_malformed_sums_usage_error,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_require_digest,
						it_fixture_setup,
						it_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
