/* Integration: unusable list entries become "invalid" results with their
 * line number and a reason; the valid entries beside them still download;
 * nothing is requested for an invalid entry and nothing is written outside
 * the output directory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void check_invalid(const cJSON *res, int line)
{
	const cJSON *e = it_json_find_num(res, "line", line);
	const char *err;

	if (!e)
		fail_msg("no result for line %d", line);
	IT_ASSERT_JSTR(e, "status", "invalid");
	IT_ASSERT_JSTR(e, "source", "list.txt");
	IT_ASSERT_JNULL(e, "http_status");
	IT_ASSERT_JNUM(e, "bytes", 0);
	err = it_json_str(e, "error");
	if (!err || !*err)
		fail_msg("line %d: invalid without an error message", line);
}

static void check_ok(const cJSON *res, int line, const char *url,
		     const char *path)
{
	const cJSON *e = it_json_find_num(res, "line", line);

	if (!e)
		fail_msg("no result for line %d", line);
	IT_ASSERT_JSTR(e, "url", url);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "path", path);
	IT_ASSERT_JSTR(e, "source", "list.txt");
}

static void test_invalid_lines(void **state)
{
	struct it_fixture *f = *state;
	struct it_buf list = { 0 };
	struct it_result r;
	const char *b;
	char *lp = it_path("%s/list.txt", f->tmp);
	char *u1, *u5, *u6, *u7;
	/* -o a/b/dl: "../../etc/x" from there would land in a/etc/x, still
	 * inside the scratch directory, where the test can see it. */
	const char *argv[] = { it_bin(), "--json", "-o", "a/b/dl", "list.txt",
			       NULL };
	cJSON *res, *tree, *log, *e;
	int bad, rc;

	b = f->srv.base;
	u1 = it_path("%s/data/e1.bin?size=111", b);
	u5 = it_path("%s/data/e5.bin?size=555", b);
	u6 = it_path("%s/data/e6.bin?size=666", b);
	u7 = it_path("%s/data/e7.bin?size=777", b);
	it_buf_printf(&list, "%s\n", u1);                            /* 1 */
	it_buf_printf(&list, "ftp://x/y\n");                         /* 2 */
	it_buf_printf(&list, "%s/data/a out=../../etc/x\n", b);      /* 3 */
	it_buf_printf(&list, "%s/data/e2.bin bogus\n", b);           /* 4 */
	it_buf_printf(&list, "%s/data/e3.bin sha256=12ab\n", b);     /* 5 */
	it_buf_printf(&list, "{\"url\": \"%s/data/e4.bin\",\n", b);  /* 6 */
	it_buf_printf(&list, "%s out=same.bin\n", u5);               /* 7 */
	it_buf_printf(&list, "%s out=same.bin\n", u6);               /* 8 */
	it_buf_printf(&list, "   # a comment\n");                    /* 9 */
	it_buf_printf(&list, "\n");                                  /* 10 */
	it_buf_printf(&list, "  %s  \n", u7);                        /* 11 */
	assert_int_equal(it_write_file(lp, list.data, list.len), 0);

	rc = it_run(argv, NULL, f->tmp, &r);
	IT_ASSERT_RAN(rc, r);
	IT_ASSERT_EXIT(r, 1);
	res = it_jsonl_parse(r.out, &bad);
	assert_int_equal(bad, 0);
	if (cJSON_GetArraySize(res) != 9) {
		it_dump(&r);
		fail_msg("want 9 result lines (3 ok, 6 invalid), got %d",
			 cJSON_GetArraySize(res));
	}

	check_ok(res, 1, u1, "a/b/dl/e1.bin");
	check_invalid(res, 2);
	check_invalid(res, 3);
	check_invalid(res, 4);
	check_invalid(res, 5);
	check_invalid(res, 6);
	check_ok(res, 7, u5, "a/b/dl/same.bin");
	check_invalid(res, 8);
	check_ok(res, 11, u7, "a/b/dl/e7.bin");
	/* "output path already used by line N" names the earlier line. */
	e = it_json_find_num(res, "line", 8);
	if (!strstr(it_json_str(e, "error"), "7"))
		fail_msg("line 8 error does not name line 7: %s",
			 it_json_str(e, "error"));

	/* Only the three valid entries reached the server. */
	log = it_server_log(&f->srv);
	assert_non_null(log);
	if (cJSON_GetArraySize(log) != 3) {
		char *s = cJSON_Print(log);

		fprintf(stderr, "server log: %s\n", s);
		free(s);
		fail_msg("want 3 requests, got %d", cJSON_GetArraySize(log));
	}
	assert_int_equal(it_log_count(log, "/data/e1.bin?size=111"), 1);
	assert_int_equal(it_log_count(log, "/data/e5.bin?size=555"), 1);
	assert_int_equal(it_log_count(log, "/data/e7.bin?size=777"), 1);

	/* Exactly these files exist: nothing outside a/b/dl, nothing else. */
	tree = it_tree_list(f->tmp);
	assert_non_null(tree);
	{
		const char *want[] = { "a/", "a/b/", "a/b/dl/",
				       "a/b/dl/e1.bin", "a/b/dl/e7.bin",
				       "a/b/dl/same.bin", "list.txt" };
		size_t nw = sizeof(want) / sizeof(want[0]);

		for (size_t i = 0; i < nw; i++)
			if (!it_tree_has(tree, want[i]))
				fail_msg("missing %s", want[i]);
		if ((size_t)cJSON_GetArraySize(tree) != nw) {
			char *s = cJSON_Print(tree);

			fprintf(stderr, "files: %s\n", s);
			free(s);
			fail_msg("unexpected files in the scratch directory");
		}
	}
	{
		char *p1 = it_path("%s/a/b/dl/e1.bin", f->tmp);
		char *p5 = it_path("%s/a/b/dl/same.bin", f->tmp);
		char *p7 = it_path("%s/a/b/dl/e7.bin", f->tmp);

		assert_true(it_file_matches_body(p1, "/data/e1.bin", 111));
		/* same.bin is line 7's body, not line 8's. */
		assert_true(it_file_matches_body(p5, "/data/e5.bin", 555));
		assert_true(it_file_matches_body(p7, "/data/e7.bin", 777));
		free(p1);
		free(p5);
		free(p7);
	}

	cJSON_Delete(tree);
	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(list.data);
	free(lp);
	free(u1);
	free(u5);
	free(u6);
	free(u7);
}

