/* Integration: -c / --continue (spec 4, man -c): a NAME.part left by an
 * earlier run is resumed with Range (and If-Range with the validator kept
 * in user.etag), a 200 restarts it from zero, a 416 for a complete .part
 * completes it, the digest covers the whole file, a .part is ignored
 * without -c, and under -c a retry resumes what a truncated attempt
 * wrote. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "harness.h"

static int log_status(const cJSON *e)
{
	int ok;
	double v = it_json_num(e, "status", &ok);

	return ok ? (int)v : -1;
}

/* Fails unless header name of e equals want (want NULL: absent). */
static void expect_header(const struct it_result *r,
			  const struct it_server *s, const cJSON *e,
			  const char *name, const char *want)
{
	const char *got = it_log_header(e, name);

	if (want == NULL && got == NULL)
		return;
	if (want && got && strcmp(want, got) == 0)
		return;
	it_dump_with_log(r, s);
	fail_msg("request header %s: want %s%s%s, got %s%s%s", name,
		 want ? "\"" : "", want ? want : "(absent)", want ? "\"" : "",
		 got ? "\"" : "", got ? got : "(absent)", got ? "\"" : "");
}

static void expect_log_status(const struct it_result *r,
			      const struct it_server *s, const cJSON *e,
			      int want)
{
	if (log_status(e) != want) {
		it_dump_with_log(r, s);
		fail_msg("server answered %d, want %d", log_status(e), want);
	}
}

/* The server's /_log, checked to hold exactly want requests for pq. */
static cJSON *log_with(const struct it_fixture *f, const struct it_result *r,
		       const char *pq, int want)
{
	cJSON *log = it_server_log(&f->srv);
	int got;

	assert_non_null(log);
	got = it_log_count(log, pq);
	if (got != want) {
		it_dump_with_log(r, &f->srv);
		fail_msg("%s: want %d requests at the server, got %d", pq,
			 want, got);
	}
	return log;
}

/* Writes the first n bytes of the /data body for url_path (size total)
 * to path. */
static void write_prefix(const char *path, const char *url_path,
			 size_t total, size_t n)
{
	char *body = it_expected_body(url_path, total);

	assert_true(n <= total);
	assert_int_equal(it_write_file(path, body, n), 0);
	free(body);
}

static void write_garbage(const char *path, char c, size_t n)
{
	char *g = malloc(n + 1);

	assert_non_null(g);
	memset(g, c, n);
	assert_int_equal(it_write_file(path, g, n), 0);
	free(g);
}

/* Sets user.etag on path. Returns 1, or 0 (with a message) when the file
 * system has no user extended attributes. */
static int set_etag(const char *path, const char *etag)
{
	if (setxattr(path, "user.etag", etag, strlen(etag), 0) == 0)
		return 1;
	if (errno == ENOTSUP || errno == EOPNOTSUPP || errno == EPERM) {
		fprintf(stderr, "# %s: no user xattrs here (%s): the "
			"If-Range check is skipped\n", path, strerror(errno));
		return 0;
	}
	fail_msg("setxattr %s: %s", path, strerror(errno));
	return 0;
}

/* dl holds exactly the one file name and nothing else (no .part). */
static void expect_only(const struct it_fixture *f, const char *name)
{
	char *dl = it_path("%s/dl", f->tmp);
	cJSON *tree = it_tree_list(dl);
	char *text;

	assert_non_null(tree);
	if (cJSON_GetArraySize(tree) != 1 || !it_tree_has(tree, name)) {
		text = cJSON_PrintUnformatted(tree);
		fail_msg("dl should hold only %s, holds %s", name, text);
	}
	cJSON_Delete(tree);
	free(dl);
}

static void mkdir_dl(const struct it_fixture *f)
{
	char *dl = it_path("%s/dl", f->tmp);

	assert_int_equal(mkdir(dl, 0755), 0);
	free(dl);
}

/* (a) A .part with the first 100000 bytes and user.etag "v1": Range
 * bytes=100000- with If-Range "v1", a 206, the whole file byte-exact. */
