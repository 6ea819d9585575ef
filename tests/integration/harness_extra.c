/* harness_extra.c: more helpers for the integration tests (see
 * harness_extra.h). */
#define _XOPEN_SOURCE 700 /* realpath */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness_extra.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double fm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void fm_sleep(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void fm_proc_pump_for(struct fm_proc *p, double s)
{
	double deadline = fm_now() + s;

	/* No line count is ever reached: this reads until the time is up or
	 * stdout closes. */
	(void)fm_proc_wait_lines(p, SIZE_MAX, s);
	fm_sleep(deadline - fm_now());
}

static void idle(struct fm_proc *p, double s)
{
	if (p)
		fm_proc_pump_for(p, s);
	else
		fm_sleep(s);
}

long fm_wait_requests(const struct fm_server *s, struct fm_proc *p, long n,
		      double timeout_s)
{
	double deadline = fm_now() + timeout_s;

	for (;;) {
		long got = fm_server_stat(s, "requests");

		if (got >= n)
			return got;
		if (fm_now() >= deadline)
			return -1;
		idle(p, 0.02);
	}
}

int fm_log_times(const cJSON *log, const char *path_query, double *starts,
		 double *ends, int max)
{
	const cJSON *e;
	int n = 0;

	cJSON_ArrayForEach(e, log) {
		const char *path = fm_json_str(e, "path");
		const cJSON *ts, *te;

		if (!path || strcmp(path, path_query) != 0)
			continue;
		if (n < max) {
			ts = cJSON_GetObjectItemCaseSensitive(e, "t_start");
			te = cJSON_GetObjectItemCaseSensitive(e, "t_end");
			if (starts)
				starts[n] = cJSON_IsNumber(ts) ? ts->valuedouble
							       : -1.0;
			if (ends)
				ends[n] = cJSON_IsNumber(te) ? te->valuedouble
							     : -1.0;
		}
		n++;
	}
	return n;
}

int fm_wait_ended(const struct fm_server *s, struct fm_proc *p,
		  const char *path_query, int n, double timeout_s)
{
	double deadline = fm_now() + timeout_s;

	for (;;) {
		cJSON *log = fm_server_log(s);
		double ends[64];
		int got = 0, m;

		if (log) {
			m = fm_log_times(log, path_query, NULL, ends, 64);
			for (int i = 0; i < m && i < 64; i++)
				if (ends[i] >= 0)
					got++;
			cJSON_Delete(log);
		}
		if (got >= n)
			return 0;
		if (fm_now() >= deadline)
			return -1;
		idle(p, 0.02);
	}
}

/* How many descriptors of pid point below the directory real (a
 * canonical path). */
static int count_open_below(pid_t pid, const char *real)
{
	char fddir[64], fdpath[64 + 256], target[PATH_MAX];
	size_t rl = strlen(real);
	struct dirent *d;
	DIR *fds;
	int n = 0;

	snprintf(fddir, sizeof(fddir), "/proc/%ld/fd", (long)pid);
	fds = opendir(fddir);
	if (!fds)
		return 0;
	while ((d = readdir(fds))) {
		ssize_t len;

		if (d->d_name[0] == '.')
			continue;
		snprintf(fdpath, sizeof(fdpath), "%s/%s", fddir, d->d_name);
		len = readlink(fdpath, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (strncmp(target, real, rl) == 0 && target[rl] == '/')
			n++;
	}
	closedir(fds);
	return n;
}

int fm_wait_bodies(const char *dir, struct fm_proc *p, int n,
		   double timeout_s)
{
	double deadline = fm_now() + timeout_s;
	char real[PATH_MAX];

	for (;;) {
		/* dir may appear only once the run has started. */
		if (realpath(dir, real) && count_open_below(p->pid, real) >= n)
			return 0;
		if (fm_now() >= deadline)
			return -1;
		idle(p, 0.02);
	}
}

int fm_count_files(const char *dir)
{
	cJSON *tree;
	const cJSON *e;
	int n = 0;

	if (!fm_exists(dir))
		return 0;
	tree = fm_tree_list(dir);
	if (!tree)
		return -1;
	cJSON_ArrayForEach(e, tree) {
		const char *s = cJSON_GetStringValue(e);
		size_t l = s ? strlen(s) : 0;

		if (s && l > 0 && s[l - 1] != '/')
			n++;
	}
	cJSON_Delete(tree);
	return n;
}

void fm_dump_with_log(const struct run_result *r, const struct fm_server *s)
{
	cJSON *log = fm_server_log(s);
	char *text = log ? cJSON_Print(log) : NULL;

	if (r)
		fm_dump(r);
	fprintf(stderr, "--- server log:\n%s\n--- end\n",
		text ? text : "(unavailable)");
	free(text);
	cJSON_Delete(log);
}

int fm_starts_with(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

int fm_count_url(const cJSON *results, const char *url)
{
	const cJSON *e;
	int n = 0;

	cJSON_ArrayForEach(e, results) {
		const char *u = fm_json_str(e, "url");

		if (u && strcmp(u, url) == 0)
			n++;
	}
	return n;
}

int fm_ci_contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	if (!hay)
		return 0;
	for (; *hay; hay++) {
		size_t i = 0;

		while (i < n && hay[i] &&
		       tolower((unsigned char)hay[i]) ==
			       tolower((unsigned char)needle[i]))
			i++;
		if (i == n)
			return 1;
	}
	return n == 0;
}

/* Both entry points: with "-o dl" in front of args, or without. */
static cJSON *run_json(const struct fm_fixture *f, bool into_dl,
		       const char *const args[], int want_exit, int nlines,
		       struct run_result *r)
{
	const char *argv[64];
	size_t n = 0;
	cJSON *res;
	int rc, bad;

	argv[n++] = fm_bin();
	argv[n++] = "--json";
	if (into_dl) {
		argv[n++] = "-o";
		argv[n++] = "dl";
	}
	for (size_t i = 0; args[i]; i++) {
		if (n >= 63)
			fail_msg("fm_run_json: too many arguments");
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	rc = fm_run(argv, NULL, f->tmp, r);
	FM_ASSERT_RAN(rc, *r);
	if (!r->exited || r->exit_code != want_exit) {
		fm_dump_with_log(r, &f->srv);
		fail_msg("exit status: want %d, got %s %d", want_exit,
			 r->exited ? "exit" : "signal",
			 r->exited ? r->exit_code : r->signaled);
	}
	res = fm_jsonl_parse(r->out, &bad);
	assert_int_equal(bad, 0);
	if (nlines >= 0 && cJSON_GetArraySize(res) != nlines) {
		fm_dump_with_log(r, &f->srv);
		fail_msg("want %d result lines, got %d", nlines,
			 cJSON_GetArraySize(res));
	}
	return res;
}

cJSON *fm_run_json(const struct fm_fixture *f, const char *const args[],
		   int want_exit, int nlines, struct run_result *r)
{
	return run_json(f, true, args, want_exit, nlines, r);
}

cJSON *fm_run_json_plain(const struct fm_fixture *f,
			 const char *const args[], int want_exit, int nlines,
			 struct run_result *r)
{
	return run_json(f, false, args, want_exit, nlines, r);
}
