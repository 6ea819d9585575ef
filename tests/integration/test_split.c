/* Integration: one large body over several ranged transfers (--split,
 * --min-split-size; fm_split.h). The test server honours Range with
 * If-Range (its etag=), or ignores it (norange=1); every body is checked
 * byte for byte on disk, and the server's log says which ranges were
 * asked and what it answered. */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "harness.h"

#define MIB (1024 * 1024)

/* Requests in the server's log that carried a Range, and of those the
 * ones answered 206 (*partial) and 200 (*whole). Each ranged request
 * must also carry If-Range want_if_range (when not NULL). */
static int ranged(const struct it_fixture *f, const char *want_if_range,
		  int *partial, int *whole)
{
	cJSON *log = it_server_log(&f->srv), *e;
	int n = 0;

	assert_non_null(log);
	*partial = *whole = 0;
	cJSON_ArrayForEach(e, log) {
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "status");

		if (!it_log_header(e, "range"))
			continue;
		n++;
		if (want_if_range)
			assert_string_equal(it_log_header(e, "if-range"),
					    want_if_range);
		if (cJSON_IsNumber(st) && st->valueint == 206)
			(*partial)++;
		if (cJSON_IsNumber(st) && st->valueint == 200)
			(*whole)++;
	}
	cJSON_Delete(log);
	return n;
}

/* Runs fetchmany on one URL (path and query on the test server) with
 * args, wants one result with status want, and returns it (the caller
 * frees *res). */
static cJSON *run_one(const struct it_fixture *f, const char *pq,
		      const char *const args[], int want_exit,
		      const char *want, cJSON **res)
{
	char *url = it_url(&f->srv, pq);
	const char *argv[16];
	struct it_result r;
	cJSON *line;
	int n = 0;

	for (; args[n]; n++)
		argv[n] = args[n];
	argv[n++] = url;
	argv[n] = NULL;
	*res = it_run_json(f, argv, want_exit, 1, &r);
	line = cJSON_GetArrayItem(*res, 0);
	if (strcmp(it_json_str(line, "status"), want) != 0) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("status %s, want %s", it_json_str(line, "status"),
			 want);
	}
	it_result_free(&r);
	free(url);
	return line;
}

/* a) A 64 MiB body with an ETag from a server that sends 32 MiB a second
 * per connection, --split 4: it is cut (the server answered ranged
 * requests, each with If-Range, with 206, several at once) and arrives
 * byte for byte under its name; the server never had more than 4 of its
 * requests at once. */
static void test_split_arrives_whole(void **state)
{
	const struct it_fixture *f = *state;
	const char *args[] = {"--split", "4", "--min-split-size", "1M", NULL};
	char *file = it_path("%s/dl/big", f->tmp);
	int partial, whole, n;
	cJSON *res, *line;

	line = run_one(f, "/data/big?size=67108864&etag=v1&rate=33554432", args,
		       0, "ok", &res);
	assert_int_equal(it_json_num(line, "bytes", NULL), 64 * MIB);
	assert_int_equal(it_json_num(line, "http_status", NULL), 200);
	assert_true(it_file_matches_body(file, "/data/big", 64 * MIB));
	n = ranged(f, "\"v1\"", &partial, &whole);
	fprintf(stderr, "# %d ranged requests, %d answered 206; at most %ld "
		"at once\n", n, partial,
		it_server_stat(&f->srv, "max_concurrent"));
	assert_true(partial >= 2);
	assert_int_equal(whole, 0);
	assert_true(it_server_stat(&f->srv, "max_concurrent_ranged") >= 2);
	assert_true(it_server_stat(&f->srv, "max_concurrent") <= 4);
	it_expect_no_part_dl(f);
	cJSON_Delete(res);
	free(file);
}

/* b) A server that ignores Range: the probe's 200 is dropped at its first
 * byte, nothing is cut, and the first transfer brings the whole body. */
