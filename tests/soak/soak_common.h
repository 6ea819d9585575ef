/* soak_common.h: a list of /data entries with injected faults of every
 * kind, and the checks of a fetchmany --json run over it, shared by the
 * soak and valgrind tests (tests/soak/).
 *
 * Every fault is spelled out in the entry's own query string (httpd.py's
 * fail=, reset=, truncate=, stall=, trickle=, status=, retry_after=), so a
 * URL says by itself what fetchmany must make of it. The plan is built
 * from a fixed seed: the same n and seed give the same list. */
#ifndef FM_SOAK_COMMON_H
#define FM_SOAK_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness.h"

enum soak_kind {
	SK_PLAIN,    /* served at once */
	SK_RESET,    /* first attempt: connection reset; then 200 */
	SK_5XX,      /* first 1 or 2 attempts: 500/502/503/504; then 200 */
	SK_429,      /* first attempt: 429 with Retry-After: 1; then 200 */
	SK_TRUNC,    /* first attempt: half the announced body; then 200 */
	SK_STALL,    /* first attempt: half the body, then silence longer than
		      * the stall timeout; then 200 */
	SK_TRICKLE,  /* slow but steady body (1 KiB pieces, gaps well below
		      * the stall timeout, total well above it): one attempt */
	SK_404,      /* permanent 404: failed after one attempt */
	SK_500,      /* permanent 500: failed after 1 + retries attempts */
	SK_NKINDS
};

struct soak_entry {
	enum soak_kind kind;
	unsigned size;      /* body bytes */
	int fails;          /* SK_5XX: failing attempts before the 200 */
	int status;         /* SK_5XX: the failing status */
	char path[32];      /* "/data/s00042.bin": the body pattern's path */
	char *url;          /* full URL, malloc'd */
	char *pq;           /* path and query, as the server logs it */
};

struct soak_params {
	size_t n;            /* entries */
	unsigned permille;   /* faulted entries per 1000 */
	uint64_t seed;
	int retries;         /* fetchmany -r */
	double stall_s;      /* SK_STALL: server silence (> stall timeout) */
	double trickle_s;    /* SK_TRICKLE: gap between 1 KiB pieces */
	unsigned trickle_size;
	/* The server keeps connections alive (no --no-keepalive). A reset
	 * on a reused connection before any byte of the response is then
	 * retried by libcurl itself on a fresh connection, within the same
	 * attempt: fetchmany may report 1 attempt where the server saw 2. */
	int keepalive;
};

struct soak_plan {
	struct soak_params p;
	struct soak_entry *e;
	size_t nkind[SK_NKINDS];
	long want_requests;  /* sum of the expected attempts */
};

/* Builds the plan for server s. Entry 0 is always SK_PLAIN. Every kind
 * gets at least one entry when n * permille / 1000 >= SK_NKINDS - 1. */
void soak_plan_make(struct soak_plan *pl, const struct it_server *s,
		    const struct soak_params *p);
void soak_plan_free(struct soak_plan *pl);

const char *soak_kind_name(enum soak_kind k);

/* The list line of entry i (URL and '\n'), appended to b. */
void soak_plan_line(const struct soak_plan *pl, size_t i, struct it_buf *b);

/* What fetchmany must report for an entry. */
int soak_want_attempts(const struct soak_plan *pl, const struct soak_entry *e);
int soak_want_ok(const struct soak_entry *e);

/* Entry index of a URL of the plan (by its "/data/sNNNNN.bin"), or -1. */
long soak_index_of(const struct soak_plan *pl, const char *url);

/* Per-kind outcome counts filled by soak_check_results. */
struct soak_tally {
	size_t ok[SK_NKINDS];
	size_t failed[SK_NKINDS];
	size_t other[SK_NKINDS];
	size_t attempts[SK_NKINDS];   /* sum of reported attempts */
	size_t results;               /* result objects seen */
	size_t unknown;               /* results whose URL is not the plan's */
	size_t bytes;                 /* sum of ok bytes */
};

/* Checks results (a cJSON array of --json records) against the plan: each
 * entry reported exactly once, by its URL; status, http_status, attempts,
 * bytes, path and error as its kind implies; every ok file (root/path)
 * byte-exact; no file for a failed entry. outdir is the -o value as the
 * records spell it ("out"). Prints at most a few problems on stderr and
 * returns how many there were. */
size_t soak_check_results(const struct soak_plan *pl, const cJSON *results,
			  const char *root, const char *outdir,
			  struct soak_tally *t);

/* Checks the server's view: /_stats requests equals the plan's expected
 * total (when exact is set) and /_log holds, per entry, the expected
 * number of requests. *min_ra_gap gets the shortest wait between a 429
 * (Retry-After: 1) and its retry, end of the one to start of the other
 * on the server's clock (-1 when there was none); with ra_min > 0, each
 * such wait shorter than ra_min is a problem. Returns the number of
 * problems. */
size_t soak_check_server(const struct soak_plan *pl, const struct it_server *s,
			 int exact, double ra_min, double *min_ra_gap);

/* Prints one "# soak: ..." line per kind with its outcome counts. */
void soak_print_tally(const char *label, const struct soak_plan *pl,
		      const struct soak_tally *t);

/* ----------------------------------------------------- /proc inspection */

/* The open descriptors of pid as sorted "N -> target" lines, with the
 * inode numbers of sockets, pipes and anonymous inodes left out ("socket",
 * "pipe"), in a malloc'd string; *count gets how many. NULL on error. */
char *soak_fd_list(pid_t pid, int *count);

/* The target part of soak_fd_list() lines, sorted, so that two lists can be
 * compared without the descriptor numbers. Malloc'd. */
char *soak_fd_kinds(const char *fd_list);

/* A "Vm...:" value of /proc/pid/status in KiB, or -1. */
long soak_proc_kib(pid_t pid, const char *field);

/* 1 when the test binaries were built with sanitizers (FM_SANITIZE set and
 * not "none"), 0 otherwise. */
int soak_sanitized(void);

/* 1 when TAP output is on (CMOCKA_MESSAGE_OUTPUT=TAP). */
int soak_tap(void);

#endif
