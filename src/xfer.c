/* xfer.c: one attempt and its request: setting up the easy handle,
 * asking, judging the end.
 *
 * fm_xfer_begin() prepares the destination and the request (-H headers
 * and the entry's, -N's conditions, -c's Range and If-Range); libcurl's callbacks here
 * watch the connection (for the stall clock and descriptor shortages)
 * and read the response headers. The response body is body.c's
 * (xfer_body.h draws the line). The verdict itself comes from
 * fm_judge(); fm_xfer_end() gathers its facts (our own reasons to stop
 * included) and carries it out on disk. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <time.h>

#include "fm_error.h"
#include "fm_name.h"
#include "fm_hash.h"
#include "fm_policy.h"
#include "fm_reqhdr.h"
#include "fm_xfer.h"
#include "xfer_body.h"

uint64_t fm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Header bytes count as life for the stall clock. */
static size_t on_curl_header(char *ptr, size_t size, size_t nmemb, void *data)
{
	struct fm_xfer *x = data;
	size_t n = size * nmemb;

	x->last_rx = fm_now_ns();
	if (x->on_answer) {
		void (*cb)(struct fm_xfer *) = x->on_answer;

		x->on_answer = NULL;
		cb(x);
	}
	fm_resp_feed(&x->resp, ptr, n);
	return n;
}

/* A new connection is being set up for the transfer (redirects may need
 * one): its TCP, TLS and proxy handshakes belong to --connect-timeout,
 * not to the stall clock. */
static int on_curl_sockopt(void *data, curl_socket_t fd, curlsocktype purpose)
{
	struct fm_xfer *x = data;

	(void)fd;
	(void)purpose;
	x->requested = false;
	return CURL_SOCKOPT_OK;
}

/* The connection is ready (new or reused) and the request about to leave:
 * the stall clock starts now. Called for each request: the first, each
 * redirect's, and each of libcurl's own retries on another connection
 * (counted, see fm_xfer_begin). */
static int on_curl_prereq(void *data, char *peer_ip, char *local_ip,
			  int peer_port, int local_port)
{
	struct fm_xfer *x = data;

	(void)local_ip;
	x->requests++;
	x->requested = true;
	x->last_rx = fm_now_ns();
	snprintf(x->peer_ip, sizeof(x->peer_ip), "%s", peer_ip);
	x->peer_port = peer_port;
	x->local_port = local_port;
	return CURL_PREREQFUNC_OK;
}

/* What fail_why says when there was no memory for the reason itself. */
static char why_oom[] = "stopped, and out of memory to say why";

static void forget_why(struct fm_xfer *x)
{
	if (x->fail_why != why_oom)
		free(x->fail_why);
	x->fail_why = NULL;
}

void fm_xfer_note_stop(struct fm_xfer *x, enum fm_stop stop, const char *fmt,
		       ...)
{
	char why[FM_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	forget_why(x);
	x->fail_why = strdup(why);
	if (!x->fail_why)
		x->fail_why = why_oom;
	x->stop = stop;
}

/* libcurl's own socket(), with its errno kept: libcurl 7.88 reports a
 * socket that could not be made as a connection failure, with no errno
 * (CURLINFO_OS_ERRNO is 0), and running out of descriptors must delay an
 * entry, not fail or retry it. */
static curl_socket_t on_curl_opensocket(void *data, curlsocktype purpose,
					struct curl_sockaddr *a)
{
	struct fm_xfer *x = data;
	int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);

	(void)purpose;
	if (fd < 0) {
		x->sock_err = -errno;
		return CURL_SOCKET_BAD;
	}
	return fd;
}

/* libcurl's progress callback, every second at least while a transfer
 * runs: a segment whose body has nothing more for it to do (stopped, or
 * complete) stops even when no byte comes (a probe waiting for its
 * answer, a stalled connection). */
static int on_curl_xferinfo(void *data, curl_off_t dltotal, curl_off_t dlnow,
			    curl_off_t ultotal, curl_off_t ulnow)
{
	struct fm_xfer *x = data;
	struct fm_split *split;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (!x->segmented ||
	    !(split = atomic_load_explicit(&x->job->split,
					   memory_order_acquire)))
		return 0;
	if (fm_split_halted(split)) {
		x->seg_stopped = true;
		return 1;
	}
	return fm_seg_yielding(x) ? 1 : 0;
}

