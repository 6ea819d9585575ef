/* Integration: --limit-rate (spec 8: one cap on the total rate of all
 * transfers together) and --per-host (spec 5: at most N in flight to one
 * host, the URL's host name), measured at the server. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define RATE_JOBS 8
#define RATE_SIZE (400 * 1024)
#define RATE_CAP (400.0 * 1024.0) /* --limit-rate 400K */

/* it_run_json, with the wall time of the whole run (process start to exit,
 * plus parsing its output) in *elapsed when not NULL. */
static cJSON *run_json(const struct it_fixture *f, const char *const args[],
		       int want_exit, int nlines, struct it_result *r,
		       double *elapsed)
{
	double t0 = it_now();
	cJSON *res = it_run_json(f, args, want_exit, nlines, r);

	if (elapsed)
		*elapsed = it_now() - t0;
	return res;
}

static void assert_all_ok(const cJSON *res, const struct it_result *r)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, res) {
		const char *st = it_json_str(e, "status");

		if (!st || strcmp(st, "ok") != 0) {
			it_dump(r);
			fail_msg("%s: want ok, got %s", it_json_str(e, "url"),
				 st ? st : "(none)");
		}
	}
}

/* --limit-rate 400K, -j 8, eight bodies of 400 KiB (3.2 MiB): the run
 * takes total/cap seconds within 10% (the aggregate rate is within 10% of
 * the cap; 0.1 s of process start-up allowed in the upper bound only),
 * while all eight requests were running at the server at once. A cap per
 * transfer would take an eighth of that time.
 *
 * Each response waits (barrier=8) until eight requests are running at the
 * server before sending: the kernel's socket buffers may swallow a whole
 * 400 KiB response at once, so without the barrier the server's running
 * count would say little about overlap. The barrier costs the time the
 * eight requests take to arrive (milliseconds). */
static void test_limit_rate_aggregate(void **state)
{
	struct it_fixture *f = *state;
	char *urls[RATE_JOBS];
	const char *args[RATE_JOBS + 8];
	size_t n = 0;
	struct it_result r;
	cJSON *res;
	double t, rate, total = (double)RATE_JOBS * RATE_SIZE;
	double lo = total / (1.1 * RATE_CAP);
	double hi = total / (0.9 * RATE_CAP) + 0.1;
	long maxc;

	args[n++] = "-j";
	args[n++] = "8";
	args[n++] = "--limit-rate";
	args[n++] = "400K";
	args[n++] = "-r";
	args[n++] = "0";
	for (int i = 0; i < RATE_JOBS; i++) {
		char *pq = it_path("/data/rate%d.bin?size=%d&barrier=%d", i,
				   RATE_SIZE, RATE_JOBS);

		urls[i] = it_url(&f->srv, pq);
		args[n++] = urls[i];
		free(pq);
	}
	args[n] = NULL;

	res = run_json(f, args, 0, RATE_JOBS, &r, &t);
	assert_all_ok(res, &r);
	rate = total / t;
	fprintf(stderr, "# --limit-rate 400K (%.0f B/s), -j 8, 8 x 400 KiB: "
		"%.3f s, aggregate %.0f B/s = %.1f%% of the cap "
		"(allowed %.3f .. %.3f s)\n",
		RATE_CAP, t, rate, 100.0 * rate / RATE_CAP, lo, hi);
	printf("# --limit-rate 400K aggregate rate: %.0f B/s (%.1f%% of cap),"
	       " %.3f s\n", rate, 100.0 * rate / RATE_CAP, t);
	fflush(stdout);
	if (t < lo || t > hi) {
		it_dump(&r);
		fail_msg("--limit-rate 400K: %.0f bytes took %.3f s (%.0f B/s);"
			 " want %.3f .. %.3f s (cap %.0f B/s +-10%%)", total,
			 t, rate, lo, hi, RATE_CAP);
	}
	for (int i = 0; i < RATE_JOBS; i++) {
		char *file = it_path("%s/dl/rate%d.bin", f->tmp, i);
		char *up = it_path("/data/rate%d.bin", i);

		assert_true(it_file_matches_body(file, up, RATE_SIZE));
		free(file);
		free(up);
	}
	maxc = it_server_stat(&f->srv, "max_concurrent");
	if (maxc != RATE_JOBS) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("the 8 transfers should all have run at once: server "
			 "max_concurrent want 8, got %ld", maxc);
	}
	assert_int_equal(it_server_stat(&f->srv, "requests"), RATE_JOBS);

	cJSON_Delete(res);
	it_result_free(&r);
	for (int i = 0; i < RATE_JOBS; i++)
		free(urls[i]);
}

/* Writes list.txt: 8 URLs on 127.0.0.1, then 8 on localhost (same
 * server), each answered after 0.5 s. */
static void write_two_host_list(const struct it_fixture *f)
{
	struct it_buf b = { 0 };
	char *list = it_path("%s/list.txt", f->tmp);

	for (int i = 0; i < 8; i++)
		it_buf_printf(&b, "http://127.0.0.1:%d/data/ip%d.bin?size=100"
			      "&delay=0.5\n", f->srv.port, i);
	for (int i = 0; i < 8; i++)
		it_buf_printf(&b, "http://localhost:%d/data/name%d.bin?size=100"
			      "&delay=0.5\n", f->srv.port, i);
	assert_int_equal(it_write_file(list, b.data, b.len), 0);
	free(b.data);
	free(list);
}

