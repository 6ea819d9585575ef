/* Integration: digests (spec 2 and 4, man --sha256 and sha256=,
 * sha512=, sha1=, md5=): an entry's digests are verified as the body
 * streams, in text and JSON lines, whole or fetched in segments; a
 * mismatch fails the entry ("sha256 mismatch: expected X, got Y"), is not
 * retried, writes no NAME, leaves no .part and an older NAME untouched;
 * --sha256 reports the right digest for bodies of every size, 0 bytes
 * included. Expected values of the other digests come from the real
 * coreutils tools over the server's bodies. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"

/* SHA-256 of the empty string. */
#define EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void server_sha(const struct it_fixture *f, const char *path,
		       size_t size, char hex[65])
{
	if (it_server_sha256(&f->srv, path, size, hex) != 0)
		fail_msg("/_sha256 for %s %zu failed", path, size);
}

static void write_list(const struct it_fixture *f, const char *text)
{
	char *lp = it_path("%s/list.txt", f->tmp);

	assert_int_equal(it_write_file(lp, text, strlen(text)), 0);
	free(lp);
}

/* A matching sha256= in a text line, in a JSON line, and in upper case:
 * all ok, the key reports the digest (in lower case). */
static void test_match_text_and_json(void **state)
{
	struct it_fixture *f = *state;
	char d1[65], d2[65], d3[65], up[65];
	char *u1 = it_url(&f->srv, "/data/m1.bin?size=5000");
	char *u2 = it_url(&f->srv, "/data/m2.bin?size=12345");
	char *u3 = it_url(&f->srv, "/data/m3.bin?size=70000");
	char *f1 = it_path("%s/dl/m1.bin", f->tmp);
	char *f2 = it_path("%s/dl/m2.bin", f->tmp);
	char *f3 = it_path("%s/dl/m3.bin", f->tmp);
	const char *args[] = { "-o", "dl", "list.txt", NULL };
	struct it_result r;
	struct it_buf list = { 0 };
	cJSON *res, *e;

	server_sha(f, "/data/m1.bin", 5000, d1);
	server_sha(f, "/data/m2.bin", 12345, d2);
	server_sha(f, "/data/m3.bin", 70000, d3);
	for (int i = 0; i < 65; i++)
		up[i] = (char)toupper((unsigned char)d3[i]);
	it_buf_printf(&list, "%s sha256=%s\n", u1, d1);
	it_buf_printf(&list, "{\"url\": \"%s\", \"sha256\": \"%s\"}\n", u2,
		      d2);
	it_buf_printf(&list, "%s   sha256=%s\n", u3, up);
	write_list(f, list.data);

	res = it_run_json_plain(f, args, 0, 3, &r);
	e = it_json_find_url(res, u1);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "sha256", d1);
	IT_ASSERT_JNULL(e, "error");
	IT_ASSERT_JNUM(e, "line", 1);
	e = it_json_find_url(res, u2);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "sha256", d2);
	IT_ASSERT_JNUM(e, "line", 2);
	e = it_json_find_url(res, u3);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "sha256", d3);
	assert_true(it_file_matches_body(f1, "/data/m1.bin", 5000));
	assert_true(it_file_matches_body(f2, "/data/m2.bin", 12345));
	assert_true(it_file_matches_body(f3, "/data/m3.bin", 70000));
	it_expect_no_part_dl(f);

	cJSON_Delete(res);
	it_result_free(&r);
	free(list.data);
	free(u1);
	free(u2);
	free(u3);
	free(f1);
	free(f2);
	free(f3);
}

/* A mismatch (text and JSON line): failed with both digests in the error,
 * one attempt, one request, no NAME, no .part; an older NAME is left as it
 * was; a good entry in the same run is ok. */
