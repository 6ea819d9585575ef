/* Integration: exit status 0 / 1 / 2, and a usage error downloads
 * nothing at all. */
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

static void assert_no_requests(const struct it_fixture *f)
{
	cJSON *log = it_server_log(&f->srv);

	assert_non_null(log);
	if (cJSON_GetArraySize(log) != 0) {
		char *s = cJSON_Print(log);

		fprintf(stderr, "server log: %s\n", s);
		free(s);
		cJSON_Delete(log);
		fail_msg("a usage error must download nothing, yet the server "
			 "saw requests");
	}
	cJSON_Delete(log);
}

static void assert_tree_size(const char *dir, int n)
{
	cJSON *tree = it_tree_list(dir);

	assert_non_null(tree);
	if (cJSON_GetArraySize(tree) != n) {
		char *s = cJSON_Print(tree);

		fprintf(stderr, "files in %s: %s\n", dir, s);
		free(s);
		cJSON_Delete(tree);
		fail_msg("want %d entries in %s", n, dir);
	}
	cJSON_Delete(tree);
}

static void test_all_ok_exit_0(void **state)
{
	struct it_fixture *f = *state;
	struct it_result r;
	char *u1 = it_url(&f->srv, "/data/ok1.bin?size=10");
	char *u2 = it_url(&f->srv, "/data/ok2.bin?size=20");
	const char *argv[] = { it_bin(), "-o", "dl", u1, u2, NULL };
	char *p1 = it_path("%s/dl/ok1.bin", f->tmp);
	char *p2 = it_path("%s/dl/ok2.bin", f->tmp);
	int rc;

	rc = it_run(argv, NULL, f->tmp, &r);
	IT_ASSERT_RAN(rc, r);
	IT_ASSERT_EXIT(r, 0);
	assert_int_equal(it_count_lines(r.out), 2);
	assert_true(it_file_matches_body(p1, "/data/ok1.bin", 10));
	assert_true(it_file_matches_body(p2, "/data/ok2.bin", 20));
	/* The closing summary line goes to stderr. */
	assert_true(r.err_len > 0);

	it_result_free(&r);
	free(u1);
	free(u2);
	free(p1);
	free(p2);
}

/* A 404: exit 1, one failed record (never retried), one request,
 * nothing written. */
static void test_404_exit_1(void **state)
{
	static const struct it_case c = {
		.args = { "%BASE/data/nf.bin?status=404", NULL },
		.exit = 1,
		.records = {
			"url=%BASE/data/nf.bin?status=404 status=failed "
			"http_status=404 bytes=0 line=null source=null "
			"error=* attempts=1",
			NULL,
		},
		.requests = 1,
		.files = 0,
	};

	it_run_case(*state, &c);
}

static void test_unknown_option_exit_2(void **state)
{
	struct it_fixture *f = *state;
	struct it_result r;
	char *u = it_url(&f->srv, "/data/uo.bin");
	const char *argv[] = { it_bin(), u, "--no-such-option-at-all", NULL };
	int rc;

	rc = it_run(argv, NULL, f->tmp, &r);
	IT_ASSERT_RAN(rc, r);
	IT_ASSERT_EXIT(r, 2);
	assert_true(r.err_len > 0);
	assert_no_requests(f);
	assert_tree_size(f->tmp, 0);

	it_result_free(&r);
	free(u);
}

static void test_missing_list_exit_2(void **state)
{
	struct it_fixture *f = *state;
	struct it_result r;
	char *u = it_url(&f->srv, "/data/ml.bin");
	/* The valid URL comes first: still nothing may be fetched. */
	const char *argv1[] = { it_bin(), u, "no-such-list.txt", NULL };
	const char *argv2[] = { it_bin(), "no-such-list.txt", u, NULL };
	int rc;

	rc = it_run(argv1, NULL, f->tmp, &r);
	IT_ASSERT_RAN(rc, r);
	IT_ASSERT_EXIT(r, 2);
	assert_true(r.err_len > 0);
	it_result_free(&r);
	assert_no_requests(f);

	rc = it_run(argv2, NULL, f->tmp, &r);
	IT_ASSERT_RAN(rc, r);
	IT_ASSERT_EXIT(r, 2);
	it_result_free(&r);
	assert_no_requests(f);
	assert_tree_size(f->tmp, 0);

	free(u);
}

static void test_directory_list_exit_2(void **state)
{
	struct it_fixture *f = *state;
	struct it_result r;
	char *u = it_url(&f->srv, "/data/dl.bin");
	char *d = it_path("%s/adir", f->tmp);
	const char *argv[] = { it_bin(), u, "adir", NULL };
	int rc;

	assert_int_equal(mkdir(d, 0755), 0);
	rc = it_run(argv, NULL, f->tmp, &r);
	IT_ASSERT_RAN(rc, r);
	IT_ASSERT_EXIT(r, 2);
	assert_true(r.err_len > 0);
	assert_no_requests(f);
	assert_tree_size(f->tmp, 1); /* adir/ only */

	it_result_free(&r);
	free(u);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_all_ok_exit_0,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_404_exit_1,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_unknown_option_exit_2,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_missing_list_exit_2,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_directory_list_exit_2,
						it_fixture_setup,
						it_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
