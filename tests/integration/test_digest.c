/* Integration: SHA-256 (spec 4, man --sha256 and sha256=): an entry's
 * digest is verified as the body streams, in text and JSON lines; a
 * mismatch fails the entry ("sha256 mismatch: expected X, got Y"), is not
 * retried, writes no NAME, leaves no .part and an older NAME untouched;
 * --sha256 reports the right digest for bodies of every size, 0 bytes
 * included. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"

/* SHA-256 of the empty string. */
#define EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void server_sha(const struct it_fixture *f, const char *path,
		       size_t size, char hex[65])
{
	if (it_server_sha256(&f->srv, path, size, hex) != 0)
		fail_msg("/_sha256 for %s %zu failed", path, size);
}

static void write_list(const struct it_fixture *f, const char *text)
{
	char *lp = it_path("%s/list.txt", f->tmp);

	assert_int_equal(it_write_file(lp, text, strlen(text)), 0);
	free(lp);
}

/* A matching sha256= in a text line, in a JSON line, and in upper case:
 * all ok, the key reports the digest (in lower case). */
static void test_match_text_and_json(void **state)
{
	struct it_fixture *f = *state;
	char d1[65], d2[65], d3[65], up[65];
	char *u1 = it_url(&f->srv, "/data/m1.bin?size=5000");
	char *u2 = it_url(&f->srv, "/data/m2.bin?size=12345");
	char *u3 = it_url(&f->srv, "/data/m3.bin?size=70000");
	char *f1 = it_path("%s/dl/m1.bin", f->tmp);
	char *f2 = it_path("%s/dl/m2.bin", f->tmp);
	char *f3 = it_path("%s/dl/m3.bin", f->tmp);
	const char *args[] = { "-o", "dl", "list.txt", NULL };
	struct it_result r;
	struct it_buf list = { 0 };
	cJSON *res, *e;

	server_sha(f, "/data/m1.bin", 5000, d1);
	server_sha(f, "/data/m2.bin", 12345, d2);
	server_sha(f, "/data/m3.bin", 70000, d3);
	for (int i = 0; i < 65; i++)
		up[i] = (char)toupper((unsigned char)d3[i]);
	it_buf_printf(&list, "%s sha256=%s\n", u1, d1);
	it_buf_printf(&list, "{\"url\": \"%s\", \"sha256\": \"%s\"}\n", u2,
		      d2);
	it_buf_printf(&list, "%s   sha256=%s\n", u3, up);
	write_list(f, list.data);

	res = it_run_json_plain(f, args, 0, 3, &r);
	e = it_json_find_url(res, u1);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "sha256", d1);
	IT_ASSERT_JNULL(e, "error");
	IT_ASSERT_JNUM(e, "line", 1);
	e = it_json_find_url(res, u2);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "sha256", d2);
	IT_ASSERT_JNUM(e, "line", 2);
	e = it_json_find_url(res, u3);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "sha256", d3);
	assert_true(it_file_matches_body(f1, "/data/m1.bin", 5000));
	assert_true(it_file_matches_body(f2, "/data/m2.bin", 12345));
	assert_true(it_file_matches_body(f3, "/data/m3.bin", 70000));
	it_expect_no_part_dl(f);

	cJSON_Delete(res);
	it_result_free(&r);
	free(list.data);
	free(u1);
	free(u2);
	free(u3);
	free(f1);
	free(f2);
	free(f3);
}

/* A mismatch (text and JSON line): failed with both digests in the error,
 * one attempt, one request, no NAME, no .part; an older NAME is left as it
 * was; a good entry in the same run is ok. */