static void test_mismatch(void **state)
{
	struct it_fixture *f = *state;
	const char *pq_bad = "/data/bad.bin?size=5000";
	const char *pq_old = "/data/old.bin?size=8000";
	const char *pq_jb = "/data/jbad.bin?size=3000";
	char good[65], got_bad[65], got_old[65], got_jb[65], wrong[65];
	char *ub = it_url(&f->srv, pq_bad);
	char *uo = it_url(&f->srv, pq_old);
	char *uj = it_url(&f->srv, pq_jb);
	char *ug = it_url(&f->srv, "/data/good.bin?size=4000");
	char *dl = it_path("%s/dl", f->tmp);
	char *old = it_path("%s/dl/old.bin", f->tmp);
	const char *args[] = { "-o", "dl", "--backoff", "0.1", "list.txt",
			       NULL };
	struct it_result r;
	struct it_buf list = { 0 };
	cJSON *res, *e, *tree;
	char *want_err, *content;
	size_t len = 0;

	server_sha(f, "/data/good.bin", 4000, good);
	server_sha(f, "/data/bad.bin", 5000, got_bad);
	server_sha(f, "/data/old.bin", 8000, got_old);
	server_sha(f, "/data/jbad.bin", 3000, got_jb);
	/* A digest of another body: right form, wrong value. */
	server_sha(f, "/data/bad.bin", 4999, wrong);
	assert_string_not_equal(wrong, got_bad);

	assert_int_equal(mkdir(dl, 0755), 0);
	assert_int_equal(it_write_file(old, "older contents\n", 15), 0);
	it_buf_printf(&list, "%s sha256=%s\n", ub, wrong);
	it_buf_printf(&list, "%s sha256=%s\n", uo, wrong);
	it_buf_printf(&list, "{\"url\":\"%s\",\"sha256\":\"%s\"}\n", uj,
		      wrong);
	it_buf_printf(&list, "%s sha256=%s\n", ug, good);
	write_list(f, list.data);

	res = it_run_json_plain(f, args, 1, 4, &r);

	e = it_json_find_url(res, ub);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNUM(e, "http_status", 200);
	IT_ASSERT_JNUM(e, "attempts", 1);
	IT_ASSERT_JNUM(e, "bytes", 0);
	IT_ASSERT_JNULL(e, "path");
	IT_ASSERT_JSTR(e, "sha256", wrong);
	want_err = it_path("sha256 mismatch: expected %s, got %s", wrong,
			   got_bad);
	IT_ASSERT_JSTR(e, "error", want_err);
	free(want_err);
	it_assert_requests(f, &r, pq_bad, 1);

	e = it_json_find_url(res, uo);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNUM(e, "attempts", 1);
	want_err = it_path("sha256 mismatch: expected %s, got %s", wrong,
			   got_old);
	IT_ASSERT_JSTR(e, "error", want_err);
	free(want_err);
	it_assert_requests(f, &r, pq_old, 1);

	e = it_json_find_url(res, uj);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNUM(e, "attempts", 1);
	want_err = it_path("sha256 mismatch: expected %s, got %s", wrong,
			   got_jb);
	IT_ASSERT_JSTR(e, "error", want_err);
	free(want_err);
	it_assert_requests(f, &r, pq_jb, 1);

	e = it_json_find_url(res, ug);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "sha256", good);

	/* On disk: the good file and the untouched older file, nothing
	 * else. */
	content = it_read_file(old, &len);
	assert_non_null(content);
	assert_int_equal(len, 15);
	assert_memory_equal(content, "older contents\n", 15);
	free(content);
	tree = it_tree_list(dl);
	assert_non_null(tree);
	if (cJSON_GetArraySize(tree) != 2 || !it_tree_has(tree, "good.bin") ||
	    !it_tree_has(tree, "old.bin")) {
		char *t = cJSON_PrintUnformatted(tree);

		fail_msg("dl should hold good.bin and old.bin only: %s", t);
	}
	cJSON_Delete(tree);

	cJSON_Delete(res);
	it_result_free(&r);
	free(list.data);
	free(ub);
	free(uo);
	free(uj);
	free(ug);
	free(dl);
	free(old);
}

/* Under -c a wrong digest still removes the .part (man -c), here one
 * that was being resumed. */
