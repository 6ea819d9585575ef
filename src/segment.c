/* segment.c: the transfers of a body fetched in segments (fm_split.h),
 * on the worker's side: the first transfer cutting its body, and each
 * segment's answer checked and written. xfer.c sets a segment's request
 * up and ends it (fm_xfer_begin(), fm_xfer_end()). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/xattr.h>

#include "xfer_body.h"

/* Whether the first response's body may be cut: large enough, sent as
 * stored, with a validator for the segments' If-Range. */
static const char *cut_validator(const struct fm_xfer *x, long code,
				 curl_off_t len)
{
	const struct fm_xfer_conf *conf = x->conf;

	if (conf->split < 2 || x->job->no_split || code != 200 ||
	    x->resp.encoded || x->sink.base || x->sink.bytes || len < 0 ||
	    (uint64_t)len < 2 * conf->min_split)
		return NULL;
	if (x->resp.etag[0] && fm_etag_is_strong(x->resp.etag))
		return x->resp.etag;
	if (x->resp.last_modified[0])
		return x->resp.last_modified;
	return NULL;
}


/* Whether URLs a and b have the same scheme, host and port. */
static bool same_origin(const char *a, const char *b)
{
	static const CURLUPart parts[] = {CURLUPART_SCHEME, CURLUPART_HOST,
					  CURLUPART_PORT};
	CURLU *ua = curl_url(), *ub = curl_url();
	bool same = ua && ub && !curl_url_set(ua, CURLUPART_URL, a, 0) &&
		    !curl_url_set(ub, CURLUPART_URL, b, 0);

	for (unsigned i = 0; same && i < 3; i++) {
		char *pa = NULL, *pb = NULL;

		curl_url_get(ua, parts[i], &pa, CURLU_DEFAULT_PORT);
		curl_url_get(ub, parts[i], &pb, CURLU_DEFAULT_PORT);
		same = pa && pb && strcasecmp(pa, pb) == 0;
		curl_free(pa);
		curl_free(pb);
	}
	curl_url_cleanup(ua);
	curl_url_cleanup(ub);
	return same;
}

/* The entry's URL this transfer asked (after redirects: url) is the
 * split's first source; its other URLs not dropped for good are the
 * others, tried as they are needed (fm_split.h). */
static void add_sources(struct fm_split *split, const struct fm_job *job)
{
	/* A redirect to another host: the segments ask there directly, so
	 * what libcurl keeps from a redirected request (-H credentials)
	 * is kept from them too. */
	split->src[0].foreign = !same_origin(job->url, split->src[0].url);
	split->src[0].redirected = strcmp(job->url, split->src[0].url) != 0;
	split->src[0].url_i = job->url_at;
	for (unsigned i = 0; i < fm_job_urls(job); i++) {
		if (i == job->url_at || (job->dropped && job->dropped[i]))
			continue;
		/* one fewer source is no failure (full, or no memory) */
		if (fm_split_add_src(split, fm_job_url(job, i), i))
			break;
	}
}

int fm_seg_cut(struct fm_xfer *x, long code)
{
	struct fm_job *job = x->job;
	struct fm_split *split;
	const char *validator, *url = NULL;
	curl_off_t len = -1;
	int err;

	curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
	validator = cut_validator(x, code, len);
	if (!validator)
		return 0;
	curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &url);
	/* A NAME.part (under -c, or where there is no O_TMPFILE) must say
	 * which of its bytes are there, should it outlive us (a kill): a
	 * .part without a record is read as written from its start without
	 * a gap. Where the file system keeps no extended attribute, such a
	 * body goes whole. */
	if (!x->sink.anon && fsetxattr(x->sink.fd, FM_RANGES_ATTR, "0", 1, 0))
		return 0;
	split = malloc(sizeof(*split));
	if (!split)
		return -ENOMEM;
	err = fm_split_init(split, (uint64_t)len, x->conf->min_split,
			    url ? url : job->url, validator,
			    x->resp.etag, fm_body_mtime(x), &x->sink,
			    fm_digest_set(job->entry.digest,
					  x->conf->sha256_all),
			    &x->seg);
	if (err) {
		free(split);
		return err;
	}
	add_sources(split, job);
	if (!split->sink.anon)
		(void)fm_split_start_record(split);
	x->segmented = true;
	x->seg_open = true;
	x->seg_from = 0;
	job->split_t0 = x->t_start;
	atomic_store(&job->split, split);
	if (x->on_split)
		x->on_split(x);
	return 0;
}

