/* Integration: mirrors (spec 2, 5, 6). An entry's URLs are tried in
 * order: a URL that fails for good (404, 403, a wrong digest) is dropped
 * and the next one asked at once, a transient failure moves the next
 * attempt to the next URL after the backoff, spending a retry; the entry
 * fails when every URL is dropped or its retries are spent, naming each
 * URL's last failure. The result says which URL delivered ("from") and
 * keeps the others ("mirrors"), so that a record fed back keeps them.
 * --per-host counts the host each attempt goes to; a body cut in
 * segments that fails for good at one URL starts again at the next.
 *
 * The server also listens on 127.0.1.1 (--also-listen 1): a second host
 * on the same port. A dead mirror is a closed port. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static int mirrors_setup(void **state)
{
	static const char *const extra[] = { "--also-listen", "1", NULL };

	*state = it_fixture_new(extra);
	return *state ? 0 : -1;
}

/* The URL of path_query on the second host, 127.0.1.1. */
static char *url_b(const struct it_fixture *f, const char *path_query)
{
	return it_path("http://127.0.1.1:%d%s", f->srv.port, path_query);
}

/* A loopback port nothing listens on: one the kernel just gave and took
 * back (nothing else on this machine binds ports at random this fast). */
static int closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* One entry of two URLs: pq1 on the first host, its mirror pq2 on the
 * second, then the text fields extra ("" for none), written as
 * list.txt. */
struct two_urls {
	char *a, *b;
};

static struct two_urls list_two(const struct it_fixture *f, const char *pq1,
				const char *pq2, const char *extra)
{
	struct two_urls t = { it_url(&f->srv, pq1), url_b(f, pq2) };
	char *list = it_path("%s mirror=%s%s%s\n", t.a, t.b,
			     *extra ? " " : "", extra);

	it_write_list(f, list);
	free(list);
	return t;
}

static void two_urls_free(struct two_urls *t)
{
	free(t->a);
	free(t->b);
}

/* Fails unless the string key of e holds want. */
static void expect_in(const cJSON *e, const char *key, const char *want)
{
	const char *s = it_json_str(e, key);

	if (!s || !strstr(s, want))
		fail_msg("\"%s\" should hold \"%s\", is \"%s\"", key, want,
			 s ? s : "(not a string)");
}

/* Fails unless e's "mirrors" is exactly the n strings want. */
static void expect_mirrors(const cJSON *e, const char *const want[], int n)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "mirrors");

	if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != n)
		fail_msg("\"mirrors\" should be an array of %d", n);
	for (int i = 0; i < n; i++) {
		const cJSON *s = cJSON_GetArrayItem(m, i);

		if (!cJSON_IsString(s) || strcmp(s->valuestring, want[i]) != 0)
			fail_msg("mirrors[%d] should be \"%s\"", i, want[i]);
	}
}

/* (a) A 404 then a good mirror: ok, the body is the mirror's under the
 * first URL's name, one request to each, "from" the mirror; the JSON keys
 * in the spec's order; the text line names the entry's URL. */
