/* split.c: one body fetched as several ranged transfers (fm_split.h). */
#define _GNU_SOURCE /* fallocate */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/xattr.h>

#include "fm_split.h"

/* Bytes of a cut's start are aligned down to this (page-cache friendly
 * writes; a cut is always far larger). */
#define CUT_ALIGN (64u * 1024u)
/* Under -c, what is on disk is recorded each time a segment ends, and
 * after this many bytes written since the last record. */
#define RECORD_EVERY (16u * 1024u * 1024u)
/* Read back at most this much for the digest per write, so that one
 * write never holds its worker up for long; the rest on later writes,
 * or at the end. */
#define CATCH_UP_MAX (8u * 1024u * 1024u)
/* A probe that fails this many times (not a 200: errors) stops the
 * trying: the body is fetched whole. */
#define PROBES_MAX 2u
/* A source whose segments failed this many times is left out, while
 * another is left. */
#define SRC_FAILURES_MAX 2u

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

static struct fm_seg *new_seg(uint64_t start, uint64_t end)
{
	struct fm_seg *seg = calloc(1, sizeof(*seg));

	if (seg) {
		seg->start = seg->pos = seg->disk = start;
		seg->end = end;
		seg->state = FM_SEG_RUNNING;
		seg->avoid = FM_SRC_NONE;
	}
	return seg;
}

/* What fm_split_init() and fm_split_resume() share: everything but the
 * segments. Returns 0, -ENOMEM or -ENOSPC (split then holds nothing,
 * sink is untouched). */
