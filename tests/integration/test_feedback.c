/* Integration: a run's --json output is itself a valid list: fed back
 * (as a file, or on standard input), it downloads the same URLs into the
 * same paths, keeping out= and the digests (sha256=, sha512=, sha1=,
 * md5=), and never an entry's headers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define N_ENT 4

struct ent {
	const char *pq;     /* path and query */
	const char *upath;  /* path without query */
	size_t size;
	const char *file;   /* expected file below the scratch directory */
};

static const struct ent ents[N_ENT] = {
	{ "/data/j1.bin?size=3000", "/data/j1.bin", 3000, "dl/sub/one.bin" },
	{ "/data/j2.bin?size=100", "/data/j2.bin", 100, "dl/j2.bin" },
	{ "/data/j3.bin?size=5000", "/data/j3.bin", 5000, "dl/j3.bin" },
	{ "/data/j4.bin?size=10", "/data/j4.bin", 10, "dl/four.bin" },
};

static void check_files(const struct it_fixture *f)
{
	cJSON *tree;
	char *dl = it_path("%s/dl", f->tmp);

	for (int i = 0; i < N_ENT; i++) {
		char *p = it_path("%s/%s", f->tmp, ents[i].file);

		assert_true(it_file_matches_body(p, ents[i].upath,
						 ents[i].size));
		free(p);
	}
	tree = it_tree_list(dl);
	assert_non_null(tree);
	assert_int_equal(it_tree_count_suffix(tree, ".part"), 0);
	cJSON_Delete(tree);
	free(dl);
}

/* Compares run 2's records with run 1's: same url, out, path, sha256. */
static void check_same(const cJSON *run1, const cJSON *run2,
		       const char *source)
{
	const cJSON *a;
	static const char *const keys[] = { "out", "path", "sha256", NULL };

	assert_int_equal(cJSON_GetArraySize(run2), N_ENT);
	cJSON_ArrayForEach(a, run1) {
		const char *url = it_json_str(a, "url");
		const cJSON *b = it_json_find_url(run2, url);

		if (!b)
			fail_msg("re-run has no record for %s", url);
		IT_ASSERT_JSTR(b, "status", "ok");
		IT_ASSERT_JSTR(b, "source", source);
		for (int k = 0; keys[k]; k++) {
			const cJSON *va =
				cJSON_GetObjectItemCaseSensitive(a, keys[k]);
			const cJSON *vb =
				cJSON_GetObjectItemCaseSensitive(b, keys[k]);

			if (!va && !vb)
				continue;
			if (!va || !vb || !cJSON_Compare(va, vb, 1))
				fail_msg("%s: \"%s\" differs between the run "
					 "and its re-run", url, keys[k]);
		}
	}
}