/* The options every attempt shares, on a new or reset easy handle. */
static void set_defaults(struct fm_xfer *x)
{
	const struct fm_xfer_conf *conf = x->conf;
	CURL *e = x->easy;

	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_curl_prereq);
	curl_easy_setopt(e, CURLOPT_PREREQDATA, x);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, fm_body_on_curl_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	/* for every transfer: one may become a segment while it runs */
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_curl_xferinfo);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_curl_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, on_curl_sockopt);
	curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_curl_opensocket);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, x);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, conf->max_redirs);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR,
			 conf->https_only ? "https" : "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR,
			 conf->https_only ? "https" : "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, conf->user_agent);
	/* libcurl reads a connect timeout of 0 as its own default (300 s);
	 * "none" is better said as the longest wait we accept anywhere. */
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
			 conf->connect_timeout_ms ? conf->connect_timeout_ms
						  : 7L * 24 * 3600 * 1000);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, conf->timeout_ms);
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, conf->buffer_size);
	if (conf->share)
		curl_easy_setopt(e, CURLOPT_SHARE, conf->share);
	if (conf->netrc) {
		curl_easy_setopt(e, CURLOPT_NETRC, (long)CURL_NETRC_OPTIONAL);
		if (conf->netrc_file)
			curl_easy_setopt(e, CURLOPT_NETRC_FILE,
					 conf->netrc_file);
	}
	if (conf->cacert)
		curl_easy_setopt(e, CURLOPT_CAINFO, conf->cacert);
	/* Unset, libcurl reads http_proxy, https_proxy, all_proxy and
	 * no_proxy itself, as curl does; "" is no proxy at all. */
	if (conf->proxy)
		curl_easy_setopt(e, CURLOPT_PROXY, conf->proxy);
	if (conf->noproxy)
		curl_easy_setopt(e, CURLOPT_NOPROXY, conf->noproxy);
	/* The engine on, with no file: the jar is the share's, filled once
	 * (fm_share_load_cookies()). */
	if (conf->cookies)
		curl_easy_setopt(e, CURLOPT_COOKIEFILE, "");
	if (conf->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (conf->max_filesize)
		curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
				 (curl_off_t)conf->max_filesize);
	/* Encodings are set per attempt (set_encoding()). */
}

int fm_xfer_init(struct fm_xfer *x, const struct fm_xfer_conf *conf)
{
	/* Field by field: body_bytes may be read by another thread. */
	x->sink = (struct fm_sink)FM_SINK_INIT;
	x->conf = conf;
	x->hash = (struct fm_hasher){0};
	x->resume_done = NULL;
	x->seg_buf = NULL;
	x->seg_len = 0;
	x->headers = NULL;
	x->curl_retried = false;
	x->fresh = false;
	x->sock = -1;
	x->easy = curl_easy_init();
	if (!x->easy)
		return FM_E_CURL;
	set_defaults(x);
	return 0;
}

static void fail_local(struct fm_outcome *o, const char *what,
		       const char *path, int err)
{
	struct fm_attempt_facts f = {.local_err = err};
	struct fm_judgement j = fm_judge(&f);

	o->status = FM_STATUS_FAILED;
	o->retry = false;
	snprintf(o->error, sizeof(o->error), "%s %s: %s", what, path,
		 fm_strerror(err));
	o->no_fd = j.no_fd;
	o->drop_url = j.drop_url; /* never: the disk's, not the URL's */
}

static int add_header(struct fm_xfer *x, const char *name, const char *value)
{
	char line[FM_ETAG_MAX + 64];
	struct curl_slist *l;

	snprintf(line, sizeof(line), "%s: %s", name, value);
	l = curl_slist_append(x->headers, line);
	if (!l)
		return -ENOMEM;
	x->headers = l;
	return 0;
}

/* -N: ask only for a newer body than NAME, by date and by ETag. */
static int set_conditions(struct fm_xfer *x)
{
	char etag[FM_ETAG_MAX];
	struct stat st;

	x->conditional = false;
	if (!x->conf->timestamping || fm_sink_stat(&x->sink, false, &st) ||
	    !S_ISREG(st.st_mode)) {
		curl_easy_setopt(x->easy, CURLOPT_TIMECONDITION,
				 (long)CURL_TIMECOND_NONE);
		return 0;
	}
	x->conditional = true;
	curl_easy_setopt(x->easy, CURLOPT_TIMECONDITION,
			 (long)CURL_TIMECOND_IFMODSINCE);
	curl_easy_setopt(x->easy, CURLOPT_TIMEVALUE_LARGE,
			 (curl_off_t)st.st_mtime);
	if (fm_sink_get_attr(&x->sink, false, ATTR_ETAG, etag,
			     sizeof(etag)) > 0)
		return add_header(x, "If-None-Match", etag);
	return 0;
}

