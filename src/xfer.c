/* xfer.c: setting up an easy handle, receiving its body, judging its end.
 *
 * The write callback opens NAME.part lazily, at the first byte of a 2xx
 * body, so that an error page never touches the disk. The verdict itself
 * comes from fm_classify(); this file only gathers its inputs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fm_error.h"
#include "fm_policy.h"
#include "fm_xfer.h"

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

	x->last_rx = fm_now_ns();
	return size * nmemb;
}

static size_t on_curl_write(char *ptr, size_t size, size_t nmemb, void *data)
{
	struct fm_xfer *x = data;
	size_t n = size * nmemb;
	int err;

	x->last_rx = fm_now_ns();
	if (x->sink.fd < 0) {
		long code = 0;

		/* Bodies of error pages (and of redirects, should libcurl
		 * pass them on) are not the file. */
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
		if (code < 200 || code >= 300)
			return n;
		err = fm_sink_open(&x->sink);
		if (err) {
			x->local_err = err;
			return 0;
		}
	}
	err = fm_sink_write(&x->sink, ptr, n);
	if (err) {
		x->local_err = err;
		return 0;
	}
	return n;
}

int fm_xfer_init(struct fm_xfer *x, const struct fm_xfer_conf *conf)
{
	CURL *e = curl_easy_init();

	*x = (struct fm_xfer){.sink = FM_SINK_INIT};
	if (!e)
		return FM_E_CURL;
	x->easy = e;
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_curl_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_curl_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, conf->user_agent);
	/* libcurl reads a connect timeout of 0 as its own default (300 s);
	 * "none" is better said as the longest wait we accept anywhere. */
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
			 conf->connect_timeout_ms ? conf->connect_timeout_ms
						  : 7L * 24 * 3600 * 1000);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, conf->timeout_ms);
	return 0;
}

static void fail_local(struct fm_outcome *o, const char *what,
		       const char *path, int err)
{
	o->status = FM_STATUS_FAILED;
	o->retry = false;
	snprintf(o->error, sizeof(o->error), "%s %s: %s", what, path,
		 fm_strerror(err));
}

int fm_xfer_begin(struct fm_xfer *x, struct fm_job *job, int rootfd,
		  struct fm_outcome *o)
{
	int err;

	*o = (struct fm_outcome){0};
	x->job = job;
	x->local_err = 0;
	x->errbuf[0] = '\0';
	x->t_start = x->last_rx = fm_now_ns();
	err = fm_sink_prepare(&x->sink, rootfd, job->relpath);
	if (err) {
		fail_local(o, "cannot create the directory of", job->path, err);
		fm_sink_release(&x->sink);
		return err;
	}
	curl_easy_setopt(x->easy, CURLOPT_URL, job->entry.url);
	return 0;
}

static void describe_curl(struct fm_outcome *o, const struct fm_xfer *x,
			  CURLcode rc)
{
	const char *msg = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
	size_t n;

	snprintf(o->error, sizeof(o->error), "%s", msg);
	n = strlen(o->error);
	while (n > 0 && o->error[n - 1] == '\n')
		o->error[--n] = '\0';
}

void fm_xfer_end(struct fm_xfer *x, CURLcode rc, struct fm_outcome *o)
{
	enum fm_verdict v;
	int err;

	curl_off_t ra = -1;

	*o = (struct fm_outcome){0};
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &o->http_status);
	if (curl_easy_getinfo(x->easy, CURLINFO_RETRY_AFTER, &ra) != CURLE_OK)
		ra = -1;
	/* libcurl says 0 both for "absent" and for "now": either way the
	 * header cannot raise the wait. */
	o->retry_after = ra > 0 ? (double)ra : -1.0;
	o->bytes = x->sink.bytes;
	v = fm_classify(rc, o->http_status, x->local_err);
	if (v == FM_VERDICT_OK) {
		err = fm_sink_commit(&x->sink);
		if (!err) {
			o->status = FM_STATUS_OK;
			o->bytes = x->sink.bytes;
			fm_sink_release(&x->sink);
			return;
		}
		x->local_err = err;
	}
	fm_sink_abort(&x->sink);
	o->status = FM_STATUS_FAILED;
	o->retry = v == FM_VERDICT_RETRY;
	if (x->local_err)
		fail_local(o, "cannot write", x->job->path, x->local_err);
	else if (rc != CURLE_OK)
		describe_curl(o, x, rc);
	else
		snprintf(o->error, sizeof(o->error), "HTTP %ld",
			 o->http_status);
	o->bytes = 0;
	fm_sink_release(&x->sink);
}

void fm_xfer_stop(struct fm_xfer *x, CURLcode rc, const char *why,
		  struct fm_outcome *o)
{
	snprintf(x->errbuf, sizeof(x->errbuf), "%s", why);
	fm_xfer_end(x, rc, o);
}

void fm_xfer_abandon(struct fm_xfer *x)
{
	fm_sink_release(&x->sink);
}

void fm_xfer_cleanup(struct fm_xfer *x)
{
	fm_sink_release(&x->sink);
	if (x->easy)
		curl_easy_cleanup(x->easy);
	x->easy = NULL;
}

void fm_job_free(struct fm_job *job)
{
	if (!job)
		return;
	fm_entry_clear(&job->entry);
	free(job->last_error);
	free(job->relpath);
	free(job->path);
	free(job);
}