static void test_resume_206(void **state)
{
	struct it_fixture *f = *state;
	const char *pq = "/data/big?size=300000&etag=v1";
	char *u = it_url(&f->srv, pq);
	char *part = it_path("%s/dl/big.part", f->tmp);
	char *file = it_path("%s/dl/big", f->tmp);
	const char *args[] = { "-c", "-o", "dl", u, NULL };
	struct it_result r;
	cJSON *res, *e, *log, *req;
	char *etag;
	int xattrs;

	mkdir_dl(f);
	write_prefix(part, "/data/big", 300000, 100000);
	xattrs = set_etag(part, "\"v1\"");

	res = it_run_json_plain(f, args, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "path", "dl/big");
	IT_ASSERT_JNUM(e, "http_status", 206);
	IT_ASSERT_JNUM(e, "bytes", 300000);
	IT_ASSERT_JNUM(e, "attempts", 1);
	IT_ASSERT_JNULL(e, "error");

	log = log_with(f, &r, pq, 1);
	req = it_log_entry(log, pq, 0);
	expect_header(&r, &f->srv, req, "range", "bytes=100000-");
	if (xattrs)
		expect_header(&r, &f->srv, req, "if-range", "\"v1\"");
	expect_log_status(&r, &f->srv, req, 206);

	assert_true(it_file_matches_body(file, "/data/big", 300000));
	assert_false(it_exists(part));
	expect_only(f, "big");
	if (xattrs) {
		/* The written file keeps the server's ETag (man -N). */
		etag = it_file_etag(file);
		assert_non_null(etag);
		assert_string_equal(etag, "\"v1\"");
		free(etag);
	}

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
	free(part);
	free(file);
}

/* (b) norange=1: the server ignores the Range and answers 200; the .part
 * (garbage) is restarted from zero. */
static void test_resume_server_sends_200(void **state)
{
	struct it_fixture *f = *state;
	const char *pq = "/data/nr.bin?size=200000&norange=1";
	char *u = it_url(&f->srv, pq);
	char *part = it_path("%s/dl/nr.bin.part", f->tmp);
	char *file = it_path("%s/dl/nr.bin", f->tmp);
	const char *args[] = { "-c", "-o", "dl", u, NULL };
	struct it_result r;
	cJSON *res, *e, *log, *req;

	mkdir_dl(f);
	write_garbage(part, 'Z', 5000);

	res = it_run_json_plain(f, args, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "path", "dl/nr.bin");
	IT_ASSERT_JNUM(e, "http_status", 200);
	IT_ASSERT_JNUM(e, "bytes", 200000);
	IT_ASSERT_JNUM(e, "attempts", 1);

	log = log_with(f, &r, pq, 1);
	req = it_log_entry(log, pq, 0);
	/* A resume was asked for; the server did not honour it. */
	expect_header(&r, &f->srv, req, "range", "bytes=5000-");
	expect_log_status(&r, &f->srv, req, 200);

	assert_true(it_file_matches_body(file, "/data/nr.bin", 200000));
	assert_false(it_exists(part));
	expect_only(f, "nr.bin");

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
	free(part);
	free(file);
}

/* (c) The .part already holds the whole body: the server answers 416
 * (bytes * /50000) and the .part is completed as it is, with one request
 * and a digest of the whole file. */
static void test_resume_complete_part_416(void **state)
{
	struct it_fixture *f = *state;
	const char *pq = "/data/whole.bin?size=50000&etag=w1";
	char *u = it_url(&f->srv, pq);
	char *part = it_path("%s/dl/whole.bin.part", f->tmp);
	char *file = it_path("%s/dl/whole.bin", f->tmp);
	const char *args[] = { "-c", "--sha256", "-o", "dl", u, NULL };
	struct it_result r;
	cJSON *res, *e, *log, *req;
	char want[65];
	int xattrs;

	assert_int_equal(it_server_sha256(&f->srv, "/data/whole.bin", 50000,
					  want), 0);
	mkdir_dl(f);
	write_prefix(part, "/data/whole.bin", 50000, 50000);
	xattrs = set_etag(part, "\"w1\"");

	res = it_run_json_plain(f, args, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "path", "dl/whole.bin");
	IT_ASSERT_JNUM(e, "http_status", 416);
	IT_ASSERT_JNUM(e, "bytes", 50000);
	IT_ASSERT_JNUM(e, "attempts", 1);
	IT_ASSERT_JNULL(e, "error");
	IT_ASSERT_JSTR(e, "sha256", want);

	log = log_with(f, &r, pq, 1);
	assert_int_equal(cJSON_GetArraySize(log), 1);
	req = it_log_entry(log, pq, 0);
	expect_header(&r, &f->srv, req, "range", "bytes=50000-");
	if (xattrs)
		expect_header(&r, &f->srv, req, "if-range", "\"w1\"");
	expect_log_status(&r, &f->srv, req, 416);

	assert_true(it_file_matches_body(file, "/data/whole.bin", 50000));
	assert_false(it_exists(part));
	expect_only(f, "whole.bin");

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
	free(part);
	free(file);
}