/* -c, a .part of a body cut in segments (fm_split.h): what it holds,
 * from its FM_RANGES_ATTR, into x->resume_done; its first gap is asked
 * (into range). Returns 1 when it is one, 0 when not (a .part written
 * from its start), or -errno. */
static int read_ranges(struct fm_xfer *x, char *range, size_t cap)
{
	char text[FM_RANGES_TEXT];
	struct fm_range gap, *done;
	uint64_t size;
	int n, k;

	n = fm_sink_get_attr(&x->sink, true, FM_RANGES_ATTR, text,
			     sizeof(text));
	if (n < 0)
		return fm_fd_shortage(CURLE_OK, 0, n, NULL) ? n : 0;
	done = malloc(FM_RANGES_MAX * sizeof(*done));
	if (!done)
		return -ENOMEM;
	k = fm_ranges_parse(text, (size_t)n, &size, done, FM_RANGES_MAX);
	if (k < 0) { /* not ours to read: start from zero */
		free(done);
		x->job->no_resume = true;
		return 0;
	}
	gap = fm_ranges_first_gap(size, done, (unsigned)k);
	/* All there but not named (stopped just then): the last byte is
	 * asked again, so that a 206 still proves the file unchanged. */
	if (k && done[k - 1].end > gap.start && gap.end == size) {
		done[k - 1].end = gap.start;
		if (done[k - 1].end == done[k - 1].start)
			k--;
	}
	x->resume_done = done;
	x->resume_n = (unsigned)k;
	x->resume_size = size;
	x->resume_from = (int64_t)gap.start;
	snprintf(range, cap, "%" PRIu64 "-%" PRIu64, gap.start, gap.end - 1);
	return 1;
}

/* -c: continue NAME.part from its end (or, for a cut body's, its first
 * gap), if the server still has the same body (If-Range with the
 * validator saved beside the .part). */
static int set_resume(struct fm_xfer *x)
{
	char range[48], v[FM_ETAG_MAX];
	struct stat st;
	int n;

	x->resume_from = 0;
	curl_easy_setopt(x->easy, CURLOPT_RANGE, NULL);
	if (!x->conf->resume || x->job->no_resume ||
	    fm_sink_stat(&x->sink, true, &st) || !S_ISREG(st.st_mode) ||
	    st.st_size <= 0)
		return 0;
	n = read_ranges(x, range, sizeof(range));
	if (n < 0)
		return n;
	if (n == 0) {
		if (x->job->no_resume)
			return 0;
		x->resume_from = st.st_size;
		snprintf(range, sizeof(range), "%" PRId64 "-",
			 x->resume_from);
	}
	curl_easy_setopt(x->easy, CURLOPT_RANGE, range);
	/* A validator unread for want of a descriptor is not known absent:
	 * a Range without If-Range could splice two versions of a file. */
	n = fm_sink_get_attr(&x->sink, true, ATTR_ETAG, v, sizeof(v));
	if (n > 0 && fm_etag_is_strong(v))
		return add_header(x, "If-Range", v);
	if (fm_fd_shortage(CURLE_OK, 0, n, NULL))
		return n;
	n = fm_sink_get_attr(&x->sink, true, ATTR_LAST_MODIFIED, v, sizeof(v));
	if (n > 0)
		return add_header(x, "If-Range", v);
	return fm_fd_shortage(CURLE_OK, 0, n, NULL) ? n : 0;
}

static void reset_attempt(struct fm_xfer *x, struct fm_job *job)
{
	/* x->job is the scheduler's to set before it hands the slot over
	 * (it reads it while we run): written here only by callers that
	 * did not (tests) */
	if (x->job != job)
		x->job = job;
	x->local_err = 0;
	x->sock_err = 0;
	x->stop = FM_STOP_NONE;
	forget_why(x);
	x->errbuf[0] = '\0';
	x->hashing = false;
	x->conditional = false;
	x->paused = false;
	x->resume_from = 0;
	free(x->resume_done);
	x->resume_done = NULL;
	x->resume_n = 0;
	x->resume_size = 0;
	atomic_store_explicit(&x->body_bytes, 0, memory_order_relaxed);
	fm_resp_clear(&x->resp);
	curl_slist_free_all(x->headers);
	x->headers = NULL;
	x->requests = 0;
	x->t_start = x->last_rx = fm_now_ns();
	x->requested = false;
	x->peer_ip[0] = '\0';
	x->peer_port = x->local_port = 0;
	/* seg and seg_probe are the scheduler's to set, for each attempt */
	x->segmented = x->seg != NULL;
	x->seg_open = false;
	x->seg_stopped = false;
	x->seg_restart = false;
	x->seg_from = 0;
	x->seg_bytes = 0;
	x->seg_len = 0;
}

