/* Integration: many downloads at once, byte-exact, and the -j cap holds
 * (and is reached) as seen by the server, however many threads share the
 * slots (--threads). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define N_MANY 200

static size_t many_size(int i)
{
	if (i == 0)
		return 65536;
	if (i == 1)
		return 1;
	return (size_t)(((unsigned)i * 7919u + 13u) % 65536u) + 1;
}

/* a) 200 URLs at -j 20. The first 40 are delayed 0.2 s so that 20 of them
 * must be running at once; others delayed 0.05 s so they overlap. */
static void run_200_urls_j20(struct it_fixture *f, const char *threads)
{
	struct it_buf list = { 0 };
	struct it_result r;
	char *lp = it_path("%s/list.txt", f->tmp);
	char *dl = it_path("%s/dl", f->tmp);
	const char *argv[] = { it_bin(), "-j", "20", "--json", "-o", "dl",
			       "--threads", threads, "list.txt", NULL };
	cJSON *res, *tree, *log;
	int bad, rc;

	for (int i = 0; i < N_MANY; i++) {
		const char *delay = i < 40 ? "&delay=0.2"
				  : i % 3 == 0 ? "&delay=0.05" : "";

		it_buf_printf(&list, "%s/data/f%d.bin?size=%zu%s\n",
			      f->srv.base, i, many_size(i), delay);
	}
	assert_int_equal(it_write_file(lp, list.data, list.len), 0);

	rc = it_run(argv, NULL, f->tmp, &r);
	IT_ASSERT_RAN(rc, r);
	IT_ASSERT_EXIT(r, 0);

	res = it_jsonl_parse(r.out, &bad);
	assert_int_equal(bad, 0);
	assert_int_equal(it_count_lines(r.out), N_MANY);
	assert_int_equal(cJSON_GetArraySize(res), N_MANY);

	log = it_server_log(&f->srv);
	assert_non_null(log);
	for (int i = 0; i < N_MANY; i++) {
		const char *delay = i < 40 ? "&delay=0.2"
				  : i % 3 == 0 ? "&delay=0.05" : "";
		char *pq = it_path("/data/f%d.bin?size=%zu%s", i,
				   many_size(i), delay);
		char *url = it_url(&f->srv, pq);
		char *urlpath = it_path("/data/f%d.bin", i);
		char *want_path = it_path("dl/f%d.bin", i);
		char *file = it_path("%s/f%d.bin", dl, i);
		cJSON *e = it_json_find_url(res, url);

		if (!e)
			fail_msg("no result line for %s", url);
		IT_ASSERT_JSTR(e, "status", "ok");
		IT_ASSERT_JNUM(e, "http_status", 200);
		IT_ASSERT_JNUM(e, "bytes", (double)many_size(i));
		IT_ASSERT_JSTR(e, "path", want_path);
		IT_ASSERT_JNUM(e, "line", i + 1);
		IT_ASSERT_JSTR(e, "source", "list.txt");
		IT_ASSERT_JNULL(e, "error");
		assert_true(it_file_matches_body(file, urlpath,
						 many_size(i)));
		/* Each URL requested exactly once. */
		assert_int_equal(it_log_count(log, pq), 1);
		free(pq);
		free(url);
		free(urlpath);
		free(want_path);
		free(file);
	}

	tree = it_tree_list(dl);
	assert_non_null(tree);
	assert_int_equal(cJSON_GetArraySize(tree), N_MANY);
	assert_int_equal(it_tree_count_suffix(tree, ".part"), 0);

	assert_int_equal(it_server_stat(&f->srv, "requests"), N_MANY);
	/* The cap holds, and it is reached. */
	assert_int_equal(it_server_stat(&f->srv, "max_concurrent"), 20);

	cJSON_Delete(log);
	cJSON_Delete(tree);
	cJSON_Delete(res);
	it_result_free(&r);
	free(list.data);
	free(lp);
	free(dl);
}

static void test_200_urls_j20(void **state)
{
	run_200_urls_j20(*state, "0");
}

/* The same on four threads (five slots each), and on one. */
static void test_200_urls_j20_threads4(void **state)
{
	run_200_urls_j20(*state, "4");
}

static void test_200_urls_j20_threads1(void **state)
{
	run_200_urls_j20(*state, "1");
}

/* b) -j N: with every request delayed, the server sees exactly N at once.
 * threads: the --threads value. */
static void check_cap(struct it_fixture *f, int jobs, int n, double delay,
		      const char *threads)
{
	struct it_buf list = { 0 };
	struct it_result r;
	char jbuf[16];
	const char *argv[] = { it_bin(), "-j", jbuf, "--json", "-o", "dl",
			       "--threads", threads, "list.txt", NULL };
	char *lp = it_path("%s/list.txt", f->tmp);
	cJSON *res;
	cJSON *e;
	int rc;

	snprintf(jbuf, sizeof(jbuf), "%d", jobs);
	for (int i = 0; i < n; i++)
		it_buf_printf(&list, "%s/data/c%d.bin?size=%d&delay=%g\n",
			      f->srv.base, i, 100 + i, delay);
	assert_int_equal(it_write_file(lp, list.data, list.len), 0);

	rc = it_run(argv, NULL, f->tmp, &r);
	IT_ASSERT_RAN(rc, r);
	res = it_check_json(f, &r, 0, n);
	cJSON_ArrayForEach(e, res)
		IT_ASSERT_JSTR(e, "status", "ok");
	for (int i = 0; i < n; i++) {
		char *file = it_path("%s/dl/c%d.bin", f->tmp, i);
		char *up = it_path("/data/c%d.bin", i);

		assert_true(it_file_matches_body(file, up, (size_t)(100 + i)));
		free(file);
		free(up);
	}
	assert_int_equal(it_server_stat(&f->srv, "requests"), n);
	assert_int_equal(it_server_stat(&f->srv, "max_concurrent"), jobs);

	cJSON_Delete(res);
	it_result_free(&r);
	free(list.data);
	free(lp);
}

static void test_cap_j1(void **state)
{
	check_cap(*state, 1, 6, 0.1, "0");
}

static void test_cap_j5(void **state)
{
	check_cap(*state, 5, 15, 0.2, "0");
}

/* 7 slots over 3 threads (3 + 2 + 2): 7 at once means every thread ran
 * its share, and none ran more. */
static void test_cap_j7_threads3(void **state)
{
	check_cap(*state, 7, 21, 0.3, "3");
}

/* More threads asked than slots: one slot each, still 2 at once. */
static void test_cap_j2_threads8(void **state)
{
	check_cap(*state, 2, 6, 0.2, "8");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_200_urls_j20,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_cap_j1, it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_cap_j5, it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_200_urls_j20_threads4,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_200_urls_j20_threads1,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_cap_j7_threads3,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_cap_j2_threads8,
						it_fixture_setup,
						it_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