static void test_mismatch(void **state)
{
	struct it_fixture *f = *state;
	const char *pq_bad = "/data/bad.bin?size=5000";
	const char *pq_old = "/data/old.bin?size=8000";
	const char *pq_jb = "/data/jbad.bin?size=3000";
	char good[65], got_bad[65], got_old[65], got_jb[65], wrong[65];
	char *ub = it_url(&f->srv, pq_bad);
	char *uo = it_url(&f->srv, pq_old);
	char *uj = it_url(&f->srv, pq_jb);
	char *ug = it_url(&f->srv, "/data/good.bin?size=4000");
	char *dl = it_path("%s/dl", f->tmp);
	char *old = it_path("%s/dl/old.bin", f->tmp);
	const char *args[] = { "-o", "dl", "--backoff", "0.1", "list.txt",
			       NULL };
	struct it_result r;
	struct it_buf list = { 0 };
	cJSON *res, *e, *tree;
	char *want_err, *content;
	size_t len = 0;

	server_sha(f, "/data/good.bin", 4000, good);
	server_sha(f, "/data/bad.bin", 5000, got_bad);
	server_sha(f, "/data/old.bin", 8000, got_old);
	server_sha(f, "/data/jbad.bin", 3000, got_jb);
	/* A digest of another body: right form, wrong value. */
	server_sha(f, "/data/bad.bin", 4999, wrong);
	assert_string_not_equal(wrong, got_bad);

	assert_int_equal(mkdir(dl, 0755), 0);
	assert_int_equal(it_write_file(old, "older contents\n", 15), 0);
	it_buf_printf(&list, "%s sha256=%s\n", ub, wrong);
	it_buf_printf(&list, "%s sha256=%s\n", uo, wrong);
	it_buf_printf(&list, "{\"url\":\"%s\",\"sha256\":\"%s\"}\n", uj,
		      wrong);
	it_buf_printf(&list, "%s sha256=%s\n", ug, good);
	write_list(f, list.data);

	res = it_run_json_plain(f, args, 1, 4, &r);

	e = it_json_find_url(res, ub);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNUM(e, "http_status", 200);
	IT_ASSERT_JNUM(e, "attempts", 1);
	IT_ASSERT_JNUM(e, "bytes", 0);
	IT_ASSERT_JNULL(e, "path");
	IT_ASSERT_JSTR(e, "sha256", wrong);
	want_err = it_path("sha256 mismatch: expected %s, got %s", wrong,
			   got_bad);
	IT_ASSERT_JSTR(e, "error", want_err);
	free(want_err);
	it_assert_requests(f, &r, pq_bad, 1);

	e = it_json_find_url(res, uo);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNUM(e, "attempts", 1);
	want_err = it_path("sha256 mismatch: expected %s, got %s", wrong,
			   got_old);
	IT_ASSERT_JSTR(e, "error", want_err);
	free(want_err);
	it_assert_requests(f, &r, pq_old, 1);

	e = it_json_find_url(res, uj);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNUM(e, "attempts", 1);
	want_err = it_path("sha256 mismatch: expected %s, got %s", wrong,
			   got_jb);
	IT_ASSERT_JSTR(e, "error", want_err);
	free(want_err);
	it_assert_requests(f, &r, pq_jb, 1);

	e = it_json_find_url(res, ug);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "sha256", good);

	/* On disk: the good file and the untouched older file, nothing
	 * else. */
	content = it_read_file(old, &len);
	assert_non_null(content);
	assert_int_equal(len, 15);
	assert_memory_equal(content, "older contents\n", 15);
	free(content);
	tree = it_tree_list(dl);
	assert_non_null(tree);
	if (cJSON_GetArraySize(tree) != 2 || !it_tree_has(tree, "good.bin") ||
	    !it_tree_has(tree, "old.bin")) {
		char *t = cJSON_PrintUnformatted(tree);

		fail_msg("dl should hold good.bin and old.bin only: %s", t);
	}
	cJSON_Delete(tree);

	cJSON_Delete(res);
	it_result_free(&r);
	free(list.data);
	free(ub);
	free(uo);
	free(uj);
	free(ug);
	free(dl);
	free(old);
}

/* Under -c a wrong digest still removes the .part (man -c), here one
 * that was being resumed. */