static void test_feedback_loop(void **state)
{
	struct it_fixture *f = *state;
	struct it_buf list = { 0 };
	struct it_result r1, r2, r3;
	char *lp = it_path("%s/list.txt", f->tmp);
	char *rp = it_path("%s/run1.jsonl", f->tmp);
	char *dl = it_path("%s/dl", f->tmp);
	char *url[N_ENT];
	char digest[65];
	const char *argv1[] = { it_bin(), "--json", "-o", "dl", "list.txt",
				NULL };
	const char *argv2[] = { it_bin(), "--json", "-o", "dl", "run1.jsonl",
				NULL };
	const char *argv3[] = { it_bin(), "--json", "-o", "dl", "-", NULL };
	cJSON *run1, *run2, *run3, *log, *e;
	int bad, rc;

	for (int i = 0; i < N_ENT; i++)
		url[i] = it_url(&f->srv, ents[i].pq);
	assert_int_equal(it_server_sha256(&f->srv, "/data/j3.bin", 5000,
					  digest), 0);
	it_buf_printf(&list, "%s out=sub/one.bin\n", url[0]);
	it_buf_printf(&list, "%s\n", url[1]);
	it_buf_printf(&list, "%s sha256=%s\n", url[2], digest);
	it_buf_printf(&list, "{\"url\": \"%s\", \"out\": \"four.bin\"}\n",
		      url[3]);
	assert_int_equal(it_write_file(lp, list.data, list.len), 0);

	/* Run 1. */
	rc = it_run(argv1, NULL, f->tmp, &r1);
	IT_ASSERT_RAN(rc, r1);
	run1 = it_check_json(f, &r1, 0, N_ENT);
	cJSON_ArrayForEach(e, run1)
		IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(it_json_find_url(run1, url[0]), "path",
		       "dl/sub/one.bin");
	IT_ASSERT_JSTR(it_json_find_url(run1, url[2]), "sha256", digest);
	IT_ASSERT_JSTR(it_json_find_url(run1, url[3]), "path", "dl/four.bin");
	check_files(f);

	/* Run 2: run 1's output as a list file, into a fresh directory. */
	assert_int_equal(it_write_file(rp, r1.out, r1.out_len), 0);
	assert_int_equal(it_rmtree(dl), 0);
	rc = it_run(argv2, NULL, f->tmp, &r2);
	IT_ASSERT_RAN(rc, r2);
	IT_ASSERT_EXIT(r2, 0);
	run2 = it_jsonl_parse(r2.out, &bad);
	assert_int_equal(bad, 0);
	check_same(run1, run2, "run1.jsonl");
	check_files(f);

	/* Run 3: the same on standard input. */
	assert_int_equal(it_rmtree(dl), 0);
	rc = it_run(argv3, r1.out, f->tmp, &r3);
	IT_ASSERT_RAN(rc, r3);
	IT_ASSERT_EXIT(r3, 0);
	run3 = it_jsonl_parse(r3.out, &bad);
	assert_int_equal(bad, 0);
	check_same(run1, run3, "-");
	check_files(f);

	/* Every URL fetched once per run. */
	log = it_server_log(&f->srv);
	assert_non_null(log);
	for (int i = 0; i < N_ENT; i++)
		assert_int_equal(it_log_count(log, ents[i].pq), 3);
	assert_int_equal(cJSON_GetArraySize(log), 3 * N_ENT);

	cJSON_Delete(log);
	cJSON_Delete(run1);
	cJSON_Delete(run2);
	cJSON_Delete(run3);
	it_result_free(&r1);
	it_result_free(&r2);
	it_result_free(&r3);
	for (int i = 0; i < N_ENT; i++)
		free(url[i]);
	free(list.data);
	free(lp);
	free(rp);
	free(dl);
}

/* The other digests survive the loop: a record with sha512 and md5 is
 * fetched and verified again, reported the same; a record that failed
 * its sha1 fails again with the same mismatch (the expected sha1 was
 * read back, not lost). */
static void test_feedback_keeps_digests(void **state)
{
	struct it_fixture *f = *state;
	char sha512[129], md5[33], sha1[41];
	char *ua = it_url(&f->srv, "/data/k1.bin?size=4000");
	char *ub = it_url(&f->srv, "/data/k2.bin?size=500");
	char *body = it_path("%s/body.tmp", f->tmp);
	char *lp = it_path("%s/list.txt", f->tmp);
	char *rp = it_path("%s/run1.jsonl", f->tmp);
	char *dl = it_path("%s/dl", f->tmp);
	const char *argv1[] = { it_bin(), "--json", "-o", "dl", "list.txt",
				NULL };
	const char *argv2[] = { it_bin(), "--json", "-o", "dl", "run1.jsonl",
				NULL };
	static const char *const keys[] = { "status", "error", "sha256",
					    "sha512", "sha1", "md5", "path",
					    NULL };
	struct it_buf list = { 0 };
	struct it_result r1, r2;
	cJSON *run1, *run2, *a, *b;
	int rc;

	assert_int_equal(it_write_body(body, "/data/k1.bin", 4000), 0);
	assert_int_equal(it_tool_digest("sha512sum", body, sha512,
					sizeof(sha512)), 0);
	assert_int_equal(it_tool_digest("md5sum", body, md5, sizeof(md5)), 0);
	/* the sha1 of k1's body, not k2's: a mismatch for k2 */
	assert_int_equal(it_tool_digest("sha1sum", body, sha1, sizeof(sha1)),
			 0);
	it_buf_printf(&list, "%s sha512=%s md5=%s\n", ua, sha512, md5);
	it_buf_printf(&list, "%s sha1=%s\n", ub, sha1);
	assert_int_equal(it_write_file(lp, list.data, list.len), 0);

	rc = it_run(argv1, NULL, f->tmp, &r1);
	IT_ASSERT_RAN(rc, r1);
	run1 = it_check_json(f, &r1, 1, 2);
	a = it_json_find_url(run1, ua);
	assert_non_null(a);
	IT_ASSERT_JSTR(a, "status", "ok");
	IT_ASSERT_JSTR(a, "sha512", sha512);
	IT_ASSERT_JSTR(a, "md5", md5);
	b = it_json_find_url(run1, ub);
	assert_non_null(b);
	IT_ASSERT_JSTR(b, "status", "failed");
	IT_ASSERT_JSTR(b, "sha1", sha1);
	assert_non_null(strstr(it_json_str(b, "error"), "sha1 mismatch"));

	assert_int_equal(it_write_file(rp, r1.out, r1.out_len), 0);
	assert_int_equal(it_rmtree(dl), 0);
	rc = it_run(argv2, NULL, f->tmp, &r2);
	IT_ASSERT_RAN(rc, r2);
	run2 = it_check_json(f, &r2, 1, 2);
	cJSON_ArrayForEach(a, run1) {
		b = it_json_find_url(run2, it_json_str(a, "url"));
		assert_non_null(b);
		for (int k = 0; keys[k]; k++) {
			const cJSON *va =
				cJSON_GetObjectItemCaseSensitive(a, keys[k]);
			const cJSON *vb =
				cJSON_GetObjectItemCaseSensitive(b, keys[k]);

			if ((va || vb) && (!va || !vb || !cJSON_Compare(va, vb, 1))) {
				it_dump(&r2);
				fail_msg("%s: \"%s\" differs between the run "
					 "and its re-run", it_json_str(a, "url"),
					 keys[k]);
			}
		}
	}
	assert_int_equal(it_requests_for(f, "/data/k1.bin?size=4000"), 2);
	assert_int_equal(it_requests_for(f, "/data/k2.bin?size=500"), 2);

	cJSON_Delete(run1);
	cJSON_Delete(run2);
	it_result_free(&r1);
	it_result_free(&r2);
	free(list.data);
	free(ua);
	free(ub);
	free(body);
	free(lp);
	free(rp);
	free(dl);
}

