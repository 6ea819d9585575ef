/* Integration: names (spec 3, man --content-disposition, -x and WHERE
 * FILES GO): hostile Content-Disposition file names are reduced to their
 * last segment and sanitised, unusable ones fall back to the URL's name,
 * nothing lands outside the output directory; server-given names that
 * collide fail the later entry; -x keeps HOST_PORT/PATH, gives index.html
 * for a path ending in '/', and two URLs differing only in the query
 * collide. */
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

/* Names a hostile server might use to escape, that must not appear
 * outside the output directory (checked in /tmp, the parent of every
 * it_mkdtemp() directory, and in /etc). */
static const char *const escapees[] = {
	"/tmp/x", "/tmp/evil", "/tmp/x.exe", "/tmp/b", "/tmp/a_b.txt",
	"/etc/x", "/x", "/evil", NULL,
};

struct cd_case {
	const char *cd;    /* Content-Disposition value */
	const char *want;  /* resulting name; NULL: the URL's name */
};

static const struct cd_case cd_cases[] = {
	{ "attachment; filename=\"../../x\"", "x" },
	{ "attachment; filename=\"/etc/x\"", "x" },
	/* A quoted-string escapes its backslash: the name is a\b. */
	{ "attachment; filename=\"a\\\\b\"", "b" },
	{ "attachment; filename=a\\b", "b" },
	{ "attachment; filename=\"C:\\\\evil\\\\x.exe\"", "x.exe" },
	{ "attachment; filename=\"a\001b.txt\"", "a_b.txt" },
	{ "attachment; filename=\"\033[31mred\177.txt\"", "_[31mred_.txt" },
	{ "attachment; filename*=UTF-8''..%2F..%2Fevil", "evil" },
	{ "attachment; filename*=UTF-8''na%C3%AFve.txt", "na\xc3\xafve.txt" },
	/* filename* wins over filename (RFC 6266). */
	{ "attachment; filename=\"plain.txt\"; "
	  "filename*=UTF-8''na%C3%AFve2.txt", "na\xc3\xafve2.txt" },
	{ "attachment; filename*=ISO-8859-1''caf%E9.txt", "caf\xc3\xa9.txt" },
	{ "attachment; filename=\"\"", NULL },
	{ "attachment; filename=\"..\"", NULL },
	{ "attachment; filename=\"...\"", NULL },
	{ "attachment; filename=\"/\"", NULL },
	{ "attachment; filename=\"../..\"", NULL },
	{ "attachment; filename*=UTF-8''%2E%2E", NULL },
};

/* Every hostile Content-Disposition, each in its own run and output
 * directory: the file has the name the man page promises, its body, and
 * nothing else appears anywhere. */
static void test_cd_hostile_names(void **state)
{
	enum { N = sizeof(cd_cases) / sizeof(cd_cases[0]) };
	struct it_fixture *f = *state;
	int existed[16];
	struct it_buf errs = { 0 };
	cJSON *tree;
	const cJSON *it;

	for (int k = 0; escapees[k]; k++)
		existed[k] = it_exists(escapees[k]);

	for (int i = 0; i < N; i++) {
		char *enc = it_qenc(cd_cases[i].cd);
		char *pq = it_path("/data/u%d.bin?size=%d&cd=%s", i, 100 + i,
				   enc);
		char *upath = it_path("/data/u%d.bin", i);
		char *u = it_url(&f->srv, pq);
		char *dir = it_path("dl%d", i);
		char *urlname = it_path("u%d.bin", i);
		const char *name = cd_cases[i].want ? cd_cases[i].want
						    : urlname;
		char *want_path = it_path("%s/%s", dir, name);
		char *file = it_path("%s/%s", f->tmp, want_path);
		char *absdir = it_path("%s/%s", f->tmp, dir);
		const char *args[] = { "--content-disposition", "-o", dir, u,
				       NULL };
		struct it_result r;
		cJSON *res, *e;
		const char *st, *path;

		res = it_run_json_plain(f, args, 0, 1, &r);
		e = cJSON_GetArrayItem(res, 0);
		st = it_json_str(e, "status");
		path = it_json_str(e, "path");
		if (!st || strcmp(st, "ok") != 0 || !path ||
		    strcmp(path, want_path) != 0) {
			it_buf_printf(&errs, "\n  [%s]: status %s, path %s, "
				      "want ok, %s", cd_cases[i].cd,
				      st ? st : "-", path ? path : "null",
				      want_path);
		} else if (!it_file_matches_body(file, upath,
						 (size_t)(100 + i))) {
			it_buf_printf(&errs, "\n  [%s]: %s has the wrong "
				      "content", cd_cases[i].cd, want_path);
		} else {
			tree = it_tree_list(absdir);
			if (!tree || cJSON_GetArraySize(tree) != 1 ||
			    !it_tree_has(tree, name))
				it_buf_printf(&errs, "\n  [%s]: %s holds more "
					      "than %s", cd_cases[i].cd, dir,
					      name);
			cJSON_Delete(tree);
		}
		if (it_requests_for(f, pq) != 1)
			it_buf_printf(&errs, "\n  [%s]: %d requests, want 1",
				      cd_cases[i].cd, it_requests_for(f, pq));
		cJSON_Delete(res);
		it_result_free(&r);
		free(enc);
		free(pq);
		free(upath);
		free(u);
		free(dir);
		free(urlname);
		free(want_path);
		free(file);
		free(absdir);
	}

	/* Nothing was written outside the output directories. */
	tree = it_tree_list(f->tmp);
	assert_non_null(tree);
	cJSON_ArrayForEach(it, tree) {
		const char *s = cJSON_GetStringValue(it);

		if (!s || strncmp(s, "dl", 2) != 0)
			it_buf_printf(&errs, "\n  %s/%s is outside every "
				      "output directory", f->tmp, s ? s : "?");
	}
	cJSON_Delete(tree);
	for (int k = 0; escapees[k]; k++)
		if (!existed[k] && it_exists(escapees[k]))
			it_buf_printf(&errs, "\n  %s appeared", escapees[k]);
	if (errs.data)
		fail_msg("--content-disposition names:%s", errs.data);
}