static void test_mismatch_under_continue(void **state)
{
	struct it_fixture *f = *state;
	const char *pq = "/data/cm.bin?size=20000&etag=cm";
	char got[65], wrong[65];
	char *u = it_url(&f->srv, pq);
	char *dl = it_path("%s/dl", f->tmp);
	char *part = it_path("%s/dl/cm.bin.part", f->tmp);
	char *file = it_path("%s/dl/cm.bin", f->tmp);
	char *body = it_expected_body("/data/cm.bin", 20000);
	const char *args[] = { "-c", "-o", "dl", "list.txt", NULL };
	struct it_result r;
	cJSON *res, *e;
	char *line, *want_err;

	server_sha(f, "/data/cm.bin", 20000, got);
	server_sha(f, "/data/cm.bin", 19999, wrong);
	assert_int_equal(mkdir(dl, 0755), 0);
	assert_int_equal(it_write_file(part, body, 8000), 0);
	line = it_path("%s sha256=%s\n", u, wrong);
	write_list(f, line);

	res = it_run_json_plain(f, args, 1, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNUM(e, "attempts", 1);
	want_err = it_path("sha256 mismatch: expected %s, got %s", wrong,
			   got);
	IT_ASSERT_JSTR(e, "error", want_err);
	it_assert_requests(f, &r, pq, 1);
	assert_false(it_exists(part));
	assert_false(it_exists(file));
	assert_int_equal(it_count_files(dl), 0);

	cJSON_Delete(res);
	it_result_free(&r);
	free(want_err);
	free(line);
	free(body);
	free(u);
	free(dl);
	free(part);
	free(file);
}

/* --sha256 over 10 bodies of varied sizes, 0 bytes included: every
 * reported digest is the server's. All sizes are checked before the test
 * fails, so that one report names every wrong one. */
static void test_sha256_all_sizes(void **state)
{
	static const size_t sizes[] = { 0,     1,     2,      63,    64,
					65,    1000,  65535,  65537, 1000000 };
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	struct it_fixture *f = *state;
	char *urls[N];
	char want[N][65];
	struct it_buf list = { 0 }, errs = { 0 };
	const char *args[] = { "--sha256", "-o", "dl", "list.txt", NULL };
	struct it_result r;
	cJSON *res;

	for (size_t i = 0; i < N; i++) {
		char *pq = it_path("/data/s%zu.bin?size=%zu", i, sizes[i]);
		char *p = it_path("/data/s%zu.bin", i);

		urls[i] = it_url(&f->srv, pq);
		server_sha(f, p, sizes[i], want[i]);
		it_buf_printf(&list, "%s\n", urls[i]);
		free(pq);
		free(p);
	}
	assert_string_equal(want[0], EMPTY_SHA256);
	write_list(f, list.data);

	res = it_run_json_plain(f, args, 0, N, &r);
	for (size_t i = 0; i < N; i++) {
		const cJSON *e = it_json_find_url(res, urls[i]);
		const char *got = it_json_str(e, "sha256");
		char *file = it_path("%s/dl/s%zu.bin", f->tmp, i);
		char *p = it_path("/data/s%zu.bin", i);

		assert_non_null(e);
		IT_ASSERT_JSTR(e, "status", "ok");
		IT_ASSERT_JNUM(e, "bytes", sizes[i]);
		assert_true(it_file_matches_body(file, p, sizes[i]));
		if (!got || strcmp(got, want[i]) != 0)
			it_buf_printf(&errs, "\n  size %zu: sha256 %s, want %s",
				      sizes[i], got ? got : "(absent)",
				      want[i]);
		free(file);
		free(p);
	}
	if (errs.data) {
		it_dump(&r);
		fail_msg("--sha256 reported wrong digests:%s", errs.data);
	}

	cJSON_Delete(res);
	it_result_free(&r);
	for (size_t i = 0; i < N; i++)
		free(urls[i]);
	free(list.data);
}

/* An empty body is verified like any other: the right digest is ok, a
 * wrong one fails and writes nothing. */
static void test_empty_body_verified(void **state)
{
	struct it_fixture *f = *state;
	const char *pq_bad = "/data/e0.bin?size=0";
	char wrong[65];
	char *ugood = it_url(&f->srv, "/data/e1.bin?size=0");
	char *ubad = it_url(&f->srv, pq_bad);
	char *good = it_path("%s/dl/e1.bin", f->tmp);
	char *bad = it_path("%s/dl/e0.bin", f->tmp);
	const char *args[] = { "-o", "dl", "list.txt", NULL };
	struct it_result r;
	struct it_buf list = { 0 };
	cJSON *res, *e;
	const char *st;
	char *want_err;

	server_sha(f, "/data/e0.bin", 1, wrong);
	it_buf_printf(&list, "%s sha256=%s\n", ugood, EMPTY_SHA256);
	it_buf_printf(&list, "%s sha256=%s\n", ubad, wrong);
	write_list(f, list.data);

	res = it_run_json_plain(f, args, -1, 2, &r);
	e = it_json_find_url(res, ugood);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "sha256", EMPTY_SHA256);
	IT_ASSERT_JNUM(e, "bytes", 0);
	assert_true(it_exists(good));

	e = it_json_find_url(res, ubad);
	assert_non_null(e);
	want_err = it_path("sha256 mismatch: expected %s, got %s", wrong,
			   EMPTY_SHA256);
	st = it_json_str(e, "status");
	if (!st || strcmp(st, "failed") != 0) {
		it_dump(&r);
		fail_msg("empty body with a wrong sha256=: status \"%s\", want "
			 "\"failed\" (%s)", st ? st : "(absent)",
			 it_exists(bad) ? "and dl/e0.bin was written"
					: "dl/e0.bin not written");
	}
	IT_ASSERT_JSTR(e, "error", want_err);
	IT_ASSERT_JNUM(e, "attempts", 1);
	it_assert_requests(f, &r, pq_bad, 1);
	assert_false(it_exists(bad));
	it_expect_no_part_dl(f);
	IT_ASSERT_EXIT(r, 1);

	cJSON_Delete(res);
	it_result_free(&r);
	free(want_err);
	free(list.data);
	free(ugood);
	free(ubad);
	free(good);
	free(bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_match_text_and_json,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_mismatch,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_mismatch_under_continue,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_sha256_all_sizes,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_empty_body_verified,
						it_fixture_setup,
						it_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