static void test_404_then_good_mirror(void **state)
{
	struct it_fixture *f = *state;
	struct two_urls t;
	const char *pq1 = "/data/gone/file.bin?status=404";
	const char *pq2 = "/data/m/other.bin?size=3000";
	char *file = it_path("%s/dl/file.bin", f->tmp);
	const char *args[] = { "list.txt", NULL };
	const char *text_argv[] = { it_bin(), "-o", "dl2", "list.txt", NULL };
	static const char *const keys[] = {
		"url", "from", "mirrors", "path", "status", "http_status",
		"bytes", "seconds", "attempts", "error", "line", "source", NULL
	};
	struct it_result r, text;
	cJSON *res, *e, *fields;

	t = list_two(f, pq1, pq2, "");
	res = it_run_json(f, args, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	assert_true(it_json_keys_in_order(r.out, keys));
	IT_ASSERT_JSTR(e, "url", t.a);
	IT_ASSERT_JSTR(e, "from", t.b);
	expect_mirrors(e, (const char *const[]){ t.b }, 1);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "http_status", 200);
	IT_ASSERT_JNUM(e, "bytes", 3000);
	IT_ASSERT_JNUM(e, "attempts", 2);
	IT_ASSERT_JSTR(e, "path", "dl/file.bin");
	IT_ASSERT_JNULL(e, "error");
	it_assert_requests(f, &r, pq1, 1);
	it_assert_requests(f, &r, pq2, 1);
	assert_true(it_file_matches_body(file, "/data/m/other.bin", 3000));
	it_expect_no_part_dl(f);

	/* The text line: the entry's URL, the path written. */
	assert_int_equal(it_run(text_argv, NULL, f->tmp, &text), 0);
	IT_ASSERT_EXIT(text, 0);
	fields = it_split_tabs(text.out);
	assert_int_equal(cJSON_GetArraySize(fields), 6);
	assert_string_equal(cJSON_GetArrayItem(fields, 0)->valuestring, "ok");
	assert_string_equal(cJSON_GetArrayItem(fields, 4)->valuestring, t.a);
	assert_string_equal(cJSON_GetArrayItem(fields, 5)->valuestring,
			    "dl2/file.bin\n");

	cJSON_Delete(fields);
	cJSON_Delete(res);
	it_result_free(&r);
	it_result_free(&text);
	two_urls_free(&t);
	free(file);
}

/* (b) Every URL dead: a 404, a refused connection and a 403, -r 2. The
 * 404 and the 403 are asked once each and spend no retry; the refused one
 * is tried until the two retries are spent: 5 attempts, one "failed"
 * line naming each URL's reason, exit 1, nothing on disk. */
static void test_all_mirrors_dead(void **state)
{
	struct it_fixture *f = *state;
	const char *pq1 = "/data/dead/a.bin?status=404";
	const char *pq3 = "/data/dead/c.bin?status=403";
	char *u1 = it_url(&f->srv, pq1), *u3 = url_b(f, pq3);
	char *u2 = it_path("http://127.0.0.1:%d/data/dead/b.bin",
			   closed_port());
	char *list = it_path("{\"url\":\"%s\",\"mirrors\":[\"%s\",\"%s\"]}\n",
			     u1, u2, u3);
	char *part1 = it_path("all 3 URLs failed: %s: HTTP 404; ", u1);
	char *part2 = it_path("; %s: Failed to connect", u2);
	char *part3 = it_path("; %s: HTTP 403", u3);
	const char *args[] = { "-r", "2", "--backoff", "0.05", "list.txt",
			       NULL };
	struct it_result r;
	cJSON *res, *e;

	it_write_list(f, list);
	res = it_run_json(f, args, 1, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNULL(e, "from");
	IT_ASSERT_JNULL(e, "path");
	IT_ASSERT_JNUM(e, "attempts", 5);
	IT_ASSERT_JNUM(e, "bytes", 0);
	expect_mirrors(e, (const char *const[]){ u2, u3 }, 2);
	if (!it_starts_with(it_json_str(e, "error"), part1))
		fail_msg("error should start with \"%s\", is \"%s\"", part1,
			 it_json_str(e, "error"));
	expect_in(e, "error", part2);
	expect_in(e, "error", part3);
	assert_true(strlen(it_json_str(e, "error")) < 256);
	it_assert_requests(f, &r, pq1, 1);
	it_assert_requests(f, &r, pq3, 1);
	assert_int_equal(it_count_files(f->tmp), 1); /* list.txt */

	cJSON_Delete(res);
	it_result_free(&r);
	free(u1);
	free(u2);
	free(u3);
	free(list);
	free(part1);
	free(part2);
	free(part3);
}

/* (c) The first URL answers 503: the next attempt goes to the second
 * URL, after the backoff (--backoff 0.4: at least 0.2 s, measured on the
 * server's clock), as a retry: 2 attempts. */
static void test_503_moves_to_next_after_backoff(void **state)
{
	struct it_fixture *f = *state;
	struct two_urls t;
	const char *pq1 = "/data/busy/c.bin?status=503";
	const char *pq2 = "/data/ok/c.bin?size=500";
	char *file = it_path("%s/dl/c.bin", f->tmp);
	const char *args[] = { "--backoff", "0.4", "list.txt", NULL };
	struct it_result r;
	cJSON *res, *e, *log;
	double s1, e1, s2, e2, gap;

	t = list_two(f, pq1, pq2, "");
	res = it_run_json(f, args, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "from", t.b);
	IT_ASSERT_JNUM(e, "attempts", 2);
	assert_true(it_file_matches_body(file, "/data/ok/c.bin", 500));
	log = it_server_log(&f->srv);
	assert_non_null(log);
	assert_int_equal(it_log_times(log, pq1, &s1, &e1, 1), 1);
	assert_int_equal(it_log_times(log, pq2, &s2, &e2, 1), 1);
	gap = s2 - e1;
	fprintf(stderr, "# 503, then the mirror after %.3f s (--backoff 0.4)"
		"\n", gap);
	if (gap < 0.19 || gap > 2.0) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("the mirror was asked %.3f s after the 503, want "
			 "0.2 .. 2", gap);
	}

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	two_urls_free(&t);
	free(file);
}

