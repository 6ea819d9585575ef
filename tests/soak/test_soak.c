/* Soak: 20,000 entries at -j 100 against tests/httpd.py, 10 % of them with
 * an injected fault of every kind (connection resets, 5xx then 200, 429
 * with Retry-After: 1, a truncated body, a stall longer than
 * --stall-timeout, a slow but steady body that must not count as a stall,
 * permanent 404 and 500), with --backoff 0.05 --backoff-max 1 -r 3.
 *
 * Checked: every entry reported exactly once; every ok file byte-exact;
 * statuses, HTTP statuses and attempts as each fault kind implies, and the
 * server saw exactly those attempts; each retry after a 429 came at least
 * 0.95 s after it (server clock); no .part left; only the ok files in the
 * output directory; the fetchmany process's open descriptors after the
 * last result equal those after the first (the list goes through a pipe
 * kept open until the end has been sampled; the baseline is taken once
 * the first entry is done, so that descriptors opened once and kept, such
 * as the output directory's, are in both); its peak RSS (VmHWM, and
 * ru_maxrss after wait) is under 64 MiB, except in a sanitizer build.
 * Counts per fault kind, descriptors, RSS and durations are printed on
 * stderr.
 *
 * The server runs with --no-keepalive: with keep-alive, libcurl would keep
 * up to -j idle connections cached at the end (CURLMOPT_MAXCONNECTS is
 * -j), legitimately, and the descriptor counts could not be compared.
 *
 * FM_SOAK_N overrides the number of entries (default 20000). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness.h"
#include "soak_common.h"

#define SOAK_N_DEFAULT 20000
#define SOAK_JOBS "100"
#define RSS_LIMIT_KIB (64L * 1024)
/* Whole run, list written and every result read; the test itself must
 * stay far below (it aims at < 90 s on two cores). */
#define RUN_DEADLINE_S 240.0

/* 50 ms from now, or deadline when that comes first: the I/O loops below
 * also sample the child between rounds. */
static double slice(double deadline)
{
	double t = it_now() + 0.05;

	return t < deadline ? t : deadline;
}

/* The descriptors of pid once two samples 100 ms apart agree (at most
 * 3 s); *count gets their number. */
static char *stable_fds(pid_t pid, struct it_proc *p, int *count)
{
	double deadline = it_now() + 3.0;
	char *prev = soak_fd_list(pid, count);

	while (prev && it_now() < deadline) {
		char *cur;
		double until = it_now() + 0.1;

		while (it_now() < until)
			it_proc_pump(p, until, NULL, 0, NULL);
		cur = soak_fd_list(pid, count);
		if (cur && strcmp(cur, prev) == 0) {
			free(prev);
			return cur;
		}
		free(prev);
		prev = cur;
	}
	return prev;
}

/* The last bytes of s, for diagnostics of a 5 MB output. */
static const char *tail_of(const char *s, size_t len, size_t max)
{
	return len > max ? s + len - max : s;
}

static void give_up(struct it_proc *p, const char *what)
{
	struct it_result r;

	kill(p->pid, SIGKILL);
	it_proc_finish(p, 5.0, &r);
	fprintf(stderr, "--- stdout (last 4 KiB):\n%s\n--- stderr:\n%s\n",
		tail_of(r.out, r.out_len, 4096), r.err);
	it_result_free(&r);
	fail_msg("%s", what);
}

/* What the teardown cleans up, also after a failed assertion. */
struct soak_fixture {
	struct it_server srv;
	struct soak_plan pl;
	char *tmp;
};

static int soak_setup(void **state)
{
	struct soak_fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	*state = f;
	return 0;
}

static int soak_teardown(void **state)
{
	struct soak_fixture *f = *state;

	if (!f)
		return 0;
	if (f->srv.pid > 0)
		it_server_stop(&f->srv);
	soak_plan_free(&f->pl);
	if (f->tmp) {
		double t0 = it_now();

		if (getenv("FM_KEEP_TMP")) {
			fprintf(stderr, "kept %s\n", f->tmp);
		} else {
			it_rmtree(f->tmp);
			fprintf(stderr, "# soak: removing the scratch directory "
				"took %.2f s\n", it_now() - t0);
		}
		free(f->tmp);
	}
	free(f);
	*state = NULL;
	return 0;
}

