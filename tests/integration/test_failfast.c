/* Integration: --fail-fast (spec 5). After the first failed entry nothing
 * new starts, running transfers are aborted ("aborted by --fail-fast"),
 * never-started entries are never requested and get no line; exit 1. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define NENT 10

/* -j 4, list: slow, slow, 404, slow, then six more slow ones. The first
 * four start together; the 404 fails at once and ends the run. */
static void test_fail_fast_aborts(void **state)
{
	struct it_fixture *f = *state;
	char *pq[NENT], *u[NENT];
	const char *argv[NENT + 10];
	char *dl = it_path("%s/dl", f->tmp);
	const int bad_idx = 2, started = 4;
	struct it_result r;
	cJSON *res, *log, *e;
	size_t n = 0;
	double t0, secs;
	int rc, bad, aborted = 0;

	for (int i = 0; i < NENT; i++) {
		pq[i] = i == bad_idx
			? it_path("/data/missing%d.bin?status=404", i)
			: it_path("/data/slow%d.bin?size=100&delay=3", i);
		u[i] = it_url(&f->srv, pq[i]);
	}
	argv[n++] = it_bin();
	argv[n++] = "--json";
	argv[n++] = "-o";
	argv[n++] = "dl";
	argv[n++] = "-j";
	argv[n++] = "4";
	argv[n++] = "--fail-fast";
	for (int i = 0; i < NENT; i++)
		argv[n++] = u[i];
	argv[n] = NULL;

	t0 = it_now();
	rc = it_run(argv, NULL, f->tmp, &r);
	secs = it_now() - t0;
	fprintf(stderr, "# --fail-fast: run took %.3f s\n", secs);
	IT_ASSERT_RAN(rc, r);
	if (!r.exited || r.exit_code != 1) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("exit status: want 1, got %s %d",
			 r.exited ? "exit" : "signal",
			 r.exited ? r.exit_code : r.signaled);
	}
	/* Well before the 3 s responses could have arrived. */
	if (secs >= 2.5) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("--fail-fast run took %.3f s, want < 2.5", secs);
	}

	res = it_jsonl_parse(r.out, &bad);
	assert_int_equal(bad, 0);
	log = it_server_log(&f->srv);
	assert_non_null(log);

	/* The 404: failed at its only attempt. */
	e = it_json_find_url(res, u[bad_idx]);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNUM(e, "http_status", 404);
	IT_ASSERT_JNUM(e, "attempts", 1);
	assert_int_equal(it_log_count(log, pq[bad_idx]), 1);

	/* The three slow ones started with it: aborted, once each. */
	for (int i = 0; i < started; i++) {
		if (i == bad_idx)
			continue;
		e = it_json_find_url(res, u[i]);
		if (!e) {
			it_dump_with_log(&r, &f->srv);
			fail_msg("no line for running entry %d (%s)", i, u[i]);
		}
		IT_ASSERT_JSTR(e, "status", "failed");
		IT_ASSERT_JSTR(e, "error", "aborted by --fail-fast");
		IT_ASSERT_JNULL(e, "path");
		assert_true(it_log_count(log, pq[i]) <= 1);
		aborted++;
	}
	assert_int_equal(aborted, started - 1);

	/* Never started: never requested, no line. */
	for (int i = started; i < NENT; i++) {
		if (it_log_count(log, pq[i]) != 0 ||
		    it_json_find_url(res, u[i])) {
			it_dump_with_log(&r, &f->srv);
			fail_msg("entry %d (%s) started after the failure", i,
				 u[i]);
		}
	}
	for (int i = 0; i < NENT; i++)
		assert_true(it_count_url(res, u[i]) <= 1);
	assert_int_equal(cJSON_GetArraySize(res), started);
	assert_true(cJSON_GetArraySize(res) < NENT);
	assert_true(cJSON_GetArraySize(log) <= started);
	/* Nothing written, no .part left. */
	assert_int_equal(it_count_files(dl), 0);

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	for (int i = 0; i < NENT; i++) {
		free(pq[i]);
		free(u[i]);
	}
	free(dl);
}

/* Without --fail-fast the same list runs to the end: every entry gets a
 * line (a check that the test above measures the option, not the
 * list). */
static void test_without_fail_fast_all_run(void **state)
{
	struct it_fixture *f = *state;
	char *pq[4], *u[4];
	const char *argv[16];
	struct it_result r;
	cJSON *res, *log, *e;
	size_t n = 0;
	int rc;

	for (int i = 0; i < 4; i++) {
		pq[i] = i == 1 ? it_path("/data/nf%d.bin?status=404", i)
			       : it_path("/data/d%d.bin?size=100&delay=1", i);
		u[i] = it_url(&f->srv, pq[i]);
	}
	argv[n++] = it_bin();
	argv[n++] = "--json";
	argv[n++] = "-o";
	argv[n++] = "dl";
	argv[n++] = "-j";
	argv[n++] = "2";
	for (int i = 0; i < 4; i++)
		argv[n++] = u[i];
	argv[n] = NULL;

	rc = it_run(argv, NULL, f->tmp, &r);
	IT_ASSERT_RAN(rc, r);
	res = it_check_json(f, &r, 1, 4);
	log = it_server_log(&f->srv);
	assert_non_null(log);
	assert_int_equal(cJSON_GetArraySize(log), 4);
	for (int i = 0; i < 4; i++) {
		e = it_json_find_url(res, u[i]);
		assert_non_null(e);
		IT_ASSERT_JSTR(e, "status", i == 1 ? "failed" : "ok");
	}

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	for (int i = 0; i < 4; i++) {
		free(pq[i]);
		free(u[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fail_fast_aborts,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_without_fail_fast_all_run,
						it_fixture_setup,
						it_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