static int init_common(struct fm_split *split, uint64_t size, uint64_t min,
		       const char *url, const char *validator,
		       const char *etag, int64_t mtime, struct fm_sink *sink,
		       unsigned digests)
{
	struct fm_sink_pool *pool = sink->pool;
	int err = -ENOMEM;

	*split = (struct fm_split){.size = size, .min = min, .mtime = mtime};
	split->src[0].url = strdup(url);
	split->src[0].state = FM_SRC_OK;
	split->src[0].running = 1; /* the first transfer */
	split->nsrc = 1;
	split->validator = dup_or_empty(validator);
	split->etag = dup_or_empty(etag);
	if (!split->src[0].url || !split->validator || !split->etag ||
	    fm_hasher_start(&split->hash, digests))
		goto fail;
	if (pthread_mutex_init(&split->lock, NULL))
		goto fail;
	if (pthread_cond_init(&split->hashed_cond, NULL)) {
		pthread_mutex_destroy(&split->lock);
		goto fail;
	}
	/* Room for the whole body at once: a full disk shows now, and the
	 * segments' blocks are not scattered. Where the file system cannot
	 * (EOPNOTSUPP), pwrite() grows the file as it goes. Bytes already
	 * in the file stay as they are. */
	if (fallocate(sink->fd, 0, 0, (off_t)size) && errno == ENOSPC) {
		pthread_cond_destroy(&split->hashed_cond);
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
	return 0;
fail:
	free(split->src[0].url);
	free(split->validator);
	free(split->etag);
	fm_hasher_free(&split->hash);
	*split = (struct fm_split){0};
	return err;
}

int fm_split_init(struct fm_split *split, uint64_t size, uint64_t min,
		  const char *url, const char *validator, const char *etag,
		  int64_t mtime, struct fm_sink *sink, unsigned digests,
		  struct fm_seg **first)
{
	struct fm_seg *seg = calloc(1, sizeof(*seg));
	int err;

	if (!seg)
		return -ENOMEM;
	seg->avoid = FM_SRC_NONE;
	err = init_common(split, size, min, url, validator, etag, mtime,
			  sink, digests);
	if (err) {
		free(seg);
		return err;
	}
	seg->end = size;
	seg->state = FM_SEG_RUNNING;
	seg->held = true;
	split->segs = seg;
	split->held = 1;
	*first = seg;
	return 0;
}

int fm_split_add_src(struct fm_split *split, const char *url, unsigned i)
{
	struct fm_src *src;

	if (split->nsrc >= FM_SRC_MAX)
		return -ENOSPC;
	src = &split->src[split->nsrc];
	*src = (struct fm_src){.url = strdup(url), .url_i = i,
			       .state = FM_SRC_UNTRIED};
	if (!src->url)
		return -ENOMEM;
	split->nsrc++;
	return 0;
}

/* Appends [start, end) in state st to the list whose last link is *at;
 * returns the new last link, or NULL when out of memory. */
static struct fm_seg **append_seg(struct fm_seg **at, uint64_t start,
				  uint64_t end, enum fm_seg_state st)
{
	struct fm_seg *seg = new_seg(start, end);

	if (!seg)
		return NULL;
	seg->state = st;
	if (st == FM_SEG_DONE)
		seg->pos = seg->disk = end;
	*at = seg;
	return &seg->next;
}

static void free_segs(struct fm_seg *seg)
{
	while (seg) {
		struct fm_seg *next = seg->next;

		free(seg);
		seg = next;
	}
}

int fm_split_resume(struct fm_split *split, uint64_t size, uint64_t min,
		    const char *url, const char *validator, const char *etag,
		    int64_t mtime, struct fm_sink *sink, unsigned digests,
		    const struct fm_range *done, unsigned n,
		    struct fm_seg **first)
{
	struct fm_seg *segs = NULL, **at = &segs, *seg;
	uint64_t pos = 0, on_disk = 0;
	int err;

	for (unsigned i = 0; i <= n && at; i++) {
		uint64_t a = i < n ? done[i].start : size;

		if (a > pos)
			at = append_seg(at, pos, a, FM_SEG_FREE);
		if (i < n && at) {
			at = append_seg(at, a, done[i].end, FM_SEG_DONE);
			on_disk += done[i].end - a;
			pos = done[i].end;
		}
	}
	for (seg = segs; seg && seg->state != FM_SEG_FREE; seg = seg->next)
		;
	err = !at ? -ENOMEM : !seg ? -EINVAL : 0;
	if (!err)
		err = init_common(split, size, min, url, validator, etag,
				  mtime, sink, digests);
	if (err) {
		free_segs(segs);
		return err;
	}
	seg->state = FM_SEG_RUNNING;
	seg->held = true;
	split->segs = segs;
	split->held = 1;
	split->done = on_disk;
	split->ranges = FM_RANGES_OK;
	split->record = true;
	*first = seg;
	return 0;
}

struct fm_range fm_ranges_first_gap(uint64_t size, const struct fm_range *done,
				    unsigned n)
{
	uint64_t pos = 0;

	for (unsigned i = 0; i < n; i++) {
		if (done[i].start > pos)
			return (struct fm_range){pos, done[i].start};
		pos = done[i].end;
	}
	if (pos < size)
		return (struct fm_range){pos, size};
	return (struct fm_range){size - 1, size};
}

static bool digits(const char *p)
{
	return *p >= '0' && *p <= '9';
}

int fm_ranges_parse(const char *text, size_t n, uint64_t *size,
		    struct fm_range *done, unsigned max)
{
	char buf[FM_RANGES_TEXT], *p, *end;
	unsigned k = 0;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, text, n);
	buf[n] = '\0';
	if (!digits(buf))
		return -1;
	errno = 0;
	*size = strtoull(buf, &end, 10);
	if (errno || *size == 0)
		return -1;
	p = end;
	if (*p == '\0')
		return 0;
	if (*p++ != ' ' || !*p)
		return -1;
	while (*p) {
		struct fm_range r;

		if (k == max || !digits(p))
			return -1;
		r.start = strtoull(p, &end, 10);
		if (errno || *end != '-' || !digits(end + 1))
			return -1;
		r.end = strtoull(end + 1, &end, 10);
		if (errno || r.start >= r.end || r.end > *size ||
		    (k && r.start <= done[k - 1].end))
			return -1;
		done[k++] = r;
		p = end;
		if (*p == ',' && p[1])
			p++;
		else if (*p)
			return -1;
	}
	return (int)k;
}