/* Gives seg back when x's attempt at it ends without fetching (how: as a
 * failure or not). */
static void drop_seg(struct fm_xfer *x, enum fm_seg_end how)
{
	struct fm_split *split = atomic_load(&x->job->split);
	bool complete;

	if (!x->seg)
		return;
	if (x->seg_probe)
		fm_split_unprobe(split, x->seg, false);
	else
		fm_split_end(split, x->seg, how, &complete);
	x->seg = NULL;
	x->seg_probe = false;
}

/* Whether the body is asked as it is stored (a segment's bytes must be
 * the stored ones), or, under --compressed, compressed and decoded. */
static void set_encoding(struct fm_xfer *x, bool stored)
{
	if (x->conf->compressed && !stored) {
		curl_easy_setopt(x->easy, CURLOPT_ACCEPT_ENCODING, "");
		curl_easy_setopt(x->easy, CURLOPT_HTTP_CONTENT_DECODING, 1L);
	} else {
		curl_easy_setopt(x->easy, CURLOPT_ACCEPT_ENCODING, NULL);
		curl_easy_setopt(x->easy, CURLOPT_HTTP_CONTENT_DECODING, 0L);
	}
}

/* -H headers and the entry's own (fm_reqhdr_append()) first: a list of
 * this attempt's own, since the conditions and ranges differ from one
 * attempt to the next; without credentials for another host than the
 * entry's (foreign). Returns 0 or -ENOMEM. */
static int add_request_headers(struct fm_xfer *x, bool foreign)
{
	const struct fm_entry *e = &x->job->entry;

	return fm_reqhdr_append(&x->headers, x->conf->headers,
				(unsigned)x->conf->nheaders, e->headers,
				e->nheaders, foreign);
}

/* Sets up the request for x's segment: its range of the file the first
 * response came from, If-Range its validator, over HTTP/1.1 (each
 * segment its own connection: a server's per-connection cap is what a
 * split beats; HTTP/2 would put them all on one). A redirect's target
 * that refused a segment (fm_split_src_expired()) is reached through the
 * entry's URL again, whose credentials libcurl keeps from another host. */
static enum fm_begin begin_segment(struct fm_xfer *x, struct fm_outcome *o)
{
	struct fm_split *split = atomic_load(&x->job->split);
	struct fm_src *src = &split->src[x->seg->src];
	bool again = atomic_load(&src->via_entry);
	const char *url = again ? fm_job_url(x->job, src->url_i) : src->url;
	char range[48];
	int err;

