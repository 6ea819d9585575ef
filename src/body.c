/* body.c: the response body of an attempt (struct fm_xfer, fm_xfer.h).
 *
 * The write callback opens NAME.part lazily, at the first byte of a 2xx
 * body, so that an error page never touches the disk; that is also where
 * a resume is confirmed (206 at the offset asked) or abandoned (200: start
 * from zero), where a server-given name is taken (under the claims lock:
 * every worker shares the claims), and where hashing starts. When the
 * transfer is over, the digest is checked and the body moved over NAME.
 * xfer_body.h says what xfer.c and this file each own of a transfer. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fm_name.h"
#include "xfer_body.h"

static void hash_base(void *arg, const void *buf, size_t n)
{
	fm_hasher_update(arg, buf, n);
}

/* A 206 must continue exactly where the .part ends. Returns 0, or -1 when
 * it does not: the attempt stops, x->stop says why. */
static int check_resume(struct fm_xfer *x, long code)
{
	if (code != 206) {
		x->resume_from = 0; /* 200: the whole body, from zero */
		free(x->resume_done);
		x->resume_done = NULL;
		return 0;
	}
	if ((x->resume_from > 0 || x->resume_done) && x->resp.has_range &&
	    x->resp.range_first == x->resume_from &&
	    (!x->resume_done ||
	     (x->resp.range_total >= 0 &&
	      (uint64_t)x->resp.range_total == x->resume_size)))
		return 0;
	x->job->no_resume = true;
	fm_xfer_note_stop(x, FM_STOP_RESUME_MISMATCH, "%s",
			  "server answered with another range than asked; "
			  "restarting from zero");
	return -1;
}

/* --content-disposition: the server's name replaces the URL's, if it is
 * usable and no other entry claimed the path (nor, where bodies go to
 * NAME.part, its .part); under -n an existing file of that name makes the
 * entry skipped. Returns 0, or -1 when the attempt stops: x->stop (the
 * name is taken, or exists under -n) or x->local_err says why. */
static int take_server_name(struct fm_xfer *x)
{
	struct fm_job *job = x->job;
	struct fm_claim prev;
	struct stat st;
	char *rel, *path;
	enum fm_claim_result rc;

	if (!x->conf->content_disposition || job->entry.out ||
	    x->resume_from > 0 || x->resume_done || !x->resp.filename[0])
		return 0;
	rel = fm_name_replace_leaf(job->relpath, x->resp.filename);
	if (!rel)
		goto nomem;
	if (strcmp(rel, job->relpath) == 0) {
		free(rel);
		return 0;
	}
	pthread_mutex_lock(x->conf->claims_lock);
	rc = fm_claims_take_path(x->conf->claims, rel, x->conf->parts,
				 job->source_index, job->line, &prev);
	pthread_mutex_unlock(x->conf->claims_lock);
	if (rc != FM_CLAIM_FREE) {
		free(rel);
		if (rc == FM_CLAIM_NOMEM)
			goto nomem;
		fm_xfer_note_stop(x, FM_STOP_NAME_TAKEN,
				  "server-given name '%s'%s is already used by "
				  "another entry",
				  x->resp.filename,
				  rc == FM_CLAIM_PART_TAKEN
					  ? " (its .part file)"
					  : prev.part ? " (a .part file)" : "");
		return -1;
	}
	path = fm_name_join(x->conf->output_dir, rel);
	if (!path || fm_sink_set_leaf(&x->sink, x->resp.filename)) {
		free(rel);
		free(path);
		goto nomem;
	}
	free(job->relpath);
	free(job->path);
	job->relpath = rel;
	job->path = path;
	if (x->conf->no_clobber && fm_sink_stat(&x->sink, false, &st) == 0) {
		x->stop = FM_STOP_SERVER_NAME_EXISTS;
		return -1;
	}
	return 0;
nomem:
	x->local_err = -ENOMEM;
	return -1;
}

/* The digests this attempt's file is hashed with: the entry's, and
 * SHA-256 under --sha256. */
static unsigned digests_wanted(const struct fm_xfer *x)
{
	return fm_digest_set(x->job->entry.digest, x->conf->sha256_all);
}

/* Starts the digests of this attempt's file, when any is wanted; a
 * resumed file's digest covers the whole file, so what the .part held
 * is hashed first. */
static int start_digest(struct fm_xfer *x)
{
	unsigned set = digests_wanted(x);
	int err;

	if (!set)
		return 0;
	err = fm_hasher_start(&x->hash, set);
	if (err)
		return err;
	x->hashing = true;
	if (x->sink.base)
		return fm_sink_read_base(&x->sink, hash_base, &x->hash);
	return 0;
}

/* Opens NAME.part for the body that is about to arrive. Returns 0, or -1
 * when the attempt stops: x->stop or x->local_err says why. */
static int open_body(struct fm_xfer *x, long code)
{
	int err;

	if (check_resume(x, code) || take_server_name(x))
		return -1;
	if (x->resume_done) { /* a cut body's .part: its gaps */
		err = fm_sink_open_in_place(&x->sink);
		if (err == -ENOENT) {
			x->job->no_resume = true;
			fm_xfer_note_stop(x, FM_STOP_RESUME_MISMATCH, "%s",
					  "the .part is gone; restarting from "
					  "zero");
			return -1;
		}
		if (!err)
			err = fm_seg_resume(x);
		if (err)
			goto fail;
		return 0;
	}
	err = fm_sink_open(&x->sink, x->resume_from > 0);
	if (err)
		goto fail;
	if (x->conf->resume) {
		/* Validators for If-Range, should this .part outlive us. */
		if (x->resp.etag[0])
			fm_sink_set_attr(&x->sink, ATTR_ETAG, x->resp.etag);
		if (x->resp.last_modified[0])
			fm_sink_set_attr(&x->sink, ATTR_LAST_MODIFIED,
					 x->resp.last_modified);
	}
	err = fm_seg_cut(x, code);
	if (!err && !x->segmented)
		err = start_digest(x);
	if (!err)
		return 0;
fail:
	x->local_err = err;
	return -1;
}

