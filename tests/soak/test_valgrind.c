/* Leak check: fetchmany under valgrind (memcheck, --leak-check=full,
 * definite and indirect leaks are errors, --track-fds=yes).
 *
 * 1. ~300 entries with faults of every kind (as in the soak test, 30 %
 *    faulted) plus invalid lines, a digest that matches and one that does
 *    not, a redirect, a chunked body and a duplicate output path, under
 *    --sha256: valgrind must report no error (its exit status would be
 *    99), the results must be right, and no descriptor may be left open
 *    at exit beyond the inherited ones.
 * 2. The same kind of run interrupted by SIGINT while slow bodies stream:
 *    exit 130, no error, no leak, no .part, no entry reported twice.
 * 3. Retry-After under valgrind's slow event loop: each retry comes no
 *    sooner than 1 s after its 429 (and no leak).
 *
 * Skipped (TAP "1..0 # SKIP") when valgrind is not installed or the
 * binary was built with sanitizers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "soak_common.h"

#define VG_ERROR_EXIT 99
#define VG_RUN_TIMEOUT 240.0

static char *valgrind_path;

/* $FM_VALGRIND (set by meson when it found valgrind), else a search of
 * PATH. Malloc'd, or NULL. */
static char *find_valgrind(void)
{
	const char *env = getenv("FM_VALGRIND");
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, *found = NULL;

	if (env && *env && access(env, X_OK) == 0)
		return it_path("%s", env);
	if (!path)
		return NULL;
	copy = it_path("%s", path);
	for (dir = strtok_r(copy, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		char *cand = it_path("%s/valgrind", *dir ? dir : ".");

		if (access(cand, X_OK) == 0)
			found = cand;
		else
			free(cand);
	}
	free(copy);
	return found;
}

struct vg_fixture {
	struct it_fixture *fx;
	struct soak_plan pl;
};

static int vg_setup(void **state)
{
	struct vg_fixture *f = calloc(1, sizeof(*f));
	const char *args[] = { "--lifetime", "600", "--also-listen", "1",
			       NULL };

	if (!f)
		return -1;
	f->fx = it_fixture_new(args);
	if (!f->fx) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int vg_teardown(void **state)
{
	struct vg_fixture *f = *state;

	if (!f)
		return 0;
	it_fixture_free(f->fx);
	soak_plan_free(&f->pl);
	free(f);
	*state = NULL;
	return 0;
}

/* What valgrind's log says, in the numbers the tests check. */
struct vg_report {
	long errors;        /* ERROR SUMMARY, -1 when missing */
	long definite;      /* bytes definitely lost (0 when no leak) */
	long indirect;
	long fds_open;      /* FILE DESCRIPTORS: N open */
	long fds_created;   /* of those, not inherited from the parent */
	char *log;
};

/* The number after key in text (commas removed), or dflt when absent. */
static long number_after(const char *text, const char *key, long dflt)
{
	const char *p = strstr(text, key);
	long v = 0;
	int any = 0;

	if (!p)
		return dflt;
	for (p += strlen(key); *p == ' '; p++)
		;
	for (; (*p >= '0' && *p <= '9') || *p == ','; p++) {
		if (*p == ',')
			continue;
		v = v * 10 + (*p - '0');
		any = 1;
	}
	return any ? v : dflt;
}

static void vg_read(const char *path, struct vg_report *vr)
{
	const char *p;

	memset(vr, 0, sizeof(*vr));
	vr->log = it_read_file(path, NULL);
	if (!vr->log) {
		vr->log = it_path("(no valgrind log at %s)", path);
		vr->errors = vr->fds_open = -1;
		return;
	}
	vr->errors = number_after(vr->log, "ERROR SUMMARY:", -1);
	vr->definite = number_after(vr->log, "definitely lost:", 0);
	vr->indirect = number_after(vr->log, "indirectly lost:", 0);
	vr->fds_open = number_after(vr->log, "FILE DESCRIPTORS:", -1);
	/* Each open descriptor at exit is a line "==PID== Open file
	 * descriptor N: ..." or "==PID== Open AF_INET socket N: ...",
	 * followed by "<inherited from parent>" or by the stack that opened
	 * it. */
	for (p = vr->log; p && *p;) {
		const char *nl = strchr(p, '\n');
		const char *next = nl ? nl + 1 : NULL;
		const char *pfx = strstr(p, "== ");
		int is_open = pfx && (!nl || pfx < nl) &&
			      strncmp(pfx + 3, "Open ", 5) == 0;

		if (is_open && next && *next) {
			const char *nl2 = strchr(next, '\n');
			const char *inh = strstr(next, "<inherited from parent>");

			if (!inh || (nl2 && inh > nl2))
				vr->fds_created++;
		}
		p = next;
	}
}

/* Prints the summary part of the log: leak summary, descriptors,
 * errors. */
static void vg_print_summary(const char *label, const struct vg_report *vr)
{
	static const char *const keys[] = {
		"FILE DESCRIPTORS", "in use at exit", "total heap usage",
		"All heap blocks", "definitely lost", "indirectly lost",
		"possibly lost", "still reachable", "ERROR SUMMARY", NULL,
	};
	const char *p = vr->log;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		for (int k = 0; keys[k]; k++) {
			const char *hit = strstr(p, keys[k]);

			if (hit && hit < p + n) {
				fprintf(stderr, "# %s: %.*s\n", label, (int)n,
					p);
				break;
			}
		}
		p = nl ? nl + 1 : NULL;
	}
}

static void vg_check(const char *label, const struct vg_report *vr,
		     const struct it_result *r, int want_exit)
{
	int bad = 0;

	vg_print_summary(label, vr);
	if (vr->errors != 0) {
		fprintf(stderr, "# %s: valgrind reported %ld errors\n", label,
			vr->errors);
		bad = 1;
	}
	if (vr->definite || vr->indirect) {
		fprintf(stderr, "# %s: leaked %ld bytes definitely, %ld "
			"indirectly\n", label, vr->definite, vr->indirect);
		bad = 1;
	}
	if (vr->fds_created) {
		fprintf(stderr, "# %s: %ld descriptors opened by fetchmany "
			"still open at exit\n", label, vr->fds_created);
		bad = 1;
	}
	if (!r->exited || r->exit_code == VG_ERROR_EXIT)
		bad = 1;
	/* it_run() says so when uv_loop_close() finds a handle left open. */
	if (r->err && strstr(r->err, "internal error")) {
		fprintf(stderr, "# %s: fetchmany reported an internal error "
			"(a libuv handle left open at exit?)\n", label);
		bad = 1;
	}
	if (bad || r->exit_code != want_exit) {
		fprintf(stderr, "--- valgrind log:\n%s\n--- stderr:\n%s\n",
			vr->log, r->err);
		fail_msg("%s: exit %s %d (want %d; %d means valgrind found "
			 "errors), %ld errors, %ld+%ld bytes lost, %ld fds left",
			 label, r->exited ? "status" : "signal",
			 r->exited ? r->exit_code : r->signaled, want_exit,
			 VG_ERROR_EXIT, vr->errors, vr->definite, vr->indirect,
			 vr->fds_created);
	}
}

/* argv for valgrind fetchmany --json -o out OPTS LIST; log to log_path. */
static void vg_argv(const char *argv[], size_t max, const char *log_opt,
		    const char *const opts[])
{
	size_t n = 0;

	argv[n++] = valgrind_path;
	argv[n++] = "--leak-check=full";
	argv[n++] = "--errors-for-leak-kinds=definite,indirect";
	argv[n++] = "--error-exitcode=99";
	argv[n++] = "--track-fds=yes";
	argv[n++] = log_opt;
	argv[n++] = it_bin();
	argv[n++] = "--json";
	argv[n++] = "-o";
	argv[n++] = "out";
	for (size_t i = 0; opts[i] && n + 1 < max; i++)
		argv[n++] = opts[i];
	argv[n] = NULL;
}

static const cJSON *find_line(const cJSON *res, int line)
{
	return it_json_find_num(res, "line", line);
}

static void want_invalid(const cJSON *res, int line, const char *substr)
{
	const cJSON *e = find_line(res, line);
	const char *err;

	if (!e)
		fail_msg("no result for line %d", line);
	IT_ASSERT_JSTR(e, "status", "invalid");
	err = it_json_str(e, "error");
	if (!err || !strstr(err, substr))
		fail_msg("line %d: want an error with \"%s\", got \"%s\"",
			 line, substr, err ? err : "(null)");
}

static void test_valgrind_faults(void **state)
{
	struct vg_fixture *f = *state;
	struct soak_params prm = {
		.n = 300, .permille = 300, .seed = 7, .retries = 3,
		/* Generous margins: valgrind slows the client down. */
		.stall_s = 4.0, .trickle_s = 0.3, .trickle_size = 5000,
		/* The server keeps connections alive here (connection reuse
		 * is code to check for leaks too). */
		.keepalive = 1,
	};
	const char *opts[] = { "-j", "20", "-r", "3", "--backoff", "0.05",
			       "--backoff-max", "1", "--stall-timeout", "2",
			       "--sha256", "list.txt", NULL };
	const char *argv[40];
	char *log_opt = it_path("--log-file=%s/vg.log", f->fx->tmp);
	char *log_path = it_path("%s/vg.log", f->fx->tmp);
	char *list_path = it_path("%s/list.txt", f->fx->tmp);
	char *long_line = calloc(1, 70 * 1024 + 1);
	struct it_buf list = { 0 };
	struct it_proc p;
	struct it_result r;
	struct vg_report vr;
	struct soak_tally t;
	char good[65], *x1 = NULL;
	cJSON *res, *planned, *tree;
	const cJSON *o, *e;
	const char *b = f->fx->srv.base;
	int bad, base_line;
	size_t problems;
	double min_gap, t0;

	soak_plan_make(&f->pl, &f->fx->srv, &prm);
	for (size_t i = 0; i < prm.n; i++)
		soak_plan_line(&f->pl, i, &list);
	base_line = (int)prm.n;
	assert_int_equal(it_server_sha256(&f->fx->srv, "/data/x1.bin", 3000,
					  good), 0);
	assert_non_null(long_line);
	memset(long_line, 'a', 70 * 1024);
	it_buf_printf(&list, "ftp://127.0.0.1/x.bin\n");              /* +1 */
	it_buf_printf(&list, "%s/data/y.bin sha256=abc\n", b);        /* +2 */
	it_buf_printf(&list, "%s/data/y.bin out=../y.bin\n", b);      /* +3 */
	it_buf_printf(&list, "{\"url\": 5}\n");                       /* +4 */
	it_buf_printf(&list, "{\"url\": \"%s/data/y.bin\"\n", b);     /* +5 */
	it_buf_printf(&list, "%s/data/nul.bin X\n", b);               /* +6 */
	it_buf_printf(&list, "%s/%s\n", b, long_line);                /* +7 */
	it_buf_printf(&list, "%s/data/x1.bin?size=3000 out=sub/dir/x1.bin "
		      "sha256=%s\n", b, good);                        /* +8 */
	it_buf_printf(&list, "%s/data/x2.bin?size=3000 sha256=%064d\n", b,
		      0);                                             /* +9 */
	it_buf_printf(&list, "%s/redirect?to=/data/x3.bin out=x3.bin\n",
		      b);                                             /* +10 */
	it_buf_printf(&list, "%s/data/x4.bin?size=70000&chunked=1\n",
		      b);                                             /* +11 */
	it_buf_printf(&list, "%s/data/x5.bin out=sub/dir/x1.bin\n",
		      b);                                             /* +12 */
	/* Line +6 gets its NUL byte in place of the 'X'. */
	{
		char *x = strstr(list.data, "/data/nul.bin X");

		assert_non_null(x);
		x[strlen("/data/nul.bin ")] = '\0';
	}
	assert_int_equal(it_write_file(list_path, list.data, list.len), 0);

	vg_argv(argv, 40, log_opt, opts);
	t0 = it_now();
	assert_int_equal(it_proc_start(&p, argv, f->fx->tmp, NULL), 0);
	if (it_proc_finish(&p, VG_RUN_TIMEOUT, &r) != 0) {
		it_dump(&r);
		fail_msg("fetchmany under valgrind did not finish in %.0f s",
			 VG_RUN_TIMEOUT);
	}
	fprintf(stderr, "# valgrind: %zu entries + 12 extra lines in %.1f s; "
		"fetchmany said: %s", prm.n, it_now() - t0, r.err);
	vg_read(log_path, &vr);
	vg_check("valgrind", &vr, &r, 1);

	res = it_jsonl_parse(r.out, &bad);
	assert_int_equal(bad, 0);
	if (cJSON_GetArraySize(res) != (int)prm.n + 12) {
		it_dump(&r);
		fail_msg("want %zu result lines, got %d", prm.n + 12,
			 cJSON_GetArraySize(res));
	}
	planned = cJSON_CreateArray();
	cJSON_ArrayForEach(o, res)
		if (soak_index_of(&f->pl, it_json_str(o, "url") ?
				  it_json_str(o, "url") : "") >= 0)
			cJSON_AddItemReferenceToArray(planned, (cJSON *)o);
	problems = soak_check_results(&f->pl, planned, f->fx->tmp, "out", &t);
	soak_print_tally("valgrind", &f->pl, &t);
	if (problems)
		fail_msg("%zu result problems (see above)", problems);
	/* Request counts only: the waits after a 429 have a test of their
	 * own (test_valgrind_retry_after). */
	problems = soak_check_server(&f->pl, &f->fx->srv, 0, 0, &min_gap);
	fprintf(stderr, "# valgrind: shortest wait after a 429 with "
		"Retry-After: 1: %.3f s (server clock; not checked here)\n",
		min_gap);
	if (problems)
		fail_msg("%zu server-side problems (see above)", problems);

	want_invalid(res, base_line + 1, "unsupported scheme 'ftp'");
	want_invalid(res, base_line + 2, "sha256");
	want_invalid(res, base_line + 3, "..");
	want_invalid(res, base_line + 4, "'url' must be a string");
	want_invalid(res, base_line + 5, "invalid JSON");
	want_invalid(res, base_line + 6, "NUL byte");
	want_invalid(res, base_line + 7, "longer than");
	e = find_line(res, base_line + 8);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "sha256", good);
	x1 = it_path("%s/out/sub/dir/x1.bin", f->fx->tmp);
	assert_true(it_file_matches_body(x1, "/data/x1.bin", 3000));
	e = find_line(res, base_line + 9);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNUM(e, "attempts", 1);
	if (!strstr(it_json_str(e, "error") ? it_json_str(e, "error") : "",
		    "sha256 mismatch"))
		fail_msg("line +9: want a sha256 mismatch, got %s",
			 it_json_str(e, "error"));
	e = find_line(res, base_line + 10);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "bytes", 1000);
	e = find_line(res, base_line + 11);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "bytes", 70000);
	want_invalid(res, base_line + 12, "already used by line");

	tree = it_tree_list(f->fx->tmp);
	assert_non_null(tree);
	assert_int_equal(it_tree_count_suffix(tree, ".part"), 0);

	cJSON_Delete(tree);
	cJSON_Delete(planned);
	cJSON_Delete(res);
	free(vr.log);
	it_result_free(&r);
	free(list.data);
	free(long_line);
	free(list_path);
	free(log_path);
	free(log_opt);
	free(x1);
}