/* Transient failures spend retries across mirrors: 503 on the first and
 * the second URL with -r 1 is the end; the third is never asked, and the
 * error says two of three failed. */
static void test_retries_spent_across_mirrors(void **state)
{
	struct it_fixture *f = *state;
	const char *pq1 = "/data/s/a.bin?status=503";
	const char *pq2 = "/data/s/b.bin?status=503";
	const char *pq3 = "/data/s/c.bin?size=10";
	char *u1 = it_url(&f->srv, pq1), *u2 = url_b(f, pq2);
	char *u3 = it_url(&f->srv, pq3);
	char *list = it_path("%s mirror=%s mirror=%s\n", u1, u2, u3);
	char *want = it_path("2 of 3 URLs failed, no retries left: %s: HTTP "
			     "503; %s: HTTP 503", u1, u2);
	const char *args[] = { "-r", "1", "--backoff", "0.05", "list.txt",
			       NULL };
	struct it_result r;
	cJSON *res, *e;

	it_write_list(f, list);
	res = it_run_json(f, args, 1, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNUM(e, "http_status", 503);
	IT_ASSERT_JNUM(e, "attempts", 2);
	IT_ASSERT_JSTR(e, "error", want);
	it_assert_requests(f, &r, pq1, 1);
	it_assert_requests(f, &r, pq2, 1);
	it_assert_requests(f, &r, pq3, 0);

	cJSON_Delete(res);
	it_result_free(&r);
	free(u1);
	free(u2);
	free(u3);
	free(list);
	free(want);
}

/* A Retry-After holds back only its own host: a 503 with Retry-After: 5
 * on the first URL does not delay the attempt at a mirror on another
 * host. */
static void test_retry_after_is_the_hosts(void **state)
{
	struct it_fixture *f = *state;
	struct two_urls t;
	const char *pq1 = "/data/ra/x.bin?status=503&retry_after=5";
	const char *pq2 = "/data/ra/y.bin?size=100";
	const char *args[] = { "--backoff", "0.1", "list.txt", NULL };
	struct it_result r;
	cJSON *res, *e;
	double t0 = it_now(), took;

	t = list_two(f, pq1, pq2, "");
	res = it_run_json(f, args, 0, 1, &r);
	took = it_now() - t0;
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "from", t.b);
	IT_ASSERT_JNUM(e, "attempts", 2);
	fprintf(stderr, "# Retry-After 5 on the first host; the run took "
		"%.3f s\n", took);
	if (took > 3.0)
		fail_msg("the mirror on another host waited for the first "
			 "host's Retry-After (%.3f s)", took);

	cJSON_Delete(res);
	it_result_free(&r);
	two_urls_free(&t);
}

/* (d) A failed record fed back with --json - keeps its mirrors: the
 * re-run asks the mirror again and it delivers, into the same path. */