int fm_seg_resume(struct fm_xfer *x)
{
	struct fm_job *job = x->job;
	struct fm_split *split = malloc(sizeof(*split));
	const char *url = NULL, *validator;
	int err;

	if (!split)
		return -ENOMEM;
	curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &url);
	validator = x->resp.etag[0] && fm_etag_is_strong(x->resp.etag)
			    ? x->resp.etag
			    : x->resp.last_modified;
	err = fm_split_resume(split, x->resume_size, x->conf->min_split,
			      url ? url : job->url, validator,
			      x->resp.etag, fm_body_mtime(x), &x->sink,
			      fm_digest_set(job->entry.digest,
					  x->conf->sha256_all),
			      x->resume_done, x->resume_n, &x->seg);
	if (err) {
		free(split);
		return err;
	}
	add_sources(split, job);
	x->segmented = true;
	x->seg_open = true;
	x->seg_from = (uint64_t)x->resume_from;
	job->split_t0 = x->t_start;
	atomic_store(&job->split, split);
	if (x->on_split)
		x->on_split(x);
	return 0;
}

/* The server's file is no longer the one the segments share. */
static int changed(struct fm_xfer *x, const char *what)
{
	x->seg_restart = true;
	fm_xfer_note_stop(x, FM_STOP_CONTENT_MISMATCH,
			  "the file changed on the server during the "
			  "download (%s); starting again",
			  what);
	return -1;
}

/* Whether a 200 to the probe is the same file as the first response's:
 * then the server only ignores ranges. */
static bool same_file(const struct fm_xfer *x, const struct fm_split *split)
{
	if (split->etag[0])
		return strcmp(x->resp.etag, split->etag) == 0;
	return strcmp(x->resp.last_modified, split->validator) == 0;
}

/* A mirror's answer to a segment (at its first body byte, a 2xx): the
 * range asked of the same file (size, ETag, else Last-Modified) makes it
 * a source; anything else leaves it out, and the segment gives back what
 * it has not fetched, as if stopped (x->seg_stopped). Returns 0 to write
 * it, or -1 to stop (x->seg_restart when no source is left). */
static int check_mirror(struct fm_xfer *x, struct fm_split *split, long code)
{
	const struct fm_resp *r = &x->resp;
	bool same = code == 206 && r->has_range && r->range_first >= 0 &&
		    (uint64_t)r->range_first == x->seg_from &&
		    r->range_total >= 0 &&
		    (uint64_t)r->range_total == split->size &&
		    (split->etag[0]
			     ? strcmp(r->etag, split->etag) == 0
			     : strcmp(r->last_modified, split->validator) == 0);

	if (!fm_split_src_answer(split, x->seg, same))
		return changed(x, "no URL of the entry is left with the same "
			       "file");
	if (same) {
		/* the mirror works: the scheduler may send it more now */
		if (x->on_split)
			x->on_split(x);
		return 0;
	}
	x->seg_stopped = true;
	return -1;
}

/* A segment's answer, at its first body byte (a 2xx): a 206 for the range
 * asked of the same file, or the end of it. Returns 0 to write it, or -1
 * to stop: x->seg_restart, or x->seg NULL when the segment has nothing
 * to do (a probe cut too late, or a server that ignores ranges). */
