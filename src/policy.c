/* policy.c: retry or not, decided in one place (spec section 5): fm_judge(),
 * with the statuses --retry-on adds (fm_retry_on_parse()), and, with
 * mirrors, which URL next: fm_next_url().
 *
 * Local errors come first: when writing failed, libcurl reports a write
 * error whatever the network did, and no retry can fix a full disk. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "fm_hash.h"
#include "fm_policy.h"

static enum fm_verdict classify_http(long status)
{
	if (status >= 200 && status < 300)
		return FM_VERDICT_OK;
	switch (status) {
	case 408:
	case 429:
	case 500:
	case 502:
	case 503:
	case 504:
		return FM_VERDICT_RETRY;
	}
	return FM_VERDICT_FAIL;
}

static enum fm_verdict classify_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_HTTP3:
	case CURLE_QUIC_CONNECT_ERROR:
	case CURLE_SSL_CONNECT_ERROR:
		return FM_VERDICT_RETRY;
	default:
		return FM_VERDICT_FAIL;
	}
}

enum fm_verdict fm_classify(CURLcode rc, long http_status, int local_err)
{
	if (local_err)
		return FM_VERDICT_FAIL;
	if (rc != CURLE_OK)
		return classify_curl(rc);
	return classify_http(http_status);
}

bool fm_retry_fresh(CURLcode rc, long http_status, int local_err, bool reused,
		    bool fresh)
{
	/* A status means the connection worked: what went wrong after it
	 * belongs to the response (and -r). */
	if (!reused || fresh || local_err || http_status != 0)
		return false;
	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL: /* "Received HTTP/0.9": junk */
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR: /* also libcurl's "Connection died" */
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

/* What each of our own stops means. own: the stop makes the verdict
 * itself; otherwise it came as a libcurl code (rc), classified as such.
 * keeps: under -c its .part may stay, to be resumed. url: a final failure
 * it makes is the URL's (drop_url): what the URL sent is wrong (a digest,
 * a size), where a name another entry took or an interruption is not. */
static const struct {
	bool own;
	enum fm_verdict verdict;
	bool keeps;
	bool url;
} stops[FM_STOP_COUNT] = {
	[FM_STOP_NONE] = {false, FM_VERDICT_FAIL, true, true},
	[FM_STOP_CONTENT_MISMATCH] = {true, FM_VERDICT_FAIL, false, true},
	[FM_STOP_RESUME_MISMATCH] = {true, FM_VERDICT_RETRY, false, false},
	[FM_STOP_NAME_TAKEN] = {true, FM_VERDICT_FAIL, false, false},
	[FM_STOP_TOO_BIG] = {true, FM_VERDICT_FAIL, false, true},
	[FM_STOP_SERVER_NAME_EXISTS] = {true, FM_VERDICT_SKIP, false, false},
	[FM_STOP_EXISTS] = {true, FM_VERDICT_SKIP, false, false},
	[FM_STOP_DEADLINE] = {false, FM_VERDICT_FAIL, true, true},
	[FM_STOP_STALLED] = {false, FM_VERDICT_FAIL, true, true},
	[FM_STOP_ABORTED] = {false, FM_VERDICT_FAIL, true, false},
};

/* The order matters: a skip stops before anything arrived; -N's 304 is no
 * failure; a local error wins over everything after (no retry fixes a full
 * disk, and its .part is suspect); our own stops over what libcurl says
 * of the transfer we cut short. */
struct fm_judgement fm_judge(const struct fm_attempt_facts *f)
{
	struct fm_judgement j = {.verdict = FM_VERDICT_FAIL};
	enum fm_stop stop = f->stop < FM_STOP_COUNT ? f->stop : FM_STOP_NONE;

