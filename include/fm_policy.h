/* fm_policy.h: what an attempt's outcome means.
 *
 * One pure function, fm_judge(), decides from the facts of an attempt
 * (libcurl's result code, the HTTP status, any local (file-system) error
 * and our own reason to stop it) whether it succeeded, should be retried,
 * or failed for good, and whether its .part is kept; another,
 * fm_next_url(), where the attempt after a failed one goes. */
#ifndef FM_POLICY_H
#define FM_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

enum fm_verdict {
	FM_VERDICT_OK,    /* body complete and accepted */
	FM_VERDICT_RETRY, /* transient: another attempt may succeed */
	FM_VERDICT_FAIL,  /* final */
	FM_VERDICT_UNCHANGED, /* -N: the server has nothing newer */
	FM_VERDICT_SKIP,  /* -n: the file exists */
};

/* Our own reason to stop an attempt (curl's enum retryreason), set in
 * body.c (fm_xfer_note_stop(), or directly for a server-given name that
 * exists), xfer.c (-n) and worker.c (stop_attempt()). */
enum fm_stop {
	FM_STOP_NONE,
	FM_STOP_CONTENT_MISMATCH, /* a digest of the body is not the entry's */
	FM_STOP_RESUME_MISMATCH,  /* -c: 206 at another range than asked, or
				     416 for a .part that does not match:
				     the .part goes, the next attempt starts
				     from zero */
	FM_STOP_NAME_TAKEN,       /* the server-given name is another
				     entry's */
	FM_STOP_TOO_BIG,          /* a body without Content-Length grew past
				     --max-filesize */
	FM_STOP_SERVER_NAME_EXISTS, /* -n: the server-given name exists */
	FM_STOP_EXISTS,           /* -n: NAME exists, before any request */
	FM_STOP_DEADLINE,         /* -t is over (as CURLE_OPERATION_TIMEDOUT) */
	FM_STOP_STALLED,          /* --stall-timeout (as
				     CURLE_OPERATION_TIMEDOUT) */
	FM_STOP_ABORTED,          /* a signal, --fail-fast or a failed
				     output (as CURLE_ABORTED_BY_CALLBACK) */
	FM_STOP_COUNT
};

/* --retry-on: the HTTP statuses retried besides the default ones (408,
 * 429, 500, 502, 503, 504), a set of 400..599: nothing outside that
 * range is an error a retry could mend (a 2xx is a success, a 3xx
 * libcurl's to follow). A bitmap, so that asking costs nothing and the
 * set copies by value; all zero is the empty set. */
#define FM_RETRY_ON_LOW 400
#define FM_RETRY_ON_HIGH 599
struct fm_retry_on {
	uint64_t bits[(FM_RETRY_ON_HIGH - FM_RETRY_ON_LOW + 64) / 64];
};

/* Adds the statuses of list to set: comma-separated items, each a
 * status ("403") or a class, a status whose last digits are x ("52x",
 * "5xx"), within 400..599; blanks around an item are allowed. Returns 0,
 * or -1 with a reason naming the item at fault in why (whylen bytes),
 * set untouched. */
int fm_retry_on_parse(struct fm_retry_on *set, const char *list, char *why,
		      size_t whylen);

/* Whether status is in set (NULL: the empty set). */
bool fm_retry_on_has(const struct fm_retry_on *set, long status);

/* What is known of an attempt when it ends. */
struct fm_attempt_facts {
	CURLcode rc;        /* libcurl's result (ours for the stops given as
			       one: deadline, stalled, aborted) */
	long http_status;   /* the last response's status, 0 when none */
	int local_err;      /* -errno from preparing or writing the file */
	int sock_err;       /* -errno of a socket() libcurl asked for */
	const char *curl_msg; /* libcurl's error text, or NULL */
	enum fm_stop stop;  /* the first reason we stopped it */
	bool resume;        /* -c, and the entry's .part not found unusable */
	bool not_modified;  /* -N asked, and the server answered 304 */
	bool commit_failed; /* the body was judged ok, but could not be made
			       the file (see local_err, stop) */
	bool reused;        /* the attempt made no new connection */
	bool fresh;         /* the attempt was itself a fresh retry */
	const struct fm_retry_on *retry_on; /* --retry-on, or NULL */
};

