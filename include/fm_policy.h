/* fm_policy.h: what an attempt's outcome means.
 *
 * One pure function decides, from libcurl's result code, the HTTP status
 * and any local (file-system) error, whether an attempt succeeded, should
 * be retried, or failed for good. */
#ifndef FM_POLICY_H
#define FM_POLICY_H

#include <stdbool.h>

#include <curl/curl.h>

enum fm_verdict {
	FM_VERDICT_OK,    /* body complete and accepted */
	FM_VERDICT_RETRY, /* transient: another attempt may succeed */
	FM_VERDICT_FAIL,  /* final */
};

/* Classifies an attempt.
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
double fm_retry_wait(unsigned k, double base, double max, double u,
		     long http_status, double retry_after);

/* --shard K/N: whether this machine owns the entry whose URL is url, as
 * written (text) or decoded (JSON): 64-bit FNV-1a of its bytes, modulo n,
 * equals k - 1. An entry without any URL (an invalid line) belongs to
 * shard 1, so that it is reported exactly once. */
bool fm_shard_owns(const char *url, unsigned k, unsigned n);

#endif