	if (stops[stop].own && stops[stop].verdict == FM_VERDICT_SKIP) {
		j.verdict = FM_VERDICT_SKIP;
		j.not_counted = stop == FM_STOP_EXISTS;
		return j;
	}
	if (f->rc == CURLE_OK && f->not_modified) {
		j.verdict = FM_VERDICT_UNCHANGED;
		return j;
	}
	if (f->local_err) {
		j.no_fd = fm_fd_shortage(CURLE_OK, 0, f->local_err, NULL);
		return j;
	}
	if (stops[stop].own) {
		j.verdict = stops[stop].verdict;
		j.drop_url = j.verdict == FM_VERDICT_FAIL && stops[stop].url;
		return j;
	}
	j.verdict = fm_classify(f->rc, f->http_status, 0);
	/* --retry-on: a status the user knows to pass (an artifact that
	 * answers 404 until it is published, a CDN's 52x) is transient,
	 * and so not the URL's final failure either. */
	if (j.verdict == FM_VERDICT_FAIL && f->rc == CURLE_OK &&
	    fm_retry_on_has(f->retry_on, f->http_status))
		j.verdict = FM_VERDICT_RETRY;
	if (j.verdict == FM_VERDICT_OK && !f->commit_failed)
		return j;
	/* A body that came whole but could not become the file: the
	 * disk's failure, not the URL's. */
	j.drop_url = j.verdict == FM_VERDICT_FAIL && stops[stop].url;
	if (j.verdict == FM_VERDICT_OK)
		j.verdict = FM_VERDICT_FAIL;
	if (f->rc != CURLE_OK)
		j.no_fd = fm_fd_shortage(f->rc, f->sock_err, 0, f->curl_msg);
	if (j.no_fd) {
		j.verdict = FM_VERDICT_FAIL;
		j.drop_url = false;
	}
	j.retry_fresh = fm_retry_fresh(f->rc, f->http_status, 0, f->reused,
				       f->fresh);
	j.keep_part = f->resume && stops[stop].keeps;
	return j;
}

/* The first live URL after cur, in order and round again (cur itself
 * last, unless skip_cur); n when there is none. */
static unsigned next_live(const bool *dropped, unsigned n, unsigned cur,
			  bool skip_cur)
{
	for (unsigned k = 1; k <= n; k++) {
		unsigned i = (cur + k) % n;

		if (i == cur && skip_cur)
			break;
		if (!dropped || !dropped[i])
			return i;
	}
	return n;
}

struct fm_next fm_next_url(const bool *dropped, unsigned n, unsigned cur,
			   bool retry, bool drop, unsigned retried,
			   unsigned retries)
{
	struct fm_next next = {.step = FM_NEXT_NONE};

	if (retry && retried < retries) {
		next.url = next_live(dropped, n, cur, false);
		if (next.url < n)
			next.step = FM_NEXT_RETRY;
	} else if (!retry && drop) {
		next.url = next_live(dropped, n, cur, true);
		if (next.url < n)
			next.step = FM_NEXT_NOW;
	}
	return next;
}

double fm_backoff(unsigned k, double base, double max, double u)
{
	double d = base;

	/* Doubling stops at max, so a large k cannot overflow. */
	for (unsigned i = 1; i < k && d > 0 && d < max; i++)
		d *= 2.0;
	if (d > max)
		d = max;
	if (u < 0.0)
		u = 0.0;
	if (u > 1.0)
		u = 1.0;
	return d * (0.5 + 0.5 * u);
}

double fm_retry_wait(unsigned k, double base, double max, double u,
		     long http_status, double retry_after)
{
	double d = fm_backoff(k, base, max, u);

	if ((http_status == 429 || http_status == 503) && retry_after >= 0) {
		double asked = retry_after < max ? retry_after : max;

		if (asked > d)
			d = asked;
	}
	return d;
}

double fm_host_pause(long http_status, double retry_after, double max)
{
	if ((http_status != 429 && http_status != 503) || !(retry_after > 0))
		return 0;
	return retry_after < max ? retry_after : max;
}

bool fm_shard_owns(const char *url, unsigned k, unsigned n)
{
	if (n == 0)
		return true;
	if (!url)
		return k == 1;
	return fm_fnv1a64(url, strlen(url)) % n == (uint64_t)(k - 1);
}

/* Descriptors the program holds besides those of its transfers, measured
 * in /proc/self/fd (libuv 1.44, libcurl 7.88): the main loop's epoll,
 * eventfd and signal pipe, libuv's global signal lock pipe, the output
 * directory and a /dev/null are 8; each worker's loop (epoll, eventfd,
 * signal pipe) and multi handle (its wake-up socket pair), 6. The margin
 * is for descriptors held for moments: libcurl's resolver threads (a
 * socket pair, /etc/hosts, a DNS socket), a second socket racing for
 * IPv6 and IPv4, a file read for its extended attributes, the CA bundle. */
#define FD_MAIN 8u
#define FD_PER_WORKER 6u
#define FD_MARGIN 16u
/* The margin of a single transfer: its resolver's socket pair, DNS socket
 * and /etc/hosts. */
#define FD_MARGIN_ONE 4u