static void test_split_server_ignores_range(void **state)
{
	const struct it_fixture *f = *state;
	const char *args[] = {"--split", "4", "--min-split-size", "1M", NULL};
	char *file = it_path("%s/dl/big", f->tmp);
	int partial, whole, n;
	cJSON *res;

	run_one(f, "/data/big?size=33554432&etag=v1&norange=1", args, 0, "ok",
		&res);
	assert_true(it_file_matches_body(file, "/data/big", 32 * MIB));
	n = ranged(f, "\"v1\"", &partial, &whole);
	assert_true(n <= 1); /* the probe, unless the body was done first */
	assert_int_equal(partial, 0);
	assert_int_equal(it_server_stat(&f->srv, "requests"), 1 + n);
	cJSON_Delete(res);
	free(file);
}

/* c) Small bodies are never cut: 12 files of 1.5 MiB with
 * --min-split-size 1M (a body is cut only from twice that size). */
static void test_small_files_never_split(void **state)
{
	const struct it_fixture *f = *state;
	struct it_buf b = {0};
	char *lp = it_path("%s/list.txt", f->tmp);
	const char *args[] = {"--split", "8", "--min-split-size", "1M",
			      "list.txt", NULL};
	struct it_result r;
	int partial, whole;
	cJSON *res;

	for (int i = 0; i < 12; i++) {
		char pq[64];
		char *url;

		snprintf(pq, sizeof(pq), "/data/s%02d?size=1572864&etag=e%d",
			 i, i);
		url = it_url(&f->srv, pq);
		it_buf_printf(&b, "%s\n", url);
		free(url);
	}
	assert_int_equal(it_write_file(lp, b.data, b.len), 0);
	res = it_run_json(f, args, 0, 12, &r);
	assert_int_equal(it_json_count_str(res, "status", "ok"), 12);
	assert_int_equal(ranged(f, NULL, &partial, &whole), 0);
	assert_int_equal(it_server_stat(&f->srv, "requests"), 12);
	cJSON_Delete(res);
	it_result_free(&r);
	free(b.data);
	free(lp);
}

/* d) Without a validator (no ETag, no Last-Modified) a body is never
 * cut: If-Range could not keep two versions apart. Nor under --split 1. */
static void test_no_validator_no_split(void **state)
{
	const struct it_fixture *f = *state;
	const char *args[] = {"--split", "4", "--min-split-size", "1M", NULL};
	const char *one[] = {"--split", "1", "--min-split-size", "1M", NULL};
	int partial, whole;
	cJSON *res;

	run_one(f, "/data/a?size=16777216", args, 0, "ok", &res);
	cJSON_Delete(res);
	run_one(f, "/data/b?size=16777216&etag=v1", one, 0, "ok", &res);
	cJSON_Delete(res);
	assert_int_equal(ranged(f, NULL, &partial, &whole), 0);
	assert_int_equal(it_server_stat(&f->srv, "requests"), 2);
}

/* Runs fetchmany on list.txt holding the one line "URL sha256=HEX" for
 * the test server's pq; returns its one result line (*res to free). */
static cJSON *run_digest(const struct it_fixture *f, const char *pq,
			 const char *hex, int want_exit, cJSON **res)
{
	const char *args[] = {"--split", "4", "--min-split-size", "1M",
			      "list.txt", NULL};
	char *url = it_url(&f->srv, pq);
	char *lp = it_path("%s/list.txt", f->tmp);
	struct it_buf b = {0};
	struct it_result r;

	it_buf_printf(&b, "%s sha256=%s\n", url, hex);
	assert_int_equal(it_write_file(lp, b.data, b.len), 0);
	*res = it_run_json(f, args, want_exit, 1, &r);
	it_result_free(&r);
	free(b.data);
	free(lp);
	free(url);
	return cJSON_GetArrayItem(*res, 0);
}

/* e) The digest of a cut body: the right one passes (and is reported),
 * a wrong one fails the entry and leaves no file. */