	x->seg->via_entry = again;
	x->seg_from = fm_split_range(split, x->seg, range, sizeof(range));
	err = add_request_headers(x, again ? false : src->foreign);
	if (!err)
		err = add_header(x, "If-Range", split->validator);
	if (err) {
		fail_local(o, "cannot prepare the request for", x->job->path,
			   err);
		o->piece = FM_PIECE_FAILED;
		drop_seg(x, FM_SEG_FAILED);
		return FM_BEGIN_FAILED;
	}
	curl_easy_setopt(x->easy, CURLOPT_TIMECONDITION,
			 (long)CURL_TIMECOND_NONE);
	curl_easy_setopt(x->easy, CURLOPT_RANGE, range);
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(x->easy, CURLOPT_URL, url);
	curl_easy_setopt(x->easy, CURLOPT_HTTP_VERSION,
			 (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(x->easy, CURLOPT_FRESH_CONNECT, x->fresh ? 1L : 0L);
	curl_easy_setopt(x->easy, CURLOPT_PIPEWAIT, 0L);
	set_encoding(x, true);
	return FM_BEGIN_RUN;
}

/* The request's headers (x->headers, made), URL and connection, for a
 * whole body or --check's question. */
static void set_target(struct fm_xfer *x, const struct fm_job *job)
{
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(x->easy, CURLOPT_URL, job->url);
	curl_easy_setopt(x->easy, CURLOPT_FRESH_CONNECT, x->fresh ? 1L : 0L);
	/* Over TLS, wait for a connection that may multiplex (HTTP/2, known
	 * from ALPN once the handshake is done) rather than open one per
	 * transfer: -j 100 to one h2 server is then one connection with 100
	 * streams. Not over plain http, where libcurl would only learn the
	 * server's version from the first response, and hold every other
	 * transfer to that host until it arrives. */
	curl_easy_setopt(x->easy, CURLOPT_PIPEWAIT, job->tls ? 1L : 0L);
	curl_easy_setopt(x->easy, CURLOPT_HTTP_VERSION,
			 (long)CURL_HTTP_VERSION_NONE);
}

/* ---------------------------------------------------------------- --check */

/* -N with --check: the conditions of the file already there (its mtime,
 * its ETag), read through a descriptor of its own: nothing is created,
 * not even a directory. Returns 0 or -ENOMEM. */
static int check_conditions(struct fm_xfer *x, struct fm_job *job, int rootfd)
{
	char etag[FM_ETAG_MAX];
	struct stat st;
	ssize_t n;
	int fd;

	x->conditional = false;
	curl_easy_setopt(x->easy, CURLOPT_TIMECONDITION,
			 (long)CURL_TIMECOND_NONE);
	if (!x->conf->timestamping)
		return 0;
	fd = openat(rootfd, job->relpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	x->conditional = true;
	curl_easy_setopt(x->easy, CURLOPT_TIMECONDITION,
			 (long)CURL_TIMECOND_IFMODSINCE);
	curl_easy_setopt(x->easy, CURLOPT_TIMEVALUE_LARGE,
			 (curl_off_t)st.st_mtime);
	n = fgetxattr(fd, ATTR_ETAG, etag, sizeof(etag) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	etag[n] = '\0';
	return add_header(x, "If-None-Match", etag);
}

/* --check: HEAD, or, where the server refused it, a GET of the first
 * byte; asked as stored, so that the size announced is the file's. */
static enum fm_begin begin_check(struct fm_xfer *x, struct fm_job *job,
				 int rootfd, struct fm_outcome *o)
{
	int err = add_request_headers(x, false);

	x->check_stopped = false;
	if (!err)
		err = check_conditions(x, job, rootfd);
	if (err) {
		fail_local(o, "cannot prepare the request for", job->path, err);
		return FM_BEGIN_FAILED;
	}
	curl_easy_setopt(x->easy, CURLOPT_NOBODY, job->check_get ? 0L : 1L);
	curl_easy_setopt(x->easy, CURLOPT_RANGE,
			 job->check_get ? "0-0" : NULL);
	set_target(x, job);
	set_encoding(x, true);
	return FM_BEGIN_RUN;
}

size_t fm_check_on_write(struct fm_xfer *x, size_t n)
{
	long code = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code == 200 || (code == 206 && x->seg_bytes + n > 1)) {
		x->check_stopped = true;
		return 0;
	}
	x->seg_bytes += n;
	return n;
}

enum fm_begin fm_xfer_begin(struct fm_xfer *x, struct fm_job *job, int rootfd,
			    struct fm_outcome *o)
{
	struct stat st;
	int err;

	*o = (struct fm_outcome){0};
	/* libcurl retries a request that found its reused connection dead
	 * (closed just as it arrived) on another one, five times at most,
	 * but counts those retries for the life of the easy handle: only
	 * curl_easy_reset() clears the count. A slot's handle carries many
	 * transfers, so without this a server that drops kept-alive
	 * connections made one such transfer in six fail at random. */
	if (x->curl_retried) {
		curl_easy_reset(x->easy);
		set_defaults(x);
		x->curl_retried = false;
	}
	reset_attempt(x, job);
	if (x->segmented)
		return begin_segment(x, o);
	if (x->conf->check)
		return begin_check(x, job, rootfd, o);
	err = fm_sink_prepare(&x->sink, rootfd, job->relpath,
			       x->conf->resume);
	x->sink.durable = x->conf->fsync;
	if (err) {
		fail_local(o, "cannot create the directory of", job->path, err);
		fm_sink_release(&x->sink);
		return FM_BEGIN_FAILED;
	}
	if (x->conf->no_clobber && fm_sink_stat(&x->sink, false, &st) == 0) {
		struct fm_attempt_facts f = {.stop = FM_STOP_EXISTS};

		o->status = FM_STATUS_SKIPPED;
		o->not_counted = fm_judge(&f).not_counted;
		fm_sink_release(&x->sink);
		return FM_BEGIN_SKIPPED;
	}
	err = add_request_headers(x, false);
	if (!err)
		err = set_conditions(x);
	if (!err)
		err = set_resume(x);
	if (err) {
		fail_local(o, "cannot prepare the request for", job->path, err);
		fm_sink_release(&x->sink);
		return FM_BEGIN_FAILED;
	}
	set_target(x, job);
	set_encoding(x, false);
	return FM_BEGIN_RUN;
}

static void describe_curl(struct fm_outcome *o, const struct fm_xfer *x,
			  CURLcode rc)
{
	const char *msg = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
	size_t n;

	/* The only protocol left out is http: (a redirect to it). */
	if (rc == CURLE_UNSUPPORTED_PROTOCOL && x->conf->https_only)
		msg = "redirect to http:// refused by --https-only";
	snprintf(o->error, sizeof(o->error), "%s", msg);
	fm_redact_userinfo(o->error); /* a proxy's URL, quoted */
	n = strlen(o->error);
	while (n > 0 && o->error[n - 1] == '\n')
		o->error[--n] = '\0';
}

static void describe_failure(struct fm_xfer *x, CURLcode rc,
			     const struct fm_judgement *j,
			     struct fm_outcome *o)
{
	o->status = FM_STATUS_FAILED;
	o->retry = j->verdict == FM_VERDICT_RETRY;
	o->drop_url = j->drop_url;
	o->no_fd = j->no_fd;
	o->bytes = 0;
	o->got = (struct fm_digests){0};
	if (x->local_err) {
		fail_local(o, "cannot write", x->job->path, x->local_err);
	} else if (x->fail_why) {
		snprintf(o->error, sizeof(o->error), "%s", x->fail_why);
	} else if (rc != CURLE_OK) {
		describe_curl(o, x, rc);
		/* libcurl's "Couldn't connect to server" would hide why. */
		if (o->no_fd && x->sock_err)
			snprintf(o->error, sizeof(o->error),
				 "cannot open a socket: %s",
				 fm_strerror(x->sock_err));
	} else {
		snprintf(o->error, sizeof(o->error), "HTTP %ld",
			 o->http_status);
	}
}

/* The host whose answer ended x's attempt (after redirects), for a
 * pause that must hold that host, not the entry's (spec 5). */
static void note_answering_host(struct fm_xfer *x, struct fm_outcome *o)
{
	char *url = NULL, host[256];

	if (curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &url) !=
		    CURLE_OK ||
	    !url || fm_url_host(url, host, sizeof(host)) != 0)
		return;
	o->answered_site = (uint32_t)fm_fnv1a64(host, strlen(host));
	o->answered_known = true;
}

/* Facts about the connections of the attempt that ended. */
static void note_connections(struct fm_xfer *x, struct fm_outcome *o)
{
	long conns = 0, redirects = 0, version = 0;

	curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &conns);
	curl_easy_getinfo(x->easy, CURLINFO_REDIRECT_COUNT, &redirects);
	curl_easy_getinfo(x->easy, CURLINFO_HTTP_VERSION, &version);
	o->reused = conns == 0;
	o->multiplexed = version >= CURL_HTTP_VERSION_2_0;
	if (x->requests > 1 + (unsigned long)redirects)
		x->curl_retried = true;
}

/* The facts of x's attempt, which libcurl ended with rc, for fm_judge(). */
static void gather_facts(const struct fm_xfer *x, CURLcode rc,
			 const struct fm_outcome *o, long unmet,
			 struct fm_attempt_facts *f)
{
	*f = (struct fm_attempt_facts){
		.rc = rc,
		.http_status = o->http_status,
		.local_err = x->local_err,
		.sock_err = x->sock_err,
		.curl_msg = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc),
		.stop = x->stop,
		.resume = x->conf->resume && !x->job->no_resume,
		.not_modified = x->conditional &&
				(o->http_status == 304 || unmet),
		.reused = o->reused,
		.fresh = x->fresh,
		.retry_on = x->conf->retry_on,
	};
}

