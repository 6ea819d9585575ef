/* Integration: the descriptor limit (spec 7: "limits of the machine are
 * not failures of an entry"). The soft RLIMIT_NOFILE is raised to the hard
 * one at start; -j is lowered, with one warning, when even the hard one
 * cannot hold it; running out of descriptors in the middle of a run delays
 * an entry instead of failing it, and a run whose descriptors never come
 * back still ends.
 *
 * The limit is put on the child by util-linux prlimit(1) at start (the
 * tests are skipped where it is missing), or by prlimit(2) on the running
 * process. Every run uses -r 0: a delay that consumed an attempt would
 * fail its entry. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "harness.h"

#define NURLS 100

/* Writes f->tmp/list.txt: n URLs of 8 KiB bodies sent in 1 KiB pieces
 * every trickle seconds (each transfer holds its socket and its file for
 * 8 * trickle s), with extra appended to each query. */
static void write_list(const struct it_fixture *f, int n, const char *trickle,
		       const char *extra)
{
	struct it_buf b = {0};
	char *list = it_path("%s/list.txt", f->tmp);

	for (int i = 0; i < n; i++)
		it_buf_printf(&b, "%s/data/f%03d.bin?size=8192&trickle=%s%s\n",
			      f->srv.base, i, trickle, extra);
	assert_int_equal(it_write_file(list, b.data, b.len), 0);
	free(b.data);
	free(list);
}

static int have_prlimit(void)
{
	return access("/usr/bin/prlimit", X_OK) == 0 ||
	       access("/bin/prlimit", X_OK) == 0;
}

/* Runs "prlimit --nofile=SOFT:HARD fetchmany --json -o dl -r 0 -j JOBS
 * list.txt" in f->tmp; checks the exit status and the number of lines. */
static cJSON *run_limited(const struct it_fixture *f, const char *nofile,
			  const char *jobs, int want_exit, int nlines,
			  struct it_result *r)
{
	const char *argv[] = {"prlimit", nofile, it_bin(), "--json", "-o",
			      "dl", "-r", "0", "-j", jobs, "list.txt", NULL};

	IT_ASSERT_RAN(it_run(argv, NULL, f->tmp, r), *r);
	return it_check_json(f, r, want_exit, nlines);
}

/* Every result ok, after exactly one attempt. */
static void assert_all_ok_once(const cJSON *res, const struct it_result *r)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, res) {
		const char *st = it_json_str(e, "status");

		if (!st || strcmp(st, "ok") != 0 ||
		    it_json_num(e, "attempts", NULL) != 1) {
			it_dump(r);
			fail_msg("%s: want ok after 1 attempt, got %s after "
				 "%g (%s)", it_json_str(e, "url"),
				 st ? st : "(none)",
				 it_json_num(e, "attempts", NULL),
				 it_json_str(e, "error") ? it_json_str(e, "error")
							 : "-");
		}
	}
}

/* The lines of r's stderr other than the closing summary. */
static int count_warnings(const struct it_result *r, const char *needle,
			  int *matching)
{
	cJSON *lines = it_split_lines(r->err);
	const cJSON *l;
	int n = 0;

	*matching = 0;
	cJSON_ArrayForEach(l, lines) {
		if (strstr(l->valuestring, " entries: ") ||
		    strstr(l->valuestring, " entry: "))
			continue;
		n++;
		if (strstr(l->valuestring, needle))
			(*matching)++;
	}
	cJSON_Delete(lines);
	return n;
}

/* A hard limit of 64 descriptors and -j 200 over 100 slow bodies: the
 * unfixed binary started them all and failed dozens with "Too many open
 * files". Now -j is lowered to what 64 descriptors hold, with exactly one
 * warning saying so, and every entry is ok after one attempt. */
static void test_hard_limit_lowers_jobs(void **state)
{
	struct it_fixture *f = *state;
	struct it_result r;
	cJSON *res;
	int warnings, about_j;
	long maxc;

	if (!have_prlimit())
		skip();
	write_list(f, NURLS, "0.02", "");
	res = run_limited(f, "--nofile=64:64", "200", 0, NURLS, &r);
	assert_all_ok_once(res, &r);
	warnings = count_warnings(&r, "-j 200", &about_j);
	if (warnings != 1 || about_j != 1) {
		it_dump(&r);
		fail_msg("want exactly one warning, about lowering -j 200; "
			 "got %d line(s), %d about -j", warnings, about_j);
	}
	maxc = it_server_stat(&f->srv, "max_concurrent");
	fprintf(stderr, "# nofile 64:64, -j 200: %s# server peak %ld\n",
		r.err, maxc);
	/* Lowered, not to nothing. */
	assert_true(maxc >= 1 && maxc < 64);
	assert_int_equal(it_server_stat(&f->srv, "requests"), NURLS);
	cJSON_Delete(res);
	it_result_free(&r);
}