static void test_split_digest(void **state)
{
	const struct it_fixture *f = *state;
	const char *pq = "/data/big?size=33554432&etag=v1";
	char *file = it_path("%s/dl/big", f->tmp);
	char hex[65];
	cJSON *res, *line;

	assert_int_equal(it_server_sha256(&f->srv, "/data/big", 32 * MIB, hex),
			 0);
	line = run_digest(f, pq, hex, 0, &res);
	assert_string_equal(it_json_str(line, "status"), "ok");
	assert_string_equal(it_json_str(line, "sha256"), hex);
	assert_true(it_file_matches_body(file, "/data/big", 32 * MIB));
	cJSON_Delete(res);
	assert_int_equal(remove(file), 0);
	hex[10] = hex[10] == '0' ? '1' : '0'; /* one digit off */
	line = run_digest(f, pq, hex, 1, &res);
	assert_string_equal(it_json_str(line, "status"), "failed");
	assert_non_null(strstr(it_json_str(line, "error"), "sha256 mismatch"));
	assert_false(it_exists(file));
	it_expect_no_part_dl(f);
	cJSON_Delete(res);
	free(file);
}

/* g) A body behind a redirect to another host is cut there, but the
 * entry's credentials (-H Authorization) go only to its own host, as
 * libcurl does for the redirected request itself. */
static void test_split_foreign_host_no_credentials(void **state)
{
	const struct it_fixture *f = *state;
	char *target = NULL, *pq, *q;
	const char *args[] = {"--split", "4", "--min-split-size", "1M", "-H",
			      "Authorization: Bearer secret", NULL};
	char *file = it_path("%s/dl/redirect", f->tmp);
	cJSON *res, *log, *e;
	int there = 0, ranged_there = 0;

	target = it_path("http://localhost:%d/data/big?size=33554432&etag=v1"
			 "&rate=33554432",
			 f->srv.port);
	q = it_qenc(target);
	pq = it_path("/redirect?to=%s", q);
	run_one(f, pq, args, 0, "ok", &res);
	assert_true(it_file_matches_body(file, "/data/big", 32 * MIB));
	log = it_server_log(&f->srv);
	assert_non_null(log);
	cJSON_ArrayForEach(e, log) {
		const char *host = it_log_header(e, "host");

		if (!host || strncmp(host, "localhost", 9) != 0)
			continue;
		there++;
		ranged_there += it_log_header(e, "range") != NULL;
		assert_null(it_log_header(e, "authorization"));
	}
	fprintf(stderr, "# %d requests to localhost, %d of them ranged\n",
		there, ranged_there);
	assert_true(ranged_there >= 1);
	cJSON_Delete(log);
	cJSON_Delete(res);
	free(target);
	free(q);
	free(pq);
	free(file);
}

/* f) --per-host holds for segments too: --split 8 under --per-host 2
 * never has more than 2 requests at the server at once. */
static void test_split_per_host(void **state)
{
	const struct it_fixture *f = *state;
	const char *args[] = {"--split", "8", "--per-host", "2",
			      "--min-split-size", "1M", NULL};
	char *file = it_path("%s/dl/big", f->tmp);
	cJSON *res;

	run_one(f, "/data/big?size=33554432&etag=v1&rate=33554432", args, 0,
		"ok", &res);
	assert_true(it_file_matches_body(file, "/data/big", 32 * MIB));
	assert_int_equal(it_host_peak(f, "127.0.0.1"), 2);
	cJSON_Delete(res);
	free(file);
}

/* The ranges a cut body's .part records as on disk (its
 * user.fetchmany.ranges): their count, and their bytes in *bytes; -1
 * when it has none. ranges[] receives up to max of them. */
static int part_ranges(const char *part, long long *bytes,
		       long long ranges[][2], int max)
{
	char text[2048], *p;
	ssize_t n = getxattr(part, "user.fetchmany.ranges", text,
			     sizeof(text) - 1);
	int k = 0;

	*bytes = 0;
	if (n < 0)
		return -1;
	text[n] = '\0';
	p = strchr(text, ' ');
	while (p && *p) {
		long long a, b;

		if (sscanf(p + 1, "%lld-%lld", &a, &b) != 2)
			return -1;
		if (k < max) {
			ranges[k][0] = a;
			ranges[k][1] = b;
		}
		k++;
		*bytes += b - a;
		p = strchr(p + 1, ',');
	}
	return k;
}

/* h) -c after SIGINT: the interrupted cut body's .part records which of
 * its bytes are there, and the next run asks only for the others (every
 * request ranged, with If-Range, none overlapping a recorded range), then
 * names the file, byte for byte. */