/* Under -x the server's name replaces only the last segment: the file
 * stays in the directory the URL's name would have used. */
static void test_cd_with_mirror(void **state)
{
	struct it_fixture *f = *state;
	char *enc = it_qenc("attachment; filename=\"../../../x\"");
	char *pq = it_path("/data/sub/m.bin?size=321&cd=%s", enc);
	char *u = it_url(&f->srv, pq);
	char *want = it_path("mx/127.0.0.1_%d/data/sub/x", f->srv.port);
	char *file = it_path("%s/%s", f->tmp, want);
	char *root = it_path("%s/mx", f->tmp);
	char *n1 = it_path("127.0.0.1_%d/", f->srv.port);
	char *n2 = it_path("127.0.0.1_%d/data/", f->srv.port);
	char *n3 = it_path("127.0.0.1_%d/data/sub/", f->srv.port);
	char *n4 = it_path("127.0.0.1_%d/data/sub/x", f->srv.port);
	const char *names[] = { n1, n2, n3, n4, NULL };
	const char *args[] = { "-x", "--content-disposition", "-o", "mx", u,
			       NULL };
	struct it_result r;
	cJSON *res, *e;

	res = it_run_json_plain(f, args, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "path", want);
	assert_true(it_file_matches_body(file, "/data/sub/m.bin", 321));
	it_expect_tree(root, names);

	cJSON_Delete(res);
	it_result_free(&r);
	free(enc);
	free(pq);
	free(u);
	free(want);
	free(file);
	free(root);
	free(n1);
	free(n2);
	free(n3);
	free(n4);
}

/* Two entries whose server-given names collide: the later fails with an
 * error naming the name (not retried, nothing written for it); a
 * server-given name that another entry's URL name claimed fails too. */
static void test_cd_collision(void **state)
{
	struct it_fixture *f = *state;
	char *enc_same = it_qenc("attachment; filename=\"same.txt\"");
	char *enc_taken = it_qenc("attachment; filename=\"taken.bin\"");
	char *pq1 = it_path("/data/c1.bin?size=111&cd=%s", enc_same);
	char *pq2 = it_path("/data/c2.bin?size=222&cd=%s", enc_same);
	char *pq3 = it_path("/data/c3.bin?size=333&cd=%s", enc_taken);
	const char *pq4 = "/data/taken.bin?size=444";
	char *u1 = it_url(&f->srv, pq1), *u2 = it_url(&f->srv, pq2);
	char *u3 = it_url(&f->srv, pq3), *u4 = it_url(&f->srv, pq4);
	char *lp = it_path("%s/list.txt", f->tmp);
	char *dl = it_path("%s/dl", f->tmp);
	char *same = it_path("%s/dl/same.txt", f->tmp);
	char *taken = it_path("%s/dl/taken.bin", f->tmp);
	const char *names[] = { "same.txt", "taken.bin", NULL };
	const char *args[] = { "-j", "1", "--content-disposition", "-o", "dl",
			       "list.txt", NULL };
	struct it_buf list = { 0 };
	struct it_result r;
	cJSON *res, *e;
	const char *err;

	it_buf_printf(&list, "%s\n%s\n%s\n%s\n", u1, u2, u3, u4);
	assert_int_equal(it_write_file(lp, list.data, list.len), 0);

	res = it_run_json_plain(f, args, 1, 4, &r);
	e = it_json_find_url(res, u1);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "path", "dl/same.txt");

	e = it_json_find_url(res, u2);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNULL(e, "path");
	IT_ASSERT_JNUM(e, "attempts", 1);
	err = it_json_str(e, "error");
	assert_non_null(err);
	if (!strstr(err, "same.txt") || !strstr(err, "already used"))
		fail_msg("collision error should name same.txt: \"%s\"", err);

	e = it_json_find_url(res, u3);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNUM(e, "attempts", 1);
	err = it_json_str(e, "error");
	assert_non_null(err);
	if (!strstr(err, "taken.bin"))
		fail_msg("collision error should name taken.bin: \"%s\"", err);

	e = it_json_find_url(res, u4);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "path", "dl/taken.bin");

	assert_int_equal(it_requests_for(f, pq2), 1);
	assert_int_equal(it_requests_for(f, pq3), 1);
	assert_true(it_file_matches_body(same, "/data/c1.bin", 111));
	assert_true(it_file_matches_body(taken, "/data/taken.bin", 444));
	it_expect_tree(dl, names);

	cJSON_Delete(res);
	it_result_free(&r);
	free(list.data);
	free(enc_same);
	free(enc_taken);
	free(pq1);
	free(pq2);
	free(pq3);
	free(u1);
	free(u2);
	free(u3);
	free(u4);
	free(lp);
	free(dl);
	free(same);
	free(taken);
}