static void test_failed_record_fed_back(void **state)
{
	struct it_fixture *f = *state;
	struct two_urls t;
	const char *pq1 = "/data/fb/d.bin?status=404";
	const char *pq2 = "/data/fb/e.bin?size=700&fail=1";
	char *file = it_path("%s/dl/sub/d.bin", f->tmp);
	const char *args1[] = { "-r", "0", "list.txt", NULL };
	const char *argv2[] = { it_bin(), "--json", "-r", "0", "-o", "dl",
				"-", NULL };
	struct it_result r1, r2;
	cJSON *res1, *res2, *e;

	t = list_two(f, pq1, pq2, "out=sub/d.bin");
	res1 = it_run_json(f, args1, 1, 1, &r1);
	e = cJSON_GetArrayItem(res1, 0);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNULL(e, "from");
	expect_mirrors(e, (const char *const[]){ t.b }, 1);
	IT_ASSERT_JNUM(e, "attempts", 2);

	assert_int_equal(it_run(argv2, r1.out, f->tmp, &r2), 0);
	res2 = it_check_json(f, &r2, 0, 1);
	e = cJSON_GetArrayItem(res2, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "url", t.a);
	IT_ASSERT_JSTR(e, "from", t.b);
	IT_ASSERT_JSTR(e, "out", "sub/d.bin");
	IT_ASSERT_JSTR(e, "path", "dl/sub/d.bin");
	expect_mirrors(e, (const char *const[]){ t.b }, 1);
	it_assert_requests(f, &r2, pq1, 2);
	it_assert_requests(f, &r2, pq2, 2);
	assert_true(it_file_matches_body(file, "/data/fb/e.bin", 700));

	cJSON_Delete(res1);
	cJSON_Delete(res2);
	it_result_free(&r1);
	it_result_free(&r2);
	two_urls_free(&t);
	free(file);
}

/* --dry-run shows an entry's mirrors; "from" is null, nothing is asked. */
static void test_dry_run_shows_mirrors(void **state)
{
	struct it_fixture *f = *state;
	struct two_urls t = list_two(f, "/data/dry/x.bin", "/data/dry/y.bin",
				     "");
	const char *args[] = { "--dry-run", "list.txt", NULL };
	struct it_result r;
	cJSON *res, *e;

	res = it_run_json(f, args, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "planned");
	IT_ASSERT_JNULL(e, "from");
	expect_mirrors(e, (const char *const[]){ t.b }, 1);
	IT_ASSERT_JSTR(e, "path", "dl/x.bin");
	assert_int_equal(it_server_stat(&f->srv, "requests"), 0);

	cJSON_Delete(res);
	it_result_free(&r);
	two_urls_free(&t);
}

#define PH_N 8

/* (e) --per-host 1 counts the host each attempt goes to: entries whose
 * first URL (404) is on host A and whose mirror is on host B, mixed with
 * entries whose own URL is on host B, all slow: at most one request at
 * a time on each host, and every entry arrives. */
static void test_per_host_follows_the_mirror(void **state)
{
	struct it_fixture *f = *state;
	struct it_buf list = { 0 };
	const char *args[] = { "-j", "8", "--per-host", "1", "list.txt",
			       NULL };
	struct it_result r;
	cJSON *res, *e;
	long peak_a, peak_b;

	for (int i = 0; i < PH_N; i++) {
		char *a = it_path("http://127.0.0.1:%d/data/ph/a%d.bin?"
				  "status=404&delay=0.1", f->srv.port, i);
		char *b = it_path("http://127.0.1.1:%d/data/ph/b%d.bin?"
				  "size=100&delay=0.1", f->srv.port, i);

		if (i % 2 == 0)
			it_buf_printf(&list, "%s mirror=%s\n", a, b);
		else
			it_buf_printf(&list, "%s\n", b);
		free(a);
		free(b);
	}
	it_write_list(f, list.data);
	res = it_run_json(f, args, 0, PH_N, &r);
	cJSON_ArrayForEach(e, res)
		IT_ASSERT_JSTR(e, "status", "ok");
	peak_a = it_host_peak(f, "127.0.0.1");
	peak_b = it_host_peak(f, "127.0.1.1");
	fprintf(stderr, "# --per-host 1: peak %ld on host A, %ld on host B\n",
		peak_a, peak_b);
	if (peak_a != 1 || peak_b != 1) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("--per-host 1: peaks %ld (A) and %ld (B), want 1 "
			 "and 1", peak_a, peak_b);
	}

	cJSON_Delete(res);
	it_result_free(&r);
	free(list.data);
}