/* 429 entries in test_valgrind_retry_after (a quarter of its list). */
#define N_RA 200

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* One round of test_valgrind_retry_after: 4 * N_RA entries, a quarter of
 * them 429 with Retry-After: 1 once, the rest plain bodies up to 60 KB
 * (names tagged with the round); returns how many retries came sooner
 * than 0.95 s after their 429 (server clock), *min_gap the shortest. */
static int retry_after_round(struct vg_fixture *f, int round, double *min_gap)
{
	const char *opts[] = { "-j", "100", "--sha256", "--backoff-max", "1",
			       "list.txt", NULL };
	const char *argv[40];
	char *log_opt = it_path("--log-file=%s/vg%d.log", f->fx->tmp, round);
	char *log_path = it_path("%s/vg%d.log", f->fx->tmp, round);
	char *list_path = it_path("%s/list.txt", f->fx->tmp);
	char *out = it_path("%s/out", f->fx->tmp);
	struct it_buf list = { 0 };
	struct it_proc p;
	struct it_result r;
	struct vg_report vr;
	cJSON *res, *log;
	const cJSON *o;
	double gaps[N_RA], end1[N_RA];
	int seen[N_RA] = { 0 }, ngap = 0, nshort = 0, bad;
	uint64_t rs = 12345 + (uint64_t)round;
	char label[64];

	snprintf(label, sizeof(label), "valgrind Retry-After round %d",
		 round + 1);
	for (int i = 0; i < 4 * N_RA; i++) {
		if (i % 4 == 0) {
			/* on a host of their own: each 429 pauses it */
			it_buf_printf(&list, "http://127.0.1.1:%d/data/r%d-"
				      "ra%03d.bin?size=3000&fail=1&"
				      "fail_status=429&retry_after=1\n",
				      f->fx->srv.port, round, i / 4);
		} else {
			rs = rs * 6364136223846793005ULL + 1442695040888963407ULL;
			it_buf_printf(&list, "%s/data/r%d-pl%03d.bin?size=%u\n",
				      f->fx->srv.base, round, i,
				      200 + (unsigned)((rs >> 33) % 60000));
		}
	}
	assert_int_equal(it_write_file(list_path, list.data, list.len), 0);
	assert_int_equal(it_rmtree(out), 0);
	vg_argv(argv, 40, log_opt, opts);
	assert_int_equal(it_proc_start(&p, argv, f->fx->tmp, NULL), 0);
	if (it_proc_finish(&p, VG_RUN_TIMEOUT, &r) != 0) {
		it_dump(&r);
		fail_msg("fetchmany under valgrind did not finish in %.0f s",
			 VG_RUN_TIMEOUT);
	}
	vg_read(log_path, &vr);
	vg_check(label, &vr, &r, 0);
	res = it_jsonl_parse(r.out, &bad);
	assert_int_equal(bad, 0);
	assert_int_equal(cJSON_GetArraySize(res), 4 * N_RA);
	cJSON_ArrayForEach(o, res)
		IT_ASSERT_JSTR(o, "status", "ok");

	log = it_server_log(&f->fx->srv);
	assert_non_null(log);
	cJSON_ArrayForEach(o, log) {
		const char *pq = it_json_str(o, "path");
		int rd, k;

		if (!pq || sscanf(pq, "/data/r%d-ra%3d.bin", &rd, &k) != 2 ||
		    rd != round || k < 0 || k >= N_RA)
			continue;
		if (++seen[k] == 1)
			end1[k] = it_json_num(o, "t_end", NULL);
		else if (seen[k] == 2 && ngap < N_RA)
			gaps[ngap++] = it_json_num(o, "t_start", NULL) - end1[k];
	}
	assert_int_equal(ngap, N_RA);
	qsort(gaps, (size_t)ngap, sizeof(gaps[0]), cmp_double);
	for (int i = 0; i < ngap; i++)
		if (gaps[i] < 0.95)
			nshort++;
	fprintf(stderr, "# %s: waits after a 429 with Retry-After: 1 "
		"(server clock): min %.3f, 10th percentile %.3f, median %.3f "
		"s; %d of %d shorter than 0.95 s\n", label, gaps[0],
		gaps[ngap / 10], gaps[ngap / 2], nshort, ngap);
	*min_gap = gaps[0];

	cJSON_Delete(log);
	cJSON_Delete(res);
	free(vr.log);
	it_result_free(&r);
	free(list.data);
	free(list_path);
	free(log_path);
	free(log_opt);
	free(out);
	return nshort;
}

