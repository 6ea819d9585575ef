/* Integration: the clocks of an attempt (spec 5 and 7). A suspended
 * process (SIGSTOP, then SIGCONT) is not a stalled transfer; the stall
 * clock does not run during connection set-up (a slow TLS handshake) and
 * sees header bytes as they arrive, not per complete line; timeouts under
 * 1 ms are 1 ms, not "none"; a Retry-After too large to represent waits
 * --backoff-max; retries due together run in their original order. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* One run's results, checked to be one ok entry per url with the /data
 * body of path[i] and size bytes, at its first attempt. */
static void assert_all_ok(const cJSON *res, char *const u[],
			  char *const path[], int n, size_t size,
			  const char *tmp)
{
	for (int i = 0; i < n; i++) {
		cJSON *e = it_json_find_url(res, u[i]);
		char *file = it_path("%s/dl%s", tmp, path[i] + strlen("/data"));

		assert_non_null(e);
		IT_ASSERT_JSTR(e, "status", "ok");
		IT_ASSERT_JNUM(e, "attempts", 1);
		IT_ASSERT_JNUM(e, "bytes", (double)size);
		IT_ASSERT_JNULL(e, "error");
		assert_true(it_file_matches_body(file, path[i], size));
		free(file);
	}
}

/* Four bodies trickling in (1 KiB every 0.2 s), --stall-timeout 1: the
 * process is stopped for 2.5 s while they are being written, then
 * continued. Their bytes waited in the sockets meanwhile: every transfer
 * goes on, and all four end ok at their first attempt. */
static void test_sigstop_is_not_a_stall(void **state)
{
	struct it_fixture *f = *state;
	enum { N = 4 };
	const size_t size = 20 * 1024;
	char *u[N], *path[N], *dl = it_path("%s/dl", f->tmp);
	const char *argv[16];
	struct it_proc p;
	struct it_result r;
	cJSON *res;
	size_t n = 0;
	int bad;

	argv[n++] = it_bin();
	argv[n++] = "--json";
	argv[n++] = "-o";
	argv[n++] = "dl";
	argv[n++] = "--stall-timeout";
	argv[n++] = "1";
	argv[n++] = "-r";
	argv[n++] = "0";
	for (int i = 0; i < N; i++) {
		char *pq;

		path[i] = it_path("/data/susp%d.bin", i);
		pq = it_path("%s?size=%zu&trickle=0.2", path[i], size);
		u[i] = it_url(&f->srv, pq);
		argv[n++] = u[i];
		free(pq);
	}
	argv[n] = NULL;

	assert_int_equal(it_proc_start(&p, argv, f->tmp, NULL), 0);
	if (it_wait_bodies(dl, &p, N, 15.0) != 0) {
		it_proc_finish(&p, 5.0, &r);
		it_dump_with_log(&r, &f->srv);
		fail_msg("the bodies were not being written in time");
	}
	assert_int_equal(kill(p.pid, SIGSTOP), 0);
	it_sleep(2.5);
	assert_int_equal(kill(p.pid, SIGCONT), 0);
	if (it_proc_finish(&p, 30.0, &r) != 0) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("fetchmany did not finish after SIGCONT");
	}
	res = it_jsonl_parse(r.out, &bad);
	assert_int_equal(bad, 0);
	if (!r.exited || r.exit_code != 0 || cJSON_GetArraySize(res) != N) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("want %d ok entries and exit 0 after SIGSTOP/SIGCONT",
			 N);
	}
	assert_all_ok(res, u, path, N, size, f->tmp);

	cJSON_Delete(res);
	it_result_free(&r);
	for (int i = 0; i < N; i++) {
		free(u[i]);
		free(path[i]);
	}
	free(dl);
}

/* The response head arrives one byte every 40 ms: no header line is
 * complete for far longer than --stall-timeout 0.5, yet bytes keep coming,
 * so it is no stall. */
static void test_header_bytes_count(void **state)
{
	struct it_fixture *f = *state;
	char *path = it_path("/data/drip-head.bin");
	char *pq = it_path("%s?size=300&hdrdrip=0.04", path);
	char *u = it_url(&f->srv, pq);
	const char *args[] = { "--stall-timeout", "0.5", "-r", "0", u, NULL };
	struct it_result r;
	cJSON *res;
	double secs;
	int ok;

	res = it_run_json(f, args, 0, 1, &r);
	assert_all_ok(res, &u, &path, 1, 300, f->tmp);
	/* The head really took longer than the stall timeout. */
	secs = it_json_num(cJSON_GetArrayItem(res, 0), "seconds", &ok);
	assert_true(ok);
	fprintf(stderr, "# head dripped in %.3f s\n", secs);
	assert_true(secs > 1.0);

	cJSON_Delete(res);
	it_result_free(&r);
	free(path);
	free(pq);
	free(u);
}

/* But a server that sends nothing at all after the request is stalled:
 * what counts is bytes, not the connection. */