static void test_mismatch_under_continue(void **state)
{
	struct it_fixture *f = *state;
	const char *pq = "/data/cm.bin?size=20000&etag=cm";
	char got[65], wrong[65];
	char *u = it_url(&f->srv, pq);
	char *dl = it_path("%s/dl", f->tmp);
	char *part = it_path("%s/dl/cm.bin.part", f->tmp);
	char *file = it_path("%s/dl/cm.bin", f->tmp);
	char *body = it_expected_body("/data/cm.bin", 20000);
	const char *args[] = { "-c", "-o", "dl", "list.txt", NULL };
	struct it_result r;
	cJSON *res, *e;
	char *line, *want_err;

	server_sha(f, "/data/cm.bin", 20000, got);
	server_sha(f, "/data/cm.bin", 19999, wrong);
	assert_int_equal(mkdir(dl, 0755), 0);
	assert_int_equal(it_write_file(part, body, 8000), 0);
	line = it_path("%s sha256=%s\n", u, wrong);
	write_list(f, line);

	res = it_run_json_plain(f, args, 1, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNUM(e, "attempts", 1);
	want_err = it_path("sha256 mismatch: expected %s, got %s", wrong,
			   got);
	IT_ASSERT_JSTR(e, "error", want_err);
	it_assert_requests(f, &r, pq, 1);
	assert_false(it_exists(part));
	assert_false(it_exists(file));
	assert_int_equal(it_count_files(dl), 0);

	cJSON_Delete(res);
	it_result_free(&r);
	free(want_err);
	free(line);
	free(body);
	free(u);
	free(dl);
	free(part);
	free(file);
}

/* --sha256 over 10 bodies of varied sizes, 0 bytes included: every
 * reported digest is the server's. All sizes are checked before the test
 * fails, so that one report names every wrong one. */
static void test_sha256_all_sizes(void **state)
{
	static const size_t sizes[] = { 0,     1,     2,      63,    64,
					65,    1000,  65535,  65537, 1000000 };
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	struct it_fixture *f = *state;
	char *urls[N];
	char want[N][65];
	struct it_buf list = { 0 }, errs = { 0 };
	const char *args[] = { "--sha256", "-o", "dl", "list.txt", NULL };
	struct it_result r;
	cJSON *res;

	for (size_t i = 0; i < N; i++) {
		char *pq = it_path("/data/s%zu.bin?size=%zu", i, sizes[i]);
		char *p = it_path("/data/s%zu.bin", i);

		urls[i] = it_url(&f->srv, pq);
		server_sha(f, p, sizes[i], want[i]);
		it_buf_printf(&list, "%s\n", urls[i]);
		free(pq);
		free(p);
	}
	assert_string_equal(want[0], EMPTY_SHA256);
	write_list(f, list.data);

	res = it_run_json_plain(f, args, 0, N, &r);
	for (size_t i = 0; i < N; i++) {
		const cJSON *e = it_json_find_url(res, urls[i]);
		const char *got = it_json_str(e, "sha256");
		char *file = it_path("%s/dl/s%zu.bin", f->tmp, i);
		char *p = it_path("/data/s%zu.bin", i);

		assert_non_null(e);
		IT_ASSERT_JSTR(e, "status", "ok");
		IT_ASSERT_JNUM(e, "bytes", sizes[i]);
		assert_true(it_file_matches_body(file, p, sizes[i]));
		if (!got || strcmp(got, want[i]) != 0)
			it_buf_printf(&errs, "\n  size %zu: sha256 %s, want %s",
				      sizes[i], got ? got : "(absent)",
				      want[i]);
		free(file);
		free(p);
	}
	if (errs.data) {
		it_dump(&r);
		fail_msg("--sha256 reported wrong digests:%s", errs.data);
	}

	cJSON_Delete(res);
	it_result_free(&r);
	for (size_t i = 0; i < N; i++)
		free(urls[i]);
	free(list.data);
}

/* An empty body is verified like any other: the right digest is ok, a
 * wrong one fails and writes nothing. */
static void test_empty_body_verified(void **state)
{
	struct it_fixture *f = *state;
	const char *pq_bad = "/data/e0.bin?size=0";
	char wrong[65];
	char *ugood = it_url(&f->srv, "/data/e1.bin?size=0");
	char *ubad = it_url(&f->srv, pq_bad);
	char *good = it_path("%s/dl/e1.bin", f->tmp);
	char *bad = it_path("%s/dl/e0.bin", f->tmp);
	const char *args[] = { "-o", "dl", "list.txt", NULL };
	struct it_result r;
	struct it_buf list = { 0 };
	cJSON *res, *e;
	const char *st;
	char *want_err;

	server_sha(f, "/data/e0.bin", 1, wrong);
	it_buf_printf(&list, "%s sha256=%s\n", ugood, EMPTY_SHA256);
	it_buf_printf(&list, "%s sha256=%s\n", ubad, wrong);
	write_list(f, list.data);

	res = it_run_json_plain(f, args, -1, 2, &r);
	e = it_json_find_url(res, ugood);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "sha256", EMPTY_SHA256);
	IT_ASSERT_JNUM(e, "bytes", 0);
	assert_true(it_exists(good));

	e = it_json_find_url(res, ubad);
	assert_non_null(e);
	want_err = it_path("sha256 mismatch: expected %s, got %s", wrong,
			   EMPTY_SHA256);
	st = it_json_str(e, "status");
	if (!st || strcmp(st, "failed") != 0) {
		it_dump(&r);
		fail_msg("empty body with a wrong sha256=: status \"%s\", want "
			 "\"failed\" (%s)", st ? st : "(absent)",
			 it_exists(bad) ? "and dl/e0.bin was written"
					: "dl/e0.bin not written");
	}
	IT_ASSERT_JSTR(e, "error", want_err);
	IT_ASSERT_JNUM(e, "attempts", 1);
	it_assert_requests(f, &r, pq_bad, 1);
	assert_false(it_exists(bad));
	it_expect_no_part_dl(f);
	IT_ASSERT_EXIT(r, 1);

	cJSON_Delete(res);
	it_result_free(&r);
	free(want_err);
	free(list.data);
	free(ugood);
	free(ubad);
	free(good);
	free(bad);
}

