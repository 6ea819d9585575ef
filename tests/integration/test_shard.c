/* Integration: --shard K/N (spec 9) and --dry-run (spec 10).
 *
 * Shards are checked against a 64-bit FNV-1a computed here, of the URL
 * token exactly as written in a text line, of the decoded url of a JSON
 * entry, or of a URL argument; three real runs (1/3, 2/3, 3/3) must fetch
 * disjoint sets that cover the list, each URL fetched once at the server.
 * A dry run makes no request and creates no directory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define NURLS 300
#define NSHARDS 3

static uint64_t fnv1a64(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (; *s; s++) {
		h ^= (uint64_t)(unsigned char)*s;
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

/* The shard (1..n) that owns the hashed bytes s. */
static int owner(const char *s, int n)
{
	return (int)(fnv1a64(s) % (uint64_t)n) + 1;
}

/* ------------------------------------------------------- real shards */

struct entry {
	char url[160];   /* the URL (decoded, for JSON lines) */
	char pq[64];     /* path and query at the server */
	char upath[32];  /* /data/sNNN.bin */
	int size;
	int kind;        /* 0 plain, 1 JSON with \/ escapes, 2 fields, 3 tab/CR */
	int want;        /* expected shard, 1..3 */
	int seen;        /* shard that reported it, 0 = none */
};

/* Builds the 300-entry list (text lines, text lines with surrounding
 * space and fields, JSON lines whose url uses \/ escapes) and writes it
 * to list.txt. */
static void build_list(const struct it_fixture *f, struct entry *es)
{
	struct it_buf b = { 0 };
	char *list = it_path("%s/list.txt", f->tmp);
	int diff_json = 0, diff_fields = 0;

	it_buf_printf(&b, "# %d entries for --shard\n\n", NURLS);
	for (int i = 0; i < NURLS; i++) {
		struct entry *e = &es[i];

		e->size = 10 + i % 50;
		e->kind = i % 10 == 3 ? 1 : i % 10 == 7 ? 2 : i % 10 == 5 ? 3
									  : 0;
		snprintf(e->upath, sizeof(e->upath), "/data/s%03d.bin", i);
		snprintf(e->pq, sizeof(e->pq), "%s?size=%d", e->upath,
			 e->size);
		snprintf(e->url, sizeof(e->url), "%s%s", f->srv.base, e->pq);
		e->want = owner(e->url, NSHARDS);
		e->seen = 0;
		switch (e->kind) {
		case 1: {
			/* "http:\/\/127.0.0.1:P\/data\/sNNN.bin?size=S" */
			char esc[200];
			size_t k = 0;

			for (const char *p = e->url; *p && k < 190; p++) {
				if (*p == '/')
					esc[k++] = '\\';
				esc[k++] = *p;
			}
			esc[k] = '\0';
			it_buf_printf(&b, "{\"url\": \"%s\"}\n", esc);
			if (owner(esc, NSHARDS) != e->want)
				diff_json++;
			break;
		}
		case 2: {
			char *line = it_path("%s   out=o/s%03d.out", e->url,
					     i);

			/* The whole "URL  fields" would hash elsewhere. */
			if (owner(line, NSHARDS) != e->want)
				diff_fields++;
			free(line);
			it_buf_printf(&b, "   %s   out=o/s%03d.out  \n", e->url,
				      i);
			break;
		}
		case 3:
			it_buf_printf(&b, "\t%s\r\n", e->url);
			break;
		default:
			it_buf_printf(&b, "%s\n", e->url);
			break;
		}
	}
	/* The list would catch an implementation hashing the raw JSON text
	 * or the whole line. */
	assert_true(diff_json > 0);
	assert_true(diff_fields > 0);
	assert_int_equal(it_write_file(list, b.data, b.len), 0);
	free(b.data);
	free(list);
}

/* 1/3, 2/3, 3/3 of the same 300-entry list, real downloads into d1, d2,
 * d3: disjoint, covering, each as computed with FNV-1a, each URL fetched
 * exactly once at the server, every file byte-exact. */