/* (d) -c with --sha256, and -c with an entry's sha256=: the digest covers
 * the bytes that were in the .part as well as the resumed tail. */
static void test_resume_digest_covers_whole_file(void **state)
{
	struct it_fixture *f = *state;
	const char *pq1 = "/data/dig.bin?size=300000&etag=d1";
	const char *pq2 = "/data/dig2.bin?size=250000&etag=d2";
	char *u1 = it_url(&f->srv, pq1);
	char *u2 = it_url(&f->srv, pq2);
	char *part1 = it_path("%s/dl/dig.bin.part", f->tmp);
	char *part2 = it_path("%s/dl/dig2.bin.part", f->tmp);
	char *file1 = it_path("%s/dl/dig.bin", f->tmp);
	char *file2 = it_path("%s/dl/dig2.bin", f->tmp);
	char *lp = it_path("%s/list.txt", f->tmp);
	const char *args1[] = { "-c", "--sha256", "-o", "dl", u1, NULL };
	const char *args2[] = { "-c", "-o", "dl", "list.txt", NULL };
	struct it_result r1, r2;
	cJSON *res, *e, *log, *req;
	char want1[65], want2[65];
	char *line;

	assert_int_equal(it_server_sha256(&f->srv, "/data/dig.bin", 300000,
					  want1), 0);
	assert_int_equal(it_server_sha256(&f->srv, "/data/dig2.bin", 250000,
					  want2), 0);
	mkdir_dl(f);
	write_prefix(part1, "/data/dig.bin", 300000, 123457);
	(void)set_etag(part1, "\"d1\"");
	write_prefix(part2, "/data/dig2.bin", 250000, 77777);
	(void)set_etag(part2, "\"d2\"");

	/* --sha256 reports the digest of the whole file. */
	res = it_run_json_plain(f, args1, 0, 1, &r1);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "http_status", 206);
	IT_ASSERT_JNUM(e, "bytes", 300000);
	IT_ASSERT_JSTR(e, "sha256", want1);
	cJSON_Delete(res);
	log = log_with(f, &r1, pq1, 1);
	req = it_log_entry(log, pq1, 0);
	expect_header(&r1, &f->srv, req, "range", "bytes=123457-");
	expect_log_status(&r1, &f->srv, req, 206);
	cJSON_Delete(log);
	assert_true(it_file_matches_body(file1, "/data/dig.bin", 300000));
	assert_false(it_exists(part1));

	/* An entry's sha256= of the whole body verifies a resumed file: a
	 * digest of the tail alone would be a mismatch. */
	line = it_path("%s sha256=%s\n", u2, want2);
	assert_int_equal(it_write_file(lp, line, strlen(line)), 0);
	res = it_run_json_plain(f, args2, 0, 1, &r2);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "http_status", 206);
	IT_ASSERT_JNUM(e, "bytes", 250000);
	IT_ASSERT_JSTR(e, "sha256", want2);
	IT_ASSERT_JNULL(e, "error");
	cJSON_Delete(res);
	log = log_with(f, &r2, pq2, 1);
	req = it_log_entry(log, pq2, 0);
	expect_header(&r2, &f->srv, req, "range", "bytes=77777-");
	cJSON_Delete(log);
	assert_true(it_file_matches_body(file2, "/data/dig2.bin", 250000));
	assert_false(it_exists(part2));

	it_result_free(&r1);
	it_result_free(&r2);
	free(line);
	free(lp);
	free(u1);
	free(u2);
	free(part1);
	free(part2);
	free(file1);
	free(file2);
}

/* (e) Without -c an existing .part (even with a matching user.etag) is
 * ignored: no Range, no If-Range, a 200 from zero, and the .part is left
 * as it was (only -c reads or writes .part files). */