/* An entry whose URLs serve dir/one.bin and dir/two.bin, expecting
 * two's digest field ("md5=HEX"): one's body fails it and is dropped at
 * once, two delivers (reported with its digest under key). */
static void expect_mismatch_drops_url(struct it_fixture *f, const char *dir,
				      const char *key, const char *digest)
{
	char *pq1 = it_path("/data/%s/one.bin?size=1000", dir);
	char *pq2 = it_path("/data/%s/two.bin?size=1000", dir);
	char *two = it_path("/data/%s/two.bin", dir);
	char *file = it_path("%s/dl/one.bin", f->tmp);
	char *field = it_path("%s=%s", key, digest);
	const char *args[] = { "list.txt", NULL };
	struct it_result r;
	struct two_urls t;
	cJSON *res, *e;

	t = list_two(f, pq1, pq2, field);
	res = it_run_json(f, args, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "from", t.b);
	IT_ASSERT_JSTR(e, key, digest);
	IT_ASSERT_JNUM(e, "attempts", 2);
	it_assert_requests(f, &r, pq1, 1);
	it_assert_requests(f, &r, pq2, 1);
	assert_true(it_file_matches_body(file, two, 1000));
	it_expect_no_part_dl(f);

	cJSON_Delete(res);
	it_result_free(&r);
	two_urls_free(&t);
	free(pq1);
	free(pq2);
	free(two);
	free(file);
	free(field);
}

/* (f) A wrong digest from the first URL drops it; the second delivers the
 * body that matches. */
static void test_digest_mismatch_drops_url(void **state)
{
	struct it_fixture *f = *state;
	char digest[65];

	assert_int_equal(it_server_sha256(&f->srv, "/data/dg/two.bin", 1000,
					  digest), 0);
	expect_mismatch_drops_url(f, "dg", "sha256", digest);
}

/* (f) The same with an md5= (any digest, not only sha256). */
static void test_md5_mismatch_drops_url(void **state)
{
	struct it_fixture *f = *state;
	char *body = it_path("%s/two.tmp", f->tmp);
	char digest[33];

	assert_int_equal(it_write_body(body, "/data/dm/two.bin", 1000), 0);
	assert_int_equal(it_tool_digest("md5sum", body, digest,
					sizeof(digest)), 0);
	expect_mismatch_drops_url(f, "dm", "md5", digest);
	free(body);
}

#define SPLIT_SIZE (8 * 1024 * 1024)

/* A body fetched in segments whose digest fails at the first URL: the
 * whole starts again at the second, which delivers it (also cut). */
static void test_split_body_moves_to_mirror(void **state)
{
	struct it_fixture *f = *state;
	const char *pq1 = "/data/sp/one.iso?size=8388608&etag=v1&rate=16777216";
	const char *pq2 = "/data/sp/two.iso?size=8388608&etag=v2&rate=16777216";
	const char *args[] = { "--split", "4", "--min-split-size", "1M",
			       "list.txt", NULL };
	char *file = it_path("%s/dl/one.iso", f->tmp);
	char digest[65], *sha;
	struct it_result r;
	struct two_urls t;
	cJSON *res, *e, *log, *req;
	int ranged1 = 0, ranged2 = 0;

	assert_int_equal(it_server_sha256(&f->srv, "/data/sp/two.iso",
					  SPLIT_SIZE, digest), 0);
	sha = it_path("sha256=%s", digest);
	t = list_two(f, pq1, pq2, sha);
	res = it_run_json(f, args, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "from", t.b);
	IT_ASSERT_JNUM(e, "attempts", 2);
	IT_ASSERT_JNUM(e, "bytes", SPLIT_SIZE);
	assert_true(it_file_matches_body(file, "/data/sp/two.iso",
					 SPLIT_SIZE));
	log = it_server_log(&f->srv);
	assert_non_null(log);
	cJSON_ArrayForEach(req, log) {
		const char *path = it_json_str(req, "path");

		if (!it_log_header(req, "range") || !path)
			continue;
		ranged1 += strcmp(path, pq1) == 0;
		ranged2 += strcmp(path, pq2) == 0;
	}
	fprintf(stderr, "# ranged requests: %d to the first URL, %d to the "
		"mirror\n", ranged1, ranged2);
	if (ranged1 == 0 || ranged2 == 0) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("the body should be cut at both URLs");
	}
	it_expect_no_part_dl(f);

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	two_urls_free(&t);
	free(file);
	free(sha);
}

