/* Integration: timeouts (spec 5): queue time does not count against -t,
 * -t limits a slow response, --stall-timeout fails an attempt that
 * receives nothing (fractions accepted) but not a slow, steady body. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* it_run_json, with the wall time of the run (and of parsing its output)
 * in *secs. */
static cJSON *run_json(const struct it_fixture *f, const char *const args[],
		       int want_exit, int nlines, struct it_result *r,
		       double *secs)
{
	double t0 = it_now();
	cJSON *res = it_run_json(f, args, want_exit, nlines, r);

	*secs = it_now() - t0;
	return res;
}

/* -j 1, four responses of 0.7 s each, -t 1: each would blow the limit if
 * its clock started when it was queued (the fourth waits ~2.1 s), but none
 * does. Every one succeeds at its first attempt. */
static void test_queue_time_not_counted(void **state)
{
	struct it_fixture *f = *state;
	char *u[4], *pq[4];
	const char *args[16];
	struct it_result r;
	cJSON *res, *log;
	double secs;
	size_t n = 0;

	args[n++] = "-j";
	args[n++] = "1";
	args[n++] = "-t";
	args[n++] = "1";
	for (int i = 0; i < 4; i++) {
		pq[i] = it_path("/data/q%d.bin?size=100&delay=0.7", i);
		u[i] = it_url(&f->srv, pq[i]);
		args[n++] = u[i];
	}
	args[n] = NULL;

	res = run_json(f, args, 0, 4, &r, &secs);
	fprintf(stderr, "# -j 1, 4 x delay 0.7, -t 1: run took %.3f s\n",
		secs);
	for (int i = 0; i < 4; i++) {
		cJSON *e = it_json_find_url(res, u[i]);
		char *file = it_path("%s/dl/q%d.bin", f->tmp, i);
		char *up = it_path("/data/q%d.bin", i);

		assert_non_null(e);
		IT_ASSERT_JSTR(e, "status", "ok");
		IT_ASSERT_JNUM(e, "attempts", 1);
		IT_ASSERT_JNULL(e, "error");
		assert_true(it_file_matches_body(file, up, 100));
		free(file);
		free(up);
	}
	/* One request each (no timeout was hidden by a retry), one at a
	 * time. */
	log = it_server_log(&f->srv);
	assert_non_null(log);
	assert_int_equal(cJSON_GetArraySize(log), 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(it_log_count(log, pq[i]), 1);
	assert_int_equal(it_server_stat(&f->srv, "max_concurrent"), 1);
	/* Four 0.7 s responses in series. */
	assert_true(secs >= 2.7);

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	for (int i = 0; i < 4; i++) {
		free(u[i]);
		free(pq[i]);
	}
}

/* A response slower than -t fails with libcurl's timeout message, in about
 * -t seconds. */
static void test_total_timeout(void **state)
{
	struct it_fixture *f = *state;
	const char *pq = "/data/slow.bin?size=100&delay=3";
	char *u = it_url(&f->srv, pq);
	const char *args[] = { "-t", "1", "-r", "0", u, NULL };
	struct it_result r;
	cJSON *res, *e, *log;
	const char *err;
	double secs;

	res = run_json(f, args, 1, 1, &r, &secs);
	fprintf(stderr, "# delay 3, -t 1: run took %.3f s\n", secs);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "url", u);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNULL(e, "http_status");
	IT_ASSERT_JNUM(e, "attempts", 1);
	IT_ASSERT_JNULL(e, "path");
	err = it_json_str(e, "error");
	assert_non_null(err);
	if (!it_starts_with(err, "Operation timed out"))
		fail_msg("want a timeout error, got \"%s\"", err);
	if (secs > 2.5) {
		it_dump(&r);
		fail_msg("-t 1 run took %.3f s, want < 2.5", secs);
	}
	assert_true(secs >= 0.9);
	log = it_server_log(&f->srv);
	assert_non_null(log);
	assert_int_equal(it_log_count(log, pq), 1);
	assert_int_equal(it_count_files(f->tmp), 0);

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
}

/* Headers and half the body, then 5 s of silence: --stall-timeout 1 fails
 * the attempt after about 1 s, and its .part is removed. */
