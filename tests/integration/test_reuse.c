/* Integration: kept-alive connections that die or go bad between two
 * transfers (spec 5: "a protocol error on a reused connection — retried
 * on a fresh one").
 *
 * A server that drops every kept-alive connection when the next request
 * arrives on it (drop_next=rst, drop_next=fin) makes every reuse fail;
 * libcurl retries such a request on another connection by itself, but
 * counts those retries on the easy handle for its whole life, and
 * fetchmany keeps one easy handle per slot: without a reset, one reuse
 * in six failed. A server that sends bytes after a response (extra=)
 * poisons the next response on that connection ("Received HTTP/0.9").
 *
 * Checked: with -r 0 every entry is ok after one attempt (these retries
 * are not the entry's), every file is whole, and the server really did
 * drop connections (or send junk) while it served each entry once. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Writes a list of n entries /data/<prefix><i>?size=500&<query>; returns
 * its path. */
static char *write_list(const struct it_fixture *f, const char *prefix,
			int n, const char *query)
{
	char *list = it_path("%s/list", f->tmp);
	struct it_buf b = {0};

	for (int i = 0; i < n; i++) {
		char line[256];
		int len = snprintf(line, sizeof(line),
				   "%s/data/%s%03d?size=500&%s\n",
				   f->srv.base, prefix, i, query);
		char *p = realloc(b.data, b.len + (size_t)len + 1);

		assert_non_null(p);
		b.data = p;
		memcpy(b.data + b.len, line, (size_t)len + 1);
		b.len += (size_t)len;
	}
	assert_int_equal(it_write_file(list, b.data, b.len), 0);
	free(b.data);
	return list;
}

/* Every result ok, first attempt, the file whole. */
static void assert_all_ok(const struct it_fixture *f, const cJSON *res,
			  const struct it_result *r, const char *prefix,
			  int n)
{
	int bad = 0;

	for (int i = 0; i < n; i++) {
		char *pq = it_path("/data/%s%03d?size=500", prefix, i);
		char *path = it_path("/data/%s%03d", prefix, i);
		char *file = it_path("%s/dl/%s%03d", f->tmp, prefix, i);
		cJSON *e = NULL;
		const cJSON *it;

		cJSON_ArrayForEach(it, res)
		{
			const char *u = it_json_str(it, "url");

			if (u && strstr(u, pq)) {
				e = (cJSON *)it;
				break;
			}
		}
		if (!e || strcmp(it_json_str(e, "status"), "ok") != 0 ||
		    it_json_num(e, "attempts", NULL) != 1 ||
		    !it_file_matches_body(file, path, 500)) {
			if (bad++ < 5)
				fprintf(stderr, "# %s: %s after %g attempts: %s\n",
					pq, e ? it_json_str(e, "status") : "?",
					e ? it_json_num(e, "attempts", NULL) : 0,
					e ? it_json_str(e, "error") : "no line");
		}
		free(pq);
		free(path);
		free(file);
	}
	if (bad) {
		it_dump(r);
		fail_msg("%d of %d entries not ok at the first attempt", bad,
			 n);
	}
}

/* 300 entries at -j 16 -r 0 against a server that drops each kept-alive
 * connection at its second request, the way mode says. */
static void run_dropping(const struct it_fixture *f, const char *mode)
{
	char query[32];
	char *list, *dl;
	const char *args[] = { "-j", "16", "-r", "0", NULL, NULL };
	struct it_result r;
	long requests, dropped, conns;
	cJSON *res;

	snprintf(query, sizeof(query), "drop_next=%s", mode);
	list = write_list(f, mode, 300, query);
	args[4] = list;
	res = it_run_json(f, args, 0, 300, &r);
	assert_all_ok(f, res, &r, mode, 300);
	dl = it_path("%s/dl", f->tmp);
	assert_int_equal(it_count_files(dl), 300);
	free(dl);

	requests = it_server_stat(&f->srv, "requests");
	dropped = it_server_stat(&f->srv, "dropped");
	conns = it_server_stat(&f->srv, "connections");
	fprintf(stderr, "# %s: %ld requests served, %ld dropped, "
		"%ld connections\n", mode, requests, dropped, conns);
	/* Each entry was served exactly once, on a connection of its own;
	 * the drops really happened (every reuse meets one). */
	assert_int_equal(requests, 300);
	assert_true(dropped >= 1);
	assert_true(conns >= 300 && conns <= 300 + dropped + 16);

	cJSON_Delete(res);
	it_result_free(&r);
	free(list);
}

static void test_reused_connection_reset(void **state)
{
	run_dropping(*state, "rst");
}

static void test_reused_connection_closed(void **state)
{
	run_dropping(*state, "fin");
}

/* Bytes after each response: the next response on the connection starts
 * with them. 40 entries at -j 2 -r 0: all ok at once. */
static void test_extra_bytes_after_response(void **state)
{
	struct it_fixture *f = *state;
	char *list = write_list(f, "x", 40, "extra=16");
	const char *args[] = { "-j", "2", "-r", "0", list, NULL };
	struct it_result r;
	cJSON *res;

	res = it_run_json(f, args, 0, 40, &r);
	assert_all_ok(f, res, &r, "x", 40);
	fprintf(stderr, "# extra: %ld requests, %ld connections\n",
		it_server_stat(&f->srv, "requests"),
		it_server_stat(&f->srv, "connections"));
	assert_true(it_server_stat(&f->srv, "requests") >= 40);

	cJSON_Delete(res);
	it_result_free(&r);
	free(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reused_connection_reset,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_reused_connection_closed,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_extra_bytes_after_response,
						it_fixture_setup,
						it_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