/* -c across mirrors: an attempt cut short leaves a .part (ETag "v1"); the
 * mirror has another version ("v2"), so the Range it is asked with
 * If-Range: "v1" is answered 200 and the file is the mirror's whole body,
 * never two versions spliced. */
static void test_resume_across_mirrors_is_safe(void **state)
{
	struct it_fixture *f = *state;
	struct two_urls t;
	const char *pq1 = "/data/rs/a.bin?size=200000&etag=v1&truncate=1";
	const char *pq2 = "/data/rs/b.bin?size=200000&etag=v2";
	char *file = it_path("%s/dl/a.bin", f->tmp);
	const char *args[] = { "-c", "--backoff", "0.05", "list.txt", NULL };
	struct it_result r;
	cJSON *res, *e, *log, *req;
	const cJSON *ir, *st;

	t = list_two(f, pq1, pq2, "");
	res = it_run_json(f, args, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "from", t.b);
	IT_ASSERT_JNUM(e, "http_status", 200);
	IT_ASSERT_JNUM(e, "bytes", 200000);
	assert_true(it_file_matches_body(file, "/data/rs/b.bin", 200000));
	log = it_server_log(&f->srv);
	assert_non_null(log);
	req = it_log_entry(log, pq2, 0);
	assert_non_null(req);
	ir = cJSON_GetObjectItemCaseSensitive(req, "if_range");
	st = cJSON_GetObjectItemCaseSensitive(req, "status");
	if (!cJSON_IsString(ir) || strcmp(ir->valuestring, "\"v1\"") != 0 ||
	    !cJSON_IsNumber(st) || st->valueint != 200) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("the mirror should be asked with If-Range: \"v1\" "
			 "and answer 200");
	}
	it_expect_no_part_dl(f);

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	two_urls_free(&t);
	free(file);
}

/* SIGINT while an entry waits in the queue for its mirror (its first URL
 * answered 404; the mirror's host is busy under --per-host 1): it was
 * tried, so it gets its line, failed, with its last attempt's error, as
 * the running one does. */
static void test_interrupted_while_queued_for_mirror(void **state)
{
	struct it_fixture *f = *state;
	const char *pq_slow = "/data/int/slow.bin?delay=30";
	const char *pq_404 = "/data/int/gone.bin?status=404";
	char *slow = url_b(f, pq_slow), *gone = it_url(&f->srv, pq_404);
	char *mirror = url_b(f, "/data/int/gone.bin");
	char *list = it_path("%s\n%s mirror=%s\n", slow, gone, mirror);
	const char *argv[] = { it_bin(), "--json", "-o", "dl", "--per-host",
			       "1", "list.txt", NULL };
	struct it_proc p;
	struct it_result r;
	cJSON *res, *e;
	int bad;

	it_write_list(f, list);
	assert_int_equal(it_proc_start(&p, argv, f->tmp, NULL), 0);
	if (it_wait_ended(&f->srv, &p, pq_404, 1, 10.0) != 0 ||
	    it_wait_requests(&f->srv, &p, 2, 10.0) < 0) {
		kill(p.pid, SIGKILL);
		it_proc_finish(&p, 5.0, &r);
		it_dump_with_log(&r, &f->srv);
		fail_msg("the 404 and the slow request did not come");
	}
	it_proc_pump_for(&p, 0.3);
	kill(p.pid, SIGINT);
	assert_int_equal(it_proc_finish(&p, 10.0, &r), 0);
	IT_ASSERT_EXIT(r, 130);
	res = it_jsonl_parse(r.out, &bad);
	assert_int_equal(bad, 0);
	if (cJSON_GetArraySize(res) != 2) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("want 2 lines, got %d", cJSON_GetArraySize(res));
	}
	e = it_json_find_url(res, slow);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JSTR(e, "error", "interrupted");
	e = it_json_find_url(res, gone);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JSTR(e, "error", "interrupted (last attempt: HTTP 404)");
	IT_ASSERT_JNUM(e, "attempts", 1);
	it_assert_requests(f, &r, "/data/int/gone.bin", 0);

	cJSON_Delete(res);
	it_result_free(&r);
	free(slow);
	free(gone);
	free(mirror);
	free(list);
}