size_t fm_body_on_curl_write(char *ptr, size_t size, size_t nmemb,
			     void *data)
{
	struct fm_xfer *x = data;
	size_t n = size * nmemb;
	int err;

	x->last_rx = fm_now_ns();
	if (x->bucket && !fm_bucket_take(x->bucket, n)) {
		/* libcurl keeps the data and hands it over again once the
		 * worker's rate timer resumes us with fresh tokens. */
		x->paused = true;
		return CURL_WRITEFUNC_PAUSE;
	}
	if (x->segmented)
		return fm_seg_on_write(x, ptr, n);
	if (x->conf->check)
		return fm_check_on_write(x, n);
	if (x->sink.fd < 0) {
		long code = 0;

		/* Bodies of error pages (and of redirects, should libcurl
		 * pass them on) are not the file. */
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
		if (code < 200 || code >= 300)
			return n;
		if (open_body(x, code))
			return 0;
		if (x->segmented) /* the body was just cut */
			return fm_seg_on_write(x, ptr, n);
	}
	if (x->conf->max_filesize &&
	    x->sink.base + x->sink.bytes + n > x->conf->max_filesize) {
		/* libcurl checks Content-Length; this catches bodies without
		 * one, counted as they stream. */
		fm_xfer_note_stop(x, FM_STOP_TOO_BIG,
				  "body larger than --max-filesize (%" PRIu64
				  " bytes)",
				  x->conf->max_filesize);
		return 0;
	}
	err = fm_sink_write(&x->sink, ptr, n);
	if (err) {
		x->local_err = err;
		return 0;
	}
	atomic_store_explicit(&x->body_bytes, x->sink.bytes,
			      memory_order_relaxed);
	if (x->hashing)
		fm_hasher_update(&x->hash, ptr, n);
	return n;
}

/* Finishes the digests; a mismatch with one of the entry's fails it.
 * Returns 0, or -1 when the body fails the check: x->stop says so, or
 * x->local_err that the digest could not be finished. */
static int verify(struct fm_xfer *x, struct fm_outcome *o)
{
	char why[FM_DIGEST_WHY_MAX];

	if (!x->hashing)
		return 0;
	x->hashing = false;
	/* Kept as it was before the error convention (issue 14 changes no
	 * behaviour): a failure without a reason, judged on the HTTP
	 * status; the .part stays under -c. */
	if (fm_hasher_finish(&x->hash, &o->got))
		return -1;
	if (fm_digest_compare(x->job->entry.digest, &o->got, why,
			      sizeof(why)) >= 0) {
		fm_xfer_note_stop(x, FM_STOP_CONTENT_MISMATCH, "%s", why);
		return -1;
	}
	return 0;
}

/* Opens a body that is already complete (continuing the .part when
 * resume) and starts its digests if any is wanted. Returns 0 or
 * -errno. */
static int open_whole(struct fm_xfer *x, bool resume)
{
	int err = fm_sink_open(&x->sink, resume);

	if (!err)
		err = start_digest(x);
	return err;
}

int64_t fm_body_mtime(const struct fm_xfer *x)
{
	int64_t t;

	/* Parsed here, not by CURLOPT_FILETIME: libcurl's lenient parser
	 * made six sscanf() calls a response, 2 % of the CPU of a run of
	 * small files; it still reads what ours does not. */
	if (!x->resp.last_modified[0])
		return -1;
	t = fm_http_date(x->resp.last_modified);
	return t >= 0 ? t : curl_getdate(x->resp.last_modified, NULL);
}

bool fm_body_commit(struct fm_xfer *x, struct fm_outcome *o)
{
	int64_t mtime;
	int err;

	/* An empty body never reached the write callback: open and hash it
	 * here, so it is checked like any other. */
	if (x->sink.fd < 0) {
		err = open_whole(x, false);
		if (err) {
			x->local_err = err;
			return false;
		}
	}
	if (verify(x, o))
		return false;
	/* Kept for a later -N run, whatever this run's options. */
	if (x->resp.etag[0])
		fm_sink_set_attr(&x->sink, ATTR_ETAG, x->resp.etag);
	if (x->conf->xattr) {
		const char *url = NULL;

		curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &url);
		fm_sink_set_origin(&x->sink, url ? url : x->job->url);
	}
	mtime = fm_body_mtime(x);
	o->bytes = x->sink.base + x->sink.bytes;
	err = fm_sink_commit(&x->sink, mtime);
	if (err) {
		x->local_err = err;
		return false;
	}
	o->status = FM_STATUS_OK;
	return true;
}

bool fm_body_range_not_satisfiable(struct fm_xfer *x, struct fm_outcome *o)
{
	int err;

	if (x->resume_from <= 0)
		return false;
	/* Complete only when the .part ends where the file does; one that
	 * records its ranges has gaps (resume_from is its first), and a
	 * total there means the file changed. */
	if (!x->resume_done && x->resp.has_range &&
	    x->resp.range_total == x->resume_from) {
		err = open_whole(x, true);
		if (err) {
			x->local_err = err;
			return false;
		}
		o->http_status = 416;
		return fm_body_commit(x, o);
	}
	x->job->no_resume = true;
	fm_sink_remove_part(&x->sink);
	fm_xfer_note_stop(x, FM_STOP_RESUME_MISMATCH, "%s",
			  "range not satisfiable: the .part does not match the "
			  "server's file; restarting from zero");
	return false;
}
