/* Integration: retries (spec 5): what is retried and what is not, how many
 * attempts and requests, backoff and Retry-After measured with the
 * server's clock, retried connection resets and short bodies, and a job
 * waiting out its backoff holding no slot. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* 503, 503, then 200: ok after three attempts, three requests. */
static void test_503_twice_then_ok(void **state)
{
	struct it_fixture *f = *state;
	const char *pq = "/data/two.bin?size=3000&fail=2";
	char *u = it_url(&f->srv, pq);
	char *file = it_path("%s/dl/two.bin", f->tmp);
	const char *args[] = { "--backoff", "0.1", u, NULL };
	struct it_result r;
	cJSON *res, *e;

	res = it_run_json(f, args, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "url", u);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "http_status", 200);
	IT_ASSERT_JNUM(e, "bytes", 3000);
	IT_ASSERT_JNUM(e, "attempts", 3);
	IT_ASSERT_JNULL(e, "error");
	it_assert_requests(f, &r, pq, 3);
	assert_true(it_file_matches_body(file, "/data/two.bin", 3000));
	it_expect_no_part_dl(f);

	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
	free(file);
}

/* The result for url in res has status, http_status and attempts as
 * given, and the server saw that many requests for pq. */
static void expect_outcome(const struct it_fixture *f,
			   const struct it_result *r, const cJSON *res,
			   const char *url, const char *pq, const char *status,
			   long http, int attempts)
{
	const cJSON *e = it_json_find_url(res, url);

	if (!e)
		fail_msg("no result for %s", url);
	IT_ASSERT_JSTR(e, "status", status);
	IT_ASSERT_JNUM(e, "http_status", http);
	IT_ASSERT_JNUM(e, "attempts", attempts);
	it_assert_requests(f, r, pq, attempts);
}

/* A 404 is final at once: one attempt, one request; also one that would
 * serve the next time (what --retry-on 404 is for). */
static void test_404_not_retried(void **state)
{
	struct it_fixture *f = *state;
	const char *pq[2] = { "/data/nf.bin?status=404",
			      "/data/late2.bin?size=2500&fail=2&fail_status=404" };

	for (int i = 0; i < 2; i++) {
		char *u = it_url(&f->srv, pq[i]);
		const char *args[] = { "--backoff", "0.1", u, NULL };
		struct it_result r;
		cJSON *res;

		res = it_run_json(f, args, 1, 1, &r);
		expect_outcome(f, &r, res, u, pq[i], "failed", 404, 1);
		assert_int_equal(it_count_files(f->tmp), 0);
		cJSON_Delete(res);
		it_result_free(&r);
		free(u);
	}
}

/* 503 forever with -r 2: three attempts, three requests, the error names
 * the 503. */
