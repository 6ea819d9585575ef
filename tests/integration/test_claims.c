/* Integration: what an output path claims (spec 2 and 3). Under -c a
 * path also claims its NAME.part, whichever entry comes first, and a
 * server-given name is held to the same rule; a server-given name is
 * checked when it arrives (skipped under -n when the file exists, refused
 * when any earlier entry claimed it, however long ago); names on disk are
 * valid UTF-8, so the JSON path is the file's real name; the
 * duplicate-path message names the right list beyond 255 lists. */
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

/* The result for url: its status is want, and its error (when sub is not
 * NULL) holds sub. */
static cJSON *expect_result(cJSON *res, const char *url, const char *want,
			    const char *sub)
{
	cJSON *e = it_json_find_url(res, url);
	const char *err;

	if (!e)
		fail_msg("no result for %s", url);
	IT_ASSERT_JSTR(e, "status", want);
	if (sub) {
		err = it_json_str(e, "error");
		if (!err || !strstr(err, sub))
			fail_msg("%s: error \"%s\" should say \"%s\"", url,
				 err ? err : "(null)", sub);
	}
	return e;
}

/* Writes the list, runs "fetchmany --json -o dl ARGS list.txt" and
 * returns the parsed results. */
static cJSON *run_list(const struct it_fixture *f, const char *list,
		       const char *const opts[], int want_exit, int nlines,
		       struct it_result *r)
{
	char *lp = it_path("%s/list.txt", f->tmp);
	const char *args[16];
	size_t n = 0;
	cJSON *res;

	assert_int_equal(it_write_file(lp, list, strlen(list)), 0);
	for (; opts[n]; n++)
		args[n] = opts[n];
	args[n++] = "list.txt";
	args[n] = NULL;
	res = it_run_json(f, args, want_exit, nlines, r);
	free(lp);
	return res;
}

/* -c: x.bin writes x.bin.part, so an entry out=x.bin.part after it is
 * invalid (before the fix both were ok and x.bin.part was gone). */
static void test_continue_part_taken_later(void **state)
{
	struct it_fixture *f = *state;
	const char *pa = "/data/a.bin?size=5000&trickle=0.05";
	const char *pb = "/data/b.bin?size=100";
	char *ua = it_url(&f->srv, pa), *ub = it_url(&f->srv, pb);
	char *dl = it_path("%s/dl", f->tmp);
	char *x = it_path("%s/dl/x.bin", f->tmp);
	struct it_buf list = {0};
	const char *opts[] = {"-c", NULL};
	const char *names[] = {"x.bin", NULL};
	struct it_result r;
	cJSON *res, *e;

	it_buf_printf(&list, "%s out=x.bin\n%s out=x.bin.part\n", ua, ub);
	res = run_list(f, list.data, opts, 1, 2, &r);
	e = expect_result(res, ua, "ok", NULL);
	IT_ASSERT_JSTR(e, "path", "dl/x.bin");
	e = expect_result(res, ub, "invalid", ".part");
	IT_ASSERT_JNUM(e, "line", 2);
	if (!strstr(it_json_str(e, "error"), "line 1"))
		fail_msg("should name line 1: %s", it_json_str(e, "error"));
	assert_int_equal(it_requests_for(f, pb), 0);
	assert_true(it_file_matches_body(x, "/data/a.bin", 5000));
	it_expect_tree(dl, names);

	cJSON_Delete(res);
	it_result_free(&r);
	free(list.data);
	free(ua);
	free(ub);
	free(dl);
	free(x);
}

/* -c, the other order: x.bin.part first, then x.bin, whose .part it is. */
static void test_continue_part_taken_earlier(void **state)
{
	struct it_fixture *f = *state;
	const char *pa = "/data/a.bin?size=300";
	const char *pb = "/data/b.bin?size=100";
	char *ua = it_url(&f->srv, pa), *ub = it_url(&f->srv, pb);
	char *dl = it_path("%s/dl", f->tmp);
	char *xp = it_path("%s/dl/x.bin.part", f->tmp);
	struct it_buf list = {0};
	const char *opts[] = {"-c", NULL};
	const char *names[] = {"x.bin.part", NULL};
	struct it_result r;
	cJSON *res, *e;

	it_buf_printf(&list, "%s out=x.bin.part\n%s out=x.bin\n", ub, ua);
	res = run_list(f, list.data, opts, 1, 2, &r);
	e = expect_result(res, ub, "ok", NULL);
	IT_ASSERT_JSTR(e, "path", "dl/x.bin.part");
	expect_result(res, ua, "invalid", ".part");
	assert_int_equal(it_requests_for(f, pa), 0);
	assert_true(it_file_matches_body(xp, "/data/b.bin", 100));
	it_expect_tree(dl, names);

	cJSON_Delete(res);
	it_result_free(&r);
	free(list.data);
	free(ua);
	free(ub);
	free(dl);
	free(xp);
}