static void stall_case(void **state, const char *stall_opt, double min_s,
		       double max_s)
{
	struct it_fixture *f = *state;
	const char *pq = "/data/stuck.bin?size=100000&stall=5";
	char *u = it_url(&f->srv, pq);
	char *file = it_path("%s/dl/stuck.bin", f->tmp);
	const char *args[] = { "--stall-timeout", stall_opt, "-r", "0", u,
			       NULL };
	struct it_result r;
	cJSON *res, *e, *log;
	const char *err;
	double secs, jsecs;
	int ok;

	res = run_json(f, args, 1, 1, &r, &secs);
	fprintf(stderr, "# stall 5, --stall-timeout %s: run took %.3f s\n",
		stall_opt, secs);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNUM(e, "attempts", 1);
	IT_ASSERT_JNULL(e, "path");
	err = it_json_str(e, "error");
	assert_non_null(err);
	if (!it_starts_with(err, "stalled:"))
		fail_msg("want an error starting with \"stalled:\", got "
			 "\"%s\"", err);
	if (secs >= max_s) {
		it_dump(&r);
		fail_msg("--stall-timeout %s run took %.3f s, want < %.1f",
			 stall_opt, secs, max_s);
	}
	/* Not before the silence lasted the stall timeout. */
	jsecs = it_json_num(e, "seconds", &ok);
	assert_true(ok);
	if (jsecs < min_s)
		fail_msg("stalled after %.3f s, want >= %.2f", jsecs, min_s);
	assert_false(it_exists(file));
	it_expect_no_part_dl(f);
	log = it_server_log(&f->srv);
	assert_non_null(log);
	assert_int_equal(it_log_count(log, pq), 1);

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
	free(file);
}

static void test_stall_timeout(void **state)
{
	stall_case(state, "1", 0.9, 3.0);
}

static void test_stall_timeout_fraction(void **state)
{
	stall_case(state, "0.5", 0.4, 2.0);
}

/* A body trickling in 1 KiB pieces every trickle_s seconds, longer in all
 * than the stall timeout, is not a stall. */
static void trickle_case(void **state, const char *stall_opt,
			 const char *trickle, size_t size, double min_s)
{
	struct it_fixture *f = *state;
	char *pq = it_path("/data/drip.bin?size=%zu&trickle=%s", size,
			   trickle);
	char *u = it_url(&f->srv, pq);
	char *file = it_path("%s/dl/drip.bin", f->tmp);
	const char *args[] = { "--stall-timeout", stall_opt, "-r", "0", u,
			       NULL };
	struct it_result r;
	cJSON *res, *e, *log;
	double secs, jsecs;
	int ok;

	res = run_json(f, args, 0, 1, &r, &secs);
	e = cJSON_GetArrayItem(res, 0);
	jsecs = it_json_num(e, "seconds", &ok);
	fprintf(stderr, "# trickle %s s per KiB, %zu bytes, --stall-timeout "
		"%s: ok after %.3f s (run %.3f s)\n", trickle, size,
		stall_opt, jsecs, secs);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "attempts", 1);
	IT_ASSERT_JNUM(e, "bytes", (double)size);
	IT_ASSERT_JNULL(e, "error");
	assert_true(ok);
	/* It really took longer than the stall timeout. */
	if (jsecs <= min_s || secs <= min_s)
		fail_msg("the trickle took %.3f s, want > %.2f", jsecs, min_s);
	assert_true(it_file_matches_body(file, "/data/drip.bin", size));
	log = it_server_log(&f->srv);
	assert_non_null(log);
	assert_int_equal(it_log_count(log, pq), 1);

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(pq);
	free(u);
	free(file);
}

static void test_trickle_not_stall(void **state)
{
	/* 8 pieces, 0.25 s apart: about 1.75-2 s in all. */
	trickle_case(state, "1", "0.25", 8 * 1024, 1.0);
}

static void test_trickle_not_stall_fraction(void **state)
{
	/* 10 pieces, 0.1 s apart: about 1 s in all, stall limit 0.5 s. */
	trickle_case(state, "0.5", "0.1", 10 * 1024, 0.5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_queue_time_not_counted,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_total_timeout,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_stall_timeout,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_stall_timeout_fraction,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_trickle_not_stall,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_trickle_not_stall_fraction,
						it_fixture_setup,
						it_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