static void test_503_forever_gives_up(void **state)
{
	struct it_fixture *f = *state;
	const char *pq = "/data/down.bin?status=503";
	char *u = it_url(&f->srv, pq);
	const char *args[] = { "-r", "2", "--backoff", "0.1", u, NULL };
	struct it_result r;
	cJSON *res, *e;
	const char *err;

	res = it_run_json(f, args, 1, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNUM(e, "http_status", 503);
	IT_ASSERT_JNUM(e, "attempts", 3);
	IT_ASSERT_JNUM(e, "bytes", 0);
	IT_ASSERT_JNULL(e, "path");
	err = it_json_str(e, "error");
	assert_non_null(err);
	if (!strstr(err, "503"))
		fail_msg("error should name the 503, got \"%s\"", err);
	it_assert_requests(f, &r, pq, 3);
	assert_int_equal(it_count_files(f->tmp), 0);

	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
}

/* -r 0: a retryable failure is tried once. */
static void test_retries_zero(void **state)
{
	struct it_fixture *f = *state;
	const char *pq = "/data/once.bin?status=503";
	char *u = it_url(&f->srv, pq);
	const char *args[] = { "-r", "0", "--backoff", "0.1", u, NULL };
	struct it_result r;
	cJSON *res, *e;

	res = it_run_json(f, args, 1, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNUM(e, "http_status", 503);
	IT_ASSERT_JNUM(e, "attempts", 1);
	it_assert_requests(f, &r, pq, 1);

	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
}

/* 429 with Retry-After: 2 and --backoff 0.1: the retry waits for what the
 * server asked, not for the backoff. */
static void test_retry_after_honoured(void **state)
{
	struct it_fixture *f = *state;
	const char *pq =
		"/data/ra.bin?size=500&fail=1&fail_status=429&retry_after=2";
	char *u = it_url(&f->srv, pq);
	char *file = it_path("%s/dl/ra.bin", f->tmp);
	const char *args[] = { "--backoff", "0.1", u, NULL };
	struct it_result r;
	cJSON *res, *e, *log;
	double starts[4], ends[4], gap;
	int n;

	res = it_run_json(f, args, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "attempts", 2);
	assert_true(it_file_matches_body(file, "/data/ra.bin", 500));

	log = it_server_log(&f->srv);
	assert_non_null(log);
	n = it_log_times(log, pq, starts, ends, 4);
	assert_int_equal(n, 2);
	assert_true(ends[0] >= 0);
	gap = starts[1] - ends[0];
	fprintf(stderr, "# Retry-After 2, --backoff 0.1: measured wait "
		"%.3f s (server: end of attempt 1 to start of attempt 2)\n",
		gap);
	if (gap < 1.8 || gap > 4.0) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("Retry-After: 2 wait was %.3f s, want 1.8 .. 4.0",
			 gap);
	}

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
	free(file);
}

/* fail=4, --backoff 0.2, --backoff-max 10, -r 4: the wait before retry k
 * is 0.2 * 2^(k-1) scaled by [0.5, 1], so the gaps grow. */
static void test_backoff_grows(void **state)
{
	struct it_fixture *f = *state;
	const char *pq = "/data/grow.bin?size=700&fail=4";
	char *u = it_url(&f->srv, pq);
	char *file = it_path("%s/dl/grow.bin", f->tmp);
	const char *args[] = { "--backoff", "0.2", "--backoff-max", "10",
			       "-r", "4", u, NULL };
	struct it_result r;
	cJSON *res, *e, *log;
	double starts[8], ends[8], gap[4];
	const double tol = 0.05, slack = 0.5;
	int n;

	res = it_run_json(f, args, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "attempts", 5);
	assert_true(it_file_matches_body(file, "/data/grow.bin", 700));

	log = it_server_log(&f->srv);
	assert_non_null(log);
	n = it_log_times(log, pq, starts, ends, 8);
	assert_int_equal(n, 5);
	fprintf(stderr, "# backoff 0.2, max 10: gaps (server clock, end of "
		"attempt k to start of k+1):");
	for (int k = 0; k < 4; k++) {
		assert_true(ends[k] >= 0);
		gap[k] = starts[k + 1] - ends[k];
		fprintf(stderr, " %.3f", gap[k]);
	}
	fprintf(stderr, "\n");
	for (int k = 0; k < 4; k++) {
		double full = 0.2 * (double)(1 << k);
		double lo = 0.5 * full - tol, hi = full + slack;

		fprintf(stderr, "#   gap %d: %.3f s, allowed [%.3f, %.3f]\n",
			k + 1, gap[k], lo, hi);
		if (gap[k] < lo || gap[k] > hi) {
			it_dump_with_log(&r, &f->srv);
			fail_msg("gap before retry %d is %.3f s, want %.3f .. "
				 "%.3f", k + 1, gap[k], lo, hi);
		}
	}
	if (!(gap[3] > gap[0]))
		fail_msg("the last gap (%.3f s) is not longer than the first "
			 "(%.3f s)", gap[3], gap[0]);

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
	free(file);
}

/* A connection reset (no response at all) is retried. */
static void test_reset_retried(void **state)
{
	struct it_fixture *f = *state;
	const char *pq = "/data/rst.bin?size=2000&reset=1&fail=1";
	char *u = it_url(&f->srv, pq);
	char *file = it_path("%s/dl/rst.bin", f->tmp);
	const char *args[] = { "--backoff", "0.1", u, NULL };
	struct it_result r;
	cJSON *res, *e;

	res = it_run_json(f, args, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "http_status", 200);
	IT_ASSERT_JNUM(e, "bytes", 2000);
	IT_ASSERT_JNUM(e, "attempts", 2);
	it_assert_requests(f, &r, pq, 2);
	assert_true(it_file_matches_body(file, "/data/rst.bin", 2000));
	it_expect_no_part_dl(f);

	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
	free(file);
}

/* A body shorter than its Content-Length is retried; the final file is
 * byte-exact and no ok line ever comes with a short file. */
static void test_truncated_retried(void **state)
{
	struct it_fixture *f = *state;
	const char *pq = "/data/trunc.bin?size=200000&truncate=1&fail=1";
	char *u = it_url(&f->srv, pq);
	char *file = it_path("%s/dl/trunc.bin", f->tmp);
	const char *args[] = { "--backoff", "0.1", u, NULL };
	struct it_result r;
	cJSON *res, *e;

	res = it_run_json(f, args, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "bytes", 200000);
	IT_ASSERT_JNUM(e, "attempts", 2);
	it_assert_requests(f, &r, pq, 2);
	assert_true(it_file_matches_body(file, "/data/trunc.bin", 200000));
	it_expect_no_part_dl(f);

	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
	free(file);
}

/* Truncated every time, -r 1: failed after two attempts, nothing left
 * behind. */
static void test_truncated_forever_fails(void **state)
{
	struct it_fixture *f = *state;
	const char *pq = "/data/short.bin?size=200000&truncate=1";
	char *u = it_url(&f->srv, pq);
	char *file = it_path("%s/dl/short.bin", f->tmp);
	char *part = it_path("%s/dl/short.bin.part", f->tmp);
	const char *args[] = { "-r", "1", "--backoff", "0.1", u, NULL };
	struct it_result r;
	cJSON *res, *e;
	const char *err;

	res = it_run_json(f, args, 1, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNUM(e, "attempts", 2);
	IT_ASSERT_JNULL(e, "path");
	err = it_json_str(e, "error");
	assert_non_null(err);
	assert_true(*err != '\0');
	it_assert_requests(f, &r, pq, 2);
	assert_false(it_exists(file));
	assert_false(it_exists(part));
	assert_int_equal(it_count_files(f->tmp), 0);

	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
	free(file);
	free(part);
}

/* -j 1: an entry waiting out its backoff does not hold the only slot; the
 * next entry runs (and finishes) meanwhile. */
static void test_backoff_holds_no_slot(void **state)
{
	struct it_fixture *f = *state;
	const char *pq_a = "/data/slowretry.bin?size=100&fail=1";
	const char *pq_b = "/data/normal.bin?size=100";
	char *ua = it_url(&f->srv, pq_a);
	char *ub = it_url(&f->srv, pq_b);
	const char *args[] = { "-j", "1", "--backoff", "2", ua, ub, NULL };
	struct it_result r;
	cJSON *res, *e, *log;
	double sa[4], ea[4], sb[2], eb[2];
	int na, nb;

	res = it_run_json(f, args, 0, 2, &r);
	/* The normal one finishes first. */
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "url", ub);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "attempts", 1);
	e = cJSON_GetArrayItem(res, 1);
	IT_ASSERT_JSTR(e, "url", ua);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "attempts", 2);

	log = it_server_log(&f->srv);
	assert_non_null(log);
	na = it_log_times(log, pq_a, sa, ea, 4);
	nb = it_log_times(log, pq_b, sb, eb, 2);
	assert_int_equal(na, 2);
	assert_int_equal(nb, 1);
	fprintf(stderr, "# -j 1, --backoff 2: A attempt 1 [%.3f, %.3f], "
		"B [%.3f, %.3f], A attempt 2 starts %.3f (wait %.3f s)\n",
		sa[0], ea[0], sb[0], eb[0], sa[1], sa[1] - ea[0]);
	if (!(sb[0] < sa[1])) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("B started at %.3f, after A's retry at %.3f: the "
			 "backoff held the slot", sb[0], sa[1]);
	}
	/* And the backoff was really waited (at least half of 2 s). */
	if (sa[1] - ea[0] < 0.95) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("A's retry came %.3f s after its failure, want >= 1",
			 sa[1] - ea[0]);
	}

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(ua);
	free(ub);
}