static void test_shards_partition(void **state)
{
	struct it_fixture *f = *state;
	struct entry *es = calloc(NURLS, sizeof(*es));
	int counts[NSHARDS + 1] = { 0 };
	cJSON *log;

	assert_non_null(es);
	build_list(f, es);
	for (int i = 0; i < NURLS; i++)
		counts[es[i].want]++;
	fprintf(stderr, "# expected shard sizes: %d %d %d\n", counts[1],
		counts[2], counts[3]);

	for (int k = 1; k <= NSHARDS; k++) {
		char shard[16], out[8];
		const char *args[] = { "-j", "16", "--shard", shard,
				       "list.txt", NULL };
		struct it_result r;
		cJSON *res;
		const cJSON *e;
		int n = 0;

		snprintf(shard, sizeof(shard), "%d/%d", k, NSHARDS);
		snprintf(out, sizeof(out), "d%d", k);
		res = it_run_json_full(f, out, NULL, args, 0, -1, &r);
		cJSON_ArrayForEach(e, res) {
			const char *url = it_json_str(e, "url");
			const char *st = it_json_str(e, "status");
			const char *path = it_json_str(e, "path");
			int idx = -1;

			for (int i = 0; url && i < NURLS; i++)
				if (strcmp(es[i].url, url) == 0) {
					idx = i;
					break;
				}
			if (idx < 0) {
				it_dump(&r);
				fail_msg("shard %s reported an unknown url %s",
					 shard, url ? url : "(null)");
			}
			if (es[idx].seen) {
				it_dump(&r);
				fail_msg("%s was reported by shard %d/3 and "
					 "shard %s", url, es[idx].seen,
					 shard);
			}
			es[idx].seen = k;
			if (es[idx].want != k) {
				it_dump(&r);
				fail_msg("%s (%s line): FNV-1a mod 3 puts it in "
					 "shard %d/3, yet shard %s fetched it",
					 url,
					 es[idx].kind == 1 ? "JSON" : "text",
					 es[idx].want, shard);
			}
			if (!st || strcmp(st, "ok") != 0) {
				it_dump(&r);
				fail_msg("%s: want ok, got %s", url,
					 st ? st : "(none)");
			}
			assert_non_null(path);
			{
				char *full = it_path("%s/%s", f->tmp, path);

				if (!it_starts_with(path, out) ||
				    !it_file_matches_body(full, es[idx].upath,
							  (size_t)es[idx]
								  .size))
					fail_msg("shard %s: %s not written "
						 "right to %s", shard, url,
						 path);
				free(full);
			}
			n++;
		}
		if (n != counts[k]) {
			it_dump(&r);
			fail_msg("shard %s: want %d entries, got %d", shard,
				 counts[k], n);
		}
		{
			char *dir = it_path("%s/%s", f->tmp, out);

			assert_int_equal(it_count_files(dir), counts[k]);
			free(dir);
		}
		cJSON_Delete(res);
		it_result_free(&r);
	}

	/* Union: every entry reported by exactly one shard (the loop above
	 * refused a second report). */
	for (int i = 0; i < NURLS; i++)
		if (es[i].seen == 0)
			fail_msg("%s was fetched by no shard (FNV-1a says %d/3)",
				 es[i].url, es[i].want);

	/* The server saw each URL exactly once over the three runs. */
	log = it_server_log(&f->srv);
	assert_non_null(log);
	assert_int_equal(cJSON_GetArraySize(log), NURLS);
	for (int i = 0; i < NURLS; i++) {
		int c = it_log_count(log, es[i].pq);

		if (c != 1)
			fail_msg("%s: want 1 request over all shards, got %d",
				 es[i].pq, c);
	}
	cJSON_Delete(log);
	free(es);
}

/* Invalid lines are reported by the shard that owns their URL token, or
 * by shard 1 when they have none; URL arguments are sharded by the
 * argument itself. */