/* The digest that tool (md5sum, sha1sum, sha512sum) prints for the /data
 * body of path and size, written to a file in the fixture's directory. */
static void tool_digest(const struct it_fixture *f, const char *tool,
			const char *path, size_t size, char *hex, size_t cap)
{
	char *file = it_path("%s/body.tmp", f->tmp);

	assert_int_equal(it_write_body(file, path, size), 0);
	if (it_tool_digest(tool, file, hex, cap) != 0)
		fail_msg("%s over %s %zu failed", tool, path, size);
	assert_int_equal(remove(file), 0);
	free(file);
}

/* The line of the raw --json output whose record has url. */
static char *raw_line(const struct it_result *r, const char *url)
{
	char *key = it_path("{\"url\":\"%s\"", url);
	const char *p = strstr(r->out, key);
	char *line;

	if (!p)
		fail_msg("no record starts with %s", key);
	line = strndup(p, strcspn(p, "\n"));
	assert_non_null(line);
	free(key);
	return line;
}

/* The record of url in r's output (res parsed): ok, with exactly keys
 * in this order. */
static const cJSON *expect_ok_in_order(const struct it_result *r,
				       const cJSON *res, const char *url,
				       const char *const keys[])
{
	const cJSON *e = it_json_find_url(res, url);
	char *line = raw_line(r, url);

	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "ok");
	assert_true(it_json_keys_in_order(line, keys));
	free(line);
	return e;
}

/* sha512=, sha1= and md5= beside sha256=, in text and JSON lines: right
 * ones are ok and reported under their keys, after sha256 and in that
 * order (with --sha256, the computed sha256 first); one wrong digest
 * among right ones fails the entry, naming it with both values, after
 * one request and with nothing on disk. */