/* The body is complete: checked against the entry's digests and named.
 * The outcome is the entry's. */
static void commit_split(struct fm_xfer *x, struct fm_split *split,
			 struct fm_outcome *o)
{
	char why[FM_DIGEST_WHY_MAX];
	int err = 0;

	o->piece = FM_PIECE_WHOLE;
	o->status = FM_STATUS_FAILED;
	o->retry = false;
	o->http_status = 200;
	if (split->hash.on)
		err = fm_split_digest(split, &o->got);
	if (!err && fm_digest_compare(x->job->entry.digest, &o->got, why,
				      sizeof(why)) >= 0) {
		struct fm_attempt_facts f = {.stop = FM_STOP_CONTENT_MISMATCH};

		snprintf(o->error, sizeof(o->error), "%s", why);
		o->drop_url = fm_judge(&f).drop_url;
		return;
	}
	if (!err) {
		/* Kept for a later -N run, as for any body. */
		if (split->etag[0])
			fm_sink_set_attr(&split->sink, ATTR_ETAG, split->etag);
		if (x->conf->xattr)
			fm_sink_set_origin(&split->sink, split->src[0].url);
		err = fm_split_commit(split);
	}
	if (err) {
		fail_local(o, "cannot write", x->job->path, err);
		o->piece = FM_PIECE_WHOLE;
		return;
	}
	o->status = FM_STATUS_OK;
	o->bytes = split->size;
}