/* A soft limit of 64 under a hard one of 4096: the soft one is raised, so
 * -j 100 holds, silently: all 100 transfers run at once at the server (a
 * barrier holds every response until 100 are running; 64 descriptors
 * could not hold that many). */
static void test_soft_limit_raised(void **state)
{
	struct it_fixture *f = *state;
	struct it_result r;
	cJSON *res;
	int warnings, about_j;

	if (!have_prlimit())
		skip();
	write_list(f, NURLS, "0.01", "&barrier=100&barrier_timeout=10");
	res = run_limited(f, "--nofile=64:4096", "100", 0, NURLS, &r);
	assert_all_ok_once(res, &r);
	warnings = count_warnings(&r, "-j", &about_j);
	if (warnings != 0) {
		it_dump(&r);
		fail_msg("want no warning, got %d line(s)", warnings);
	}
	assert_int_equal(it_server_stat(&f->srv, "max_concurrent"), NURLS);
	cJSON_Delete(res);
	it_result_free(&r);
}

/* Number of descriptors process pid holds, or -1. */
static int count_fds(pid_t pid)
{
	char *dir = it_path("/proc/%d/fd", (int)pid);
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	free(dir);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Starts fetchmany -j jobs -r 0 over list.txt, waits until the server has
 * seen `running` requests, then sets the soft descriptor limit of the
 * running process (prlimit(2)) to limit when it is positive, else to what
 * it holds plus limit. */
static void start_and_squeeze(struct it_fixture *f, struct it_proc *p,
			      const char *jobs, long running, int limit)
{
	const char *argv[] = {it_bin(), "--json", "-o", "dl", "-r", "0", "-j",
			      jobs, "list.txt", NULL};
	struct rlimit rl;
	int held;

	assert_int_equal(it_proc_start(p, argv, f->tmp, NULL), 0);
	if (it_wait_requests(&f->srv, p, running, 15.0) < 0) {
		struct it_result r;

		it_proc_finish(p, 5.0, &r);
		it_dump_with_log(&r, &f->srv);
		fail_msg("the server did not see %ld requests in time",
			 running);
	}
	held = count_fds(p->pid);
	assert_true(held > 0);
	assert_int_equal(prlimit(p->pid, RLIMIT_NOFILE, NULL, &rl), 0);
	if (limit <= 0)
		limit = held + limit;
	rl.rlim_cur = (rlim_t)limit;
	assert_int_equal(prlimit(p->pid, RLIMIT_NOFILE, &rl, NULL), 0);
	fprintf(stderr, "# squeezed: soft limit %d (held %d)\n", limit, held);
}

/* -j fits the limit at start, but while 16 transfers run the limit drops
 * 8 below what the process holds (as when descriptors are taken by
 * anything else): new sockets and files fail with EMFILE until running
 * transfers give theirs back, and fewer run at once from then on. Every
 * entry still ends ok after one attempt. The unfixed binary failed the
 * entries that met EMFILE ("Too many open files"). */
static void test_shortage_mid_run_delays(void **state)
{
	struct it_fixture *f = *state;
	struct it_proc p;
	struct it_result r;
	cJSON *res;

	write_list(f, 64, "0.03", "");
	start_and_squeeze(f, &p, "16", 16, -8);
	if (it_proc_finish(&p, IT_RUN_TIMEOUT, &r) != 0) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("fetchmany did not end");
	}
	res = it_check_json(f, &r, 0, 64);
	assert_all_ok_once(res, &r);
	cJSON_Delete(res);
	it_result_free(&r);
}

/* The limit drops far below what the process needs just to run (5
 * descriptors) and never comes back: the run still ends, in bounded time;
 * what could not get a descriptor fails with the OS's message, and nothing
 * else fails. */
static void test_shortage_forever_ends(void **state)
{
	struct it_fixture *f = *state;
	struct it_proc p;
	struct it_result r;
	const cJSON *e;
	cJSON *res;
	int failed = 0;
	double t0;

	write_list(f, 16, "0.05", "");
	t0 = it_now();
	start_and_squeeze(f, &p, "4", 4, 5);
	if (it_proc_finish(&p, IT_RUN_TIMEOUT, &r) != 0) {
		it_dump_with_log(&r, &f->srv);
		fail_msg("fetchmany did not end");
	}
	fprintf(stderr, "# descriptors gone for good: ended after %.1f s\n",
		it_now() - t0);
	res = it_check_json(f, &r, 1, 16);
	cJSON_ArrayForEach(e, res) {
		const char *st = it_json_str(e, "status");
		const char *err = it_json_str(e, "error");

		if (st && strcmp(st, "ok") == 0)
			continue;
		failed++;
		if (!st || strcmp(st, "failed") != 0 || !err ||
		    !strstr(err, "Too many open files")) {
			it_dump(&r);
			fail_msg("%s: want ok, or failed for want of "
				 "descriptors; got %s (%s)",
				 it_json_str(e, "url"), st ? st : "-",
				 err ? err : "-");
		}
	}
	assert_true(failed > 0);
	cJSON_Delete(res);
	it_result_free(&r);
}