static void test_split_resume_after_sigint(void **state)
{
	const struct it_fixture *f = *state;
	char *slow = it_url(&f->srv, "/data/big?size=33554432&etag=v1&stall=4");
	char *part = it_path("%s/dl/big.part", f->tmp);
	char *file = it_path("%s/dl/big", f->tmp);
	const char *argv[] = {it_bin(), "-c", "--split", "4",
			      "--min-split-size", "1M", "--json", "-o", "dl",
			      slow, NULL};
	const char *again[] = {"-c", "--split", "4", "--min-split-size", "1M",
			       NULL};
	long long done, asked = 0, ranges[64][2];
	struct it_result r;
	struct it_proc p;
	cJSON *log, *e, *res;
	int k, first, i = 0;

	assert_int_equal(it_proc_start(&p, argv, f->tmp, NULL), 0);
	/* the first transfer, the probe, and the cuts after it */
	assert_true(it_wait_requests(&f->srv, &p, 3, 20) >= 3);
	it_proc_pump_for(&p, 0.5); /* their first halves arrive */
	assert_int_equal(kill(p.pid, SIGINT), 0);
	it_proc_finish(&p, 20, &r);
	assert_int_equal(r.exit_code, 130);
	assert_non_null(strstr(r.out, "\"interrupted\""));
	it_result_free(&r);
	k = part_ranges(part, &done, ranges, 64);
	fprintf(stderr, "# the .part records %d ranges, %lld bytes\n", k,
		done);
	assert_true(k >= 1);
	assert_true(done > 0 && done < 33554432);
	first = (int)it_server_stat(&f->srv, "requests");

	run_one(f, "/data/big?size=33554432&etag=v1", again, 0, "ok", &res);
	assert_true(it_file_matches_body(file, "/data/big", 32 * MIB));
	assert_false(it_exists(part));
	log = it_server_log(&f->srv);
	cJSON_ArrayForEach(e, log) {
		const char *range;
		long long a, b;

		if (i++ < first)
			continue;
		range = it_log_header(e, "range");
		assert_non_null(range);
		assert_string_equal(it_log_header(e, "if-range"), "\"v1\"");
		assert_int_equal(sscanf(range, "bytes=%lld-%lld", &a, &b), 2);
		for (int j = 0; j < k && j < 64; j++)
			if (a < ranges[j][1] && b + 1 > ranges[j][0])
				fail_msg("asked %s, of which the .part has "
					 "%lld-%lld", range, ranges[j][0],
					 ranges[j][1]);
		asked += b + 1 - a;
	}
	/* a transfer cut in two asked for the part its cut took too */
	fprintf(stderr, "# the second run asked ranges of %lld bytes in all "
		"(%lld missing) in %d requests\n", asked, 33554432 - done,
		i - first);
	cJSON_Delete(log);
	cJSON_Delete(res);
	free(slow);
	free(part);
	free(file);
}

/* i) A segment that fails (the server resets its connection halfway) is
 * fetched again alone, from where it stopped, after its backoff: the
 * entry is ok in one attempt, the body was asked whole once only, and a
 * later ranged request begins inside the failed one's range. */
static void test_split_segment_retried_alone(void **state)
{
	const struct it_fixture *f = *state;
	const char *args[] = {"--split", "4", "--min-split-size", "1M",
			      "--backoff", "0.05", "--sha256", NULL};
	char *file = it_path("%s/dl/big", f->tmp);
	long long fa = -1, fb = -1;
	int plain = 0, inside = 0;
	cJSON *res, *line, *log, *e;

	line = run_one(f, "/data/big?size=33554432&etag=v1&rate=33554432"
			  "&fail_range=any&fail_times=1",
		       args, 0, "ok", &res);
	assert_int_equal(it_json_num(line, "attempts", NULL), 1);
	assert_true(it_file_matches_body(file, "/data/big", 32 * MIB));
	log = it_server_log(&f->srv);
	cJSON_ArrayForEach(e, log) {
		const char *range = it_log_header(e, "range");
		long long a, b;

		if (!range) {
			plain++;
			continue;
		}
		assert_int_equal(sscanf(range, "bytes=%lld-%lld", &a, &b), 2);
		if (fa < 0) { /* the first ranged one is the one that fails */
			fa = a;
			fb = b;
		} else if (a > fa && a <= fb) {
			inside++;
		}
	}
	fprintf(stderr, "# failed %lld-%lld; %d later requests inside it\n",
		fa, fb, inside);
	assert_int_equal(plain, 1);
	assert_true(inside >= 1);
	cJSON_Delete(log);
	cJSON_Delete(res);
	free(file);
}