/* -x: DIR/HOST_PORT/PATH; index.html for a path ending in '/'; encoded
 * dot segments and slashes cannot climb; two URLs differing only in the
 * query resolve to one path, and the later is invalid. */
static void test_mirror(void **state)
{
	struct it_fixture *f = *state;
	const char *pqs[] = {
		"/data/a/b/c.bin?size=5",
		"/data/d/",
		"/data/q.bin?size=10",
		"/data/q.bin?size=20",
		"/data/%2e%2e/%2E%2E/g.bin?size=7",
		"/data/e%2F..%2Fx/f.bin?size=9",
	};
	const char *rels[] = {
		"data/a/b/c.bin", "data/d/index.html", "data/q.bin", NULL,
		"data/g.bin", "data/e_.._x/f.bin",
	};
	const char *upaths[] = {
		"/data/a/b/c.bin", "/data/d/", "/data/q.bin", NULL,
		"/data/%2e%2e/%2E%2E/g.bin", "/data/e%2F..%2Fx/f.bin",
	};
	const size_t sizes[] = { 5, 1000, 10, 20, 7, 9 };
	enum { N = sizeof(pqs) / sizeof(pqs[0]) };
	char *urls[N];
	char *lp = it_path("%s/list.txt", f->tmp);
	char *root = it_path("%s/m", f->tmp);
	const char *args[] = { "-x", "-o", "m", "list.txt", NULL };
	struct it_buf list = { 0 };
	struct it_result r;
	cJSON *res, *e, *tree;
	const cJSON *it;
	char *host = it_path("127.0.0.1_%d/", f->srv.port);

	for (int i = 0; i < N; i++) {
		urls[i] = it_url(&f->srv, pqs[i]);
		it_buf_printf(&list, "%s\n", urls[i]);
	}
	assert_int_equal(it_write_file(lp, list.data, list.len), 0);

	res = it_run_json_plain(f, args, 1, N, &r);
	for (int i = 0; i < N; i++) {
		e = it_json_find_num(res, "line", i + 1);
		assert_non_null(e);
		IT_ASSERT_JSTR(e, "url", urls[i]);
		if (!rels[i]) {
			IT_ASSERT_JSTR(e, "status", "invalid");
			IT_ASSERT_JSTR(e, "error",
				       "output path already used by line 3");
			IT_ASSERT_JNUM(e, "attempts", 0);
			IT_ASSERT_JNULL(e, "path");
			assert_int_equal(it_requests_for(f, pqs[i]), 0);
		} else {
			char *want = it_path("m/127.0.0.1_%d/%s", f->srv.port,
					     rels[i]);
			char *file = it_path("%s/%s", f->tmp, want);

			IT_ASSERT_JSTR(e, "status", "ok");
			IT_ASSERT_JSTR(e, "path", want);
			assert_true(it_file_matches_body(file, upaths[i],
							 sizes[i]));
			free(want);
			free(file);
		}
	}
	/* Everything is below m/127.0.0.1_PORT/data/, and nothing else was
	 * written. */
	tree = it_tree_list(root);
	assert_non_null(tree);
	cJSON_ArrayForEach(it, tree) {
		const char *s = cJSON_GetStringValue(it);

		if (!it_starts_with(s, host))
			fail_msg("m/%s is outside m/%s", s, host);
	}
	assert_int_equal(it_count_files(root), N - 1);
	assert_int_equal(it_tree_count_suffix(tree, ".part"), 0);
	cJSON_Delete(tree);
	tree = it_tree_list(f->tmp);
	assert_non_null(tree);
	cJSON_ArrayForEach(it, tree) {
		const char *s = cJSON_GetStringValue(it);

		if (strcmp(s, "list.txt") != 0 && !it_starts_with(s, "m/"))
			fail_msg("%s/%s written outside m/", f->tmp, s);
	}
	cJSON_Delete(tree);

	cJSON_Delete(res);
	it_result_free(&r);
	for (int i = 0; i < N; i++)
		free(urls[i]);
	free(list.data);
	free(lp);
	free(root);
	free(host);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cd_hostile_names,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_cd_with_mirror,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_cd_collision,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_mirror,
						it_fixture_setup,
						it_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