static void test_other_digests(void **state)
{
	struct it_fixture *f = *state;
	const char *pq_bad = "/data/o4.bin?size=3000";
	char md5[33], sha1[41], sha512[129], sha256[65];
	char md5_2[33], sha512_3[129], sha1_4[41], md5_4[33], wrong_md5[33];
	char *u1 = it_url(&f->srv, "/data/o1.bin?size=5000");
	char *u2 = it_url(&f->srv, "/data/o2.bin?size=777");
	char *u3 = it_url(&f->srv, "/data/o3.bin?size=70000");
	char *u4 = it_url(&f->srv, pq_bad);
	char *f1 = it_path("%s/dl/o1.bin", f->tmp);
	char *f2 = it_path("%s/dl/o2.bin", f->tmp);
	char *f3 = it_path("%s/dl/o3.bin", f->tmp);
	char *f4 = it_path("%s/dl/o4.bin", f->tmp);
	const char *args[] = { "--sha256", "-o", "dl", "list.txt", NULL };
	static const char *const k1[] = {
		"url", "path", "status", "http_status", "bytes", "seconds",
		"attempts", "error", "sha256", "sha1", "md5", "line", "source",
		NULL };
	static const char *const k2[] = {
		"url", "path", "status", "http_status", "bytes", "seconds",
		"attempts", "error", "sha256", "sha512", "md5", "line",
		"source", NULL };
	struct it_result r;
	struct it_buf list = { 0 };
	const cJSON *e;
	cJSON *res;
	char *want_err;

	tool_digest(f, "md5sum", "/data/o1.bin", 5000, md5, sizeof(md5));
	tool_digest(f, "sha1sum", "/data/o1.bin", 5000, sha1, sizeof(sha1));
	tool_digest(f, "sha512sum", "/data/o2.bin", 777, sha512,
		    sizeof(sha512));
	tool_digest(f, "md5sum", "/data/o2.bin", 777, md5_2, sizeof(md5_2));
	tool_digest(f, "sha512sum", "/data/o3.bin", 70000, sha512_3,
		    sizeof(sha512_3));
	tool_digest(f, "sha1sum", "/data/o4.bin", 3000, sha1_4,
		    sizeof(sha1_4));
	tool_digest(f, "md5sum", "/data/o4.bin", 3000, md5_4, sizeof(md5_4));
	tool_digest(f, "md5sum", "/data/o4.bin", 2999, wrong_md5,
		    sizeof(wrong_md5));
	server_sha(f, "/data/o1.bin", 5000, sha256);
	for (char *p = sha512_3; *p; p++)
		*p = (char)toupper((unsigned char)*p);

	it_buf_printf(&list, "%s md5=%s sha1=%s\n", u1, md5, sha1);
	it_buf_printf(&list, "{\"url\":\"%s\",\"md5\":\"%s\",\"sha512\":\"%s\"}\n",
		      u2, md5_2, sha512);
	it_buf_printf(&list, "%s sha512=%s\n", u3, sha512_3);
	it_buf_printf(&list, "%s sha1=%s md5=%s\n", u4, sha1_4, wrong_md5);
	write_list(f, list.data);

	res = it_run_json_plain(f, args, 1, 4, &r);

	e = expect_ok_in_order(&r, res, u1, k1);
	IT_ASSERT_JSTR(e, "md5", md5);
	IT_ASSERT_JSTR(e, "sha1", sha1);
	IT_ASSERT_JSTR(e, "sha256", sha256);
	assert_true(it_file_matches_body(f1, "/data/o1.bin", 5000));

	e = expect_ok_in_order(&r, res, u2, k2);
	IT_ASSERT_JSTR(e, "sha512", sha512);
	IT_ASSERT_JSTR(e, "md5", md5_2);
	assert_true(it_file_matches_body(f2, "/data/o2.bin", 777));

	/* given in upper case, reported in lower case */
	e = it_json_find_url(res, u3);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "ok");
	for (char *p = sha512_3; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	IT_ASSERT_JSTR(e, "sha512", sha512_3);
	assert_true(it_file_matches_body(f3, "/data/o3.bin", 70000));

	e = it_json_find_url(res, u4);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNUM(e, "attempts", 1);
	IT_ASSERT_JNULL(e, "path");
	IT_ASSERT_JSTR(e, "sha1", sha1_4);
	IT_ASSERT_JSTR(e, "md5", wrong_md5);
	want_err = it_path("md5 mismatch: expected %s, got %s", wrong_md5,
			   md5_4);
	IT_ASSERT_JSTR(e, "error", want_err);
	free(want_err);
	it_assert_requests(f, &r, pq_bad, 1);
	assert_false(it_exists(f4));
	it_expect_no_part_dl(f);

	cJSON_Delete(res);
	it_result_free(&r);
	free(list.data);
	free(u1);
	free(u2);
	free(u3);
	free(u4);
	free(f1);
	free(f2);
	free(f3);
	free(f4);
}

/* A malformed digest of any kind makes its line invalid, with a reason
 * that names the key and the length it must have; no request is made
 * for it, and the good line beside it is fetched. */