/* The end of an attempt at a segment: done, failed (what it did not
 * fetch waits, free), the entry to start again, or, for the one that
 * completes the body, the entry's outcome. */
static void end_segment(struct fm_xfer *x, CURLcode rc, long unmet,
			struct fm_outcome *o)
{
	struct fm_split *split = atomic_load(&x->job->split);
	struct fm_attempt_facts f;
	struct fm_judgement j;
	enum fm_seg_end how;
	bool commit, complete, failed;

	if (x->seg_restart) {
		drop_seg(x, FM_SEG_ENDED);
		fm_split_stop(split);
		o->piece = FM_PIECE_RESTART;
		o->status = FM_STATUS_FAILED;
		o->retry = true;
		snprintf(o->error, sizeof(o->error), "%s",
			 x->fail_why ? x->fail_why : "the file changed");
		return;
	}
	o->piece = FM_PIECE_DONE;
	if (!x->seg || x->seg_probe) {
		/* Nothing to do (a probe cut too late, or a server that
		 * ignores ranges), or a probe that ended before its answer:
		 * the segment it would have cut goes on. */
		drop_seg(x, FM_SEG_ENDED);
		return;
	}
	/* what the last read left gathered */
	if (x->seg_len && !x->seg_stopped) {
		int w = fm_seg_flush(x);

		if (w < 0 && !x->local_err)
			x->local_err = w;
	}
	gather_facts(x, rc, o, unmet, &f);
	j = fm_judge(&f);
	failed = j.verdict != FM_VERDICT_OK && !x->seg_stopped;
	if (!failed && !x->seg_stopped && !x->seg_open) {
		/* an answer without a byte of body (a 2xx with none, or an
		 * error page judged ok): it fetched nothing, and must not
		 * be asked again at once */
		fm_xfer_note_stop(x, FM_STOP_RESUME_MISMATCH,
				  "HTTP %ld without a body to a ranged "
				  "request",
				  o->http_status);
		gather_facts(x, rc, o, unmet, &f);
		j = fm_judge(&f);
		j.verdict = FM_VERDICT_RETRY;
		failed = true;
	}
	how = !failed ? FM_SEG_ENDED : j.no_fd ? FM_SEG_NO_FD : FM_SEG_FAILED;
	commit = fm_split_end(split, x->seg, how, &complete);
	if (commit) {
		x->seg = NULL;
		commit_split(x, split, o);
	} else if (complete || !failed) {
		x->seg = NULL;
	} else {
		/* x->seg, free now, stays for the scheduler to time */
		describe_failure(x, rc, &j, o);
		o->piece = FM_PIECE_FAILED;
	}
}

/* --check's verdict: there (ok, with the size announced: a 206's
 * Content-Range total, else Content-Length), unchanged (-N, 304), or not;
 * a HEAD refused (405, 501) goes again at once as a ranged GET. */
static void end_check(struct fm_xfer *x, CURLcode rc, long unmet,
		      struct fm_outcome *o)
{
	struct fm_attempt_facts f;
	struct fm_judgement j;
	curl_off_t len = -1;