/* --per-host 2 -j 8: never more than 2 at once per host, exactly 2 for
 * each; the localhost entries, behind eight 127.0.0.1 ones in the list,
 * ran alongside them, so the total peak is 4. */
static void test_per_host_2(void **state)
{
	struct it_fixture *f = *state;
	const char *args[] = { "-j", "8", "--per-host", "2", "-r", "0",
			       "list.txt", NULL };
	struct it_result r;
	cJSON *res;
	long ip, name, total;
	double t;

	write_two_host_list(f);
	res = run_json(f, args, 0, 16, &r, &t);
	assert_all_ok(res, &r);
	ip = it_host_peak(f, "127.0.0.1");
	name = it_host_peak(f, "localhost");
	total = it_server_stat(&f->srv, "max_concurrent");
	fprintf(stderr, "# --per-host 2 -j 8: peaks 127.0.0.1 %ld, localhost "
		"%ld, total %ld; %.3f s\n", ip, name, total, t);
	if (ip != 2 || name != 2 || total != 4) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("--per-host 2 -j 8: want peaks 127.0.0.1 2, localhost "
			 "2, total 4; got %ld, %ld, %ld", ip, name, total);
	}
	assert_int_equal(it_server_stat(&f->srv, "requests"), 16);

	cJSON_Delete(res);
	it_result_free(&r);
}

/* --per-host 0 (no limit) -j 8, the same list: the total reaches 8, and
 * more than 2 run at once to 127.0.0.1. */
static void test_per_host_0(void **state)
{
	struct it_fixture *f = *state;
	const char *args[] = { "-j", "8", "--per-host", "0", "-r", "0",
			       "list.txt", NULL };
	struct it_result r;
	cJSON *res;
	long ip, total;

	write_two_host_list(f);
	res = run_json(f, args, 0, 16, &r, NULL);
	assert_all_ok(res, &r);
	ip = it_host_peak(f, "127.0.0.1");
	total = it_server_stat(&f->srv, "max_concurrent");
	fprintf(stderr, "# --per-host 0 -j 8: peaks 127.0.0.1 %ld, total "
		"%ld\n", ip, total);
	if (total != 8 || ip <= 2) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("--per-host 0 -j 8: want total peak 8 and more than "
			 "2 on 127.0.0.1; got total %ld, 127.0.0.1 %ld", total,
			 ip);
	}

	cJSON_Delete(res);
	it_result_free(&r);
}

/* --limit-rate with a body cut in segments (20 MiB at 10M, --split 4):
 * a transfer whose data arrives, after a pause for the rate, past the
 * end of its segment ends then, not at libcurl's next timer of its own
 * (--connect-timeout 30 here). The run takes about 2 s; the bound, 15 s,
 * is far from both. Before, the last two transfers hung until the
 * connect timeout: 30 s. Likewise --max-filesize under --limit-rate
 * (1 MiB at 1M: about 1 s). */
static void test_limit_rate_segments_end(void **state)
{
	struct it_fixture *f = *state;
	char *big = it_url(&f->srv, "/data/lr.bin?size=20971520&etag=v1");
	char *huge = it_url(&f->srv, "/data/mf.bin?size=5000000&chunked=1");
	const char *a1[] = { "--limit-rate", "10M", "--split", "4",
			     "--min-split-size", "1M", "--connect-timeout",
			     "30", big, NULL };
	const char *a2[] = { "--limit-rate", "1M", "--max-filesize", "1M",
			     "--connect-timeout", "30", "-r", "0", huge,
			     NULL };
	char *file = it_path("%s/dl/lr.bin", f->tmp);
	struct it_result r;
	cJSON *res;
	double t;

	res = run_json(f, a1, 0, 1, &r, &t);
	assert_all_ok(res, &r);
	fprintf(stderr, "# 20 MiB at 10M, --split 4: %.3f s\n", t);
	assert_true(it_file_matches_body(file, "/data/lr.bin", 20971520));
	if (t > 15.0)
		fail_msg("20 MiB at --limit-rate 10M took %.1f s: a transfer "
			 "waited for a timer", t);
	cJSON_Delete(res);
	it_result_free(&r);

	res = run_json(f, a2, 1, 1, &r, &t);
	IT_ASSERT_JSTR(cJSON_GetArrayItem(res, 0), "status", "failed");
	fprintf(stderr, "# --max-filesize 1M at 1M: %.3f s\n", t);
	if (t > 15.0)
		fail_msg("--max-filesize under --limit-rate took %.1f s", t);
	cJSON_Delete(res);
	it_result_free(&r);
	free(big);
	free(huge);
	free(file);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, it_fixture_setup, \
					      it_fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_limit_rate_aggregate),
		T(test_per_host_2),
		T(test_per_host_0),
		T(test_limit_rate_segments_end),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