/* Retry-After under a slow event loop. Under valgrind one pass of
 * fetchmany's loop over 100 busy transfers (reads, --sha256, writes) takes
 * a good fraction of a second. A 429 with Retry-After: 1 must still be
 * retried no sooner than 1 s after the attempt ended (spec 5: exactly
 * what the server asked, no jitter below it), so the server must see the
 * retry at least ~1 s after it sent the 429 (0.95 s allowed). A wait
 * counted from a stale clock shows in some of 200 such entries, not in
 * all, and not in every run: a second round runs when the first saw
 * none. Also a leak check of both runs. */
static void test_valgrind_retry_after(void **state)
{
	struct vg_fixture *f = *state;
	double min_gap = 0;
	int nshort = 0;

	for (int round = 0; round < 2 && nshort == 0; round++)
		nshort = retry_after_round(f, round, &min_gap);
	if (nshort)
		fail_msg("%d of %d retries after a 429 with Retry-After: 1 came "
			 "sooner than 0.95 s after it (shortest %.3f s): the "
			 "wait is not counted from the end of the attempt",
			 nshort, N_RA, min_gap);
}

/* SIGINT while slow bodies stream and entries wait to retry. */
static void test_valgrind_sigint(void **state)
{
	struct vg_fixture *f = *state;
	const char *opts[] = { "-j", "6", "-r", "3", "--backoff", "5",
			       "--backoff-max", "5", "list.txt", NULL };
	const char *argv[40];
	char *log_opt = it_path("--log-file=%s/vg.log", f->fx->tmp);
	char *log_path = it_path("%s/vg.log", f->fx->tmp);
	char *list_path = it_path("%s/list.txt", f->fx->tmp);
	char *out = it_path("%s/out", f->fx->tmp);
	struct it_buf list = { 0 };
	struct it_proc p;
	struct it_result r;
	struct vg_report vr;
	cJSON *res, *tree;
	const cJSON *o;
	int bad, interrupted = 0, ok = 0, n_urls = 0;
	char *urls[40];

	/* 4 quick ones, 2 that fail once (and wait 5 s to retry), then
	 * slow ones (10 pieces of 1 KiB, 0.5 s apart). */
	for (int i = 0; i < 4; i++)
		urls[n_urls++] = it_path("%s/data/q%d.bin?size=2000",
					 f->fx->srv.base, i);
	for (int i = 0; i < 2; i++)
		urls[n_urls++] = it_path("%s/data/w%d.bin?size=2000&fail=1",
					 f->fx->srv.base, i);
	for (int i = 0; i < 20; i++)
		urls[n_urls++] = it_path("%s/data/slow%d.bin?size=10240&"
					 "trickle=0.5", f->fx->srv.base, i);
	for (int i = 0; i < n_urls; i++)
		it_buf_printf(&list, "%s\n", urls[i]);
	assert_int_equal(it_write_file(list_path, list.data, list.len), 0);

	vg_argv(argv, 40, log_opt, opts);
	assert_int_equal(it_proc_start(&p, argv, f->fx->tmp, NULL), 0);
	/* Quick ones done, slow ones writing their .part files. */
	if (it_proc_wait_lines(&p, 4, 60.0) != 0 ||
	    it_wait_bodies(out, &p, 2, 30.0) != 0) {
		kill(p.pid, SIGKILL);
		it_proc_finish(&p, 5.0, &r);
		it_dump(&r);
		fail_msg("the run did not get going under valgrind");
	}
	kill(p.pid, SIGINT);
	if (it_proc_finish(&p, 60.0, &r) != 0) {
		it_dump(&r);
		fail_msg("no exit within 60 s of SIGINT under valgrind");
	}
	vg_read(log_path, &vr);
	vg_check("valgrind SIGINT", &vr, &r, 130);

	res = it_jsonl_parse(r.out, &bad);
	assert_int_equal(bad, 0);
	for (int i = 0; i < n_urls; i++)
		if (it_count_url(res, urls[i]) > 1)
			fail_msg("%s reported %d times", urls[i],
				 it_count_url(res, urls[i]));
	cJSON_ArrayForEach(o, res) {
		const char *st = it_json_str(o, "status");
		const char *err = it_json_str(o, "error");

		if (st && strcmp(st, "ok") == 0) {
			ok++;
		} else if (st && strcmp(st, "failed") == 0 && err &&
			   it_starts_with(err, "interrupted")) {
			/* "interrupted", or for an entry waiting to retry
			 * "interrupted (last attempt: HTTP 503)". */
			interrupted++;
		} else {
			it_dump(&r);
			fail_msg("unexpected result: %s / %s", st ? st : "?",
				 err ? err : "null");
		}
	}
	fprintf(stderr, "# valgrind SIGINT: %d results, %d ok, %d "
		"interrupted\n", cJSON_GetArraySize(res), ok, interrupted);
	if (ok < 4 || interrupted < 2) {
		it_dump(&r);
		fail_msg("want >= 4 ok and >= 2 interrupted, got %d and %d",
			 ok, interrupted);
	}
	tree = it_tree_list(f->fx->tmp);
	assert_non_null(tree);
	if (it_tree_count_suffix(tree, ".part") != 0)
		fail_msg("%d .part files left after SIGINT",
			 it_tree_count_suffix(tree, ".part"));

	cJSON_Delete(tree);
	cJSON_Delete(res);
	for (int i = 0; i < n_urls; i++)
		free(urls[i]);
	free(vr.log);
	it_result_free(&r);
	free(list.data);
	free(list_path);
	free(log_path);
	free(log_opt);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_valgrind_faults, vg_setup,
						vg_teardown),
		cmocka_unit_test_setup_teardown(test_valgrind_sigint, vg_setup,
						vg_teardown),
		cmocka_unit_test_setup_teardown(test_valgrind_retry_after,
						vg_setup, vg_teardown),
	};
	const char *why = NULL;
	int rc;

	if (soak_sanitized())
		why = "built with sanitizers (FM_SANITIZE): valgrind cannot "
		      "run it";
	else if (!(valgrind_path = find_valgrind()))
		why = "valgrind is not installed";
	if (why) {
		/* A plan of 0 tests with a SKIP directive: meson counts the
		 * test as skipped (cmocka's skip() would print "not ok"). */
		if (soak_tap())
			printf("1..0 # SKIP %s\n", why);
		else
			printf("SKIP: %s\n", why);
		return 0;
	}
	fprintf(stderr, "# valgrind: %s\n", valgrind_path);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(valgrind_path);
	return rc;
}