int fm_ranges_format(uint64_t size, const struct fm_range *done, unsigned n,
		     char *buf, size_t cap)
{
	size_t len = 0;
	int w = snprintf(buf, cap, "%llu", (unsigned long long)size);

	for (unsigned i = 0; w >= 0 && (size_t)w < cap - len && i < n; i++) {
		len += (size_t)w;
		w = snprintf(buf + len, cap - len, "%c%llu-%llu",
			     i ? ',' : ' ',
			     (unsigned long long)done[i].start,
			     (unsigned long long)done[i].end);
	}
	if (w < 0 || (size_t)w >= cap - len)
		return -1;
	return (int)(len + (size_t)w);
}

/* Records what is on disk in FM_RANGES_ATTR, the lock held. Returns 0 or
 * -errno. */
static int record_locked(struct fm_split *split)
{
	struct fm_range done[FM_RANGES_MAX];
	char text[FM_RANGES_TEXT];
	unsigned n = 0;
	int len;

	if (split->committed || split->sink.fd < 0)
		return 0;
	for (struct fm_seg *seg = split->segs; seg; seg = seg->next) {
		if (seg->disk <= seg->start)
			continue;
		if (n && done[n - 1].end == seg->start)
			done[n - 1].end = seg->disk;
		else if (n < FM_RANGES_MAX) /* fewer: only less is kept */
			done[n++] = (struct fm_range){seg->start, seg->disk};
	}
	split->unrecorded = 0;
	len = fm_ranges_format(split->size, done, n, text, sizeof(text));
	if (len < 0)
		return -ENAMETOOLONG;
	if (fsetxattr(split->sink.fd, FM_RANGES_ATTR, text, (size_t)len, 0))
		return -errno;
	return 0;
}

int fm_split_start_record(struct fm_split *split)
{
	int err;

	pthread_mutex_lock(&split->lock);
	split->record = true;
	err = record_locked(split);
	if (err)
		split->record = false;
	pthread_mutex_unlock(&split->lock);
	return err;
}

void fm_split_free(struct fm_split *split, bool keep)
{
	if (split->sink.fd >= 0)
		fm_sink_abort(&split->sink, keep);
	fm_sink_release(&split->sink);
	free_segs(split->segs);
	free(split->probe);
	for (unsigned k = 0; k < split->nsrc; k++)
		free(split->src[k].url);
	free(split->validator);
	free(split->etag);
	fm_hasher_free(&split->hash);
	pthread_cond_destroy(&split->hashed_cond);
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

/* Whether a source other than k (FM_SRC_NONE: any) is not left out. */
static bool src_left(const struct fm_split *split, unsigned k)
{
	for (unsigned i = 0; i < split->nsrc; i++)
		if (i != k && split->src[i].state != FM_SRC_NO)
			return true;
	return false;
}

/* The sources of usable a new segment may go to: the ones that work or
 * are not tried yet; only the first until ranges are known to work. */
static uint32_t eligible(const struct fm_split *split, uint32_t usable)
{
	uint32_t m = 0;

	for (unsigned k = 0; k < split->nsrc; k++)
		if (split->src[k].state == FM_SRC_OK ||
		    split->src[k].state == FM_SRC_UNTRIED)
			m |= 1u << k;
	if (split->ranges != FM_RANGES_OK)
		m &= 1u;
	return m & usable;
}

/* Gives seg a source of m (not empty): the one with the fewest segments
 * out, the one it last failed at only when there is no other. */
static void assign_src(struct fm_split *split, struct fm_seg *seg, uint32_t m)
{
	unsigned best = FM_SRC_NONE;

	for (unsigned k = 0; k < split->nsrc; k++) {
		if (!(m >> k & 1u))
			continue;
		if (best == FM_SRC_NONE ||
		    (best == seg->avoid && k != seg->avoid) ||
		    (k != seg->avoid &&
		     split->src[k].running < split->src[best].running))
			best = k;
	}
	seg->src = best;
	split->src[best].running++;
	if (split->src[best].state == FM_SRC_UNTRIED)
		split->src[best].state = FM_SRC_TRYING;
}

static struct fm_seg *take_locked(struct fm_split *split, uint64_t now,
				  uint32_t usable, bool *probe)
{
	struct fm_seg *seg, *cut;
	uint32_t m = eligible(split, usable);
	uint64_t mid;

	*probe = false;
	if (split->abort || !m)
		return NULL;
	for (seg = split->segs; seg; seg = seg->next) {
		if (seg->state == FM_SEG_FREE && seg->disk >= seg->end)
			seg->state = FM_SEG_DONE; /* a cut took what it had */
		if (seg->state == FM_SEG_FREE && seg->due_ns <= now) {
			seg->state = FM_SEG_RUNNING;
			seg->held = true;
			seg->pos = seg->disk;
			seg->skip = 0;
			assign_src(split, seg, m);
			return seg;
		}
	}
	if (split->ranges == FM_RANGES_PROBING ||
	    split->ranges == FM_RANGES_NO || !(cut = victim(split, &mid)))
		return NULL;
	if (!(seg = new_seg(mid, cut->end)))
		return NULL;
	seg->held = true;
	assign_src(split, seg, m);
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
			     uint32_t usable, bool *probe)
{
	struct fm_seg *seg;

	pthread_mutex_lock(&split->lock);
	seg = take_locked(split, now, usable, probe);
	if (seg)
		split->held++;
	pthread_mutex_unlock(&split->lock);
	return seg;
}

uint64_t fm_split_next_due(struct fm_split *split, uint64_t after)
{
	uint64_t due = UINT64_MAX;

	pthread_mutex_lock(&split->lock);
	for (struct fm_seg *seg = split->segs; seg; seg = seg->next)
		if (seg->state == FM_SEG_FREE && seg->due_ns > after &&
		    seg->due_ns < due)
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
		if (cut->state == FM_SEG_FREE && cut->disk >= cut->end)
			cut->state = FM_SEG_DONE;
		ok = true;
	} else {
		split->held--;
		split->src[probe->src].running--;
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
	split->src[probe->src].running--;
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
		fm_hasher_update(&split->hash, buf, (size_t)n);
		from += (uint64_t)n;
	}
	pthread_mutex_lock(&split->lock);
	split->reread += from - split->hashed;
	split->hashed = from;
	split->hashing = false;
	pthread_cond_broadcast(&split->hashed_cond);
	return err;
}