/* What becomes of the attempt. */
struct fm_judgement {
	enum fm_verdict verdict;
	bool keep_part;     /* a failed attempt's .part stays, to be resumed */
	bool retry_fresh;   /* go again at once on a new connection, as the
			       same attempt (fm_retry_fresh()) */
	bool no_fd;         /* for want of a descriptor: the scheduler may
			       delay it (fm_fd_shortage()); verdict FAIL */
	bool not_counted;   /* no request left: not one of the entry's
			       attempts */
	bool drop_url;      /* verdict FAIL, and the URL's own: its answer
			       (a 404, a wrong digest, a body too large) or
			       its server (TLS verification, a redirect we
			       do not follow), not this machine's (a local
			       error, a descriptor shortage) nor the run's
			       (an interruption, a name another entry took):
			       another URL of the entry may do better
			       (fm_next_url()) */
};

/* Judges an attempt from its facts; the one place where verdicts are
 * made. Attempts are counted by the scheduler alone (run.c conclude()),
 * from the judgement's not_counted and its own descriptor delays. */
struct fm_judgement fm_judge(const struct fm_attempt_facts *f);

/* Where the attempt after a failed one goes (spec 5, mirrors). */
enum fm_next_step {
	FM_NEXT_NONE,   /* nowhere: the entry's outcome is final */
	FM_NEXT_NOW,    /* at once, spending no retry: the failed URL is
			   dropped, and another is live */
	FM_NEXT_RETRY,  /* after the backoff, spending a retry */
};

struct fm_next {
	enum fm_next_step step;
	unsigned url;   /* the URL it goes to, an index as cur's */
};

/* After a failed attempt at URL cur of an entry's n URLs (0 its URL, then
 * its mirrors in the order given), where the next attempt goes. dropped:
 * dropped[i] is true for URL i dropped by an earlier failure (NULL: none
 * is). One of:
 * - retry (fm_judge()'s RETRY: a transient failure): the URL stays live;
 *   the next live URL after cur (in order, and round again; cur itself
 *   when it is the only one), after the backoff, while retried (the
 *   retries spent) < retries: FM_NEXT_RETRY; else FM_NEXT_NONE;
 * - drop (fm_judgement's drop_url): cur is dropped; the next live URL
 *   after it, at once and whatever the retries: FM_NEXT_NOW; FM_NEXT_NONE
 *   when none is left;
 * - neither (the entry's own failure: a local error, an interruption):
 *   FM_NEXT_NONE.
 * Without mirrors (n 1) this is the plain retry rule. Pure. */
struct fm_next fm_next_url(const bool *dropped, unsigned n, unsigned cur,
			   bool retry, bool drop, unsigned retried,
			   unsigned retries);

/* Classifies an attempt (a step of fm_judge()).
 * rc: libcurl's result for the transfer.
 * http_status: the last response's status, 0 when none arrived.
 * local_err: -errno from writing the body, 0 when none. */
enum fm_verdict fm_classify(CURLcode rc, long http_status, int local_err);

/* Whether a failed attempt goes again at once, on a new connection, and
 * without counting as one of the entry's attempts: a protocol error on a
 * connection it reused is the connection's fault (the server closed it
 * just then, or left bytes on it after the previous response), not the
 * entry's.
 * rc, http_status, local_err: as for fm_classify().
 * reused: the attempt made no new connection (CURLINFO_NUM_CONNECTS 0).
 * fresh: the attempt was itself such a retry; once per attempt, so that
 * a server that always fails still ends. */
bool fm_retry_fresh(CURLcode rc, long http_status, int local_err, bool reused,
		    bool fresh);

/* Backoff before retry k (k = 1, 2, ...), in seconds:
 * min(max, base * 2^(k-1)) scaled by 0.5 + 0.5 * u.
 * u: a uniform random number in [0, 1], passed in so tests can fix it. */
double fm_backoff(unsigned k, double base, double max, double u);

/* The wait before retry k: fm_backoff(), raised to what the server asked
 * in Retry-After (retry_after >= 0, in seconds; < 0 when absent) when the
 * status is 429 or 503, and that raise capped at max. Never below the
 * backoff, so Retry-After: 0 cannot start a retry storm. */
/* How long the host that answered http_status with Retry-After
 * retry_after (seconds; < 0 when absent) is paused, in seconds: no new
 * request goes to it before. A 429 or 503 that says when: what it says,
 * capped at max; 0 (no pause) otherwise. Pure. */
double fm_host_pause(long http_status, double retry_after, double max);

double fm_retry_wait(unsigned k, double base, double max, double u,
		     long http_status, double retry_after);