/* --retry-on 404: 404, 404, then 200 is retried with the usual backoff:
 * ok after three attempts, three requests, the file whole. */
static void test_retry_on_404(void **state)
{
	struct it_fixture *f = *state;
	const char *pq = "/data/late.bin?size=2500&fail=2&fail_status=404";
	char *u = it_url(&f->srv, pq);
	char *file = it_path("%s/dl/late.bin", f->tmp);
	const char *args[] = { "--retry-on", "404", "--backoff", "0.1", u,
			       NULL };
	struct it_result r;
	cJSON *res;

	res = it_run_json(f, args, 0, 1, &r);
	expect_outcome(f, &r, res, u, pq, "ok", 200, 3);
	IT_ASSERT_JNUM(cJSON_GetArrayItem(res, 0), "bytes", 2500);
	assert_true(it_file_matches_body(file, "/data/late.bin", 2500));
	it_expect_no_part_dl(f);

	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
	free(file);
}

/* --retry-on 52x: a 522 (Cloudflare's connection timed out) is retried,
 * a 530 outside the class is not, and -r still bounds the retries: a
 * 521 forever under -r 2 is three attempts. */
static void test_retry_on_class(void **state)
{
	struct it_fixture *f = *state;
	const char *pq1 = "/data/cf.bin?size=700&fail=1&fail_status=522";
	const char *pq2 = "/data/cf530.bin?status=530";
	const char *pq3 = "/data/cf521.bin?status=521";
	char *u1 = it_url(&f->srv, pq1), *u2 = it_url(&f->srv, pq2);
	char *u3 = it_url(&f->srv, pq3);
	char *file = it_path("%s/dl/cf.bin", f->tmp);
	const char *args[] = { "--retry-on", "52x", "-r", "2", "--backoff",
			       "0.1", u1, u2, u3, NULL };
	struct it_result r;
	cJSON *res;

	res = it_run_json(f, args, 1, 3, &r);
	expect_outcome(f, &r, res, u1, pq1, "ok", 200, 2);
	expect_outcome(f, &r, res, u2, pq2, "failed", 530, 1);
	expect_outcome(f, &r, res, u3, pq3, "failed", 521, 3);
	assert_true(it_file_matches_body(file, "/data/cf.bin", 700));

	cJSON_Delete(res);
	it_result_free(&r);
	free(u1);
	free(u2);
	free(u3);
	free(file);
}