static void test_shards_invalid_and_arguments(void **state)
{
	struct it_fixture *f = *state;
	char *list = it_path("%s/list.txt", f->tmp);
	struct it_buf b = { 0 };
	char bad_url[8][96];   /* invalid lines with a URL token */
	int bad_line[8], nbad = 0, off_one = 0;
	char *args_url[12];
	int line = 0, no_url_line;
	int seen_bad[8] = { 0 }, seen_nourl = 0, seen_arg[12] = { 0 };

	/* Unsupported scheme: the token is the URL. */
	for (int i = 0; i < 6; i++, nbad++) {
		snprintf(bad_url[nbad], sizeof(bad_url[nbad]),
			 "ftp://example.invalid/f%d.bin", i);
		it_buf_printf(&b, "%s\n", bad_url[nbad]);
		bad_line[nbad] = ++line;
	}
	/* A field without '=': the token is the URL before it. */
	for (int i = 0; i < 2; i++, nbad++) {
		snprintf(bad_url[nbad], sizeof(bad_url[nbad]),
			 "%s/data/bf%d.bin", f->srv.base, i);
		it_buf_printf(&b, "  %s  nofield\n", bad_url[nbad]);
		bad_line[nbad] = ++line;
	}
	/* No URL at all. */
	it_buf_printf(&b, "{\"out\": \"nourl.bin\"}\n");
	no_url_line = ++line;
	assert_int_equal(it_write_file(list, b.data, b.len), 0);
	free(b.data);
	for (int i = 0; i < nbad; i++)
		if (owner(bad_url[i], NSHARDS) != 1)
			off_one++;
	assert_true(off_one > 0); /* the list can tell "always shard 1" */
	for (int i = 0; i < 12; i++) {
		char *pq = it_path("/data/arg%d.bin?size=7", i);

		args_url[i] = it_url(&f->srv, pq);
		free(pq);
	}

	for (int k = 1; k <= NSHARDS; k++) {
		char shard[16], out[8];
		const char *args[20];
		size_t n = 0;
		int want_exit = k == 1 ? 1 : 0;
		struct it_result r;
		cJSON *res;
		const cJSON *e;

		snprintf(shard, sizeof(shard), "%d/%d", k, NSHARDS);
		snprintf(out, sizeof(out), "d%d", k);
		for (int i = 0; i < nbad; i++)
			if (owner(bad_url[i], NSHARDS) == k)
				want_exit = 1;
		args[n++] = "--shard";
		args[n++] = shard;
		args[n++] = "list.txt";
		for (int i = 0; i < 12; i++)
			args[n++] = args_url[i];
		args[n] = NULL;
		res = it_run_json_full(f, out, NULL, args, want_exit, -1,
				       &r);
		cJSON_ArrayForEach(e, res) {
			const char *url = it_json_str(e, "url");
			const char *st = it_json_str(e, "status");
			int ok;
			double ln = it_json_num(e, "line", &ok);
			int matched = 0;

			for (int i = 0; i < nbad && ok; i++) {
				if ((int)ln != bad_line[i])
					continue;
				matched = 1;
				seen_bad[i]++;
				if (!st || strcmp(st, "invalid") != 0)
					fail_msg("line %d: want invalid",
						 bad_line[i]);
				if (owner(bad_url[i], NSHARDS) != k) {
					it_dump(&r);
					fail_msg("invalid line %d (%s) belongs "
						 "to shard %d/3, reported by "
						 "%s", bad_line[i], bad_url[i],
						 owner(bad_url[i], NSHARDS),
						 shard);
				}
			}
			if (ok && (int)ln == no_url_line) {
				matched = 1;
				seen_nourl++;
				if (!st || strcmp(st, "invalid") != 0)
					fail_msg("the line without url: want "
						 "invalid");
				if (k != 1) {
					it_dump(&r);
					fail_msg("an invalid line without a URL "
						 "belongs to shard 1, reported "
						 "by %s", shard);
				}
			}
			for (int i = 0; i < 12 && !matched; i++) {
				if (!url || strcmp(url, args_url[i]) != 0)
					continue;
				matched = 1;
				seen_arg[i]++;
				if (owner(args_url[i], NSHARDS) != k) {
					it_dump(&r);
					fail_msg("URL argument %s belongs to "
						 "shard %d/3, fetched by %s",
						 args_url[i],
						 owner(args_url[i], NSHARDS),
						 shard);
				}
				IT_ASSERT_JSTR(e, "status", "ok");
			}
			if (!matched) {
				it_dump(&r);
				fail_msg("shard %s: unexpected result line",
					 shard);
			}
		}
		cJSON_Delete(res);
		it_result_free(&r);
	}
	for (int i = 0; i < nbad; i++)
		if (seen_bad[i] != 1)
			fail_msg("invalid line %d reported %d times over the "
				 "shards, want once", bad_line[i], seen_bad[i]);
	if (seen_nourl != 1)
		fail_msg("the line without url reported %d times, want once",
			 seen_nourl);
	for (int i = 0; i < 12; i++)
		if (seen_arg[i] != 1)
			fail_msg("%s reported %d times, want once", args_url[i],
				 seen_arg[i]);

	for (int i = 0; i < 12; i++)
		free(args_url[i]);
	free(list);
}