/* j) The file changes on the server while it is cut (a new ETag from the
 * third request on): the segment that gets the new version's 200 stops
 * them all, nothing of the first version stays, and the entry starts
 * again (a second attempt) and delivers the new version whole. */
static void test_split_changed_restarts(void **state)
{
	const struct it_fixture *f = *state;
	const char *args[] = {"--split", "4", "--min-split-size", "1M",
			      "--backoff", "0.05", NULL};
	char *file = it_path("%s/dl/big", f->tmp);
	cJSON *res, *line;

	line = run_one(f, "/data/big?size=33554432&etag=v1&rate=33554432"
			  "&etag_after=2&etag2=v2",
		       args, 0, "ok", &res);
	assert_int_equal(it_json_num(line, "attempts", NULL), 2);
	assert_true(it_file_matches_body(file, "/data/big~2", 32 * MIB));
	it_expect_no_part_dl(f);
	cJSON_Delete(res);
	free(file);
}

/* k) Segments take only slots that no waiting entry can use: with a
 * large body first in a list of 20 small ones at -j 4, no ranged request
 * for it begins before the last small one has begun, and every entry is
 * ok. The last small one and the first segment may leave in one batch,
 * on two connections that race to the server: the server may see them
 * apart either way, by up to 10 ms on a quiet machine, more under a
 * sanitizer on a loaded one (30 ms allowed). A segment that took a slot
 * before a small one would begin at least one small answer's time (0.25
 * s, over 3 slots: 83 ms) before the last. */
static void test_split_small_files_first(void **state)
{
	const struct it_fixture *f = *state;
	char *lp = it_path("%s/list.txt", f->tmp);
	const char *args[] = {"-j", "4", "--split", "4", "--min-split-size",
			      "1M", "list.txt", NULL};
	struct it_buf b = {0};
	struct it_result r;
	double last_small = 0, first_ranged = 1e18;
	cJSON *res, *log, *e;
	char *url;

	/* 4 s at 8 MiB/s: still far from done when the small ones are */
	url = it_url(&f->srv, "/data/big?size=33554432&etag=v1&rate=8388608");
	it_buf_printf(&b, "%s\n", url);
	free(url);
	for (int i = 0; i < 20; i++) {
		char pq[64];

		snprintf(pq, sizeof(pq), "/data/s%02d?size=1000&delay=0.25", i);
		url = it_url(&f->srv, pq);
		it_buf_printf(&b, "%s\n", url);
		free(url);
	}
	assert_int_equal(it_write_file(lp, b.data, b.len), 0);
	res = it_run_json(f, args, 0, 21, &r);
	assert_int_equal(it_json_count_str(res, "status", "ok"), 21);
	log = it_server_log(&f->srv);
	cJSON_ArrayForEach(e, log) {
		double t = cJSON_GetNumberValue(
			cJSON_GetObjectItemCaseSensitive(e, "t_start"));

		if (it_log_header(e, "range")) {
			if (t < first_ranged)
				first_ranged = t;
		} else if (strncmp(cJSON_GetStringValue(
				   cJSON_GetObjectItemCaseSensitive(e, "path")),
				   "/data/s", 7) == 0 && t > last_small) {
			last_small = t;
		}
	}
	fprintf(stderr, "# first ranged request %.3f s after the last small "
		"one began\n", first_ranged - last_small);
	assert_true(first_ranged < 1e18); /* it was cut, at the end */
	assert_true(first_ranged >= last_small - 0.030);
	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(b.data);
	free(lp);
}