/* --shard K/N: whether this machine owns the entry whose URL is url, as
 * written (text) or decoded (JSON): 64-bit FNV-1a of its bytes, modulo n,
 * equals k - 1. An entry without any URL (an invalid line) belongs to
 * shard 1, so that it is reported exactly once. */
bool fm_shard_owns(const char *url, unsigned k, unsigned n);

/* libcurl's receive buffer for each of jobs transfers (CURLOPT_BUFFERSIZE):
 * 2 MiB shared out, at least FM_RECV_MIN and at most libcurl's 512 KiB
 * maximum (-j 4: 512 KiB; -j 16: 128 KiB; -j 50: 40 KiB; -j 256 and up:
 * 8 KiB). A larger buffer means fewer callbacks, read(2) and write(2)
 * calls per byte, but libcurl keeps one per transfer. Measured with
 * bench/run's corpus: 20 KiB and 40 KiB at -j 50, 64 KiB and 256 KiB at
 * -j 16 take the same CPU. At -j 1000 each read of a full buffer costs a
 * recv(2), a poll(2) (libcurl's "more pending?") and a writev(2): 2 KiB
 * took 24 % more CPU than 8 KiB (9 reads a file of 4-32 KiB against 2.7);
 * 16 and 32 KiB took the same CPU as 8 KiB and 8 and 23 MiB more memory. */
#define FM_RECV_MIN 8192L
long fm_recv_buffer(unsigned jobs);

/* Descriptors one running transfer holds: its socket, its body's file and,
 * when the file goes below the output directory, that directory's. */
#define FM_FD_PER_JOB 3u

/* Descriptor shortages in a row, each timed by fm_fd_wait(), after which
 * an entry that cannot get one while nothing else runs fails. */
#define FM_FD_ROUNDS 10u

/* The -j that fits a descriptor limit: what limit leaves after the held
 * descriptors (open at start), those of nworkers worker threads, of
 * ninputs list files, of the main loop and a margin for transient ones,
 * divided by FM_FD_PER_JOB. Returns jobs when it fits, else that number
 * (at least 1). */
unsigned fm_fd_jobs(unsigned jobs, uint64_t limit, unsigned held,
		    unsigned nworkers, unsigned ninputs);

/* The descriptors left when -j jobs transfers hold theirs (the rest as
 * fm_fd_jobs() counts): what idle connections may keep open. 0 when none
 * are. */
uint64_t fm_fd_spare(unsigned jobs, uint64_t limit, unsigned held,
		     unsigned nworkers, unsigned ninputs);

/* The fewest descriptors a run needs, below which fetchmany refuses to
 * start: the held ones (open at start), the main loop's, ninputs list
 * files, one worker thread's, one transfer's and those it holds for
 * moments (libcurl's resolver). Under it not even -j 1 could work: every
 * entry would fail, or libuv abort while setting up. */
uint64_t fm_fd_min(unsigned held, unsigned ninputs);

/* Whether an attempt ended for want of a descriptor (EMFILE, ENFILE): a
 * machine limit, not a fault of the entry, so it is delayed, never failed.
 * rc: libcurl's result. sock_err: -errno of the last socket() libcurl
 * asked for in this attempt, 0 when none failed. local_err: -errno from
 * preparing or writing the file. curl_msg: libcurl's error text, or NULL
 * (libcurl 7.88 says only "getaddrinfo() thread failed to start" when its
 * resolver could not get the socket pair it needs). */
bool fm_fd_shortage(CURLcode rc, int sock_err, int local_err,
		    const char *curl_msg);

/* Seconds to wait, after round rounds (0, 1, ...) of shortages, before
 * trying more transfers at once: 50 ms doubling up to 1 s. */
double fm_fd_wait(unsigned rounds);

/* Whether an entry that met a shortage fails instead of waiting: only
 * after FM_FD_ROUNDS rounds (rounds: those since an attempt last ended
 * without a shortage), and only when no transfer runs (none can end and
 * give descriptors back). */
bool fm_fd_give_up(unsigned rounds, unsigned running);

/* The number of transfers allowed at once after a round without a
 * shortage, from cap: half as many again, plus one. */
unsigned fm_fd_cap_raise(unsigned cap);

/* Connection reuse across the run. Each worker thread has its own
 * connection cache (libcurl shares one between threads only at its
 * peril), so each host has a home worker, where its transfers go and
 * its connections wait for the next one. */

