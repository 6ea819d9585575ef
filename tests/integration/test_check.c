/* Integration: --check (spec 6): each entry's server is asked whether the
 * file is there (HEAD, or a one-byte ranged GET where HEAD is refused),
 * with the usual retries; nothing is written; "bytes" is the announced
 * size (null when unknown), "path" null; -N asks conditionally and says
 * "unchanged" on 304. */
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

/* The methods and Range headers the server saw for path_query, as
 * "HEAD,GET 0-0" ("bytes=" left out). */
static void methods_of(const struct it_fixture *f, const char *pq,
		       char *buf, size_t cap)
{
	cJSON *log = it_server_log(&f->srv), *e;
	size_t n = 0;

	assert_non_null(log);
	buf[0] = '\0';
	cJSON_ArrayForEach(e, log) {
		const char *p = it_json_str(e, "path");
		const char *range;

		if (!p || strcmp(p, pq) != 0)
			continue;
		range = it_log_header(e, "range");
		n += (size_t)snprintf(buf + n, cap - n, "%s%s%s%s",
				      n ? "," : "", it_json_str(e, "method"),
				      range ? " " : "",
				      range ? range + 6 : "");
	}
	cJSON_Delete(log);
}

/* HEAD for each; a file that is there is ok with its size, a chunked one
 * has none (null), a 404 failed (exit 1), a 503 retried; no file, no
 * directory written. */
static void test_check_heads(void **state)
{
	struct it_fixture *f = *state;
	char *ok = it_url(&f->srv, "/data/sub/a.bin?size=5000");
	char *chunked = it_url(&f->srv, "/data/c.bin?size=300&chunked=1");
	char *gone = it_url(&f->srv, "/data/g.bin?status=404");
	char *flaky = it_url(&f->srv, "/data/f.bin?size=70&fail=1");
	const char *args[] = { "--check", "--backoff", "0.05", ok, chunked,
			       gone, flaky, NULL };
	char *dl = it_path("%s/dl", f->tmp), m[256];
	struct it_result r;
	cJSON *res, *e;

	res = it_run_json(f, args, 1, 4, &r);
	e = it_json_find_url(res, ok);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "http_status", 200);
	IT_ASSERT_JNUM(e, "bytes", 5000);
	IT_ASSERT_JNULL(e, "path");
	IT_ASSERT_JNULL(e, "error");	/* as any ok record's (spec 6) */
	e = it_json_find_url(res, chunked);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNULL(e, "bytes");
	e = it_json_find_url(res, gone);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNUM(e, "http_status", 404);
	IT_ASSERT_JNUM(e, "attempts", 1);
	e = it_json_find_url(res, flaky);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "attempts", 2);
	IT_ASSERT_JNUM(e, "bytes", 70);
	methods_of(f, "/data/sub/a.bin?size=5000", m, sizeof(m));
	assert_string_equal(m, "HEAD");
	methods_of(f, "/data/f.bin?size=70&fail=1", m, sizeof(m));
	assert_string_equal(m, "HEAD,HEAD");
	assert_false(it_exists(dl));
	cJSON_Delete(res);
	it_result_free(&r);
	free(ok);
	free(chunked);
	free(gone);
	free(flaky);
	free(dl);
}

/* A server that refuses HEAD (405, 501): the same attempt asks for the
 * first byte with a ranged GET, whose Content-Range gives the size; one
 * that ignores the range too sends 200 and its Content-Length, and the
 * body is not read. */
static void test_check_head_refused(void **state)
{
	struct it_fixture *f = *state;
	const char *pq1 = "/data/h1.bin?size=123456&head_status=405";
	const char *pq2 = "/data/h2.bin?size=777&head_status=501&norange=1";
	char *u1 = it_url(&f->srv, pq1), *u2 = it_url(&f->srv, pq2);
	const char *args[] = { "--check", u1, u2, NULL };
	struct it_result r;
	cJSON *res, *e;
	char m[256];

	res = it_run_json(f, args, 0, 2, &r);
	e = it_json_find_url(res, u1);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "http_status", 206);
	IT_ASSERT_JNUM(e, "bytes", 123456);
	IT_ASSERT_JNUM(e, "attempts", 1);
	e = it_json_find_url(res, u2);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "http_status", 200);
	IT_ASSERT_JNUM(e, "bytes", 777);
	methods_of(f, pq1, m, sizeof(m));
	assert_string_equal(m, "HEAD,GET 0-0");
	methods_of(f, pq2, m, sizeof(m));
	assert_string_equal(m, "HEAD,GET 0-0");
	cJSON_Delete(res);
	it_result_free(&r);
	free(u1);
	free(u2);
}

/* An empty file behind a server that refuses HEAD: the ranged GET for
 * its first byte gets 416 with "Content-Range: bytes *" "/0", which says
 * it is there, 0 bytes long: ok, bytes 0, exit 0 (it was "failed", HTTP
 * 416). A 416 that names no size stays a failure. */
static void test_check_empty_file(void **state)
{
	struct it_fixture *f = *state;
	const char *pq = "/data/e0.bin?size=0&head_status=405";
	char *u = it_url(&f->srv, pq);
	const char *args[] = { "--check", u, NULL };
	struct it_result r;
	cJSON *res, *e;
	char m[256];

	res = it_run_json(f, args, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "http_status", 416);
	IT_ASSERT_JNUM(e, "bytes", 0);
	IT_ASSERT_JNULL(e, "error");
	methods_of(f, pq, m, sizeof(m));
	assert_string_equal(m, "HEAD,GET 0-0");
	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
}

/* -N --check against files fetched before: "unchanged" where the server
 * answers the conditional HEAD 304, "ok" where the file changed. */
static void test_check_timestamping(void **state)
{
	struct it_fixture *f = *state;
	char *same = it_url(&f->srv, "/data/same.bin?size=100&etag=v1");
	char *moved = it_url(&f->srv, "/data/moved.bin?size=100&etag=v1");
	char *moved2 = it_url(&f->srv, "/data/moved.bin?size=200&etag=v2");
	char *list1 = it_path("%s\n%s out=moved.bin\n", same, moved);
	char *list2 = it_path("%s\n%s out=moved.bin\n", same, moved2);
	char *lp = it_path("%s/list.txt", f->tmp);
	const char *fetch[] = { "list.txt", NULL };
	const char *check[] = { "--check", "-N", "list.txt", NULL };
	struct it_result r;
	cJSON *res, *e;

	assert_int_equal(it_write_file(lp, list1, strlen(list1)), 0);
	res = it_run_json(f, fetch, 0, 2, &r);
	cJSON_Delete(res);
	it_result_free(&r);
	assert_int_equal(it_write_file(lp, list2, strlen(list2)), 0);
	res = it_run_json(f, check, 0, 2, &r);
	e = it_json_find_url(res, same);
	IT_ASSERT_JSTR(e, "status", "unchanged");
	IT_ASSERT_JNULL(e, "error");
	IT_ASSERT_JNUM(e, "http_status", 304);
	IT_ASSERT_JNULL(e, "bytes"); /* a 304 announces no size */
	e = it_json_find_url(res, moved2);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "bytes", 200);
	cJSON_Delete(res);
	it_result_free(&r);
	free(same);
	free(moved);
	free(moved2);
	free(list1);
	free(list2);
	free(lp);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, it_fixture_setup, \
					      it_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_check_heads),
		T(test_check_head_refused),
		T(test_check_empty_file),
		T(test_check_timestamping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
