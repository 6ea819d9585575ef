/* Integration: a host-wide pause (spec 5). A 429 or 503 with
 * Retry-After pauses the host that sent it: no new request reaches it
 * before the time given (capped at --backoff-max), while the other hosts
 * go on at full speed, and the entries waiting for it hold no slot.
 *
 * The server also listens on 127.0.1.1 (--also-listen 1): host A is
 * 127.0.0.1, host B 127.0.1.1, on the same port. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static int pause_setup(void **state)
{
	static const char *const extra[] = { "--also-listen", "1", NULL };

	*state = it_fixture_new(extra);
	return *state ? 0 : -1;
}

/* Whether request e of the server's log went to host (its Host header,
 * before the port). */
static bool to_host(const cJSON *e, const char *host)
{
	const char *h = it_log_header(e, "host");
	size_t n = strlen(host);

	return h && strncmp(h, host, n) == 0 && h[n] == ':';
}

/* The server's clock says when it finished sending the 429; the client
 * learns of it a little later, and a request it sent meanwhile (the
 * transfers of a batch, a slot freed just then) may reach the server
 * after that end: requests that began within IN_FLIGHT seconds of it are
 * not held against the pause. (Without the pause, requests to the host
 * keep coming all through the time it asked for.) */
#define IN_FLIGHT 0.05

static double num(const cJSON *e, const char *key)
{
	return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(e, key));
}

/* When the server finished sending host A's 429 (its clock). */
static double end_of_429(const cJSON *log)
{
	const cJSON *e;
	double t = -1;

	cJSON_ArrayForEach(e, log) {
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "status");

		if (to_host(e, "127.0.0.1") && cJSON_IsNumber(st) &&
		    st->valueint == 429)
			t = num(e, "t_end");
	}
	assert_true(t > 0);
	return t;
}

/* Host A answers its first request 429 with Retry-After: 2 while a second
 * request to it runs; the list goes on with A's and B's entries in turn,
 * at -j 2. No request to A begins within 2 s of the 429 (but the one that
 * was running, and any in flight: IN_FLIGHT), every entry is ok, and B is not slowed: during the pause
 * both slots serve B (A's entries hold none), so B's requests run two at
 * once, one after the other. */
static void test_429_pauses_the_host_only(void **state)
{
	struct it_fixture *f = *state;
	const char *args[] = { "-j", "2", "--backoff", "0.05", "list.txt",
			       NULL };
	char *lp = it_path("%s/list.txt", f->tmp);
	struct it_buf b = {0};
	struct it_result r;
	cJSON *res, *log, *e;
	double t429 = -1, a_first_after = 1e18, b_in_pause = 0;
	int late = 0, n = 0;
	char *url;

	url = it_url(&f->srv,
		     "/data/a0?fail=1&fail_status=429&retry_after=2");
	it_buf_printf(&b, "%s\n", url);
	free(url);
	for (int i = 1; i <= 6; i++) {
		char pq[64];

		snprintf(pq, sizeof(pq), "/data/a%d?delay=0.3", i);
		url = it_url(&f->srv, pq);
		it_buf_printf(&b, "%s\n", url);
		free(url);
		for (int k = 0; k < 4; k++) {
			snprintf(pq, sizeof(pq), "/data/b%d%d?delay=0.2", i,
				 k);
			url = it_path("http://127.0.1.1:%d%s", f->srv.port,
				      pq);
			it_buf_printf(&b, "%s\n", url);
			free(url);
		}
	}
	assert_int_equal(it_write_file(lp, b.data, b.len), 0);
	res = it_run_json(f, args, 0, 31, &r);
	assert_int_equal(it_json_count_str(res, "status", "ok"), 31);
	log = it_server_log(&f->srv);
	assert_non_null(log);
	t429 = end_of_429(log);
	cJSON_ArrayForEach(e, log) {
		double t = num(e, "t_start");

		if (to_host(e, "127.0.0.1") && t > t429 + IN_FLIGHT) {
			if (t < a_first_after)
				a_first_after = t;
			late += t < t429 + 1.95;
		}
		if (to_host(e, "127.0.1.1") && t >= t429 &&
		    num(e, "t_end") <= t429 + 2.0) {
			b_in_pause += num(e, "t_end") - t;
			n++;
		}
	}
	fprintf(stderr, "# first request to A %.3f s after its 429; %d "
		"within the pause; B served %d requests in it, %.2f s of "
		"request time (2 slots: up to 4 s)\n",
		a_first_after - t429, late, n, b_in_pause);
	if (late || b_in_pause < 2.5) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("host A should be paused for 2 s, B served on both "
			 "slots meanwhile");
	}
	assert_int_equal(it_host_peak(f, "127.0.1.1"), 2);

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(b.data);
	free(lp);
}