/* A body cut in segments meets a shortage: the sockets of its third to
 * eighth connections cannot be opened (EMFILE, from
 * tests/integration/nosocket.c preloaded), while the first transfer
 * runs. The segments that lack one wait, uncounted, and go again when a
 * descriptor may be free; the body arrives whole after one attempt under
 * -r 0. Before, each EMFILE was a failed segment: the entry failed
 * ("cannot open a socket: Too many open files"); and four in a row made
 * the segment timer spin. */
static void test_shortage_split_body(void **state)
{
	struct it_fixture *f = *state;
	const char *body = "/data/big.bin?size=67108864&etag=v1"
			   "&rate=67108864";
	const char *so = getenv("FM_NOSOCKET");
	const char *asan = getenv("ASAN_OPTIONS");
	const char *argv[] = {it_bin(), "--json", "-o", "dl", "-r", "0",
			      "list.txt", NULL};
	struct it_buf b = {0};
	char *path, *preload, *asan_opts;
	struct it_result r;
	cJSON *res;

	assert_non_null(so);
	it_buf_printf(&b, "%s%s\n", f->srv.base, body);
	it_write_list(f, b.data);
	free(b.data);
	preload = it_path("LD_PRELOAD=%s", so);
	/* Under ASan the preloaded object would come before its runtime. */
	asan_opts = it_path("ASAN_OPTIONS=%s%sverify_asan_link_order=0",
			    asan ? asan : "", asan && *asan ? ":" : "");
	{
		const char *env[] = {preload, asan_opts,
				     "FM_NOSOCKET_FROM=3", "FM_NOSOCKET_TO=8",
				     NULL};

		IT_ASSERT_RAN(it_run_env(argv, NULL, f->tmp, env, &r), r);
	}
	res = it_check_json(f, &r, 0, 1);
	assert_all_ok_once(res, &r);
	path = it_path("%s/dl/big.bin", f->tmp);
	assert_true(it_file_matches_body(path, "/data/big.bin", 67108864));
	/* it was cut: ranged requests reached the server */
	assert_true(it_requests_for(f, body) > 1);
	free(path);
	free(preload);
	free(asan_opts);
	cJSON_Delete(res);
	it_result_free(&r);
}

/* Runs at a hard limit of n that cannot hold one transfer: exit 2 with
 * the message naming n and the minimum, no result, no abort. Returns the
 * minimum the message gives. */
static unsigned long refused_at(const struct it_fixture *f, unsigned n)
{
	char nofile[32], head[64];
	struct it_result r;
	const char *at;
	unsigned long need = 0;
	cJSON *res;

	snprintf(nofile, sizeof(nofile), "--nofile=%u:%u", n, n);
	res = run_limited(f, nofile, "200", 2, 0, &r);
	snprintf(head, sizeof(head),
		 "fetchmany: the limit of %u open files is too low: "
		 "at least ", n);
	at = strstr(r.err, head);
	if (!at || sscanf(at + strlen(head), "%lu are needed (ulimit -n)",
			  &need) != 1 || need <= n) {
		it_dump(&r);
		fail_msg("limit %u: want the too-low message", n);
	}
	cJSON_Delete(res);
	it_result_free(&r);
	return need;
}

/* Hard limits of 6 and 16: before the fix, 6 aborted in libuv (SIGABRT)
 * and 16 lowered -j to 1 and failed every entry with EMFILE. Now both
 * are refused at start with the minimum, and at that minimum every entry
 * is ok. */
static void test_limit_too_low_refused(void **state)
{
	struct it_fixture *f = *state;
	struct it_result r;
	unsigned long need;
	char nofile[48];
	cJSON *res;

	if (!have_prlimit())
		skip();
	write_list(f, 10, "0.01", "");
	need = refused_at(f, 6);
	assert_int_equal(refused_at(f, 16), need);
	fprintf(stderr, "# at least %lu descriptors needed\n", need);
	snprintf(nofile, sizeof(nofile), "--nofile=%lu:%lu", need, need);
	res = run_limited(f, nofile, "200", 0, 10, &r);
	assert_all_ok_once(res, &r);
	cJSON_Delete(res);
	it_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hard_limit_lowers_jobs,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_limit_too_low_refused,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_soft_limit_raised,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_shortage_mid_run_delays,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_shortage_forever_ends,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_shortage_split_body,
						it_fixture_setup,
						it_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
