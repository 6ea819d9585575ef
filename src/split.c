/* split.c: one body fetched as several ranged transfers (fm_split.h). */
#define _GNU_SOURCE /* fallocate */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fm_split.h"

/* Bytes of a cut's start are aligned down to this (page-cache friendly
 * writes; a cut is always far larger). */
#define CUT_ALIGN (64u * 1024u)
/* Read back at most this much for the digest per write, so that one
 * write never holds its worker up for long; the rest on later writes,
 * or at the end. */
#define CATCH_UP_MAX (8u * 1024u * 1024u)
/* A probe that fails this many times (not a 200: errors) stops the
 * trying: the body is fetched whole. */
#define PROBES_MAX 2u

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

int fm_split_init(struct fm_split *split, uint64_t size, uint64_t min,
		  const char *url, const char *validator, const char *etag,
		  int64_t mtime, struct fm_sink *sink, bool md,
		  struct fm_seg **first)
{
	struct fm_seg *seg = calloc(1, sizeof(*seg));
	struct fm_sink_pool *pool = sink->pool;
	int err;

	*split = (struct fm_split){.size = size, .min = min, .mtime = mtime};
	split->url = strdup(url);
	split->validator = dup_or_empty(validator);
	split->etag = dup_or_empty(etag);
	if (md && (split->md = EVP_MD_CTX_new()) &&
	    !EVP_DigestInit_ex(split->md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(split->md);
		split->md = NULL;
	}
	if (!seg || !split->url || !split->validator || !split->etag ||
	    (md && !split->md) || pthread_mutex_init(&split->lock, NULL)) {
		err = -ENOMEM;
		goto fail;
	}
	/* Room for the whole body at once: a full disk shows now, and the
	 * segments' blocks are not scattered. Where the file system cannot
	 * (EOPNOTSUPP), pwrite() grows the file as it goes. */
	if (fallocate(sink->fd, 0, 0, (off_t)size) && errno == ENOSPC) {
		pthread_mutex_destroy(&split->lock);
		err = -ENOSPC;
		goto fail;
	}
	split->sink = *sink;
	split->sink.pool = NULL;
	*sink = (struct fm_sink)FM_SINK_INIT;
	sink->pool = pool;
	if (pool && pool->owner == sink)
		pool->owner = NULL; /* it held none of our bytes (bytes 0) */
	seg->end = size;
	seg->state = FM_SEG_RUNNING;
	seg->held = true;
	split->segs = seg;
	split->held = 1;
	*first = seg;
	return 0;
fail:
	free(seg);
		free(split->url);
		free(split->validator);
		free(split->etag);
		EVP_MD_CTX_free(split->md);
	*split = (struct fm_split){0};
	return err;
}

void fm_split_free(struct fm_split *split, bool keep)
{
	struct fm_seg *seg, *next;

	if (split->sink.fd >= 0)
		fm_sink_abort(&split->sink, keep);
	fm_sink_release(&split->sink);
	for (seg = split->segs; seg; seg = next) {
		next = seg->next;
		free(seg);
	}
	free(split->probe);
	free(split->url);
	free(split->validator);
	free(split->etag);
	EVP_MD_CTX_free(split->md);
	pthread_mutex_destroy(&split->lock);
	*split = (struct fm_split){0};
}

static uint64_t left(const struct fm_seg *seg)
{
	return seg->end > seg->pos ? seg->end - seg->pos : 0;
}

/* The running segment with the most left to fetch, if that is at least
 * twice the smallest segment; and where to cut it. */
static struct fm_seg *victim(struct fm_split *split, uint64_t *mid)
{
	struct fm_seg *best = NULL;

	for (struct fm_seg *seg = split->segs; seg; seg = seg->next)
		if (seg->state == FM_SEG_RUNNING &&
		    (!best || left(seg) > left(best)))
			best = seg;
	if (!best || left(best) < 2 * split->min)
		return NULL;
	*mid = (best->pos + left(best) / 2) & ~(uint64_t)(CUT_ALIGN - 1);
	if (*mid <= best->pos)
		*mid = best->pos + left(best) / 2;
	return best;
}

static struct fm_seg *new_seg(uint64_t start, uint64_t end)
{
	struct fm_seg *seg = calloc(1, sizeof(*seg));