/* l) Several failed segments due at different times: each is fetched
 * again when its backoff is over (the segment timer is armed again for
 * the later ones), and the entry ends ok. Before, a timer armed only for
 * the first left the others waiting forever (3 runs in 4 hung). */
static void test_split_segments_due_apart(void **state)
{
	const struct it_fixture *f = *state;
	const char *args[] = {"--split", "4", "--min-split-size", "1M",
			      "--backoff", "0.3", NULL};
	char *file = it_path("%s/dl/big", f->tmp);
	cJSON *res;

	run_one(f, "/data/big?size=8388608&etag=v1&rate=8388608"
		   "&fail_range=any&fail_times=3",
		args, 0, "ok", &res);
	assert_true(it_file_matches_body(file, "/data/big", 8 * MIB));
	cJSON_Delete(res);
	free(file);
}

/* m) Where there is no O_TMPFILE a body goes to NAME.part even without
 * -c; cut, that .part has gaps, so it records its ranges from the start:
 * killed hard, it is never taken for a file written without a gap
 * (a later -c run would have named it, holes and all). */
static void test_split_part_records_without_tmpfile(void **state)
{
	const struct it_fixture *f = *state;
	const char *so = getenv("FM_NOTMPFILE");
	const char *asan = getenv("ASAN_OPTIONS");
	char *slow = it_url(&f->srv, "/data/big?size=33554432&etag=v1&stall=4");
	char *part = it_path("%s/dl/big.part", f->tmp);
	const char *argv[] = {it_bin(), "--split", "4", "--min-split-size",
			      "1M", "-o", "dl", slow, NULL};
	char *preload, *asan_opts;
	long long done, ranges[64][2];
	struct it_result r;
	struct it_proc p;
	int k;

	assert_non_null(so);
	preload = it_path("LD_PRELOAD=%s", so);
	asan_opts = it_path("ASAN_OPTIONS=%s%sverify_asan_link_order=0",
			    asan ? asan : "", asan && *asan ? ":" : "");
	{
		const char *env[] = {preload, asan_opts, NULL};

		assert_int_equal(it_proc_start(&p, argv, f->tmp, env), 0);
	}
	assert_true(it_wait_requests(&f->srv, &p, 3, 20) >= 3);
	it_proc_pump_for(&p, 0.5);
	assert_int_equal(kill(p.pid, SIGKILL), 0);
	it_proc_finish(&p, 20, &r);
	it_result_free(&r);
	assert_true(it_exists(part));
	k = part_ranges(part, &done, ranges, 64);
	fprintf(stderr, "# killed: the .part records %d ranges, %lld bytes\n",
		k, done);
	assert_true(k >= 0); /* the record is there */
	assert_true(done < 33554432);
	free(preload);
	free(asan_opts);
	free(slow);
	free(part);
}

/* n) A file that changed while cut is fetched whole on the next attempt:
 * no ranged request after the restart. */
static void test_split_whole_after_restart(void **state)
{
	const struct it_fixture *f = *state;
	const char *args[] = {"--split", "4", "--min-split-size", "1M",
			      "--backoff", "0.05", NULL};
	cJSON *res, *log, *e;
	int first_plain = 0, n = 0, ranged_after = 0;

	run_one(f, "/data/big?size=33554432&etag=v1&rate=33554432"
		   "&etag_after=2&etag2=v2",
		args, 0, "ok", &res);
	log = it_server_log(&f->srv);
	cJSON_ArrayForEach(e, log) {
		n++;
		if (!it_log_header(e, "range") && n > 1 && !first_plain)
			first_plain = n; /* the second attempt's request */
		else if (first_plain && it_log_header(e, "range"))
			ranged_after++;
	}
	assert_true(first_plain > 1);
	assert_int_equal(ranged_after, 0);
	cJSON_Delete(log);
	cJSON_Delete(res);
}

/* o) An entry that becomes ready while segments hold every slot (a line
 * that a producer writes on standard input later) takes one of their
 * slots at once: a segment gives back what it has not fetched (it goes
 * on later), instead of the entry waiting for one to end. The large body
 * still arrives byte for byte. */