/* A repeat of a path claimed long before (settled out of the recent
 * claims) is still refused, just without the line; a repeat of a recent
 * one names it. --dry-run: admission alone decides this. */
static void test_duplicates_in_a_long_list(void **state)
{
	struct it_fixture *f = *state;
	struct it_buf list = { 0 };
	struct it_result r;
	char *lp = it_path("%s/list.txt", f->tmp);
	const char *argv[] = { it_bin(), "--json", "--dry-run", "-o", "dl",
			       "list.txt", NULL };
	const int n = 13000; /* more than twice the 6,144 recent claims */
	cJSON *res;
	const cJSON *e;
	int rc;

	it_buf_printf(&list, "http://127.0.0.1:9/x out=dup.bin\n");
	for (int i = 2; i <= n; i++)
		it_buf_printf(&list, "http://127.0.0.1:9/f/%d.bin\n", i);
	it_buf_printf(&list, "http://127.0.0.1:9/y out=dup.bin\n");
	it_buf_printf(&list, "http://127.0.0.1:9/z out=%d.bin\n", n - 1);
	assert_int_equal(it_write_file(lp, list.data, list.len), 0);

	rc = it_run(argv, NULL, f->tmp, &r);
	IT_ASSERT_RAN(rc, r);
	res = it_check_json(f, &r, 1, n + 2);
	e = it_json_find_num(res, "line", 1);
	IT_ASSERT_JSTR(e, "status", "planned");
	check_invalid(res, n + 1);
	e = it_json_find_num(res, "line", n + 1);
	IT_ASSERT_JSTR(e, "error",
		       "output path already used by an earlier entry");
	check_invalid(res, n + 2);
	e = it_json_find_num(res, "line", n + 2);
	{
		char *want = it_path("output path already used by line %d",
				     n - 1);

		IT_ASSERT_JSTR(e, "error", want);
		free(want);
	}
	for (int i = 2; i <= n; i += 641) {
		e = it_json_find_num(res, "line", i);
		IT_ASSERT_JSTR(e, "status", "planned");
	}

	cJSON_Delete(res);
	it_result_free(&r);
	free(list.data);
	free(lp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_invalid_lines,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_duplicates_in_a_long_list,
						it_fixture_setup,
						it_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