static void test_bad_digest_invalid(void **state)
{
	struct it_fixture *f = *state;
	static const struct {
		const char *fields;  /* after the URL; "{": a JSON line */
		const char *error;
	} bad[] = {
		{ "sha512=abc", "sha512 must be 128 hex digits" },
		{ "sha1=0123456789012345678901234567890123456789a",
		  "sha1 must be 40 hex digits" },
		{ "md5=0123456789abcdef0123456789abcdeg",
		  "md5 must be 32 hex digits" },
		{ "{\"md5\":\"00\"}", "md5 must be 32 hex digits" },
		{ "{\"sha1\":1}", "'sha1' must be a string" },
		{ "md5=00000000000000000000000000000000 "
		  "md5=00000000000000000000000000000000",
		  "duplicate key 'md5'" },
		{ "sha384=00", "unknown key 'sha384'" },
	};
	enum { N = sizeof(bad) / sizeof(bad[0]) };
	const char *args[] = { "list.txt", NULL };
	char *good = it_url(&f->srv, "/data/i0.bin?size=10");
	char *dl = it_path("%s/dl", f->tmp);
	struct it_buf list = { 0 };
	struct it_result r;
	cJSON *res, *e;

	for (int i = 0; i < N; i++) {
		char *u = it_path("%s/data/i%d.bin", f->srv.base, i + 1);

		if (bad[i].fields[0] == '{')
			it_buf_printf(&list, "{\"url\":\"%s\",%s\n", u,
				      bad[i].fields + 1);
		else
			it_buf_printf(&list, "%s %s\n", u, bad[i].fields);
		free(u);
	}
	it_buf_printf(&list, "%s\n", good);
	write_list(f, list.data);

	res = it_run_json(f, args, 1, N + 1, &r);
	for (int i = 0; i < N; i++) {
		e = it_json_find_num(res, "line", i + 1);
		assert_non_null(e);
		IT_ASSERT_JSTR(e, "status", "invalid");
		IT_ASSERT_JSTR(e, "error", bad[i].error);
		IT_ASSERT_JNUM(e, "attempts", 0);
		IT_ASSERT_JNULL(e, "http_status");
	}
	e = it_json_find_url(res, good);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "ok");
	assert_int_equal(it_requests_for(f, "/data/i0.bin?size=10"), 1);
	assert_int_equal(it_server_stat(&f->srv, "requests"), 1);
	it_expect_tree(dl, (const char *const[]){ "i0.bin", NULL });

	cJSON_Delete(res);
	it_result_free(&r);
	free(list.data);
	free(good);
	free(dl);
}

/* The segmented path: a 16 MiB body fetched over ranged requests
 * (--split 4 --min-split-size 1M) with sha512= and sha1=: both verified
 * over the whole file (hashed as segments complete, the rest read
 * back), reported; a wrong sha512 fails it and leaves nothing. */
static void test_split_sha512(void **state)
{
	struct it_fixture *f = *state;
	const char *pq = "/data/sp.iso?size=16777216&etag=v1&rate=16777216";
	const size_t size = 16777216;
	const char *args[] = { "--split", "4", "--min-split-size", "1M",
			       "-o", "dl", "list.txt", NULL };
	char sha512[129], sha1[41], *want_err;
	char *u = it_url(&f->srv, pq);
	char *file = it_path("%s/dl/sp.iso", f->tmp);
	struct it_result r;
	cJSON *res, *e, *log, *req;
	char *line;
	int partial = 0;

	tool_digest(f, "sha512sum", "/data/sp.iso", size, sha512,
		    sizeof(sha512));
	tool_digest(f, "sha1sum", "/data/sp.iso", size, sha1, sizeof(sha1));
	line = it_path("%s sha512=%s sha1=%s\n", u, sha512, sha1);
	write_list(f, line);
	free(line);

	res = it_run_json_plain(f, args, 0, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "sha512", sha512);
	IT_ASSERT_JSTR(e, "sha1", sha1);
	IT_ASSERT_JNUM(e, "bytes", size);
	assert_true(it_file_matches_body(file, "/data/sp.iso", size));
	log = it_server_log(&f->srv);
	assert_non_null(log);
	cJSON_ArrayForEach(req, log) {
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(req,
								  "status");

		if (it_log_header(req, "range") && cJSON_IsNumber(st) &&
		    st->valueint == 206)
			partial++;
	}
	cJSON_Delete(log);
	if (partial < 2) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("the body was not fetched in segments (%d ranged "
			 "206 answers)", partial);
	}
	cJSON_Delete(res);
	it_result_free(&r);

	assert_int_equal(remove(file), 0);
	want_err = it_path("sha512 mismatch: expected %s, got %s",
			   "0000000000000000000000000000000000000000000000000000000000000000"
			   "0000000000000000000000000000000000000000000000000000000000000000",
			   sha512);
	line = it_path("%s sha512=%0128d\n", u, 0);
	write_list(f, line);
	free(line);
	res = it_run_json_plain(f, args, 1, 1, &r);
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JSTR(e, "error", want_err);
	IT_ASSERT_JNUM(e, "attempts", 1);
	assert_false(it_exists(file));
	it_expect_no_part_dl(f);

	cJSON_Delete(res);
	it_result_free(&r);
	free(want_err);
	free(file);
	free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_match_text_and_json,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_mismatch,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_mismatch_under_continue,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_sha256_all_sizes,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_empty_body_verified,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_other_digests,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_bad_digest_invalid,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_split_sha512,
						it_fixture_setup,
						it_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