/* The pause is capped at --backoff-max: a Retry-After of an hour with
 * --backoff-max 1 holds the host 1 s, and the entry is ok. */
static void test_pause_capped(void **state)
{
	struct it_fixture *f = *state;
	const char *args[] = { "-j", "2", "--backoff", "0.05",
			       "--backoff-max", "1", "list.txt", NULL };
	char *lp = it_path("%s/list.txt", f->tmp);
	char *u1 = it_url(&f->srv,
			  "/data/c0?fail=1&fail_status=503&retry_after=3600");
	char *u2 = it_url(&f->srv, "/data/c1?delay=0.2");
	char *list = it_path("%s\n%s\n", u1, u2);
	struct it_result r;
	cJSON *res, *log, *e;
	double t503 = -1, last = 0;

	assert_int_equal(it_write_file(lp, list, strlen(list)), 0);
	res = it_run_json(f, args, 0, 2, &r);
	assert_int_equal(it_json_count_str(res, "status", "ok"), 2);
	log = it_server_log(&f->srv);
	cJSON_ArrayForEach(e, log) {
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "status");

		if (cJSON_IsNumber(st) && st->valueint == 503)
			t503 = num(e, "t_end");
		if (num(e, "t_start") > last)
			last = num(e, "t_start");
	}
	fprintf(stderr, "# the retry came %.3f s after the 503\n",
		last - t503);
	assert_true(t503 > 0);
	assert_true(last - t503 >= 0.95 && last - t503 < 3.0);
	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(u1);
	free(u2);
	free(list);
	free(lp);
}

/* A long pause does not block the list: host A is paused 5 s early in a
 * list of 150 of its entries and 150 of B's in turn, at -j 4 (a
 * read-ahead window of 64 entries): A's entries wait, parked, while
 * every entry of B is read and served; B's last request ends before
 * A's pause does. */
static void test_pause_does_not_block_the_list(void **state)
{
	struct it_fixture *f = *state;
	const char *args[] = { "-j", "4", "--backoff", "0.05", "list.txt",
			       NULL };
	char *lp = it_path("%s/list.txt", f->tmp);
	struct it_buf b = {0};
	struct it_result r;
	cJSON *res, *log, *e;
	double t429 = -1, b_last = 0, a_resumed = 1e18;
	char *url;

	for (int i = 0; i < 150; i++) {
		char pq[80];

		snprintf(pq, sizeof(pq), i ? "/data/l%03d?size=100" :
			 "/data/l%03d?fail=1&fail_status=429&retry_after=5",
			 i);
		url = it_url(&f->srv, pq);
		it_buf_printf(&b, "%s\n", url);
		free(url);
		snprintf(pq, sizeof(pq), "/data/m%03d?size=100&delay=0.01", i);
		url = it_path("http://127.0.1.1:%d%s", f->srv.port, pq);
		it_buf_printf(&b, "%s\n", url);
		free(url);
	}
	assert_int_equal(it_write_file(lp, b.data, b.len), 0);
	res = it_run_json(f, args, 0, 300, &r);
	assert_int_equal(it_json_count_str(res, "status", "ok"), 300);
	log = it_server_log(&f->srv);
	assert_non_null(log);
	t429 = end_of_429(log);
	cJSON_ArrayForEach(e, log) {
		double t = num(e, "t_start");

		if (to_host(e, "127.0.1.1") && num(e, "t_end") > b_last)
			b_last = num(e, "t_end");
		if (to_host(e, "127.0.0.1") && t > t429 + IN_FLIGHT &&
		    t < a_resumed)
			a_resumed = t;
	}
	fprintf(stderr, "# A paused %.3f s; B's last request ended %.3f s "
		"after A's 429\n", a_resumed - t429, b_last - t429);
	assert_true(a_resumed - t429 >= 4.95);
	if (b_last > a_resumed) {
		it_dump(&r);
		fail_msg("B waited for A's pause: the list was blocked");
	}
	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(b.data);
	free(lp);
}