long fm_recv_buffer(unsigned jobs)
{
	long size = (2L << 20) / (long)(jobs ? jobs : 1);

	if (size < FM_RECV_MIN)
		return FM_RECV_MIN;
	return size > (512L << 10) ? 512L << 10 : size;
}

unsigned fm_fd_jobs(unsigned jobs, uint64_t limit, unsigned held,
		    unsigned nworkers, unsigned ninputs)
{
	uint64_t fixed = (uint64_t)held + FD_MAIN + FD_MARGIN + ninputs +
			 (uint64_t)FD_PER_WORKER * nworkers;
	uint64_t fit;

	if (limit <= fixed + FM_FD_PER_JOB)
		return 1;
	fit = (limit - fixed) / FM_FD_PER_JOB;
	return fit < jobs ? (unsigned)fit : jobs;
}

uint64_t fm_fd_spare(unsigned jobs, uint64_t limit, unsigned held,
		     unsigned nworkers, unsigned ninputs)
{
	uint64_t used = (uint64_t)held + FD_MAIN + FD_MARGIN + ninputs +
			(uint64_t)FD_PER_WORKER * nworkers +
			(uint64_t)FM_FD_PER_JOB * jobs;

	return limit > used ? limit - used : 0;
}

uint64_t fm_fd_min(unsigned held, unsigned ninputs)
{
	return (uint64_t)held + FD_MAIN + ninputs + FD_PER_WORKER +
	       FM_FD_PER_JOB + FD_MARGIN_ONE;
}

static bool fd_errno(int err)
{
	return err == -EMFILE || err == -ENFILE;
}

bool fm_fd_shortage(CURLcode rc, int sock_err, int local_err,
		    const char *curl_msg)
{
	if (local_err)
		return fd_errno(local_err);
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		return fd_errno(sock_err);
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return fd_errno(sock_err) ||
		       (curl_msg &&
			strstr(curl_msg, "thread failed to start") != NULL);
	default:
		return false;
	}
}

double fm_fd_wait(unsigned rounds)
{
	double d = 0.05;

	for (unsigned i = 0; i < rounds && d < 1.0; i++)
		d *= 2.0;
	return d < 1.0 ? d : 1.0;
}

bool fm_fd_give_up(unsigned rounds, unsigned running)
{
	return running == 0 && rounds >= FM_FD_ROUNDS;
}

unsigned fm_fd_cap_raise(unsigned cap)
{
	unsigned more = cap / 2 + 1;

	return cap > UINT32_MAX - more ? UINT32_MAX : cap + more;
}

unsigned fm_pool_conns(unsigned running, unsigned jobs, unsigned hosts,
		       uint64_t spare_fds, unsigned nworkers)
{
	uint64_t idle = spare_fds / (nworkers ? nworkers : 1);
	uint64_t want = 2 * (uint64_t)jobs + hosts;

	if (idle > want)
		idle = want;
	if (idle > UINT_MAX - running)
		idle = UINT_MAX - running;
	/* libcurl closes nothing at 0: "no limit" would be its default. */
	return running + (unsigned)idle ? running + (unsigned)idle : 1;
}

unsigned fm_route_slack(unsigned jobs, unsigned nworkers)
{
	unsigned slack = jobs / (4 * (nworkers ? nworkers : 1));

	return slack < 2 ? 2 : slack;
}

unsigned fm_least_busy(const unsigned *running, unsigned n)
{
	unsigned least = 0;

	for (unsigned i = 1; i < n; i++)
		if (running[i] < running[least])
			least = i;
	return least;
}

unsigned fm_route_idle(const unsigned *host_running, const unsigned *host_conns,
		       const unsigned *running, unsigned n)
{
	unsigned best = n;

	for (unsigned i = 0; i < n; i++)
		if (host_running[i] < host_conns[i] &&
		    (best == n || running[i] < running[best]))
			best = i;
	return best;
}

unsigned fm_route(unsigned home, const unsigned *running, unsigned n,
		  bool single, unsigned host_running, unsigned slack)
{
	unsigned least;

	if (!single || host_running < slack)
		return home;
	least = fm_least_busy(running, n);
	return running[home] >= running[least] + slack ? least : home;
}

void fm_ramp_ended(struct fm_ramp *ramp, uint64_t took_ns, uint64_t now)
{
	if (!ramp->cap)
		return;
	ramp->ended++;
	if (took_ns <= now && now - took_ns >= ramp->since_ns) {
		ramp->measured++;
		ramp->sum_ns += took_ns;
	}
}