static int check_answer(struct fm_xfer *x, struct fm_split *split, long code)
{
	if (x->seg->src != 0)
		return check_mirror(x, split, code);
	if (code != 206) {
		if (x->seg_probe && same_file(x, split)) {
			x->seg_probe = false;
			fm_split_unprobe(split, x->seg, true);
			x->seg = NULL;
			return -1;
		}
		return changed(x, "a ranged request got the whole file");
	}
	if (!x->resp.has_range || x->resp.range_first < 0 ||
	    (uint64_t)x->resp.range_first != x->seg_from)
		return changed(x, "another range than asked");
	if (x->resp.range_total < 0 ||
	    (uint64_t)x->resp.range_total != split->size)
		return changed(x, "another size");
	if (split->etag[0] && strcmp(x->resp.etag, split->etag) != 0)
		return changed(x, "another ETag");
	if (x->seg_probe) {
		x->seg_probe = false;
		if (!fm_split_confirm(split, x->seg)) {
			x->seg = NULL;
			return -1;
		}
		/* ranges work: the scheduler may cut more now */
		if (x->on_split)
			x->on_split(x);
	}
	return 0;
}

int fm_seg_flush(struct fm_xfer *x)
{
	struct fm_split *split = atomic_load(&x->job->split);
	size_t len = x->seg_len;

	x->seg_len = 0;
	if (!len || !x->seg)
		return FM_SPLIT_MORE;
	return fm_split_write(split, x->seg, x->seg_buf, len);
}

/* Takes n bytes of the segment: libcurl hands a read over in pieces of
 * FM_SINK_PIECE at most, which are gathered and written together when a
 * shorter one ends the read or the buffer is full (one pwrite for a
 * read of 128 KiB, where each piece alone was 8 times the system
 * calls). Returns what fm_split_write() does, or -errno. */
static int gather(struct fm_xfer *x, const char *ptr, size_t n)
{
	size_t cap = (size_t)x->conf->buffer_size;
	int rc = FM_SPLIT_MORE;

	if (!x->seg_buf && cap >= 2 * FM_SINK_PIECE)
		x->seg_buf = malloc(cap);
	if (!x->seg_buf || n > cap) {
		rc = fm_seg_flush(x);
		return rc == FM_SPLIT_MORE
			       ? fm_split_write(atomic_load(&x->job->split),
						x->seg, ptr, n)
			       : rc;
	}
	if (x->seg_len + n > cap)
		rc = fm_seg_flush(x);
	if (rc != FM_SPLIT_MORE)
		return rc;
	memcpy(x->seg_buf + x->seg_len, ptr, n);
	x->seg_len += n;
	if (n < FM_SINK_PIECE || x->seg_len + FM_SINK_PIECE > cap)
		rc = fm_seg_flush(x);
	return rc;
}

bool fm_seg_yielding(struct fm_xfer *x)
{
	int rc;

	if (!atomic_load_explicit(&x->yield, memory_order_relaxed))
		return false;
	/* what this read gathered is kept: its bytes were paid for */
	rc = fm_seg_flush(x);
	if (rc < 0 && !x->local_err)
		x->local_err = rc;
	x->seg_stopped = true;
	return true;
}

size_t fm_seg_on_write(struct fm_xfer *x, char *ptr, size_t n)
{
	struct fm_split *split = atomic_load(&x->job->split);
	int rc;

	if (!x->seg_open) {
		long code = 0;

		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
		if (code < 200 || code >= 300)
			return n; /* an error page: judged at the end */
		if (check_answer(x, split, code))
			return 0;
		x->seg_open = true;
	}
	rc = gather(x, ptr, n);
	if (rc < 0) {
		x->local_err = rc;
		return 0;
	}
	x->seg_bytes += n;
	atomic_store_explicit(&x->body_bytes, x->seg_bytes,
			      memory_order_relaxed);
	if (rc == FM_SPLIT_MORE && fm_seg_yielding(x))
		return 0;
	if (rc == FM_SPLIT_MORE)
		return n;
	x->seg_stopped = rc == FM_SPLIT_STOP;
	return 0; /* FM_SPLIT_END: the rest is another segment's */
}
