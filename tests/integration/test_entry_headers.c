/* Integration: an entry's own request headers (spec 2, 6, 8): header=
 * in a text line (quoted: white space inside), "headers" in a JSON line.
 * The server's log says what each request carried: the entry's headers,
 * -H's that they do not replace, and never an entry's Authorization or
 * Cookie at another host than the entry's, whether libcurl follows a
 * redirect there or a segment of a cut body goes there straight. A bad
 * header makes its line invalid and only that line; no result, text or
 * JSON, and no --dry-run line shows a header's value.
 *
 * The server also listens on 127.0.1.1 (--also-listen 1): another host
 * on the same port. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define SECRET "Bearer SECRET-7f3a"

static int two_hosts_setup(void **state)
{
	static const char *const extra[] = { "--also-listen", "1", NULL };

	*state = it_fixture_new(extra);
	return *state ? 0 : -1;
}

/* The only /_log entry for path_query (fails the test when there is
 * not exactly one). */
static const cJSON *only_request(const struct it_fixture *f,
				 const struct it_result *r, const cJSON *log,
				 const char *path_query)
{
	if (it_log_count(log, path_query) != 1) {
		it_dump_with_log(r, &f->srv);
		fail_msg("want one request for %s", path_query);
	}
	return it_log_entry(log, path_query, 0);
}

/* Fails unless request e carried header name (lower case) with exactly
 * want, or (want NULL) did not carry it. */
static void expect_header(const struct it_fixture *f,
			  const struct it_result *r, const cJSON *e,
			  const char *name, const char *want)
{
	const char *got = it_log_header(e, name);

	if (want ? got && strcmp(got, want) == 0 : !got)
		return;
	it_dump_with_log(r, &f->srv);
	fail_msg("%s: want %s%s%s, got %s%s%s", name, want ? "\"" : "",
		 want ? want : "none", want ? "\"" : "", got ? "\"" : "",
		 got ? got : "none", got ? "\"" : "");
}

/* header="..." is sent with its entry's request only, white space and
 * escaped quotes kept. */
static void test_entry_header_sent(void **state)
{
	struct it_fixture *f = *state;
	const char *pq1 = "/data/h1.bin?size=300", *pq2 = "/data/h2.bin?size=200";
	char *u1 = it_url(&f->srv, pq1), *u2 = it_url(&f->srv, pq2);
	char *list = it_path("%s header=\"X-Token: abc def\" "
			     "header=\"X-Quote: say \\\"hi\\\"\"\n%s\n", u1, u2);
	char *file1 = it_path("%s/dl/h1.bin", f->tmp);
	const char *args[] = { "list.txt", NULL };
	struct it_result r;
	cJSON *res, *log;
	const cJSON *e;

	it_write_list(f, list);
	res = it_run_json(f, args, 0, 2, &r);
	IT_ASSERT_JSTR(it_json_find_url(res, u1), "status", "ok");
	IT_ASSERT_JSTR(it_json_find_url(res, u2), "status", "ok");
	assert_true(it_file_matches_body(file1, "/data/h1.bin", 300));
	log = it_server_log(&f->srv);
	assert_non_null(log);
	e = only_request(f, &r, log, pq1);
	expect_header(f, &r, e, "x-token", "abc def");
	expect_header(f, &r, e, "x-quote", "say \"hi\"");
	e = only_request(f, &r, log, pq2);
	expect_header(f, &r, e, "x-token", NULL);
	expect_header(f, &r, e, "x-quote", NULL);

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(u1);
	free(u2);
	free(list);
	free(file1);
}

/* An entry's header replaces a -H header of the same name, whatever its
 * case, and libcurl's own (User-Agent, Accept: "Accept:" removes it), for
 * that entry only: the next entry gets -H's. */
static void test_entry_header_replaces(void **state)
{
	struct it_fixture *f = *state;
	const char *pq1 = "/data/r1.bin?size=10", *pq2 = "/data/r2.bin?size=10";
	const char *pq3 = "/data/r3.bin?size=10";
	char *u1 = it_url(&f->srv, pq1), *u2 = it_url(&f->srv, pq2);
	char *u3 = it_url(&f->srv, pq3);
	char *list = it_path("%s header=\"x-token: from-entry\" "
			     "header=\"User-Agent: entry-agent/1\"\n%s\n"
			     "%s header=Accept:\n", u1, u2, u3);
	const char *args[] = { "-H", "X-Token: from-cli", "-H", "X-Keep: k",
			       "list.txt", NULL };
	struct it_result r;
	cJSON *res, *log;
	const cJSON *e;

	it_write_list(f, list);
	res = it_run_json(f, args, 0, 3, &r);
	log = it_server_log(&f->srv);
	assert_non_null(log);
	e = only_request(f, &r, log, pq1);
	expect_header(f, &r, e, "x-token", "from-entry");
	expect_header(f, &r, e, "x-keep", "k");
	expect_header(f, &r, e, "user-agent", "entry-agent/1");
	expect_header(f, &r, e, "accept", "*/*");
	e = only_request(f, &r, log, pq2);
	expect_header(f, &r, e, "x-token", "from-cli");
	expect_header(f, &r, e, "x-keep", "k");
	if (!it_starts_with(it_log_header(e, "user-agent"), "fetchmany/"))
		fail_msg("the next entry's User-Agent should be the default");
	e = only_request(f, &r, log, pq3);
	expect_header(f, &r, e, "accept", NULL);
	expect_header(f, &r, e, "x-token", "from-cli");

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(u1);
	free(u2);
	free(u3);
	free(list);
}