/* An entry's headers are not part of its result: the record of an entry
 * sent with header= (a failure, as one fed back to retry it would be)
 * holds neither the header nor its value, so the retry fed back from it
 * goes without them: the server sees the first request carry the
 * header and the second not. Credentials never land in a results file. */
static void test_feedback_without_headers(void **state)
{
	struct it_fixture *f = *state;
	const char *pq = "/data/hdr.bin?size=64&fail=1&fail_status=404";
	char *u = it_url(&f->srv, pq);
	char *list = it_path("%s out=h/one.bin header=\"X-Secret: s3cr3t\" "
			     "header=\"Authorization: Bearer t0ken\"\n", u);
	const char *argv1[] = { it_bin(), "--json", "-o", "dl", "list.txt",
				NULL };
	const char *argv2[] = { it_bin(), "--json", "-o", "dl", "-", NULL };
	struct it_result r1, r2;
	cJSON *run1, *run2, *log;
	const cJSON *e;

	it_write_list(f, list);
	IT_ASSERT_RAN(it_run(argv1, NULL, f->tmp, &r1), r1);
	run1 = it_check_json(f, &r1, 1, 1);
	e = cJSON_GetArrayItem(run1, 0);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JSTR(e, "out", "h/one.bin");
	if (cJSON_GetObjectItemCaseSensitive(e, "headers") ||
	    strstr(r1.out, "s3cr3t") || strstr(r1.out, "t0ken") ||
	    strstr(r1.out, "X-Secret")) {
		it_dump(&r1);
		fail_msg("the result record holds the entry's headers");
	}

	IT_ASSERT_RAN(it_run(argv2, r1.out, f->tmp, &r2), r2);
	run2 = it_check_json(f, &r2, 0, 1);
	IT_ASSERT_JSTR(cJSON_GetArrayItem(run2, 0), "status", "ok");
	IT_ASSERT_JSTR(cJSON_GetArrayItem(run2, 0), "path", "dl/h/one.bin");

	log = it_server_log(&f->srv);
	assert_non_null(log);
	assert_int_equal(it_log_count(log, pq), 2);
	e = it_log_entry(log, pq, 0);
	assert_string_equal(it_log_header(e, "x-secret"), "s3cr3t");
	assert_string_equal(it_log_header(e, "authorization"), "Bearer t0ken");
	e = it_log_entry(log, pq, 1);
	assert_null(it_log_header(e, "x-secret"));
	assert_null(it_log_header(e, "authorization"));

	cJSON_Delete(log);
	cJSON_Delete(run1);
	cJSON_Delete(run2);
	it_result_free(&r1);
	it_result_free(&r2);
	free(u);
	free(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_feedback_loop,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_feedback_keeps_digests,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_feedback_without_headers,
						it_fixture_setup,
						it_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