/* With mirrors, a status in the list is transient: the URL that sent it
 * stays in use and the next attempt goes to the next URL after the
 * backoff. A answers 404 once, its mirror B always 404: A, then B
 * (after the backoff), then A again, which serves. Without --retry-on
 * both would be dropped and the entry fail. */
static void test_retry_on_mirrors(void **state)
{
	struct it_fixture *f = *state;
	const char *pq_a = "/data/rm.bin?size=900&fail=1&fail_status=404";
	const char *pq_b = "/data/rm-b.bin?status=404";
	char *ua = it_url(&f->srv, pq_a), *ub = it_url(&f->srv, pq_b);
	char *list = it_path("%s mirror=%s\n", ua, ub);
	char *file = it_path("%s/dl/rm.bin", f->tmp);
	const char *args[] = { "--retry-on", "404", "--backoff", "0.4",
			       "list.txt", NULL };
	const char *plain[] = { "--backoff", "0.4", "list.txt", NULL };
	double sa[2], ea[2], sb[1], eb[1];
	struct it_result r;
	cJSON *res, *e, *log;

	it_write_list(f, list);
	res = it_run_json(f, args, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "from", ua);
	IT_ASSERT_JNUM(e, "attempts", 3);
	assert_true(it_file_matches_body(file, "/data/rm.bin", 900));
	log = it_server_log(&f->srv);
	assert_non_null(log);
	assert_int_equal(it_log_times(log, pq_a, sa, ea, 2), 2);
	assert_int_equal(it_log_times(log, pq_b, sb, eb, 1), 1);
	/* each move waited the backoff (at least half of 0.4 s) */
	if (!(sb[0] - ea[0] >= 0.2 && sa[1] - eb[0] >= 0.2)) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("A ended %.3f, B began %.3f ended %.3f, A again "
			 "%.3f: want a backoff of >= 0.2 s before each",
			 ea[0], sb[0], eb[0], sa[1]);
	}
	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);

	/* The control: without the option both URLs are dropped (A's
	 * twin: the server counts fail= per path and query). */
	assert_int_equal(it_rmtree(file), 0);
	free(list);
	list = it_path("%s&twin=1 mirror=%s\n", ua, ub);
	it_write_list(f, list);
	res = it_run_json(f, plain, 1, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNUM(e, "attempts", 2);
	cJSON_Delete(res);
	it_result_free(&r);
	free(ua);
	free(ub);
	free(list);
	free(file);
}

/* A bad --retry-on is a usage error: exit 2, a message naming the option
 * and the item, and no request at all. */
static void test_retry_on_bad_lists(void **state)
{
	struct it_fixture *f = *state;
	static const char *const bad[][2] = {
		{ "abc", "'abc'" }, { "99", "'99'" }, { "6xx", "'6xx'" },
		{ "5xxx", "'5xxx'" }, { "403,,404", "empty item" },
	};
	char *u = it_url(&f->srv, "/data/never.bin?size=10");

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[] = { it_bin(), "-o", "dl", "--retry-on",
				       bad[i][0], u, NULL };
		struct it_result r;

		IT_ASSERT_RAN(it_run(argv, NULL, f->tmp, &r), r);
		IT_ASSERT_EXIT(r, 2);
		if (!strstr(r.err, "--retry-on") || !strstr(r.err, bad[i][1])) {
			it_dump(&r);
			fail_msg("--retry-on '%s': stderr should name the "
				 "option and %s", bad[i][0], bad[i][1]);
		}
		assert_int_equal(r.out_len, 0);
		it_result_free(&r);
	}
	assert_int_equal(it_server_stat(&f->srv, "requests"), 0);
	assert_int_equal(it_count_files(f->tmp), 0);
	free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_503_twice_then_ok,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_404_not_retried,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_503_forever_gives_up,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_retries_zero,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_retry_after_honoured,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_backoff_grows,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_reset_retried,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_truncated_retried,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_truncated_forever_fails,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_backoff_holds_no_slot,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_retry_on_404,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_retry_on_class,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_retry_on_mirrors,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_retry_on_bad_lists,
						it_fixture_setup,
						it_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