/* Ranged requests in log to the host whose Host header begins with host:
 * their count, and of those the ones answered 206 (*partial). */
static int ranged_at(const cJSON *log, const char *host, int *partial)
{
	const cJSON *req;
	int n = 0;

	*partial = 0;
	cJSON_ArrayForEach(req, log) {
		const char *h = it_log_header(req, "host");
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(req, "status");

		if (!it_log_header(req, "range") || !h ||
		    strncmp(h, host, strlen(host)) != 0 ||
		    h[strlen(host)] != ':')
			continue;
		n++;
		*partial += cJSON_IsNumber(st) && st->valueint == 206;
	}
	return n;
}

#define SPREAD_SIZE (32 * 1024 * 1024)

/* A body cut in segments on an entry with a mirror of the same file (the
 * same size and ETag): its segments go to both hosts, each within
 * --per-host 2, so that more run at once than one host allows; the file
 * is byte for byte the body, and "from" is the first URL (the one the
 * split began with). */
static void test_split_spreads_over_mirrors(void **state)
{
	struct it_fixture *f = *state;
	const char *pq = "/data/sp/big.iso?size=33554432&etag=v1&rate=8388608";
	const char *args[] = { "--split", "4", "--per-host", "2",
			       "--min-split-size", "1M", "list.txt", NULL };
	char *file = it_path("%s/dl/big.iso", f->tmp);
	struct it_result r;
	struct two_urls t;
	cJSON *res, *e, *log;
	int n_a, n_b, p_a, p_b;
	long peak_a, peak_b, peak;

	t = list_two(f, pq, pq, "");
	res = it_run_json(f, args, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "from", t.a);
	IT_ASSERT_JNUM(e, "attempts", 1);
	IT_ASSERT_JNUM(e, "bytes", SPREAD_SIZE);
	assert_true(it_file_matches_body(file, "/data/sp/big.iso",
					 SPREAD_SIZE));
	log = it_server_log(&f->srv);
	assert_non_null(log);
	n_a = ranged_at(log, "127.0.0.1", &p_a);
	n_b = ranged_at(log, "127.0.1.1", &p_b);
	peak_a = it_host_peak(f, "127.0.0.1");
	peak_b = it_host_peak(f, "127.0.1.1");
	peak = it_server_stat(&f->srv, "max_concurrent");
	fprintf(stderr, "# ranged: %d (%d 206) at the first host, %d (%d "
		"206) at the mirror; peaks %ld and %ld, %ld at once\n", n_a,
		p_a, n_b, p_b, peak_a, peak_b, peak);
	if (p_a < 1 || p_b < 1 || n_b != p_b || peak_a > 2 || peak_b > 2 ||
	    peak < 3) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("the segments should go to both hosts, 2 at most "
			 "each");
	}
	/* Once the mirror's first answer proves it, its second segment
	 * goes at once, not when some other transfer ends (every one runs
	 * a second or more at 8 MiB/s). */
	{
		const cJSON *req;
		double first_end = 1e18, b1 = 1e18, b2 = 1e18;

		cJSON_ArrayForEach(req, log) {
			double ts = cJSON_GetNumberValue(
				cJSON_GetObjectItemCaseSensitive(req,
								 "t_start"));
			double te = cJSON_GetNumberValue(
				cJSON_GetObjectItemCaseSensitive(req,
								 "t_end"));
			const char *h = it_log_header(req, "host");

			if (te < first_end)
				first_end = te;
			if (!h || strncmp(h, "127.0.1.1:", 10) != 0)
				continue;
			if (ts < b1) {
				b2 = b1;
				b1 = ts;
			} else if (ts < b2) {
				b2 = ts;
			}
		}
		fprintf(stderr, "# the mirror's second segment began %.3f s "
			"before the first request ended\n", first_end - b2);
		assert_true(b2 < first_end);
	}
	it_expect_no_part_dl(f);

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	two_urls_free(&t);
	free(file);
}