/* "headers" in a JSON line, mixed with text lines. */
static void test_json_headers(void **state)
{
	struct it_fixture *f = *state;
	const char *pq1 = "/data/j1.bin?size=40", *pq2 = "/data/j2.bin?size=40";
	char *u1 = it_url(&f->srv, pq1), *u2 = it_url(&f->srv, pq2);
	char *list = it_path("{\"url\": \"%s\", \"out\": \"j/one.bin\", "
			     "\"headers\": [\"X-A: 1\", \"X-B: two words\"]}\n"
			     "%s header=X-C:3\n", u1, u2);
	char *file = it_path("%s/dl/j/one.bin", f->tmp);
	const char *args[] = { "list.txt", NULL };
	struct it_result r;
	cJSON *res, *log;
	const cJSON *e;

	it_write_list(f, list);
	res = it_run_json(f, args, 0, 2, &r);
	assert_true(it_file_matches_body(file, "/data/j1.bin", 40));
	log = it_server_log(&f->srv);
	assert_non_null(log);
	e = only_request(f, &r, log, pq1);
	expect_header(f, &r, e, "x-a", "1");
	expect_header(f, &r, e, "x-b", "two words");
	expect_header(f, &r, e, "x-c", NULL);
	e = only_request(f, &r, log, pq2);
	expect_header(f, &r, e, "x-c", "3");
	expect_header(f, &r, e, "x-a", NULL);

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(u1);
	free(u2);
	free(list);
	free(file);
}

/* A bad header makes its line invalid, with a reason that names the
 * header but not its value; the lines around it are downloaded, and
 * nothing of the bad ones reaches the server. */
static void test_bad_header_invalid(void **state)
{
	struct it_fixture *f = *state;
	const char *pq[5] = { "/data/b1.bin?size=20", "/data/b2.bin?size=20",
			      "/data/b3.bin?size=20", "/data/b4.bin?size=20",
			      "/data/b5.bin?size=20" };
	static const char *const why[5] = {
		NULL, "header has no ':'", "header 'X-Inject': CR or LF",
		"header name 'Bad Name'", NULL };
	char *u[5], *list;
	const char *args[] = { "list.txt", NULL };
	struct it_result r;
	cJSON *res;

	for (int i = 0; i < 5; i++)
		u[i] = it_url(&f->srv, pq[i]);
	list = it_path("%s\n"
		       "%s header=\"NoColon " SECRET "\"\n"
		       "{\"url\": \"%s\", \"headers\": [\"X-Inject: a\\r\\n"
		       "Authorization: " SECRET "\"]}\n"
		       "%s header=\"Bad Name: " SECRET "\"\n"
		       "%s header=\"X-Ok: 1\"\n",
		       u[0], u[1], u[2], u[3], u[4]);
	it_write_list(f, list);
	res = it_run_json(f, args, 1, 5, &r);
	for (int i = 0; i < 5; i++) {
		const cJSON *e = it_json_find_url(res, u[i]);

		assert_non_null(e);
		IT_ASSERT_JNUM(e, "line", i + 1);
		if (!why[i]) {
			IT_ASSERT_JSTR(e, "status", "ok");
			it_assert_requests(f, &r, pq[i], 1);
			continue;
		}
		IT_ASSERT_JSTR(e, "status", "invalid");
		if (!strstr(it_json_str(e, "error"), why[i]))
			fail_msg("line %d: error \"%s\", want \"%s\" in it",
				 i + 1, it_json_str(e, "error"), why[i]);
		it_assert_requests(f, &r, pq[i], 0);
	}
	if (strstr(r.out, "SECRET") || strstr(r.err, "SECRET")) {
		it_dump(&r);
		fail_msg("a result or message quotes a header's value");
	}
	assert_int_equal(it_count_files(f->tmp), 2 + 1); /* and list.txt */

	cJSON_Delete(res);
	it_result_free(&r);
	for (int i = 0; i < 5; i++)
		free(u[i]);
	free(list);
}