/* ------------------------------------------------------------ dry run */

static void assert_no_requests(const struct it_fixture *f,
			       const struct it_result *r)
{
	cJSON *log = it_server_log(&f->srv);

	assert_non_null(log);
	if (cJSON_GetArraySize(log) != 0) {
		it_dump_with_log(r, &f->srv);
		fail_msg("--dry-run made %d requests",
			 cJSON_GetArraySize(log));
	}
	cJSON_Delete(log);
}

/* Runs fetchmany --dry-run ARGS (text output) in f->tmp. */
static void run_dry(const struct it_fixture *f, const char *const args[],
		    int want_exit, struct it_result *r)
{
	const char *argv[24];
	size_t n = 0;
	int rc;

	argv[n++] = it_bin();
	argv[n++] = "--dry-run";
	for (size_t i = 0; args[i] && n < 23; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	rc = it_run(argv, NULL, f->tmp, r);
	IT_ASSERT_RAN(rc, *r);
	if (!r->exited || r->exit_code != want_exit) {
		it_dump(r);
		fail_msg("--dry-run exit status: want %d, got %s %d",
			 want_exit, r->exited ? "exit" : "signal",
			 r->exited ? r->exit_code : r->signaled);
	}
}

/* The tab-separated fields of the output line whose URL field is url. */
static cJSON *line_for(const struct it_result *r, const char *url)
{
	cJSON *lines = it_split_lines(r->out);
	const cJSON *l;
	cJSON *found = NULL;

	cJSON_ArrayForEach(l, lines) {
		cJSON *fields = it_split_tabs(cJSON_GetStringValue(l));
		const char *u = cJSON_GetStringValue(
			cJSON_GetArrayItem(fields, 4));

		if (!found && cJSON_GetArraySize(fields) == 6 && u &&
		    strcmp(u, url) == 0)
			found = fields;
		else
			cJSON_Delete(fields);
	}
	cJSON_Delete(lines);
	if (!found) {
		it_dump(r);
		fail_msg("--dry-run: no 6-field line with the URL %s", url);
	}
	return found;
}

/* All valid: one line per entry with its URL and its path, exit 0, no
 * request, no output directory; the same in JSON (status planned) and
 * with --mirror. */
static void test_dry_run_valid(void **state)
{
	struct it_fixture *f = *state;
	char *u1 = it_url(&f->srv, "/data/a.bin?size=5");
	char *u2 = it_url(&f->srv, "/data/b.bin");
	char *u3 = it_url(&f->srv, "/data/dir/c.bin");
	char *list = it_path("%s/list.txt", f->tmp);
	char *text = it_path("# three entries\n%s\n%s out=sub/o2.bin\n"
			     "{\"url\": \"%s\"}\n", u1, u2, u3);
	char *dl = it_path("%s/dl", f->tmp);
	char *mirror3 = it_path("dl/127.0.0.1_%d/data/dir/c.bin",
				f->srv.port);
	const char *args[] = { "-o", "dl", "list.txt", NULL };
	const char *jargs[] = { "--json", "-x", "-o", "dl", "list.txt",
				NULL };
	const char *urls[] = { u1, u2, u3 };
	const char *paths[] = { "dl/a.bin", "dl/sub/o2.bin", "dl/c.bin" };
	struct it_result r;
	cJSON *fields, *res, *e;
	int bad;

	assert_int_equal(it_write_file(list, text, strlen(text)), 0);
	run_dry(f, args, 0, &r);
	assert_int_equal(it_count_lines(r.out), 3);
	for (int i = 0; i < 3; i++) {
		fields = line_for(&r, urls[i]);
		assert_string_equal(cJSON_GetStringValue(
					    cJSON_GetArrayItem(fields, 5)),
				    paths[i]);
		assert_string_equal(cJSON_GetStringValue(
					    cJSON_GetArrayItem(fields, 0)),
				    "planned");
		cJSON_Delete(fields);
	}
	assert_no_requests(f, &r);
	if (it_exists(dl))
		fail_msg("--dry-run created the output directory");
	it_result_free(&r);

	run_dry(f, jargs, 0, &r);
	res = it_jsonl_parse(r.out, &bad);
	assert_int_equal(bad, 0);
	assert_int_equal(cJSON_GetArraySize(res), 3);
	e = it_json_find_url(res, u3);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "planned");
	IT_ASSERT_JSTR(e, "path", mirror3);
	IT_ASSERT_JNUM(e, "attempts", 0);
	e = it_json_find_url(res, u2);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "planned");
	IT_ASSERT_JSTR(e, "path", "dl/sub/o2.bin");
	assert_no_requests(f, &r);
	if (it_exists(dl))
		fail_msg("--dry-run -x created the output directory");

	cJSON_Delete(res);
	it_result_free(&r);
	free(u1);
	free(u2);
	free(u3);
	free(list);
	free(text);
	free(dl);
	free(mirror3);
}