/* The host that sent Retry-After is the one paused, after a redirect
 * too: an entry on A redirected to B, whose 503 says Retry-After: 3,
 * pauses B, not A. At -j 1 the list goes on with A's entries at once,
 * and no other request reaches B within the 3 s. Before, A (which only
 * sent the 302) was paused and B served at once. */
static void test_pause_after_redirect_holds_the_target(void **state)
{
	struct it_fixture *f = *state;
	const char *args[] = { "-j", "1", "--backoff", "0.05", "list.txt",
			       NULL };
	char *lp = it_path("%s/list.txt", f->tmp);
	char *target = it_path("http://127.0.1.1:%d/data/q?fail=1&"
			       "fail_status=503&retry_after=3",
			       f->srv.port);
	char *q = it_qenc(target);
	struct it_buf b = {0};
	struct it_result r;
	cJSON *res, *log, *e;
	double t503 = -1, a_first = 1e18, b_first = 1e18;

	it_buf_printf(&b, "http://127.0.0.1:%d/redirect?to=%s out=q\n",
		      f->srv.port, q);
	for (int i = 1; i <= 2; i++)
		it_buf_printf(&b, "http://127.0.0.1:%d/data/a%d?delay=0.3\n"
			      "http://127.0.1.1:%d/data/b%d?delay=0.3\n",
			      f->srv.port, i, f->srv.port, i);
	assert_int_equal(it_write_file(lp, b.data, b.len), 0);
	res = it_run_json(f, args, 0, 5, &r);
	assert_int_equal(it_json_count_str(res, "status", "ok"), 5);
	log = it_server_log(&f->srv);
	assert_non_null(log);
	cJSON_ArrayForEach(e, log) {
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "status");

		if (to_host(e, "127.0.1.1") && cJSON_IsNumber(st) &&
		    st->valueint == 503)
			t503 = num(e, "t_end");
	}
	assert_true(t503 > 0);
	cJSON_ArrayForEach(e, log) {
		const char *path = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(e, "path"));
		double t = num(e, "t_start");

		if (t <= t503 + IN_FLIGHT || !path)
			continue;
		if (to_host(e, "127.0.0.1") && strncmp(path, "/data/a", 7) == 0 &&
		    t < a_first)
			a_first = t;
		if (to_host(e, "127.0.1.1") && t < b_first)
			b_first = t;
	}
	fprintf(stderr, "# after B's 503: first request to A %.3f s, to B "
		"%.3f s\n", a_first - t503, b_first - t503);
	if (b_first < t503 + 2.95 || a_first > t503 + 1.0) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("B (the redirect's target) should be paused 3 s, A "
			 "served at once");
	}
	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(b.data);
	free(lp);
	free(target);
	free(q);
}

#define PAUSE_TEST(fn) \
	cmocka_unit_test_setup_teardown(fn, pause_setup, it_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		PAUSE_TEST(test_429_pauses_the_host_only),
		PAUSE_TEST(test_pause_capped),
		PAUSE_TEST(test_pause_does_not_block_the_list),
		PAUSE_TEST(test_pause_after_redirect_holds_the_target),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