/* Without -c, NAME.part is no one's: both entries are fine. */
static void test_part_names_free_without_continue(void **state)
{
	struct it_fixture *f = *state;
	char *ua = it_url(&f->srv, "/data/a.bin?size=300");
	char *ub = it_url(&f->srv, "/data/b.bin?size=100");
	char *xa = it_path("%s/dl/x.bin", f->tmp);
	char *xb = it_path("%s/dl/x.bin.part", f->tmp);
	struct it_buf list = {0};
	const char *opts[] = {NULL};
	struct it_result r;
	cJSON *res;

	it_buf_printf(&list, "%s out=x.bin\n%s out=x.bin.part\n", ua, ub);
	res = run_list(f, list.data, opts, 0, 2, &r);
	expect_result(res, ua, "ok", NULL);
	expect_result(res, ub, "ok", NULL);
	assert_true(it_file_matches_body(xa, "/data/a.bin", 300));
	assert_true(it_file_matches_body(xb, "/data/b.bin", 100));

	cJSON_Delete(res);
	it_result_free(&r);
	free(list.data);
	free(ua);
	free(ub);
	free(xa);
	free(xb);
}

/* Runs "fetchmany --json -o dl list.txt" where O_TMPFILE fails
 * (tests/integration/notmpfile.c preloaded) and returns the results. */
static cJSON *run_list_notmpfile(const struct it_fixture *f, const char *list,
				 int want_exit, int nlines,
				 struct it_result *r)
{
	char *lp = it_path("%s/list.txt", f->tmp);
	const char *so = getenv("FM_NOTMPFILE");
	const char *asan = getenv("ASAN_OPTIONS");
	const char *argv[] = {it_bin(), "--json", "-o", "dl", "list.txt",
			      NULL};
	char *preload, *asan_opts;
	cJSON *res;

	assert_non_null(so);
	assert_int_equal(it_write_file(lp, list, strlen(list)), 0);
	preload = it_path("LD_PRELOAD=%s", so);
	/* Under ASan the preloaded object would come before its runtime. */
	asan_opts = it_path("ASAN_OPTIONS=%s%sverify_asan_link_order=0",
			    asan ? asan : "", asan && *asan ? ":" : "");
	{
		const char *env[] = {preload, asan_opts, NULL};

		IT_ASSERT_RAN(it_run_env(argv, NULL, f->tmp, env, r), *r);
	}
	res = it_check_json(f, r, want_exit, nlines);
	free(preload);
	free(asan_opts);
	free(lp);
	return res;
}

/* Without O_TMPFILE (vfat, NFS, CIFS) bodies go to NAME.part even without
 * -c, so a path claims its .part there too: x.bin.part first, then x.bin,
 * is invalid. Before the fix both were ok and x.bin's .part, renamed over
 * nothing, took x.bin.part's file with it: only x.bin was left. */
static void test_part_taken_without_tmpfile(void **state)
{
	struct it_fixture *f = *state;
	const char *pa = "/data/a.bin?size=3000&trickle=0.3";
	const char *pb = "/data/b.bin?size=20&trickle=0.1";
	char *ua = it_url(&f->srv, pa), *ub = it_url(&f->srv, pb);
	char *dl = it_path("%s/dl", f->tmp);
	char *xp = it_path("%s/dl/x.bin.part", f->tmp);
	struct it_buf list = {0};
	const char *names[] = {"x.bin.part", NULL};
	struct it_result r;
	cJSON *res, *e;

	it_buf_printf(&list, "%s out=x.bin.part\n%s out=x.bin\n", ub, ua);
	res = run_list_notmpfile(f, list.data, 1, 2, &r);
	e = expect_result(res, ub, "ok", NULL);
	IT_ASSERT_JSTR(e, "path", "dl/x.bin.part");
	e = expect_result(res, ua, "invalid", ".part");
	if (!strstr(it_json_str(e, "error"), "line 1"))
		fail_msg("should name line 1: %s", it_json_str(e, "error"));
	assert_int_equal(it_requests_for(f, pa), 0);
	assert_true(it_file_matches_body(xp, "/data/b.bin", 20));
	it_expect_tree(dl, names);

	cJSON_Delete(res);
	it_result_free(&r);
	free(list.data);
	free(ua);
	free(ub);
	free(dl);
	free(xp);
}