static void test_split_yields_to_a_new_entry(void **state)
{
	const struct it_fixture *f = *state;
	const char *argv[] = {it_bin(), "--json", "-o", "dl", "-j", "4",
			      "--split", "4", "--min-split-size", "1M", "-",
			      NULL};
	char *big = it_url(&f->srv,
			   "/data/big?size=67108864&etag=v1&rate=8388608");
	char *small = it_url(&f->srv, "/data/late.txt?size=100");
	char *line1 = it_path("%s\n", big), *line2 = it_path("%s\n", small);
	char *file = it_path("%s/dl/big", f->tmp);
	struct it_proc p;
	struct it_result r;
	cJSON *log, *e, *res;
	double t_written = 0, t_small = -1;
	int bad;

	assert_int_equal(it_proc_start(&p, argv, f->tmp, NULL), 0);
	assert_int_equal(it_proc_write(&p, line1, 5), 0);
	/* the first transfer, the probe, and two cuts: every slot */
	assert_true(it_wait_requests(&f->srv, &p, 4, 20) >= 4);
	it_proc_pump_for(&p, 0.3);
	t_written = it_now();
	assert_int_equal(it_proc_write(&p, line2, 5), 0);
	it_proc_finish(&p, 60, &r);
	IT_ASSERT_EXIT(r, 0);
	res = it_jsonl_parse(r.out, &bad);
	assert_int_equal(bad, 0);
	assert_int_equal(it_json_count_str(res, "status", "ok"), 2);
	assert_true(it_file_matches_body(file, "/data/big", 64 * MIB));
	log = it_server_log(&f->srv);
	cJSON_ArrayForEach(e, log) {
		const char *path = it_json_str(e, "path");

		if (path && strstr(path, "late.txt"))
			t_small = cJSON_GetNumberValue(
				cJSON_GetObjectItemCaseSensitive(e,
								 "t_start"));
	}
	/* both clocks are CLOCK_MONOTONIC (Python's time.monotonic()) */
	fprintf(stderr, "# the late entry was asked %.3f s after it was "
		"written\n", t_small - t_written);
	assert_true(t_small > 0);
	if (t_small - t_written > 0.5) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("the late entry waited for a segment to end");
	}
	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r);
	free(big);
	free(small);
	free(line1);
	free(line2);
	free(file);
}

/* p) A body behind a redirect to a signed URL that expires (S3 answers
 * 403 once the signature's X-Amz-Expires is past; a release page
 * redirects to such URLs): a segment asked after the expiry asks the
 * entry's URL again and follows its new redirect, and so do the later
 * ones, instead of the body failing with what it has. Each signed URL
 * here serves two requests (the whole GET and the probe); the first cut
 * after them gets a 403, then the segments get 206s from new URLs. */
static void test_split_expired_redirect_asked_again(void **state)
{
	const struct it_fixture *f = *state;
	const char *args[] = {"--split", "4", "--min-split-size", "1M",
			      "--backoff", "0.05", NULL};
	char *file = it_path("%s/dl/presign", f->tmp);
	char *q = it_qenc("/data/big?size=33554432&etag=v1&rate=16777216"
			  "&expire_after=2");
	char *pq = it_path("/presign?to=%s", q);
	int expired = 0, resigned = 0;
	cJSON *res, *line, *log, *e;

	line = run_one(f, pq, args, 0, "ok", &res);
	assert_int_equal(it_json_num(line, "attempts", NULL), 1);
	assert_true(it_file_matches_body(file, "/data/big", 32 * MIB));
	log = it_server_log(&f->srv);
	assert_non_null(log);
	cJSON_ArrayForEach(e, log) {
		const char *path = it_json_str(e, "path");
		const char *sig = path ? strstr(path, "&sig=") : NULL;
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "status");

		if (!sig || strncmp(path, "/data/big", 9) != 0 ||
		    !cJSON_IsNumber(st))
			continue;
		if (st->valueint == 403)
			expired++;
		else if (st->valueint == 206 && atoi(sig + 5) >= 2)
			resigned++;
	}
	fprintf(stderr, "# %d segments got 403, %d got 206 from a URL signed "
		"again\n", expired, resigned);
	assert_true(expired >= 1);
	assert_true(resigned >= 1);
	it_expect_no_part_dl(f);
	cJSON_Delete(log);
	cJSON_Delete(res);
	free(q);
	free(pq);
	free(file);
}