/* Moves the digest over what is on disk past the prefix hashed so far,
 * at most max bytes, the lock held. Returns 0 or -errno. */
static int catch_up(struct fm_split *split, uint64_t max)
{
	int err = 0;

	while (split->hash.on && !split->hashing && !split->committed &&
	       !err && max) {
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
	if (split->abort || split->committed) {
		int rc = split->abort ? FM_SPLIT_STOP : FM_SPLIT_END;

		pthread_mutex_unlock(&split->lock);
		return rc;
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
	if (split->done >= split->size)
		atomic_store(&split->halt, true);
	split->unrecorded += k;
	if (split->record && split->unrecorded >= RECORD_EVERY)
		(void)record_locked(split); /* a failure keeps the last */
	if (seg->disk >= seg->end)
		seg->state = FM_SEG_DONE;
	if (split->hash.on && !split->hashing && split->hashed == off && k) {
		split->hashing = true;
		pthread_mutex_unlock(&split->lock);
		fm_hasher_update(&split->hash, buf, (size_t)k);
		pthread_mutex_lock(&split->lock);
		split->hashed = off + k;
		split->hashing = false;
		pthread_cond_broadcast(&split->hashed_cond);
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
		    !seg->held && !next->held && !seg->owed && !next->owed) {
			seg->end = next->end;
			seg->disk = seg->pos = next->end;
			seg->next = next->next;
			free(next);
		} else {
			seg = next;
		}
	}
}

bool fm_split_end(struct fm_split *split, struct fm_seg *seg,
		  enum fm_seg_end how, bool *complete)
{
	bool commit = false;

	struct fm_src *src = &split->src[seg->src];

	pthread_mutex_lock(&split->lock);
	seg->held = false;
	split->held--;
	src->running--;
	if (src->state == FM_SRC_TRYING) /* no answer came */
		src->state = FM_SRC_UNTRIED;
	*complete = seg->disk >= seg->end;
	if (*complete) {
		seg->state = FM_SEG_DONE;
	} else {
		seg->state = FM_SEG_FREE;
		seg->pos = seg->disk;
		seg->skip = 0;
		seg->due_ns = UINT64_MAX;
		if (how == FM_SEG_NO_FD) {
			seg->owed = true; /* the scheduler times it */
		} else if (how == FM_SEG_FAILED) {
			seg->failures++;
			seg->owed = true;
			seg->avoid = seg->src;
			if (++src->failures >= SRC_FAILURES_MAX &&
			    split->ranges == FM_RANGES_OK &&
			    src_left(split, seg->src))
				src->state = FM_SRC_NO;
		} else {
			seg->due_ns = 0;
		}
	}
	merge_done(split);
	if (split->record)
		(void)record_locked(split);
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
	seg->owed = false;
	pthread_mutex_unlock(&split->lock);
}

bool fm_split_src_answer(struct fm_split *split, struct fm_seg *seg,
			 bool same)
{
	struct fm_src *src = &split->src[seg->src];
	bool left = true;

	pthread_mutex_lock(&split->lock);
	if (!same)
		src->state = FM_SRC_NO;
	else if (src->state != FM_SRC_NO)
		src->state = FM_SRC_OK;
	if (!same)
		left = src_left(split, FM_SRC_NONE);
	pthread_mutex_unlock(&split->lock);
	return left;
}

bool fm_split_src_drop(struct fm_split *split, struct fm_seg *seg)
{
	bool left;

	pthread_mutex_lock(&split->lock);
	split->src[seg->src].state = FM_SRC_NO;
	left = src_left(split, FM_SRC_NONE);
	if (left && seg->state == FM_SEG_FREE) {
		if (seg->failures)
			seg->failures--;
		seg->due_ns = 0;
	}
	seg->owed = false;
	pthread_mutex_unlock(&split->lock);
	return left;
}

bool fm_split_src_expired(struct fm_split *split, struct fm_seg *seg)
{
	struct fm_src *src = &split->src[seg->src];
	bool again;

	pthread_mutex_lock(&split->lock);
	again = src->redirected && !seg->via_entry;
	if (again) {
		atomic_store(&src->via_entry, true);
		if (seg->state == FM_SEG_FREE) {
			if (seg->failures)
				seg->failures--;
			seg->due_ns = 0;
		}
		seg->owed = false;
	}
	pthread_mutex_unlock(&split->lock);
	return again;
}

unsigned fm_split_failures(struct fm_split *split, const struct fm_seg *seg)
{
	unsigned n;

	pthread_mutex_lock(&split->lock);
	n = seg->failures;
	pthread_mutex_unlock(&split->lock);
	return n;
}

uint64_t fm_split_done(struct fm_split *split)
{
	uint64_t done;

	pthread_mutex_lock(&split->lock);
	done = split->done;
	pthread_mutex_unlock(&split->lock);
	return done;
}

void fm_split_stop(struct fm_split *split)
{
	pthread_mutex_lock(&split->lock);
	split->abort = true;
	atomic_store(&split->halt, true);
	pthread_mutex_unlock(&split->lock);
}

int fm_split_digest(struct fm_split *split, struct fm_digests *out)
{
	int err;

	pthread_mutex_lock(&split->lock);
	/* another segment's thread may be hashing still: its bytes first */
	while (split->hashing)
		pthread_cond_wait(&split->hashed_cond, &split->lock);
	err = catch_up(split, UINT64_MAX);
	if (!err && split->hashed != split->size)
		err = -EIO;
	/* Finished under the lock (it takes microseconds): a late write of
	 * another segment's transfer reads hash.on under it. */
	if (!err)
		err = fm_hasher_finish(&split->hash, out);
	pthread_mutex_unlock(&split->lock);
	return err;
}

int fm_split_commit(struct fm_split *split)
{
	int err;

	/* Under the lock, once no thread reads the file back: the others
	 * may still end, and must find it closed (committed). */
	pthread_mutex_lock(&split->lock);
	while (split->hashing)
		pthread_cond_wait(&split->hashed_cond, &split->lock);
	split->committed = true;
	if (split->record) /* the ranges are all there: no more to say */
		(void)fremovexattr(split->sink.fd, FM_RANGES_ATTR);
	err = fm_sink_commit(&split->sink, split->mtime);
	pthread_mutex_unlock(&split->lock);
	return err;
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