/* -c --content-disposition: a server-given name that is another entry's
 * .part, or whose .part is another entry's path, fails; the files of the
 * entries that own them are untouched. */
static void test_continue_server_name_part(void **state)
{
	struct it_fixture *f = *state;
	char *cd1 = it_qenc("attachment; filename=\"y.bin.part\"");
	char *cd2 = it_qenc("attachment; filename=\"z.bin\"");
	char *p2 = it_path("/data/s1.bin?size=222&cd=%s", cd1);
	char *p4 = it_path("/data/s2.bin?size=444&cd=%s", cd2);
	char *u1 = it_url(&f->srv, "/data/y.bin?size=111");
	char *u2 = it_url(&f->srv, p2);
	char *u3 = it_url(&f->srv, "/data/z.bin.part?size=333");
	char *u4 = it_url(&f->srv, p4);
	char *dl = it_path("%s/dl", f->tmp);
	char *y = it_path("%s/dl/y.bin", f->tmp);
	char *zp = it_path("%s/dl/z.bin.part", f->tmp);
	struct it_buf list = {0};
	const char *opts[] = {"-c", "-j", "1", "--content-disposition", NULL};
	const char *names[] = {"y.bin", "z.bin.part", NULL};
	struct it_result r;
	cJSON *res;

	it_buf_printf(&list, "%s\n%s\n%s\n%s\n", u1, u2, u3, u4);
	res = run_list(f, list.data, opts, 1, 4, &r);
	expect_result(res, u1, "ok", NULL);
	expect_result(res, u2, "failed", "y.bin.part");
	expect_result(res, u3, "ok", NULL);
	expect_result(res, u4, "failed", "z.bin");
	assert_true(it_file_matches_body(y, "/data/y.bin", 111));
	assert_true(it_file_matches_body(zp, "/data/z.bin.part", 333));
	it_expect_tree(dl, names);

	cJSON_Delete(res);
	it_result_free(&r);
	free(list.data);
	free(cd1);
	free(cd2);
	free(p2);
	free(p4);
	free(u1);
	free(u2);
	free(u3);
	free(u4);
	free(dl);
	free(y);
	free(zp);
}

/* -n --content-disposition: the server names a file that exists: the
 * entry is skipped, the file untouched, no body written anywhere. */
static void test_noclobber_server_name(void **state)
{
	struct it_fixture *f = *state;
	char *cd = it_qenc("attachment; filename=\"server.bin\"");
	char *pq = it_path("/data/u.bin?size=500&cd=%s", cd);
	char *u = it_url(&f->srv, pq);
	char *dl = it_path("%s/dl", f->tmp);
	char *keep = it_path("%s/dl/server.bin", f->tmp);
	const char *args[] = {"-n", "--content-disposition", u, NULL};
	const char *names[] = {"server.bin", NULL};
	struct it_result r;
	cJSON *res, *e;
	char *body;

	assert_int_equal(mkdir(dl, 0777), 0);
	assert_int_equal(it_write_file(keep, "keep\n", 5), 0);
	res = it_run_json(f, args, 0, 1, &r);
	e = expect_result(res, u, "skipped", NULL);
	IT_ASSERT_JSTR(e, "path", "dl/server.bin");
	IT_ASSERT_JNULL(e, "error");
	IT_ASSERT_JNUM(e, "attempts", 1);
	assert_int_equal(it_requests_for(f, pq), 1);
	body = it_read_file(keep, NULL);
	assert_non_null(body);
	assert_string_equal(body, "keep\n");
	it_expect_tree(dl, names);

	free(body);
	cJSON_Delete(res);
	it_result_free(&r);
	free(cd);
	free(pq);
	free(u);
	free(dl);
	free(keep);
}