/* q) A failed segment whose backoff ends while every slot is busy (-j 2,
 * --split 2: the other segment and a half cut from it hold both) waits
 * for a slot without spinning, and the entry ends ok. Before, the
 * segment timer was armed again at 0 ms from its own callback, which
 * libuv (1.44) runs again at once without ever polling: the run spun at
 * 100 % CPU, deaf to the slots coming back and to SIGTERM. */
static void test_split_due_while_slots_busy(void **state)
{
	const struct it_fixture *f = *state;
	const char *args[] = {"-j", "2", "--split", "2", "--min-split-size",
			      "1M", "--backoff", "0.05", NULL};
	char *file = it_path("%s/dl/big", f->tmp);
	cJSON *res;

	run_one(f, "/data/big?size=33554432&etag=v1&rate=33554432"
		   "&fail_range=any&fail_times=1",
		args, 0, "ok", &res);
	assert_true(it_file_matches_body(file, "/data/big", 32 * MIB));
	cJSON_Delete(res);
	free(file);
}

/* r) -c of a cut body's .part with gaps, where the server's file is now
 * shorter, as long as the .part's first range (same ETag): the request
 * for the first gap gets 416 with that total. That is no completed
 * .part: the body is fetched again from zero and is the server's, whole.
 * Before, the 416 named the .part, holes and all: "ok", 32 MiB of which
 * most were zeros. */
static void test_split_resume_416_with_gaps(void **state)
{
	const struct it_fixture *f = *state;
	char *slow = it_url(&f->srv, "/data/big?size=33554432&etag=v1&stall=4");
	char *part = it_path("%s/dl/big.part", f->tmp);
	char *file = it_path("%s/dl/big", f->tmp);
	const char *argv[] = {it_bin(), "-c", "--split", "4",
			      "--min-split-size", "1M", "--json", "-o", "dl",
			      slow, NULL};
	const char *again[] = {"-c", NULL};
	long long done, ranges[64][2];
	char pq[96];
	struct it_result r;
	struct it_proc p;
	cJSON *res, *line;
	int k;

	assert_int_equal(it_proc_start(&p, argv, f->tmp, NULL), 0);
	assert_true(it_wait_requests(&f->srv, &p, 3, 20) >= 3);
	it_proc_pump_for(&p, 0.5);
	assert_int_equal(kill(p.pid, SIGINT), 0);
	it_proc_finish(&p, 20, &r);
	assert_int_equal(r.exit_code, 130);
	it_result_free(&r);
	k = part_ranges(part, &done, ranges, 64);
	assert_true(k >= 2); /* a gap after the first range */
	assert_int_equal(ranges[0][0], 0);
	fprintf(stderr, "# the .part records %d ranges; the file is now %lld "
		"bytes\n", k, ranges[0][1]);

	snprintf(pq, sizeof(pq), "/data/big?size=%lld&etag=v1", ranges[0][1]);
	line = run_one(f, pq, again, 0, "ok", &res);
	IT_ASSERT_JNUM(line, "bytes", (double)ranges[0][1]);
	assert_true(it_file_matches_body(file, "/data/big",
					 (size_t)ranges[0][1]));
	assert_false(it_exists(part));
	cJSON_Delete(res);
	free(slow);
	free(part);
	free(file);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, it_fixture_setup, \
					      it_fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_split_arrives_whole),
		T(test_split_server_ignores_range),
		T(test_small_files_never_split),
		T(test_no_validator_no_split),
		T(test_split_digest),
		T(test_split_per_host),
		T(test_split_foreign_host_no_credentials),
		T(test_split_resume_after_sigint),
		T(test_split_segment_retried_alone),
		T(test_split_changed_restarts),
		T(test_split_small_files_first),
		T(test_split_segments_due_apart),
		T(test_split_part_records_without_tmpfile),
		T(test_split_whole_after_restart),
		T(test_split_yields_to_a_new_entry),
		T(test_split_expired_redirect_asked_again),
		T(test_split_due_while_slots_busy),
		T(test_split_resume_416_with_gaps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