/* An entry's Authorization and Cookie go to its host (127.0.0.1), not to
 * the other host (127.0.1.1) a redirect leads to; its other headers go
 * to both. A redirect on the same host keeps them all (the control). */
static void test_credentials_not_after_redirect(void **state)
{
	struct it_fixture *f = *state;
	const char *target_pq = "/data/away.bin?size=64";
	char *target = it_path("http://127.0.1.1:%d%s", f->srv.port, target_pq);
	char *q = it_qenc(target);
	char *pq = it_path("/redirect?to=%s", q);
	const char *same_pq = "/redirect?to=/data/same.bin%3Fsize%3D32";
	char *u = it_url(&f->srv, pq), *us = it_url(&f->srv, same_pq);
	char *list = it_path("%s out=away.bin header=\"Authorization: " SECRET
			     "\" header=\"Cookie: c=1\" header=\"X-Plain: p\"\n"
			     "%s out=same.bin header=\"Authorization: " SECRET
			     "\" header=\"Cookie: c=2\"\n", u, us);
	char *file = it_path("%s/dl/away.bin", f->tmp);
	char *host1 = it_path("127.0.0.1:%d", f->srv.port);
	char *host2 = it_path("127.0.1.1:%d", f->srv.port);
	const char *args[] = { "list.txt", NULL };
	struct it_result r;
	cJSON *res, *log;
	const cJSON *e;

	it_write_list(f, list);
	res = it_run_json(f, args, 0, 2, &r);
	IT_ASSERT_JSTR(it_json_find_url(res, u), "status", "ok");
	assert_true(it_file_matches_body(file, "/data/away.bin", 64));
	log = it_server_log(&f->srv);
	assert_non_null(log);
	e = only_request(f, &r, log, pq);
	expect_header(f, &r, e, "host", host1);
	expect_header(f, &r, e, "authorization", SECRET);
	expect_header(f, &r, e, "cookie", "c=1");
	expect_header(f, &r, e, "x-plain", "p");
	e = only_request(f, &r, log, target_pq);
	expect_header(f, &r, e, "host", host2);
	expect_header(f, &r, e, "authorization", NULL);
	expect_header(f, &r, e, "cookie", NULL);
	expect_header(f, &r, e, "x-plain", "p");
	e = only_request(f, &r, log, "/data/same.bin?size=32");
	expect_header(f, &r, e, "authorization", SECRET);
	expect_header(f, &r, e, "cookie", "c=2");

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(target);
	free(q);
	free(pq);
	free(u);
	free(us);
	free(list);
	free(file);
	free(host1);
	free(host2);
}

#define BIG (8 * 1024 * 1024)

/* The requests of the log to host (127.0.0.1 or 127.0.1.1): how many,
 * how many of them ranged, and how many carried header name. */
static void count_at(const cJSON *log, const char *host, const char *name,
		     int *n, int *ranged, int *with)
{
	const cJSON *e;
	size_t hl = strlen(host);

	*n = *ranged = *with = 0;
	cJSON_ArrayForEach(e, log) {
		const char *h = it_log_header(e, "host");

		if (!h || strncmp(h, host, hl) != 0 || h[hl] != ':')
			continue;
		(*n)++;
		*ranged += it_log_header(e, "range") != NULL;
		*with += it_log_header(e, name) != NULL;
	}
}

/* A body cut in segments behind a redirect to another host: the segments
 * ask there directly, with the entry's other headers but without its
 * Authorization, as libcurl does for the redirected request itself. */
static void test_split_redirect_no_credentials(void **state)
{
	struct it_fixture *f = *state;
	char *target = it_path("http://127.0.1.1:%d/data/cut.bin?size=%d"
			       "&etag=v1&rate=%d", f->srv.port, BIG, BIG);
	char *q = it_qenc(target);
	char *pq = it_path("/redirect?to=%s", q);
	char *u = it_url(&f->srv, pq);
	char *list = it_path("%s header=\"Authorization: " SECRET "\" "
			     "header=\"X-Plain: p\"\n", u);
	char *file = it_path("%s/dl/redirect", f->tmp);
	const char *args[] = { "--split", "4", "--min-split-size", "1M",
			       "list.txt", NULL };
	struct it_result r;
	cJSON *res, *log;
	int n, ranged, with, n_plain, ranged_plain, plain;

	it_write_list(f, list);
	res = it_run_json(f, args, 0, 1, &r);
	IT_ASSERT_JSTR(cJSON_GetArrayItem(res, 0), "status", "ok");
	assert_true(it_file_matches_body(file, "/data/cut.bin", BIG));
	log = it_server_log(&f->srv);
	assert_non_null(log);
	count_at(log, "127.0.1.1", "authorization", &n, &ranged, &with);
	count_at(log, "127.0.1.1", "x-plain", &n_plain, &ranged_plain, &plain);
	fprintf(stderr, "# 127.0.1.1: %d requests, %d ranged, %d with "
		"Authorization, %d with X-Plain\n", n, ranged, with, plain);
	if (ranged < 1 || with != 0 || plain != n) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("want ranged requests at 127.0.1.1, all with X-Plain "
			 "and none with Authorization");
	}
	count_at(log, "127.0.0.1", "authorization", &n, &ranged, &with);
	assert_int_equal(with, 1); /* the redirect itself */

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(target);
	free(q);
	free(pq);
	free(u);
	free(list);
	free(file);
}