/* A server-given name that an entry claimed thousands of entries earlier
 * (a claim long settled) is refused like a recent one. The entries in
 * between exist already and are skipped under -n, without a request. */
static void test_server_name_settled_claim(void **state)
{
	enum { FILLER = 7000 };
	struct it_fixture *f = *state;
	char *cd = it_qenc("attachment; filename=\"early.bin\"");
	char *pq = it_path("/data/late.bin?size=500&cd=%s", cd);
	char *u1 = it_url(&f->srv, "/data/early.bin?size=111");
	char *u2 = it_url(&f->srv, pq);
	char *early = it_path("%s/dl/early.bin", f->tmp);
	char *dl = it_path("%s/dl", f->tmp);
	const char *opts[] = {"-n", "--content-disposition", NULL};
	struct it_buf list = {0};
	struct it_result r;
	cJSON *res;

	assert_int_equal(mkdir(dl, 0777), 0);
	it_buf_printf(&list, "%s\n", u1);
	for (int i = 0; i < FILLER; i++) {
		char *p = it_path("%s/f%d", dl, i);

		assert_int_equal(it_write_file(p, "", 0), 0);
		free(p);
		it_buf_printf(&list, "%s/data/f%d\n", f->srv.base, i);
	}
	it_buf_printf(&list, "%s\n", u2);
	res = run_list(f, list.data, opts, 1, FILLER + 2, &r);
	expect_result(res, u1, "ok", NULL);
	expect_result(res, u2, "failed", "already used");
	assert_true(it_file_matches_body(early, "/data/early.bin", 111));
	assert_int_equal(it_count_files(dl), FILLER + 1);

	cJSON_Delete(res);
	it_result_free(&r);
	free(list.data);
	free(cd);
	free(pq);
	free(u1);
	free(u2);
	free(early);
	free(dl);
}

/* 1 when s is valid UTF-8 (no overlong form, surrogate or stray byte). */
static int valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p, n, min, v;

		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 2, v = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			n = 3, v = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 4, v = c & 0x07, min = 0x10000;
		else
			return 0;
		for (unsigned i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			v = v << 6 | (p[i] & 0x3fu);
		}
		if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
			return 0;
		p += n;
	}
	return 1;
}

struct utf8_case {
	const char *pq;   /* path and query of the URL */
	const char *opt;  /* an extra option, or NULL */
	const char *want; /* the JSON path, after "dlN/" (-x: after the
			     host's directory) */
};

/* Names from URLs, from -x and from Content-Disposition: the JSON path
 * is the real name of the file on disk, and that name is valid UTF-8
 * (invalid decoded bytes stay percent-encoded; valid ones are kept). */
static void test_names_are_utf8(void **state)
{
	static const struct utf8_case cases[] = {
		{"/data/%FFx.bin", NULL, "%FFx.bin"},
		{"/data/%C3%A9t%C3%A9.bin", NULL, "\xc3\xa9t\xc3\xa9.bin"},
		{"/data/%C0%AFa.bin", NULL, "%C0%AFa.bin"},
		{"/data/%ED%A0%80s.bin", NULL, "%ED%A0%80s.bin"},
		{"/data/t%E2%82.bin", NULL, "t%E2%82.bin"},
		{"/data/%FEdir/m.bin", "-x", "%FEdir/m.bin"},
		{"/data/c.bin?cd=attachment%3B%20filename*%3DUTF-8''%25FFcd.bin",
		 "--content-disposition", "%FFcd.bin"},
		/* The server sends U+00FF as the one byte 0xFF (Latin-1). */
		{"/data/d.bin?cd=attachment%3B%20filename%3D%22r%C3%BF.bin%22",
		 "--content-disposition", "r%FF.bin"},
	};
	struct it_fixture *f = *state;
	struct it_buf errs = {0};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *u = it_url(&f->srv, cases[i].pq);
		char *dir = it_path("dl%zu", i);
		char *absdir = it_path("%s/%s", f->tmp, dir);
		char *want = cases[i].opt && !strcmp(cases[i].opt, "-x")
				     ? it_path("%s/127.0.0.1_%d/data/%s", dir,
					       f->srv.port, cases[i].want)
				     : it_path("%s/%s", dir, cases[i].want);
		const char *args[] = {"-o", dir, cases[i].opt ? cases[i].opt
							      : u,
				      cases[i].opt ? u : NULL, NULL};
		struct it_result r;
		cJSON *res, *e;
		const char *path;
		char *file;

		res = it_run_json_plain(f, args, 0, 1, &r);
		e = cJSON_GetArrayItem(res, 0);
		path = it_json_str(e, "path");
		file = it_path("%s/%s", f->tmp, path ? path : "(null)");
		if (!path || strcmp(path, want) != 0)
			it_buf_printf(&errs, "\n  %s: path %s, want %s",
				      cases[i].pq, path ? path : "null", want);
		else if (!it_exists(file))
			it_buf_printf(&errs, "\n  %s: no file named %s",
				      cases[i].pq, path);
		else if (it_count_files(absdir) != 1)
			it_buf_printf(&errs, "\n  %s: %s holds more than %s",
				      cases[i].pq, dir, path);
		cJSON_Delete(res);
		it_result_free(&r);
		free(u);
		free(dir);
		free(absdir);
		free(want);
		free(file);
	}
	/* Whatever the case said, no name on disk is invalid UTF-8. */
	{
		cJSON *tree = it_tree_list(f->tmp);
		const cJSON *it;

		assert_non_null(tree);
		cJSON_ArrayForEach(it, tree) {
			const char *s = cJSON_GetStringValue(it);

			if (s && !valid_utf8(s))
				it_buf_printf(&errs, "\n  not UTF-8 on disk: "
					      "%s", s);
		}
		cJSON_Delete(tree);
	}
	if (errs.data)
		fail_msg("UTF-8 names:%s", errs.data);
}