	if (seg) {
		seg->start = seg->pos = seg->disk = start;
		seg->end = end;
		seg->state = FM_SEG_RUNNING;
	}
	return seg;
}

static struct fm_seg *take_locked(struct fm_split *split, uint64_t now,
				  bool *probe)
{
	struct fm_seg *seg, *cut;
	uint64_t mid;

	*probe = false;
	if (split->abort)
		return NULL;
	for (seg = split->segs; seg; seg = seg->next)
		if (seg->state == FM_SEG_FREE && seg->due_ns <= now) {
			seg->state = FM_SEG_RUNNING;
			seg->held = true;
			seg->pos = seg->disk;
			seg->skip = 0;
			return seg;
		}
	if (split->ranges == FM_RANGES_PROBING ||
	    split->ranges == FM_RANGES_NO || !(cut = victim(split, &mid)))
		return NULL;
	if (!(seg = new_seg(mid, cut->end)))
		return NULL;
	seg->held = true;
	if (split->ranges == FM_RANGES_UNKNOWN) {
		/* Tried first, outside the list: the segment it would
		 * cut goes on whole until its 206 comes. */
		split->ranges = FM_RANGES_PROBING;
		split->probe = seg;
		*probe = true;
		return seg;
	}
	cut->end = mid;
	seg->next = cut->next;
	cut->next = seg;
	return seg;
}

struct fm_seg *fm_split_take(struct fm_split *split, uint64_t now,
			     bool *probe)
{
	struct fm_seg *seg;

	pthread_mutex_lock(&split->lock);
	seg = take_locked(split, now, probe);
	if (seg)
		split->held++;
	pthread_mutex_unlock(&split->lock);
	return seg;
}

uint64_t fm_split_next_due(struct fm_split *split)
{
	uint64_t due = UINT64_MAX;

	pthread_mutex_lock(&split->lock);
	for (struct fm_seg *seg = split->segs; seg; seg = seg->next)
		if (seg->state == FM_SEG_FREE && seg->due_ns < due)
			due = seg->due_ns;
	pthread_mutex_unlock(&split->lock);
	return due;
}

bool fm_split_confirm(struct fm_split *split, struct fm_seg *probe)
{
	struct fm_seg *cut;
	uint64_t start;
	bool ok = false;

	pthread_mutex_lock(&split->lock);
	split->probe = NULL;
	split->ranges = FM_RANGES_OK;
	for (cut = split->segs; cut && cut->end <= probe->start;
	     cut = cut->next)
		;
	start = cut && cut->pos > probe->start ? cut->pos : probe->start;
	if (cut && cut->state != FM_SEG_DONE && start < cut->end &&
	    !split->abort) {
		probe->skip = start - probe->start;
		probe->start = probe->pos = probe->disk = start;
		probe->end = cut->end;
		cut->end = start;
		probe->next = cut->next;
		cut->next = probe;
		ok = true;
	} else {
		split->held--;
		free(probe);
	}
	pthread_mutex_unlock(&split->lock);
	return ok;
}

void fm_split_unprobe(struct fm_split *split, struct fm_seg *probe,
		      bool no_ranges)
{
	static_assert(PROBES_MAX > 0, "a probe is tried at least once");
	pthread_mutex_lock(&split->lock);
	split->probe = NULL;
	split->held--;
	split->ranges = no_ranges ? FM_RANGES_NO : FM_RANGES_UNKNOWN;
	if (!no_ranges && ++split->probes >= PROBES_MAX)
		split->ranges = FM_RANGES_NO;
	pthread_mutex_unlock(&split->lock);
	free(probe);
}

/* Hashes [hashed, upto) from the file, the lock held (and dropped while
 * reading). Returns 0 or -errno. */
static int read_back(struct fm_split *split, uint64_t upto)
{
	char buf[64 * 1024];
	uint64_t from = split->hashed;
	int err = 0;

	split->hashing = true;
	pthread_mutex_unlock(&split->lock);
	while (from < upto && !err) {
		size_t want = upto - from < sizeof(buf) ? (size_t)(upto - from)
							: sizeof(buf);
		ssize_t n = pread(split->sink.fd, buf, want, (off_t)from);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		EVP_DigestUpdate(split->md, buf, (size_t)n);
		from += (uint64_t)n;
	}
	pthread_mutex_lock(&split->lock);
	split->reread += from - split->hashed;
	split->hashed = from;
	split->hashing = false;
	return err;
}

/* Moves the digest over what is on disk past the prefix hashed so far,
 * at most max bytes, the lock held. Returns 0 or -errno. */
static int catch_up(struct fm_split *split, uint64_t max)
{
	int err = 0;

	while (split->md && !split->hashing && !err && max) {
		struct fm_seg *seg = split->segs;
		uint64_t upto;

		while (seg && seg->end <= split->hashed)
			seg = seg->next;
		if (!seg || seg->disk <= split->hashed)
			break;
		upto = seg->disk - split->hashed > max ? split->hashed + max
						       : seg->disk;
		max -= upto - split->hashed;
		err = read_back(split, upto);
	}
	return err;
}

static int pwrite_all(int fd, const char *buf, size_t n, uint64_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, buf, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		buf += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int fm_split_write(struct fm_split *split, struct fm_seg *seg,
		   const void *data, size_t n)
{
	const char *buf = data;
	uint64_t off, k;
	int err;

	pthread_mutex_lock(&split->lock);
	if (split->abort) {
		pthread_mutex_unlock(&split->lock);
		return FM_SPLIT_STOP;
	}
	k = seg->skip < n ? seg->skip : n;
	seg->skip -= k;
	buf += k;
	n -= (size_t)k;
	off = seg->pos;
	k = left(seg) < n ? left(seg) : n;
	seg->pos += k;
	pthread_mutex_unlock(&split->lock);

	err = pwrite_all(split->sink.fd, buf, (size_t)k, off);

	pthread_mutex_lock(&split->lock);
	if (err) {
		seg->pos = seg->disk;
		pthread_mutex_unlock(&split->lock);
		return err;
	}
	seg->disk = off + k;
	split->done += k;
	if (seg->disk >= seg->end)
		seg->state = FM_SEG_DONE;
	if (split->md && !split->hashing && split->hashed == off && k) {
		split->hashing = true;
		pthread_mutex_unlock(&split->lock);
		EVP_DigestUpdate(split->md, buf, (size_t)k);
		pthread_mutex_lock(&split->lock);
		split->hashed = off + k;
		split->hashing = false;
	}
	err = catch_up(split, CATCH_UP_MAX);
	pthread_mutex_unlock(&split->lock);
	if (err)
		return err;
	return k < n ? FM_SPLIT_END : FM_SPLIT_MORE;
}

/* Adjacent finished segments no transfer holds become one. */
static void merge_done(struct fm_split *split)
{
	struct fm_seg *seg = split->segs;

	while (seg && seg->next) {
		struct fm_seg *next = seg->next;

		if (seg->state == FM_SEG_DONE && next->state == FM_SEG_DONE &&
		    !seg->held && !next->held) {
			seg->end = next->end;
			seg->disk = seg->pos = next->end;
			seg->next = next->next;
			free(next);
		} else {
			seg = next;
		}
	}
}

bool fm_split_end(struct fm_split *split, struct fm_seg *seg, bool failed,
		  bool *complete)
{
	bool commit = false;

	pthread_mutex_lock(&split->lock);
	seg->held = false;
	split->held--;
	*complete = seg->disk >= seg->end;
	if (*complete) {
		seg->state = FM_SEG_DONE;
	} else {
		seg->state = FM_SEG_FREE;
		seg->pos = seg->disk;
		seg->skip = 0;
		seg->due_ns = UINT64_MAX;
		if (failed)
			seg->failures++;
		else
			seg->due_ns = 0;
	}
	merge_done(split);
	if (split->done >= split->size && !split->complete) {
		split->complete = true;
		commit = true;
	}
	pthread_mutex_unlock(&split->lock);
	return commit;
}

void fm_split_due(struct fm_split *split, struct fm_seg *seg, uint64_t due)
{
	pthread_mutex_lock(&split->lock);
	if (seg->state == FM_SEG_FREE)
		seg->due_ns = due;
	pthread_mutex_unlock(&split->lock);
}

unsigned fm_split_failures(struct fm_split *split, const struct fm_seg *seg)
{
	unsigned n;

	pthread_mutex_lock(&split->lock);
	n = seg->failures;
	pthread_mutex_unlock(&split->lock);
	return n;
}

void fm_split_stop(struct fm_split *split)
{
	pthread_mutex_lock(&split->lock);
	split->abort = true;
	pthread_mutex_unlock(&split->lock);
}

int fm_split_digest(struct fm_split *split, char out[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	int err;

	pthread_mutex_lock(&split->lock);
	err = catch_up(split, UINT64_MAX);
	if (!err && split->hashed != split->size)
		err = -EIO;
	pthread_mutex_unlock(&split->lock);
	if (err)
		return err;
	if (!EVP_DigestFinal_ex(split->md, d, &n))
		return -ENOMEM;
	for (unsigned i = 0; i < n && i < 32; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[64] = '\0';
	return 0;
}

int fm_split_commit(struct fm_split *split)
{
	return fm_sink_commit(&split->sink, split->mtime);
}

uint64_t fm_split_range(struct fm_split *split, const struct fm_seg *seg,
			char *buf, size_t cap)
{
	uint64_t first;

	pthread_mutex_lock(&split->lock);
	first = seg->pos;
	snprintf(buf, cap, "%llu-%llu", (unsigned long long)seg->pos,
		 (unsigned long long)(seg->end - 1));
	pthread_mutex_unlock(&split->lock);
	return first;
}