/* The entry's own mirror is one of its hosts: the segments that go there
 * carry the entry's headers, Authorization included, as -H's do. */
static void test_split_mirror_gets_entry_headers(void **state)
{
	struct it_fixture *f = *state;
	char *pq = it_path("/data/mcut.bin?size=%d&etag=v1&rate=%d", BIG,
			   BIG / 2);
	char *ua = it_url(&f->srv, pq);
	char *ub = it_path("http://127.0.1.1:%d%s", f->srv.port, pq);
	char *list = it_path("%s mirror=%s header=\"Authorization: " SECRET
			     "\"\n", ua, ub);
	char *file = it_path("%s/dl/mcut.bin", f->tmp);
	const char *args[] = { "--split", "4", "--per-host", "2",
			       "--min-split-size", "1M", "list.txt", NULL };
	struct it_result r;
	cJSON *res, *log;
	int n, ranged, with;

	it_write_list(f, list);
	res = it_run_json(f, args, 0, 1, &r);
	IT_ASSERT_JSTR(cJSON_GetArrayItem(res, 0), "status", "ok");
	assert_true(it_file_matches_body(file, "/data/mcut.bin", BIG));
	log = it_server_log(&f->srv);
	assert_non_null(log);
	count_at(log, "127.0.1.1", "authorization", &n, &ranged, &with);
	fprintf(stderr, "# mirror 127.0.1.1: %d requests, %d ranged, %d with "
		"Authorization\n", n, ranged, with);
	if (ranged < 1 || with != n) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("want ranged requests at the mirror, each with the "
			 "entry's Authorization");
	}

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(pq);
	free(ua);
	free(ub);
	free(list);
	free(file);
}

/* No result shows a header's value: not an ok one, a failed one, nor a
 * --dry-run line, in JSON or text, on stdout or stderr; and a JSON record
 * has no "headers" key. */
static void test_results_hold_no_header(void **state)
{
	struct it_fixture *f = *state;
	char *u1 = it_url(&f->srv, "/data/s1.bin?size=10");
	char *u2 = it_url(&f->srv, "/data/s2.bin?status=404");
	char *list = it_path("%s header=\"Authorization: " SECRET "\"\n"
			     "{\"url\": \"%s\", \"headers\": "
			     "[\"X-Secret: " SECRET "\"]}\n", u1, u2);
	static const char *const modes[][3] = {
		{ "--json", NULL }, { "--progress=always", NULL },
		{ "--dry-run", "--json" }, { "--dry-run", NULL },
	};

	it_write_list(f, list);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		const char *argv[] = { it_bin(), "-o", "dl", modes[i][0],
				       modes[i][1], NULL, NULL };
		struct it_result r;

		if (!modes[i][1])
			argv[4] = "list.txt";
		else
			argv[5] = "list.txt";
		IT_ASSERT_RAN(it_run(argv, NULL, f->tmp, &r), r);
		IT_ASSERT_EXIT(r, strcmp(modes[i][0], "--dry-run") ? 1 : 0);
		assert_int_equal(it_count_lines(r.out), 2);
		if (strstr(r.out, "SECRET") || strstr(r.err, "SECRET") ||
		    strstr(r.out, "\"headers\"")) {
			it_dump(&r);
			fail_msg("%s %s: a header's value in the output",
				 modes[i][0], modes[i][1] ? modes[i][1] : "");
		}
		it_result_free(&r);
	}
	free(u1);
	free(u2);
	free(list);
}

#define T(fn) \
	cmocka_unit_test_setup_teardown(fn, two_hosts_setup, it_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_entry_header_sent),
		T(test_entry_header_replaces),
		T(test_json_headers),
		T(test_bad_header_invalid),
		T(test_credentials_not_after_redirect),
		T(test_split_redirect_no_credentials),
		T(test_split_mirror_gets_entry_headers),
		T(test_results_hold_no_header),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