static void test_no_continue_ignores_part(void **state)
{
	struct it_fixture *f = *state;
	const char *pq = "/data/noc.bin?size=100000&etag=n1";
	char *u = it_url(&f->srv, pq);
	char *part = it_path("%s/dl/noc.bin.part", f->tmp);
	char *file = it_path("%s/dl/noc.bin", f->tmp);
	const char *args[] = { "-o", "dl", u, NULL };
	struct it_result r;
	cJSON *res, *e, *log, *req;

	mkdir_dl(f);
	write_garbage(part, 'G', 60000);
	(void)set_etag(part, "\"n1\"");

	res = it_run_json_plain(f, args, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "http_status", 200);
	IT_ASSERT_JNUM(e, "bytes", 100000);

	log = log_with(f, &r, pq, 1);
	req = it_log_entry(log, pq, 0);
	expect_header(&r, &f->srv, req, "range", NULL);
	expect_header(&r, &f->srv, req, "if-range", NULL);
	expect_log_status(&r, &f->srv, req, 200);

	assert_true(it_file_matches_body(file, "/data/noc.bin", 100000));
	{
		size_t len = 0;
		char *left = it_read_file(part, &len);

		assert_non_null(left);
		assert_int_equal(len, 60000);
		for (size_t i = 0; i < len; i++)
			if (left[i] != 'G')
				fail_msg("the .part changed at byte %zu", i);
		free(left);
	}

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
	free(part);
	free(file);
}

/* (f) -c: the first attempt is cut after half of the body (truncate=1,
 * fail=1); its .part survives and the retry resumes it with Range
 * bytes=150000-, answered 206; the file is byte-exact. */
static void test_retry_resumes_truncated_attempt(void **state)
{
	struct it_fixture *f = *state;
	const char *pq = "/data/tr.bin?size=300000&truncate=1&fail=1";
	char *u = it_url(&f->srv, pq);
	char *file = it_path("%s/dl/tr.bin", f->tmp);
	const char *args[] = { "-c", "--backoff", "0.1", "-o", "dl", u, NULL };
	struct it_result r;
	cJSON *res, *e, *log, *req;

	res = it_run_json_plain(f, args, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "http_status", 206);
	IT_ASSERT_JNUM(e, "bytes", 300000);
	IT_ASSERT_JNUM(e, "attempts", 2);

	log = log_with(f, &r, pq, 2);
	req = it_log_entry(log, pq, 0);
	expect_header(&r, &f->srv, req, "range", NULL);
	expect_log_status(&r, &f->srv, req, 200);
	req = it_log_entry(log, pq, 1);
	expect_header(&r, &f->srv, req, "range", "bytes=150000-");
	expect_log_status(&r, &f->srv, req, 206);

	assert_true(it_file_matches_body(file, "/data/tr.bin", 300000));
	expect_only(f, "tr.bin");

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
	free(file);
}

/* Without -c the truncated attempt's .part is removed and the retry
 * starts from zero: no Range on either request. */
static void test_retry_without_continue_restarts(void **state)
{
	struct it_fixture *f = *state;
	const char *pq = "/data/tr0.bin?size=300000&truncate=1&fail=1";
	char *u = it_url(&f->srv, pq);
	char *file = it_path("%s/dl/tr0.bin", f->tmp);
	const char *args[] = { "--backoff", "0.1", "-o", "dl", u, NULL };
	struct it_result r;
	cJSON *res, *e, *log;

	res = it_run_json_plain(f, args, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "http_status", 200);
	IT_ASSERT_JNUM(e, "bytes", 300000);
	IT_ASSERT_JNUM(e, "attempts", 2);

	log = log_with(f, &r, pq, 2);
	expect_header(&r, &f->srv, it_log_entry(log, pq, 0), "range", NULL);
	expect_header(&r, &f->srv, it_log_entry(log, pq, 1), "range", NULL);
	expect_log_status(&r, &f->srv, it_log_entry(log, pq, 1), 200);

	assert_true(it_file_matches_body(file, "/data/tr0.bin", 300000));
	expect_only(f, "tr0.bin");

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
	free(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_resume_206,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_resume_server_sends_200,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_resume_complete_part_416,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_resume_digest_covers_whole_file,
			it_fixture_setup, it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_no_continue_ignores_part,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_retry_resumes_truncated_attempt,
			it_fixture_setup, it_fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_retry_without_continue_restarts,
			it_fixture_setup, it_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