/* More than 255 lists: a duplicate path names the list and line that
 * claimed it first, whatever its place on the command line (before the
 * fix: list 255's name, the place was kept in 8 bits). */
static void test_duplicate_beyond_255_lists(void **state)
{
	enum { LISTS = 300, FIRST = 270, SECOND = 299 };
	struct it_fixture *f = *state;
	const char *argv[LISTS + 8];
	char *names[LISTS];
	struct it_result r;
	cJSON *res, *e;
	const char *err;
	char *want;
	size_t n = 0;
	int rc;

	argv[n++] = it_bin();
	argv[n++] = "--json";
	argv[n++] = "--dry-run";
	for (int i = 0; i < LISTS; i++) {
		struct it_buf b = {0};
		char *p;

		names[i] = it_path("l%03d.txt", i);
		p = it_path("%s/%s", f->tmp, names[i]);
		if (i == FIRST)
			it_buf_printf(&b, "# first\n\n%s/data/a out=dup.bin\n",
				      f->srv.base);
		else if (i == SECOND)
			it_buf_printf(&b, "%s/data/b out=dup.bin\n",
				      f->srv.base);
		else
			it_buf_printf(&b, "%s/data/f out=f%d.bin\n",
				      f->srv.base, i);
		assert_int_equal(it_write_file(p, b.data, b.len), 0);
		free(b.data);
		free(p);
		argv[n++] = names[i];
	}
	argv[n] = NULL;
	rc = it_run(argv, NULL, f->tmp, &r);
	IT_ASSERT_RAN(rc, r);
	IT_ASSERT_EXIT(r, 1);
	res = it_jsonl_parse(r.out, NULL);
	assert_int_equal(cJSON_GetArraySize(res), LISTS);
	want = it_path("%s/data/b", f->srv.base);
	e = it_json_find_url(res, want);
	free(want);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "invalid");
	IT_ASSERT_JSTR(e, "source", names[SECOND]);
	err = it_json_str(e, "error");
	want = it_path("already used by line 3 of %s", names[FIRST]);
	if (!err || !strstr(err, want))
		fail_msg("error \"%s\" should say \"%s\"", err ? err : "-",
			 want);

	free(want);
	for (int i = 0; i < LISTS; i++)
		free(names[i]);
	cJSON_Delete(res);
	it_result_free(&r);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, it_fixture_setup, \
					       it_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_continue_part_taken_later),
		T(test_continue_part_taken_earlier),
		T(test_part_names_free_without_continue),
		T(test_part_taken_without_tmpfile),
		T(test_continue_server_name_part),
		T(test_noclobber_server_name),
		T(test_server_name_settled_claim),
		T(test_names_are_utf8),
		T(test_duplicate_beyond_255_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