/* The size of a worker's connection cache (connections in use and idle),
 * for the running transfers it runs now: those, and idle ones, one for
 * each host it has served and twice -j more, for the hosts that ran
 * several transfers at once (a shuffled list of 30 hosts at -j 30 keeps
 * about three connections a host), within its share of the descriptors
 * left over when -j transfers hold theirs (spare_fds, shared by
 * nworkers): the idle connections of all workers together never take a
 * descriptor a transfer was counted on. At least 1. */
unsigned fm_pool_conns(unsigned running, unsigned jobs, unsigned hosts,
		       uint64_t spare_fds, unsigned nworkers);

/* How many more transfers than the least busy worker a host's home may
 * run before the host's next transfer goes elsewhere: a quarter of a
 * worker's even share of -j, at least 2. */
unsigned fm_route_slack(unsigned jobs, unsigned nworkers);

/* For a host that runs on several of n workers: the least busy worker
 * (running) where the host has an idle connection (host_running[i] of
 * its transfers run there, on host_conns[i] connections: the most that
 * ever ran there at once), or n when none has. */
unsigned fm_route_idle(const unsigned *host_running, const unsigned *host_conns,
		       const unsigned *running, unsigned n);

/* The least busy of n workers (running: the transfers each runs); the
 * first of them on a tie. A new host's home. */
unsigned fm_least_busy(const unsigned *running, unsigned n);

/* The worker for a host's next transfer: its home, unless the host
 * dominates it and may spread: its connections carry a single transfer
 * each (not HTTP/2, where a second worker means a second connection), it
 * runs slack or more transfers itself (host_running, on every worker),
 * and home runs slack or more than the least busy worker, which then
 * takes it. A host with a transfer or two never leaves home, so its
 * connection waits there for the next one. */
unsigned fm_route(unsigned home, const unsigned *running, unsigned n,
		  bool single, unsigned host_running, unsigned slack);

/* The ramp: how many transfers one host may run at once. More transfers
 * to a host than it needs cost connections, memory and CPU at both ends
 * and bring nothing: on loopback -j 1000 took twice the CPU a file that
 * -j 50 took, for less throughput. A host starts at FM_RAMP_START, and
 * each time it has held its cap for FM_RAMP_NS per FM_RAMP_START of it
 * (fm_ramp_cap() is asked only while the host has transfers waiting for
 * room; a step as long as the cap, as opening that many connections at
 * once takes time):
 * - none of its transfers ended meanwhile (a server that thinks, a round
 *   trip of many milliseconds, large bodies): the cap doubles;
 * - those that began since the last change took less than FM_RAMP_NS on
 *   average: the cap holds (a host that answers that fast serves
 *   FM_RAMP_START at once at 6,400 files a second or more);
 * - else the cap doubles while each doubling brings FM_RAMP_GAIN times
 *   the files a second and does not make each take FM_RAMP_SLOWER times
 *   as long (counting the step's length when too few of those that began
 *   in it have ended); the first that fails is undone and the host
 *   settles there for the rest of the run: its server, or this machine,
 *   is the limit, not the round trip, and more at once only wait longer.
 * Only attempts that began since the last change say how long one takes
 * at the cap in force: the first ones of a run, on new connections, are
 * slow. A host on a real network reaches -j in a few steps. */
#define FM_RAMP_START 32u
#define FM_RAMP_NS 5000000u
#define FM_RAMP_GAIN 1.25
#define FM_RAMP_SLOWER 1.5
#define FM_RAMP_FEW 8u          /* fewer ended: too few to measure */

struct fm_ramp {
	unsigned cap;           /* transfers at once; 0 before the first */
	bool settled;           /* a doubling brought nothing: no more */
	uint64_t since_ns;      /* when cap last changed */
	unsigned ended;         /* attempts that ended since then */
	unsigned measured;      /* of those, the ones that also began then */
	uint64_t sum_ns;        /* the time those took, together */
	double rate;            /* files a second before the last doubling,
				   0 when not measured */
	uint64_t was_ns;        /* the time one took then, 0 when not
				   measured */
};

/* An attempt to the host ended at now (any clock in ns; the one given to
 * fm_ramp_cap()); it took took_ns. */
void fm_ramp_ended(struct fm_ramp *ramp, uint64_t took_ns, uint64_t now);

/* The host's cap at now (any clock in ns), for a run of -j jobs. */
unsigned fm_ramp_cap(struct fm_ramp *ramp, unsigned jobs, uint64_t now);

#endif
