/* harness_extra.h: more helpers for the retry, timeout, signal and
 * fail-fast integration tests (see harness.h for the base harness).
 *
 * Every wait here is bounded as well. */
#ifndef FM_HARNESS_EXTRA_H
#define FM_HARNESS_EXTRA_H

#include <stddef.h>

#include "harness.h"

/* Seconds of CLOCK_MONOTONIC (the client side clock; the server's times in
 * /_log come from its own monotonic clock and are only compared with each
 * other). */
double fm_now(void);

/* Sleeps s seconds (restarted on EINTR). */
void fm_sleep(double s);

/* Reads the child's stdout and stderr for s seconds (or until both are
 * closed), so that it never blocks on a full pipe while the test waits. */
void fm_proc_pump_for(struct fm_proc *p, double s);

/* Polls /_stats every 20 ms (pumping the child's output meanwhile when p is
 * not NULL) until the server has seen at least n requests. Returns the
 * number seen (>= n), or -1 when timeout_s passed first. */
long fm_wait_requests(const struct fm_server *s, struct fm_proc *p, long n,
		      double timeout_s);

/* Polls /_log every 20 ms (pumping p when not NULL) until at least n
 * requests for path_query have ended (t_end not null). Returns 0, or -1
 * when timeout_s passed first. */
int fm_wait_ended(const struct fm_server *s, struct fm_proc *p,
		  const char *path_query, int n, double timeout_s);

/* Polls every 20 ms (pumping p) until process p holds at least n files
 * under dir open: bodies being written, whether as NAME.part or as
 * unnamed O_TMPFILE files (seen in /proc/PID/fd as "DIR/#INODE
 * (deleted)"). Returns 0 or -1 on timeout. */
int fm_wait_bodies(const char *dir, struct fm_proc *p, int n,
		   double timeout_s);

/* The /_log entries for path_query, in the order the server began them:
 * their t_start and t_end (t_end -1 while still running) go to starts[]
 * and ends[] (either may be NULL), at most max of them. Returns how many
 * entries matched (may exceed max). */
int fm_log_times(const cJSON *log, const char *path_query, double *starts,
		 double *ends, int max);

/* Number of regular files (and other non-directories) below dir,
 * recursively; 0 when dir does not exist; -1 when it cannot be read. */
int fm_count_files(const char *dir);

/* Prints the run's output and the server's /_log on stderr. */
void fm_dump_with_log(const struct run_result *r, const struct fm_server *s);

/* 1 when s starts with prefix. */
int fm_starts_with(const char *s, const char *prefix);

/* Number of objects of the JSON Lines array whose "url" equals url. */
int fm_count_url(const cJSON *results, const char *url);

/* 1 when needle occurs in hay ignoring ASCII case (an empty needle always
 * does); 0 when hay is NULL. */
int fm_ci_contains(const char *hay, const char *needle);

/* For cmocka tests: runs "fetchmany --json -o dl ARGS" (args is
 * NULL-terminated) in f->tmp with an empty stdin and asserts that it ran,
 * that it exited with want_exit (dumping the run and the server's /_log
 * otherwise), that every stdout line is a JSON object and, when
 * nlines >= 0, that there are nlines of them. Returns the parsed lines
 * (free with cJSON_Delete); r holds the run (free with
 * fm_run_result_free). */
cJSON *fm_run_json(const struct fm_fixture *f, const char *const args[],
		   int want_exit, int nlines, struct run_result *r);

/* The same without "-o dl": the arguments say where files go. */
cJSON *fm_run_json_plain(const struct fm_fixture *f,
			 const char *const args[], int want_exit, int nlines,
			 struct run_result *r);

#endif