static void test_silent_head_stalls(void **state)
{
	struct it_fixture *f = *state;
	char *u = it_url(&f->srv, "/data/mute.bin?size=100&delay=6");
	const char *args[] = { "--stall-timeout", "0.5", "-r", "0", u, NULL };
	struct it_result r;
	double t0 = it_now(), secs;
	cJSON *res, *e;
	const char *err;

	res = it_run_json(f, args, 1, 1, &r);
	secs = it_now() - t0;
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "failed");
	err = it_json_str(e, "error");
	assert_non_null(err);
	if (!it_starts_with(err, "stalled:"))
		fail_msg("want a stall, got \"%s\"", err);
	if (secs > 4.0) {
		it_dump(&r);
		fail_msg("the stall took %.3f s to be seen, want < 4", secs);
	}

	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
}

/* -t 0.0004 is a limit of 1 ms, not "no limit": a response that takes
 * 1.5 s fails with a timeout, long before it would have arrived. */
static void test_tiny_timeout_is_a_limit(void **state)
{
	struct it_fixture *f = *state;
	char *u = it_url(&f->srv, "/data/tiny.bin?size=100&delay=1.5");
	const char *args[] = { "-t", "0.0004", "-r", "0", u, NULL };
	struct it_result r;
	cJSON *res, *e;
	const char *err;

	res = it_run_json(f, args, 1, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNULL(e, "http_status");
	err = it_json_str(e, "error");
	assert_non_null(err);
	/* libcurl's words depend on where the 1 ms ran out: "Operation
	 * timed out ...", "Connection time-out", "Failed to resolve host
	 * ... with timeout after 0 ms". */
	if (!it_ci_contains(err, "timed out") &&
	    !it_ci_contains(err, "time-out") &&
	    !it_ci_contains(err, "timeout"))
		fail_msg("want a timeout, got \"%s\"", err);

	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
}

/* A 1 ms -t is over after about 1 ms, not at libcurl's next deadline
 * (200 ms later): libcurl 7.88 loses a deadline that a socket event
 * comes less than a millisecond before. Ten at once, so that socket
 * events are many; seconds is from the attempt's start to its end. */
static void test_tiny_timeout_is_on_time(void **state)
{
	struct it_fixture *f = *state;
	const char *args[20] = { "-j", "10", "-t", "0.001", "-r", "0" };
	char *u[10];
	const char *san = getenv("FM_SANITIZE");
	struct it_result r;
	cJSON *res, *e;

	/* ThreadSanitizer slows every thread start (libcurl's resolver
	 * threads) past the bound: milliseconds mean nothing there. */
	if (san && strstr(san, "thread")) {
		/* cmocka's skip() reads as "not ok # SKIP", which meson's
		 * TAP parser counts as a failure. */
		fprintf(stderr, "# not timed under ThreadSanitizer\n");
		return;
	}
	for (int i = 0; i < 10; i++) {
		char pq[64];

		snprintf(pq, sizeof(pq), "/data/ontime%d.bin?delay=2", i);
		u[i] = it_url(&f->srv, pq);
		args[6 + i] = u[i];
	}
	res = it_run_json(f, args, 1, 10, &r);
	cJSON_ArrayForEach(e, res) {
		double secs = it_json_num(e, "seconds", NULL);

		IT_ASSERT_JSTR(e, "status", "failed");
		if (secs >= 0.1)
			fail_msg("%s: timed out after %.3f s, want ~0.001",
				 it_json_str(e, "url"), secs);
	}
	cJSON_Delete(res);
	it_result_free(&r);
	for (int i = 0; i < 10; i++)
		free(u[i]);
}

/* The /_log times of the requests for pq: the end of the first and the
 * start of the second. */
static void two_requests(const struct it_server *srv, const char *pq,
			 double *end1, double *start2)
{
	double starts[2], ends[2];
	cJSON *log = it_server_log(srv);

	assert_non_null(log);
	assert_int_equal(it_log_times(log, pq, starts, ends, 2), 2);
	*end1 = ends[0];
	*start2 = starts[1];
	cJSON_Delete(log);
}

/* A 503 whose Retry-After overflows every integer type: it asks for more
 * than any cap, so the retry waits --backoff-max (1 s), not the 25-50 ms
 * backoff, and not "at once". */
static void test_huge_retry_after_is_capped(void **state)
{
	struct it_fixture *f = *state;
	const char *pq = "/data/ra.bin?size=100&fail=1"
			 "&retry_after=99999999999999999999999";
	char *path = it_path("/data/ra.bin");
	char *u = it_url(&f->srv, pq);
	const char *args[] = { "--backoff", "0.05", "--backoff-max", "1",
			       "-r", "1", u, NULL };
	struct it_result r;
	double end1, start2;
	cJSON *res, *e;

	res = it_run_json(f, args, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "attempts", 2);
	two_requests(&f->srv, pq, &end1, &start2);
	fprintf(stderr, "# retried %.3f s after the 503\n", start2 - end1);
	if (start2 - end1 < 0.9 || start2 - end1 > 10.0) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("retried %.3f s after the 503, want about 1 s",
			 start2 - end1);
	}

	cJSON_Delete(res);
	it_result_free(&r);
	free(path);
	free(u);
}