/* One invalid entry: its line gives the reason, the others their paths;
 * exit 1; still no request and no directory. */
static void test_dry_run_invalid(void **state)
{
	struct it_fixture *f = *state;
	char *u1 = it_url(&f->srv, "/data/ok.bin");
	const char *bad = "ftp://example.invalid/x.bin";
	char *list = it_path("%s/list.txt", f->tmp);
	char *text = it_path("%s\n%s\n", u1, bad);
	char *dl = it_path("%s/dl", f->tmp);
	const char *args[] = { "-o", "dl", "list.txt", NULL };
	struct it_result r;
	cJSON *fields;
	const char *reason;

	assert_int_equal(it_write_file(list, text, strlen(text)), 0);
	run_dry(f, args, 1, &r);
	assert_int_equal(it_count_lines(r.out), 2);
	fields = line_for(&r, u1);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(fields,
								    5)),
			    "dl/ok.bin");
	cJSON_Delete(fields);
	fields = line_for(&r, bad);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(fields,
								    0)),
			    "invalid");
	reason = cJSON_GetStringValue(cJSON_GetArrayItem(fields, 5));
	if (!reason || !it_ci_contains(reason, "scheme"))
		fail_msg("--dry-run: the invalid line should give its reason "
			 "(unsupported scheme), got \"%s\"",
			 reason ? reason : "(null)");
	cJSON_Delete(fields);
	assert_no_requests(f, &r);
	if (it_exists(dl))
		fail_msg("--dry-run created the output directory");

	it_result_free(&r);
	free(u1);
	free(list);
	free(text);
	free(dl);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, it_fixture_setup, \
					      it_fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_shards_partition),
		T(test_shards_invalid_and_arguments),
		T(test_dry_run_valid),
		T(test_dry_run_invalid),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