	if (x->check_stopped && rc == CURLE_WRITE_ERROR)
		rc = CURLE_OK; /* we stopped it: the head was all we wanted */
	if (rc == CURLE_OK && !x->job->check_get &&
	    (o->http_status == 405 || o->http_status == 501)) {
		x->job->check_get = true;
		o->again = true;
		o->status = FM_STATUS_FAILED;
		snprintf(o->error, sizeof(o->error), "HEAD refused (HTTP %ld)",
			 o->http_status);
		return;
	}
	/* The first byte of an empty file: 416 with "Content-Range: bytes
	 * *" "/0", which says the file is there, 0 bytes long. */
	if (rc == CURLE_OK && x->job->check_get && o->http_status == 416 &&
	    x->resp.has_range && x->resp.range_total == 0) {
		o->status = FM_STATUS_OK;
		o->bytes = 0;
		return;
	}
	gather_facts(x, rc, o, unmet, &f);
	j = fm_judge(&f);
	if (j.verdict == FM_VERDICT_UNCHANGED) {
		o->status = FM_STATUS_UNCHANGED;
		o->size_unknown = true; /* a 304 announces none */
		return;
	}
	if (j.verdict != FM_VERDICT_OK) {
		describe_failure(x, rc, &j, o);
		return;
	}
	o->status = FM_STATUS_OK;
	if (o->http_status == 206 && x->resp.has_range &&
	    x->resp.range_total >= 0) {
		o->bytes = (uint64_t)x->resp.range_total;
		return;
	}
	curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
	if (len >= 0)
		o->bytes = (uint64_t)len;
	else
		o->size_unknown = true;
}

void fm_xfer_end(struct fm_xfer *x, CURLcode rc, struct fm_outcome *o)
{
	struct fm_attempt_facts f;
	struct fm_judgement j;
	double ra;
	long unmet = 0;

	*o = (struct fm_outcome){0};
	note_connections(x, o);
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &o->http_status);
	curl_easy_getinfo(x->easy, CURLINFO_CONDITION_UNMET, &unmet);
	/* Our own parse: libcurl's (CURLINFO_RETRY_AFTER) turns a number
	 * too large for it into 0, "now", where we want "longer than any
	 * cap". 0 cannot raise the wait either way. */
	ra = fm_resp_retry_after(&x->resp, (int64_t)time(NULL));
	o->retry_after = ra > 0 ? ra : -1.0;
	if (o->retry_after > 0)
		note_answering_host(x, o);
	if (x->segmented) {
		end_segment(x, rc, unmet, o);
		goto out;
	}
	if (x->conf->check) {
		end_check(x, rc, unmet, o);
		goto out;
	}
	gather_facts(x, rc, o, unmet, &f);
	j = fm_judge(&f);
	if (j.verdict == FM_VERDICT_SKIP) {
		/* -n: the server named a file that exists; nothing was
		 * opened, the transfer was stopped at its first byte. */
		o->status = FM_STATUS_SKIPPED;
		goto out;
	}
	if (j.verdict == FM_VERDICT_UNCHANGED) {
		o->status = FM_STATUS_UNCHANGED;
		goto out;
	}
	/* 416 to a Range: the .part may be the whole body; if not, a stop. */
	if (rc == CURLE_OK && o->http_status == 416) {
		if (fm_body_range_not_satisfiable(x, o))
			goto out;
		gather_facts(x, rc, o, unmet, &f);
		j = fm_judge(&f);
	}
	if (j.verdict == FM_VERDICT_OK) {
		if (fm_body_commit(x, o))
			goto out;
		gather_facts(x, rc, o, unmet, &f);
		f.commit_failed = true;
		j = fm_judge(&f);
	}
	describe_failure(x, rc, &j, o);
	o->retry_fresh = j.retry_fresh;
	/* Under -c a .part outlives a network failure, to be resumed; one
	 * that is wrong (digest, name) or a local error's goes. */
	fm_sink_abort(&x->sink, j.keep_part);
out:
	fm_sink_release(&x->sink);
}

void fm_xfer_stop(struct fm_xfer *x, enum fm_stop stop, CURLcode rc,
		  const char *why, struct fm_outcome *o)
{
	snprintf(x->errbuf, sizeof(x->errbuf), "%s", why);
	/* The first reason stands: a stop already recorded is why. */
	if (x->stop == FM_STOP_NONE)
		x->stop = stop;
	fm_xfer_end(x, rc, o);
}

void fm_xfer_abandon(struct fm_xfer *x)
{
	if (x->seg) /* also one never begun (worker.c fail_early()) */
		drop_seg(x, FM_SEG_ENDED);
	fm_sink_release(&x->sink);
}

void fm_xfer_cleanup(struct fm_xfer *x)
{
	free(x->resume_done);
	x->resume_done = NULL;
	free(x->seg_buf);
	x->seg_buf = NULL;
	fm_sink_release(&x->sink);
	fm_resp_clear(&x->resp);
	forget_why(x);
	curl_slist_free_all(x->headers);
	x->headers = NULL;
	fm_hasher_free(&x->hash);
	if (x->easy)
		curl_easy_cleanup(x->easy);
	x->easy = NULL;
}