static void ramp_set(struct fm_ramp *ramp, unsigned cap, uint64_t now)
{
	ramp->cap = cap;
	ramp->since_ns = now;
	ramp->ended = 0;
	ramp->measured = 0;
	ramp->sum_ns = 0;
}

unsigned fm_ramp_cap(struct fm_ramp *ramp, unsigned jobs, uint64_t now)
{
	uint64_t held, took;
	double rate;

	if (!ramp->cap) {
		ramp_set(ramp, FM_RAMP_START, now);
		ramp->rate = 0;
		ramp->was_ns = 0;
	}
	held = now > ramp->since_ns ? now - ramp->since_ns : 0;
	if (ramp->settled || ramp->cap >= jobs ||
	    held < (uint64_t)FM_RAMP_NS * ramp->cap / FM_RAMP_START)
		return ramp->cap < jobs ? ramp->cap : jobs;
	if (!ramp->ended) { /* nothing ends: the round trip is the limit */
		took = 0;
		rate = 0;
	} else {
		/* what began since the cap changed took this long (at
		 * least as long as the cap was held, when too few of them
		 * ended to tell) */
		took = ramp->measured >= FM_RAMP_FEW
			? ramp->sum_ns / ramp->measured : held;
		if (took < FM_RAMP_NS)
			return ramp->cap;
		rate = ramp->ended * 1e9 / (double)held;
		if ((ramp->rate && rate < ramp->rate * FM_RAMP_GAIN) ||
		    (ramp->was_ns && took > ramp->was_ns * FM_RAMP_SLOWER)) {
			ramp->settled = true;
			ramp_set(ramp, ramp->cap / 2 > FM_RAMP_START
				 ? ramp->cap / 2 : FM_RAMP_START, now);
			return ramp->cap;
		}
	}
	ramp->rate = rate;
	ramp->was_ns = took;
	ramp_set(ramp, ramp->cap > jobs / 2 ? jobs : 2 * ramp->cap, now);
	return ramp->cap;
}

/* One item of a --retry-on list, n bytes at p, blanks trimmed: a status,
 * or a class with its last one or two digits x. Adds its statuses to
 * set, or returns -1. */
static int retry_on_item(struct fm_retry_on *set, const char *p, size_t n)
{
	long lo = 0, span = 1;
	size_t i;

	if (n != 3)
		return -1;
	for (i = 0; i < 3 && p[i] >= '0' && p[i] <= '9'; i++)
		lo = lo * 10 + (p[i] - '0');
	if (i == 0)
		return -1;
	for (; i < 3; i++) { /* x only after the digits, never before */
		if (p[i] != 'x' && p[i] != 'X')
			return -1;
		lo *= 10;
		span *= 10;
	}
	if (lo < FM_RETRY_ON_LOW || lo + span - 1 > FM_RETRY_ON_HIGH)
		return -1;
	for (long st = lo; st < lo + span; st++) {
		unsigned b = (unsigned)(st - FM_RETRY_ON_LOW);

		set->bits[b / 64] |= (uint64_t)1 << (b % 64);
	}
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int fm_retry_on_parse(struct fm_retry_on *set, const char *list, char *why,
		      size_t whylen)
{
	struct fm_retry_on add = *set;
	const char *p = list;

	for (;;) {
		const char *end = p + strcspn(p, ",");
		const char *a = p, *b = end;

		while (a < b && is_blank(*a))
			a++;
		while (b > a && is_blank(b[-1]))
			b--;
		if (a == b) {
			snprintf(why, whylen, "empty item");
			return -1;
		}
		if (retry_on_item(&add, a, (size_t)(b - a))) {
			snprintf(why, whylen,
				 "'%.*s' is not a status from %d to %d nor a "
				 "class such as 5xx or 52x",
				 (int)(b - a > 16 ? 16 : b - a), a,
				 FM_RETRY_ON_LOW, FM_RETRY_ON_HIGH);
			return -1;
		}
		if (!*end)
			break;
		p = end + 1;
	}
	*set = add;
	return 0;
}

bool fm_retry_on_has(const struct fm_retry_on *set, long status)
{
	unsigned b;

	if (!set || status < FM_RETRY_ON_LOW || status > FM_RETRY_ON_HIGH)
		return false;
	b = (unsigned)(status - FM_RETRY_ON_LOW);
	return set->bits[b / 64] >> (b % 64) & 1;
}