/* A mirror of another version (its ETag differs, so it answers the
 * If-Range of the first URL's with its whole body) is asked once and left
 * out: the segments go to the first URL, and the file is its body, in one
 * attempt. */
static void test_split_mirror_other_version_left_out(void **state)
{
	struct it_fixture *f = *state;
	const char *pq1 = "/data/sp/v.iso?size=16777216&etag=v1&rate=8388608";
	const char *pq2 = "/data/sp/v.iso?size=16777216&etag=v2&rate=8388608";
	const char *args[] = { "--split", "4", "--min-split-size", "1M",
			       "list.txt", NULL };
	char *file = it_path("%s/dl/v.iso", f->tmp);
	struct it_result r;
	struct two_urls t;
	cJSON *res, *e, *log;
	int n_a, n_b, p_a, p_b;

	t = list_two(f, pq1, pq2, "");
	res = it_run_json(f, args, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "from", t.a);
	IT_ASSERT_JNUM(e, "attempts", 1);
	assert_true(it_file_matches_body(file, "/data/sp/v.iso", 16 << 20));
	log = it_server_log(&f->srv);
	assert_non_null(log);
	n_a = ranged_at(log, "127.0.0.1", &p_a);
	n_b = ranged_at(log, "127.0.1.1", &p_b);
	fprintf(stderr, "# ranged: %d (%d 206) at the first host, %d (%d "
		"206) at the mirror\n", n_a, p_a, n_b, p_b);
	if (p_a < 2 || n_b != 1 || p_b != 0) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("the mirror should be asked once, and left out");
	}
	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	two_urls_free(&t);
	free(file);
}

/* A mirror that answers a segment 404 is left out for the body (once:
 * dropped), its segment goes back to the first URL at once, and the entry
 * is ok in one attempt. */
static void test_split_mirror_404_left_out(void **state)
{
	struct it_fixture *f = *state;
	const char *pq1 = "/data/sp/g.iso?size=16777216&etag=v1&rate=8388608";
	const char *pq2 = "/data/sp/g.iso?status=404";
	const char *args[] = { "--split", "4", "--min-split-size", "1M",
			       "list.txt", NULL };
	char *file = it_path("%s/dl/g.iso", f->tmp);
	struct it_result r;
	struct two_urls t;
	cJSON *res, *e;

	t = list_two(f, pq1, pq2, "");
	res = it_run_json(f, args, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "from", t.a);
	IT_ASSERT_JNUM(e, "attempts", 1);
	assert_true(it_file_matches_body(file, "/data/sp/g.iso", 16 << 20));
	it_assert_requests(f, &r, pq2, 1);
	assert_true(it_requests_for(f, pq1) >= 3);

	cJSON_Delete(res);
	it_result_free(&r);
	two_urls_free(&t);
	free(file);
}

#define MIRRORS_TEST(fn) \
	cmocka_unit_test_setup_teardown(fn, mirrors_setup, it_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		MIRRORS_TEST(test_404_then_good_mirror),
		MIRRORS_TEST(test_all_mirrors_dead),
		MIRRORS_TEST(test_503_moves_to_next_after_backoff),
		MIRRORS_TEST(test_retries_spent_across_mirrors),
		MIRRORS_TEST(test_retry_after_is_the_hosts),
		MIRRORS_TEST(test_failed_record_fed_back),
		MIRRORS_TEST(test_dry_run_shows_mirrors),
		MIRRORS_TEST(test_per_host_follows_the_mirror),
		MIRRORS_TEST(test_digest_mismatch_drops_url),
		MIRRORS_TEST(test_md5_mismatch_drops_url),
		MIRRORS_TEST(test_split_body_moves_to_mirror),
		MIRRORS_TEST(test_resume_across_mirrors_is_safe),
		MIRRORS_TEST(test_interrupted_while_queued_for_mirror),
		MIRRORS_TEST(test_split_spreads_over_mirrors),
		MIRRORS_TEST(test_split_mirror_other_version_left_out),
		MIRRORS_TEST(test_split_mirror_404_left_out),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