static void test_soak(void **state)
{
	struct soak_fixture *f = *state;
	const char *env_n = getenv("FM_SOAK_N");
	struct soak_params prm = {
		.n = env_n && atol(env_n) > 0 ? (size_t)atol(env_n)
					       : SOAK_N_DEFAULT,
		.permille = 100,
		.seed = 20261124,
		.retries = 3,
		.stall_s = 2.5,
		.trickle_s = 0.3,
		.trickle_size = 5000,
	};
	const char *srv_args[] = { "--no-keepalive", "--lifetime", "900",
				   "--also-listen", "1", NULL };
	const char *argv[] = {
		it_bin(), "--json", "-j", SOAK_JOBS, "-o", "out",
		"-r", "3", "--backoff", "0.05", "--backoff-max", "1",
		"--stall-timeout", "1", "-", NULL,
	};
	struct soak_tally t;
	struct it_buf first = { 0 }, rest = { 0 };
	struct it_proc p;
	struct it_result r;
	struct rusage ru;
	char *fd0, *fd1, *k0, *k1, *outdir;
	int nfd0, nfd1, peak_fds = 0, bad_json, want_exit;
	long hwm, ru_kib, peak_kib;
	double t0, t_first, t_last, t_exit, next_sample, deadline;
	double min_gap;
	size_t done = 0, problems, nok = 0;
	cJSON *res, *tree;
	pid_t pid;

	assert_int_equal(it_server_start(&f->srv, srv_args), 0);
	soak_plan_make(&f->pl, &f->srv, &prm);
	f->tmp = it_mkdtemp();
	assert_non_null(f->tmp);
	outdir = it_path("%s/out", f->tmp);
	soak_plan_line(&f->pl, 0, &first);
	it_buf_printf(&rest, "%s", "");
	for (size_t i = 1; i < prm.n; i++)
		soak_plan_line(&f->pl, i, &rest);
	fprintf(stderr, "# soak: %zu entries (%zu faulted), -j %s, list of "
		"%zu bytes, server %s\n", prm.n,
		prm.n - f->pl.nkind[SK_PLAIN], SOAK_JOBS, first.len + rest.len,
		f->srv.base);

	assert_int_equal(it_proc_start(&p, argv, f->tmp, NULL), 0);
	pid = p.pid;
	t0 = it_now();
	deadline = t0 + RUN_DEADLINE_S;

	/* One entry, its result, then the baseline: fetchmany is up, has
	 * read from the pipe and done one transfer, and waits for more. */
	while (done < first.len || it_proc_lines(&p) < 1) {
		if (it_now() > t0 + 20.0 || p.out_fd < 0)
			give_up(&p, "no result for the first entry in 20 s");
		if (it_proc_pump(&p, slice(t0 + 20.0), first.data, first.len,
				 &done) != 0)
			give_up(&p, "fetchmany closed its stdin");
	}
	t_first = it_now();
	fd0 = stable_fds(pid, &p, &nfd0);
	if (!fd0)
		give_up(&p, "cannot read /proc/PID/fd at the start");

	/* The rest, with a look at the descriptor count now and then. */
	done = 0;
	next_sample = it_now();
	while (it_proc_lines(&p) < prm.n) {
		int n;

		if (it_now() > deadline || p.out_fd < 0) {
			fprintf(stderr, "# %zu of %zu results, %zu of %zu list "
				"bytes written\n", it_proc_lines(&p), prm.n, done,
				rest.len);
			give_up(&p, "the soak run did not finish in time");
		}
		if (it_proc_pump(&p, slice(deadline),
				 done < rest.len ? rest.data : NULL, rest.len,
				 &done) != 0)
			give_up(&p, "fetchmany closed its stdin");
		if (it_now() >= next_sample) {
			char *l = soak_fd_list(pid, &n);

			if (n > peak_fds)
				peak_fds = n;
			free(l);
			next_sample = it_now() + 0.25;
		}
	}
	t_last = it_now();
	if (done != rest.len)
		give_up(&p, "all results arrived before the list was written");

	/* The end: every result is out, stdin still open. */
	fd1 = stable_fds(pid, &p, &nfd1);
	hwm = soak_proc_kib(pid, "VmHWM");
	if (!fd1)
		give_up(&p, "cannot read /proc/PID/fd at the end");

	if (it_proc_finish(&p, 30.0, &r) != 0) {
		fprintf(stderr, "--- stderr:\n%s\n", r.err);
		fail_msg("fetchmany did not exit within 30 s of the end of its "
			 "list");
	}
	t_exit = it_now();
	getrusage(RUSAGE_CHILDREN, &ru);
	ru_kib = ru.ru_maxrss;

	fprintf(stderr, "# soak: first result after %.2f s, last after %.2f "
		"s, exit after %.2f s (list of %zu entries)\n", t_first - t0,
		t_last - t0, t_exit - t0, prm.n);
	fprintf(stderr, "# soak: fetchmany said: %s", r.err);
	fprintf(stderr, "# soak: open descriptors: %d after the first result, "
		"%d after the last, peak %d while running\n", nfd0, nfd1,
		peak_fds);
	/* ru_maxrss also sees the forked test process before the exec;
	 * VmHWM is the high-water mark of fetchmany's own address space. */
	fprintf(stderr, "# soak: peak RSS of fetchmany: VmHWM %ld KiB (%.1f "
		"MiB) after the last result, before exit; ru_maxrss after "
		"wait %ld KiB\n", hwm, (double)hwm / 1024.0, ru_kib);
	peak_kib = ru_kib > hwm ? ru_kib : hwm;

	/* uv_loop_close() found every handle closed (it_run() reports an
	 * internal error otherwise). */
	if (r.err && strstr(r.err, "internal error"))
		fail_msg("fetchmany reported an internal error: %s", r.err);

	/* Exit status: 1 when a permanent failure was planned. */
	want_exit = f->pl.nkind[SK_404] + f->pl.nkind[SK_500] > 0 ? 1 : 0;
	if (!r.exited || r.exit_code != want_exit) {
		fprintf(stderr, "--- stderr:\n%s\n", r.err);
		fail_msg("exit status: want %d, got %s %d", want_exit,
			 r.exited ? "exit" : "signal",
			 r.exited ? r.exit_code : r.signaled);
	}

	/* Every entry exactly once, as its kind implies, files exact. */
	res = it_jsonl_parse(r.out, &bad_json);
	assert_int_equal(bad_json, 0);
	if ((size_t)cJSON_GetArraySize(res) != prm.n)
		fail_msg("want %zu result lines, got %d", prm.n,
			 cJSON_GetArraySize(res));
	problems = soak_check_results(&f->pl, res, f->tmp, "out", &t);
	fprintf(stderr, "# soak: results checked after %.2f s\n",
		it_now() - t0);
	soak_print_tally("soak", &f->pl, &t);
	for (int k = 0; k < SK_NKINDS; k++)
		nok += t.ok[k];
	fprintf(stderr, "# soak: %zu results, %zu ok (%zu bytes), %zu "
		"problems\n", t.results, nok, t.bytes, problems);
	if (problems)
		fail_msg("%zu result problems (see above)", problems);

	/* The server saw exactly the attempts reported; Retry-After held. */
	problems = soak_check_server(&f->pl, &f->srv, 1, 0.95, &min_gap);
	fprintf(stderr, "# soak: server log checked after %.2f s\n",
		it_now() - t0);
	fprintf(stderr, "# soak: server requests %ld (want %ld); shortest "
		"wait after a 429 with Retry-After: 1: %.3f s\n",
		it_server_stat(&f->srv, "requests"), f->pl.want_requests,
		min_gap);
	if (problems)
		fail_msg("%zu server-side problems (see above)", problems);

	/* No .part anywhere, nothing but the ok files. */
	tree = it_tree_list(f->tmp);
	assert_non_null(tree);
	if (it_tree_count_suffix(tree, ".part") != 0)
		fail_msg("%d .part files left", it_tree_count_suffix(tree,
								      ".part"));
	if (it_count_files(outdir) != (int)nok)
		fail_msg("%d files in out/, want %zu (the ok entries)",
			 it_count_files(outdir), nok);
	cJSON_Delete(tree);

	/* Descriptors: the same at the end as at the start. */
	k0 = soak_fd_kinds(fd0);
	k1 = soak_fd_kinds(fd1);
	if (nfd0 != nfd1 || strcmp(k0, k1) != 0) {
		fprintf(stderr, "--- descriptors after the first result:\n%s"
			"--- after the last result:\n%s--- end\n", fd0, fd1);
		fail_msg("open descriptors: %d at the start, %d at the end",
			 nfd0, nfd1);
	}

	/* Memory stays bounded by -j, not by the length of the list. */
	if (hwm <= 0)
		fail_msg("no VmHWM for the fetchmany process");
	if (soak_sanitized())
		fprintf(stderr, "# soak: sanitizer build: RSS bound of %ld KiB "
			"not checked\n", RSS_LIMIT_KIB);
	else if (peak_kib >= RSS_LIMIT_KIB)
		fail_msg("peak RSS %ld KiB, want < %ld KiB", peak_kib,
			 RSS_LIMIT_KIB);

	free(k0);
	free(k1);
	free(fd0);
	free(fd1);
	cJSON_Delete(res);
	it_result_free(&r);
	free(first.data);
	free(rest.data);
	free(outdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_soak, soak_setup,
						soak_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