/* -j 1: four entries fail once with Retry-After: 1; a fifth takes 1.5 s,
 * so all four retries fall due while it holds the one slot. They then run
 * in their original order, as /_log shows. */
static void test_retries_keep_their_order(void **state)
{
	struct it_fixture *f = *state;
	enum { N = 4 };
	char *u[N + 1], *pq[N + 1];
	const char *args[16];
	struct it_result r;
	cJSON *res, *log, *item;
	int next = 0, seen[N] = {0};
	size_t n = 0;

	args[n++] = "-j";
	args[n++] = "1";
	args[n++] = "-r";
	args[n++] = "1";
	args[n++] = "--backoff";
	args[n++] = "0.05";
	for (int i = 0; i < N; i++) {
		pq[i] = it_path("/data/ord%d.bin?size=100&fail=1&retry_after=1",
				i);
		u[i] = it_url(&f->srv, pq[i]);
		args[n++] = u[i];
	}
	pq[N] = it_path("/data/slow.bin?size=100&delay=1.5");
	u[N] = it_url(&f->srv, pq[N]);
	args[n++] = u[N];
	args[n] = NULL;

	res = it_run_json(f, args, 0, N + 1, &r);
	log = it_server_log(&f->srv);
	assert_non_null(log);
	assert_int_equal(cJSON_GetArraySize(log), 2 * N + 1);
	/* The second request of each, in the order the server saw them. */
	cJSON_ArrayForEach(item, log)
	{
		const char *p = it_json_str(item, "path");

		for (int i = 0; p && i < N; i++) {
			if (strcmp(p, pq[i]) != 0 || ++seen[i] != 2)
				continue;
			if (i != next) {
				it_dump_with_log(&r, &f->srv);
				fail_msg("retry of entry %d ran before entry "
					 "%d's", i, next);
			}
			next++;
		}
	}
	assert_int_equal(next, N);

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	for (int i = 0; i <= N; i++) {
		free(u[i]);
		free(pq[i]);
	}
}

/* --------------------------------------------------- a slow TLS set-up */

/* A fixture whose server takes 2 s over each TLS handshake; NULL (the
 * test skips) without the openssl command. */
static int slow_tls_setup(void **state)
{
	struct it_fixture *f = calloc(1, sizeof(*f));
	char *cert, *key;
	int rc;

	*state = NULL;
	if (!f || !(f->tmp = it_mkdtemp())) {
		free(f);
		return -1;
	}
	if (it_make_cert(f->tmp, "cert.pem", "key.pem", NULL)) {
		it_rmtree(f->tmp);
		free(f->tmp);
		free(f);
		return 0;
	}
	cert = it_path("%s/cert.pem", f->tmp);
	key = it_path("%s/key.pem", f->tmp);
	{
		const char *extra[] = { "--tls-cert", cert, "--tls-key", key,
					"--tls-delay", "2", NULL };

		rc = it_server_start(&f->srv, extra);
	}
	free(cert);
	free(key);
	*state = f;
	return rc;
}

/* A 2 s TLS handshake under --stall-timeout 1 --connect-timeout 10: the
 * set-up belongs to the connect timeout, and the download succeeds. */
static void test_tls_setup_is_not_a_stall(void **state)
{
	struct it_fixture *f = *state;
	char *u, *cacert;
	struct it_result r;
	cJSON *res, *e;
	double secs;
	int ok;

	if (!f) {
		printf("# SKIP: cannot make a test certificate\n");
		skip();
	}
	u = it_path("https://localhost:%d/data/tls.bin?size=1000",
		    f->srv.port);
	cacert = it_path("%s/cert.pem", f->tmp);
	{
		const char *args[] = { "--cacert", cacert, "--stall-timeout",
				       "1", "--connect-timeout", "10", "-r",
				       "0", u, NULL };

		res = it_run_json(f, args, 0, 1, &r);
	}
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "bytes", 1000);
	secs = it_json_num(e, "seconds", &ok);
	assert_true(ok);
	fprintf(stderr, "# TLS set-up and download took %.3f s\n", secs);
	assert_true(secs >= 1.9);

	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
	free(cacert);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, it_fixture_setup, \
					      it_fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_sigstop_is_not_a_stall),
		T(test_header_bytes_count),
		T(test_silent_head_stalls),
		T(test_tiny_timeout_is_a_limit),
		T(test_tiny_timeout_is_on_time),
		T(test_huge_retry_after_is_capped),
		T(test_retries_keep_their_order),
		cmocka_unit_test_setup_teardown(test_tls_setup_is_not_a_stall,
						slow_tls_setup,
						it_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
