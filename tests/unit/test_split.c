/* test_split.c: one body over several ranged transfers (split.c), on a
 * real file: segments cut, confirmed, failed and taken again, written out
 * of order; the file and its digest must come out byte for byte. */
#define _XOPEN_SOURCE 700 /* mkdtemp */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fm_split.h"

#define KIB 1024u
#define MIN (64u * KIB)
#define SIZE (1024u * KIB)
/* The digests every split here computes. */
#define DIGESTS (FM_ALGO_BIT(FM_SHA256) | FM_ALGO_BIT(FM_SHA512))

struct fx {
	char dir[64];
	int root;
	struct fm_sink sink;
	unsigned char *body;    /* what the server would send */
	struct fm_split split;
	struct fm_seg *first;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/fm-split-XXXXXX");
	if (!mkdtemp(f->dir) || (f->root = fm_sink_open_root(f->dir)) < 0)
		return -1;
	f->body = malloc(SIZE);
	if (!f->body)
		return -1;
	for (uint32_t i = 0; i < SIZE; i++)
		f->body[i] = (unsigned char)(i * 2654435761u >> 13);
	f->sink = (struct fm_sink)FM_SINK_INIT;
	if (fm_sink_prepare(&f->sink, f->root, "big", false) ||
	    fm_sink_open(&f->sink, false))
		return -1;
	if (fm_split_init(&f->split, SIZE, MIN, "http://h/big", "\"v1\"",
			  "\"v1\"", -1, &f->sink, DIGESTS, &f->first))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char path[128];

	fm_split_free(&f->split, false);
	fm_sink_release(&f->sink);
	snprintf(path, sizeof(path), "%s/big", f->dir);
	unlink(path);
	close(f->root);
	rmdir(f->dir);
	free(f->body);
	free(f);
	return 0;
}

/* Sends seg's response from offset from (its request's first byte) to
 * upto, in pieces of 16 KiB, as a transfer would; returns what the last
 * write said. */
static int send(struct fx *f, struct fm_seg *seg, uint64_t from, uint64_t upto)
{
	int rc = FM_SPLIT_MORE;

	while (from < upto && rc == FM_SPLIT_MORE) {
		size_t n = upto - from < 16 * KIB ? upto - from : 16 * KIB;

		rc = fm_split_write(&f->split, seg, f->body + from, n);
		from += n;
	}
	return rc;
}

static bool end(struct fx *f, struct fm_seg *seg, bool failed)
{
	bool complete;

	return fm_split_end(&f->split, seg,
			    failed ? FM_SEG_FAILED : FM_SEG_ENDED, &complete);
}

/* The body's digest with md, in hex (FM_HEX_MAX + 1 bytes). */
static void body_hex(const struct fx *f, const EVP_MD *md, char *whex)
{
	unsigned char want[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	EVP_Digest(f->body, SIZE, want, &n, md, NULL);
	for (unsigned i = 0; i < n; i++)
		snprintf(whex + 2 * i, 3, "%02x", want[i]);
}

/* The digests of split are the body's: SHA-256 and SHA-512, the two it
 * computes, and no other. */
static void check_digests(const struct fx *f, struct fm_split *split)
{
	struct fm_digests d;
	char whex[FM_HEX_MAX + 1];

	assert_int_equal(fm_split_digest(split, &d), 0);
	body_hex(f, EVP_sha256(), whex);
	assert_string_equal(d.hex[FM_SHA256], whex);
	body_hex(f, EVP_sha512(), whex);
	assert_string_equal(d.hex[FM_SHA512], whex);
	assert_string_equal(d.hex[FM_SHA1], "");
	assert_string_equal(d.hex[FM_MD5], "");
}

/* The file holds the body; its digest is the body's. */
static void check_file(struct fx *f)
{
	unsigned char *got = malloc(SIZE);
	char path[128];
	int fd;

	assert_non_null(got);
	check_digests(f, &f->split);
	assert_int_equal(fm_split_commit(&f->split), 0);
	snprintf(path, sizeof(path), "%s/big", f->dir);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, got, SIZE), SIZE);
	assert_int_equal(read(fd, got, 1), 0);
	close(fd);
	assert_memory_equal(got, f->body, SIZE);
	free(got);
}

/* Nobody cuts it: the first transfer writes it all and commits. */
static void split_whole_by_one(void **state)
{
	struct fx *f = *state;

	assert_int_equal(send(f, f->first, 0, SIZE), FM_SPLIT_MORE);
	assert_true(end(f, f->first, false));
	assert_int_equal(f->split.reread, 0);
	check_file(f);
}

/* The first cut is a probe: the first transfer keeps its whole range
 * until the probe's 206 comes, then ends where the probe begins. */
static void split_probe_then_cut(void **state)
{
	struct fx *f = *state;
	struct fm_seg *p, *again;
	bool probe;

	p = fm_split_take(&f->split, 0, UINT32_MAX, &probe);
	assert_non_null(p);
	assert_true(probe);
	assert_int_equal(p->start, SIZE / 2);
	/* no second probe while one is out */
	assert_null(fm_split_take(&f->split, 0, UINT32_MAX, &probe));
	assert_int_equal(f->first->end, SIZE);
	assert_true(fm_split_confirm(&f->split, p));
	assert_int_equal(f->first->end, SIZE / 2);
	/* the probe's half first, then the first half: the first
	 * transfer's plain GET would go on, but stops at its end */
	assert_int_equal(send(f, p, SIZE / 2, SIZE), FM_SPLIT_MORE);
	assert_false(end(f, p, false));
	assert_int_equal(send(f, f->first, 0, SIZE), FM_SPLIT_END);
	assert_true(end(f, f->first, false));
	again = fm_split_take(&f->split, 0, UINT32_MAX, &probe);
	assert_null(again);
	check_file(f);
	/* the second half was on disk before the prefix reached it */
	assert_int_equal(f->split.reread, SIZE / 2);
}

/* The probe's 206 comes after the first transfer passed the cut: the
 * probe drops what is on disk already and takes the rest. */
static void split_probe_confirmed_late(void **state)
{
	struct fx *f = *state;
	struct fm_seg *p;
	bool probe;

	p = fm_split_take(&f->split, 0, UINT32_MAX, &probe);
	assert_non_null(p);
	assert_int_equal(send(f, f->first, 0, SIZE / 2 + 100 * KIB),
			 FM_SPLIT_MORE);
	assert_true(fm_split_confirm(&f->split, p));
	assert_int_equal(f->first->end, SIZE / 2 + 100 * KIB);
	assert_int_equal(p->start, SIZE / 2 + 100 * KIB);
	assert_int_equal(p->skip, 100 * KIB);
	/* its response still begins at the offset it asked */
	assert_int_equal(send(f, p, SIZE / 2, SIZE), FM_SPLIT_MORE);
	assert_true(end(f, p, false));
	assert_false(end(f, f->first, false));
	check_file(f);
}

/* A probe the server answers with 200: nothing is ever cut again. */
static void split_no_ranges(void **state)
{
	struct fx *f = *state;
	struct fm_seg *p;
	bool probe;

	p = fm_split_take(&f->split, 0, UINT32_MAX, &probe);
	fm_split_unprobe(&f->split, p, true);
	assert_null(fm_split_take(&f->split, 0, UINT32_MAX, &probe));
	assert_int_equal(send(f, f->first, 0, SIZE), FM_SPLIT_MORE);
	assert_true(end(f, f->first, false));
	check_file(f);
}

/* A probe that fails (an error, not a 200) is tried again, twice at
 * most. */
static void split_probe_retried(void **state)
{
	struct fx *f = *state;
	struct fm_seg *p;
	bool probe;

	p = fm_split_take(&f->split, 0, UINT32_MAX, &probe);
	fm_split_unprobe(&f->split, p, false);
	p = fm_split_take(&f->split, 0, UINT32_MAX, &probe);
	assert_non_null(p);
	assert_true(probe);
	fm_split_unprobe(&f->split, p, false);
	assert_null(fm_split_take(&f->split, 0, UINT32_MAX, &probe));
	assert_int_equal(f->split.held, 1);
}

/* Once ranges work, each take cuts the segment with the most left in
 * two, and none smaller than 2 * MIN is cut. */
static void split_cuts_the_largest(void **state)
{
	struct fx *f = *state;
	struct fm_seg *s[16];
	unsigned n = 0;
	bool probe;

	s[n++] = f->first;
	s[n] = fm_split_take(&f->split, 0, UINT32_MAX, &probe);
	assert_true(fm_split_confirm(&f->split, s[n++]));
	while (n < 16 && (s[n] = fm_split_take(&f->split, 0, UINT32_MAX, &probe))) {
		assert_false(probe);
		assert_true(s[n]->end - s[n]->start >= MIN);
		n++;
	}
	/* 1 MiB in pieces of at least 64 KiB, each cut halving: 16 */
	assert_int_equal(n, 16);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(send(f, s[i], s[i]->pos, s[i]->end),
				 FM_SPLIT_MORE);
	}
	/* every byte is there: the first to end commits, once */
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(end(f, s[i], false), i == 0);
	/* merged into one */
	assert_null(f->split.segs->next);
	check_file(f);
}

/* A segment that fails keeps what it wrote; the rest waits, free, until
 * the scheduler says when, and goes on from where it stopped. */
static void split_failed_segment_retried(void **state)
{
	struct fx *f = *state;
	struct fm_seg *p;
	bool probe;

	p = fm_split_take(&f->split, 0, UINT32_MAX, &probe);
	assert_true(fm_split_confirm(&f->split, p));
	assert_int_equal(send(f, f->first, 0, SIZE / 2), FM_SPLIT_MORE);
	assert_false(end(f, f->first, false));
	assert_int_equal(send(f, p, SIZE / 2, SIZE / 2 + 50 * KIB),
			 FM_SPLIT_MORE);
	assert_false(end(f, p, true));
	assert_int_equal(fm_split_failures(&f->split, p), 1);
	/* not before the scheduler says when */
	assert_null(fm_split_take(&f->split, 1000, UINT32_MAX, &probe));
	fm_split_due(&f->split, p, 500);
	assert_int_equal(fm_split_next_due(&f->split, 0), 500);
	assert_int_equal(fm_split_next_due(&f->split, 499), 500);
	/* due: it waits for a slot, not for the timer */
	assert_int_equal(fm_split_next_due(&f->split, 500), UINT64_MAX);
	assert_null(fm_split_take(&f->split, 499, UINT32_MAX, &probe));
	assert_ptr_equal(fm_split_take(&f->split, 500, UINT32_MAX, &probe), p);
	assert_false(probe);
	assert_int_equal(p->pos, SIZE / 2 + 50 * KIB);
	assert_int_equal(send(f, p, p->pos, SIZE), FM_SPLIT_MORE);
	assert_true(end(f, p, false));
	check_file(f);
}

/* fm_split_stop(): every segment stops at its next byte. */
static void split_stop(void **state)
{
	struct fx *f = *state;
	bool probe;

	fm_split_stop(&f->split);
	assert_int_equal(fm_split_write(&f->split, f->first, f->body, 10),
			 FM_SPLIT_STOP);
	assert_null(fm_split_take(&f->split, 0, UINT32_MAX, &probe));
	assert_false(end(f, f->first, true));
}

/* The record of a .part's ranges: parsed strictly, written back the
 * same; its first gap (the last byte when there is none). */
static void ranges_text(void **state)
{
	static const char *const bad[] = {
		"", "x", "0", "10 ", "10 5-3", "10 0-11", "10 0-3,3-5",
		"10 4-6,0-2", "10 0-3,", "10 0-3 ", "10 -3", "10 1-",
	};
	struct fm_range r[4];
	uint64_t size;
	char buf[64];

	(void)state;
	assert_int_equal(fm_ranges_parse("10", 2, &size, r, 4), 0);
	assert_int_equal(size, 10);
	assert_int_equal(fm_ranges_parse("100 0-10,20-30", 14, &size, r, 4),
			 2);
	assert_int_equal(r[1].start, 20);
	assert_int_equal(r[1].end, 30);
	assert_int_equal(fm_ranges_format(100, r, 2, buf, sizeof(buf)), 14);
	assert_string_equal(buf, "100 0-10,20-30");
	assert_int_equal(fm_ranges_format(100, r, 2, buf, 10), -1);
	assert_int_equal(fm_ranges_parse("100 0-1,2-3,4-5", 15, &size, r, 2),
			 -1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(fm_ranges_parse(bad[i], strlen(bad[i]), &size,
						 r, 4), -1);
	r[0] = (struct fm_range){0, 10};
	r[1] = (struct fm_range){20, 30};
	assert_int_equal(fm_ranges_first_gap(100, r, 2).start, 10);
	assert_int_equal(fm_ranges_first_gap(30, r + 1, 1).start, 0);
	assert_int_equal(fm_ranges_first_gap(30, r + 1, 1).end, 20);
	r[0] = (struct fm_range){0, 30};
	assert_int_equal(fm_ranges_first_gap(30, r, 1).start, 29);
	assert_int_equal(fm_ranges_first_gap(30, r, 1).end, 30);
}

/* A resumed .part: what it holds stays, the first gap is the first
 * transfer's, the others are free for transfers of their own; the
 * digest covers the whole file (what was there read back). */
static void split_resumed(void **state)
{
	struct fx *f = *state;
	struct fm_range done[2] = {{0, SIZE / 4}, {SIZE / 2, 3 * SIZE / 4}};
	struct fm_split again;
	struct fm_seg *first, *other;
	struct fm_sink sink = FM_SINK_INIT;
	bool probe;

	/* what an earlier run left: two quarters */
	assert_int_equal(send(f, f->first, 0, SIZE / 4), FM_SPLIT_MORE);
	assert_int_equal(fm_split_write(&f->split, f->first, f->body, 0),
			 FM_SPLIT_MORE);
	assert_int_equal(pwrite(f->split.sink.fd, f->body + SIZE / 2,
				SIZE / 4, SIZE / 2),
			 SIZE / 4);
	sink = f->split.sink; /* the same file, as a new run opens it */
	sink.fd = dup(f->split.sink.fd);
	sink.dirfd = dup(f->split.sink.dirfd);
	sink.leaf = strdup(f->split.sink.leaf);
	sink.part = strdup(f->split.sink.part);
	assert_int_equal(fm_split_resume(&again, SIZE, MIN, "http://h/big",
					 "\"v1\"", "\"v1\"", -1, &sink, DIGESTS,
					 done, 2, &first),
			 0);
	assert_int_equal(first->start, SIZE / 4);
	assert_int_equal(first->end, SIZE / 2);
	assert_int_equal(again.done, SIZE / 2);
	other = fm_split_take(&again, 0, UINT32_MAX, &probe);
	assert_false(probe);
	assert_non_null(other);
	assert_int_equal(other->start, 3 * SIZE / 4);
	{
		bool complete;

		assert_int_equal(fm_split_write(&again, other,
						f->body + 3 * SIZE / 4,
						SIZE / 4),
				 FM_SPLIT_MORE);
		assert_false(fm_split_end(&again, other, FM_SEG_ENDED, &complete));
		assert_int_equal(fm_split_write(&again, first,
						f->body + SIZE / 4, SIZE / 4),
				 FM_SPLIT_MORE);
		assert_true(fm_split_end(&again, first, FM_SEG_ENDED, &complete));
	}
	/* check_file() on the fixture's split reads the same file */
	{
		check_digests(f, &again);
		/* the quarters that were there, and the last one, which
		 * came before the prefix reached it */
		assert_int_equal(again.reread, 3 * SIZE / 4);
	}
	fm_split_free(&again, true);
	assert_int_equal(end(f, f->first, false), false);
}

/* Another transfer's hashing ends after 50 ms (split_digest_waits). */
static void *end_hashing_later(void *arg)
{
	struct fm_split *split = arg;
	struct timespec ms50 = {0, 50 * 1000 * 1000};

	nanosleep(&ms50, NULL);
	pthread_mutex_lock(&split->lock);
	split->hashing = false;
	pthread_cond_broadcast(&split->hashed_cond);
	pthread_mutex_unlock(&split->lock);
	return NULL;
}

/* The transfer that completes the body may find another still hashing
 * (outside the lock): the digest waits for it, then reads back what was
 * left to hash, instead of failing with EIO. */
static void split_digest_waits(void **state)
{
	struct fx *f = *state;
	pthread_t t;

	assert_int_equal(send(f, f->first, 0, SIZE - 16 * KIB), FM_SPLIT_MORE);
	pthread_mutex_lock(&f->split.lock);
	f->split.hashing = true; /* another transfer, mid-hash */
	pthread_mutex_unlock(&f->split.lock);
	assert_int_equal(send(f, f->first, SIZE - 16 * KIB, SIZE),
			 FM_SPLIT_MORE);
	assert_true(end(f, f->first, false));
	assert_int_equal(pthread_create(&t, NULL, end_hashing_later,
					&f->split), 0);
	check_file(f);
	assert_int_equal(f->split.reread, 16 * KIB);
	pthread_join(t, NULL);
}

/* Mirrors: a split with sources 0 (the first URL) and 1 (a mirror),
 * ranges confirmed by a probe at 0, which it returns. */
static struct fm_seg *two_sources(struct fx *f)
{
	struct fm_seg *p;
	bool probe;

	assert_int_equal(fm_split_add_src(&f->split, "http://m/big", 1), 0);
	p = fm_split_take(&f->split, 0, UINT32_MAX, &probe);
	assert_non_null(p);
	assert_true(probe);
	assert_int_equal(p->src, 0); /* ranges are proved at the first */
	assert_true(fm_split_confirm(&f->split, p));
	return p;
}

/* Segments spread over the sources: a mirror is tried with one segment
 * (no other goes there before its answer), then takes its share; only
 * sources whose hosts have room (usable) are given. */
static void split_sources_spread(void **state)
{
	struct fx *f = *state;
	struct fm_seg *p = two_sources(f), *a, *b, *c;
	bool probe;

	a = fm_split_take(&f->split, 0, UINT32_MAX, &probe);
	assert_non_null(a);
	assert_int_equal(a->src, 1);
	assert_int_equal(f->split.src[1].state, FM_SRC_TRYING);
	/* the mirror is being tried: nothing else for it */
	assert_null(fm_split_take(&f->split, 0, 1u << 1, &probe));
	b = fm_split_take(&f->split, 0, UINT32_MAX, &probe);
	assert_non_null(b);
	assert_int_equal(b->src, 0);
	assert_true(fm_split_src_answer(&f->split, a, true));
	assert_int_equal(f->split.src[1].state, FM_SRC_OK);
	/* 3 out at 0 (first, probe, b), 1 at the mirror */
	c = fm_split_take(&f->split, 0, UINT32_MAX, &probe);
	assert_non_null(c);
	assert_int_equal(c->src, 1);
	assert_int_equal(f->split.src[0].running, 3);
	assert_int_equal(f->split.src[1].running, 2);
	/* a host without room: its source is not given */
	assert_null(fm_split_take(&f->split, 0, 0, &probe));
	end(f, c, false);
	end(f, b, false);
	end(f, a, false);
	end(f, p, false);
	assert_int_equal(f->split.src[0].running, 1);
	assert_int_equal(f->split.src[1].running, 0);
	end(f, f->first, false);
}

/* A mirror of another file is left out: what its segment did not fetch
 * goes to the first URL, not counted as a failure. The last source left
 * out is said (no source for the rest). */
static void split_source_mismatch(void **state)
{
	struct fx *f = *state;
	struct fm_seg *p = two_sources(f), *a, *again;
	bool probe;

	a = fm_split_take(&f->split, 0, UINT32_MAX, &probe);
	assert_int_equal(a->src, 1);
	assert_true(fm_split_src_answer(&f->split, a, false));
	assert_int_equal(f->split.src[1].state, FM_SRC_NO);
	assert_false(end(f, a, false));
	again = fm_split_take(&f->split, 0, UINT32_MAX, &probe);
	assert_ptr_equal(again, a);
	assert_int_equal(again->src, 0);
	assert_int_equal(again->failures, 0);
	/* the first URL fails for good too: nothing is left */
	assert_false(end(f, again, true));
	assert_false(fm_split_src_drop(&f->split, again));
	end(f, p, false);
	end(f, f->first, false);
}

/* A mirror that fails for good (a 404) is dropped and its segment goes
 * again at once, its failure not counted; a transient failure sends the
 * segment's next try to another source. */
static void split_source_drop_and_avoid(void **state)
{
	struct fx *f = *state;
	struct fm_seg *p = two_sources(f), *a, *again;
	bool probe;

	a = fm_split_take(&f->split, 0, UINT32_MAX, &probe);
	assert_int_equal(a->src, 1);
	assert_false(end(f, a, true));
	assert_int_equal(a->failures, 1);
	assert_true(fm_split_src_drop(&f->split, a));
	assert_int_equal(a->failures, 0);
	assert_int_equal(f->split.src[1].state, FM_SRC_NO);
	again = fm_split_take(&f->split, 0, UINT32_MAX, &probe);
	assert_ptr_equal(again, a);
	assert_int_equal(again->src, 0);
	end(f, again, false);
	end(f, p, false);
	end(f, f->first, false);
}

/* A transient failure at the first URL sends the segment's next try to
 * the mirror, though the mirror has more out. */
static void split_source_avoided_after_failure(void **state)
{
	struct fx *f = *state;
	struct fm_seg *p = two_sources(f), *a, *b, *again;
	bool probe;

	a = fm_split_take(&f->split, 0, UINT32_MAX, &probe);
	assert_int_equal(a->src, 1);
	assert_true(fm_split_src_answer(&f->split, a, true));
	b = fm_split_take(&f->split, 0, UINT32_MAX, &probe);
	assert_int_equal(b->src, 1);
	/* p (at 0) fails: 1 out at 0, 2 at the mirror */
	assert_false(end(f, p, true));
	fm_split_due(&f->split, p, 0);
	again = fm_split_take(&f->split, 0, UINT32_MAX, &probe);
	assert_ptr_equal(again, p);
	assert_int_equal(again->src, 1);
	end(f, again, false);
	end(f, b, false);
	end(f, a, false);
	end(f, f->first, false);
}

/* A redirect's target that refuses a segment for good (a signed URL
 * expired) is not dropped at once: the segment goes again at once, its
 * failure not counted, through the entry's URL, and so do later ones
 * (via_entry); refused again there, the source is dropped. A source that
 * is no redirect's target fails for good at once. */
static void split_source_expired(void **state)
{
	struct fx *f = *state;
	struct fm_seg *p, *again;
	bool probe;

	p = fm_split_take(&f->split, 0, UINT32_MAX, &probe);
	assert_true(fm_split_confirm(&f->split, p));
	/* not a redirect's target */
	assert_false(end(f, p, true));
	assert_false(fm_split_src_expired(&f->split, p));
	assert_false(atomic_load(&f->split.src[0].via_entry));
	fm_split_due(&f->split, p, 0);
	p = fm_split_take(&f->split, 0, UINT32_MAX, &probe);
	assert_int_equal(p->failures, 1);
	/* a redirect's target: asked again through the entry's URL */
	f->split.src[0].redirected = true;
	assert_false(end(f, p, true));
	assert_int_equal(p->failures, 2);
	assert_true(fm_split_src_expired(&f->split, p));
	assert_true(atomic_load(&f->split.src[0].via_entry));
	assert_int_equal(p->failures, 1);
	again = fm_split_take(&f->split, 0, UINT32_MAX, &probe);
	assert_ptr_equal(again, p); /* due at once */
	/* refused through the entry's URL too: that is final */
	again->via_entry = true;
	assert_false(end(f, again, true));
	assert_false(fm_split_src_expired(&f->split, again));
	assert_false(fm_split_src_drop(&f->split, again));
	end(f, f->first, false);
}

/* A segment whose transfer got no descriptor for its socket waits for
 * the scheduler's time, as a failed one does, but nothing is counted:
 * not against it, not against its source, and its source is not avoided
 * (after SRC_FAILURES_MAX real failures it would be). */
static void split_no_fd_not_counted(void **state)
{
	struct fx *f = *state;
	struct fm_seg *p;
	bool probe, complete;

	p = fm_split_take(&f->split, 0, UINT32_MAX, &probe);
	assert_true(fm_split_confirm(&f->split, p));
	assert_int_equal(send(f, f->first, 0, SIZE / 2), FM_SPLIT_MORE);
	assert_false(end(f, f->first, false));
	for (int i = 0; i < 5; i++) {
		assert_false(fm_split_end(&f->split, p, FM_SEG_NO_FD,
					  &complete));
		assert_false(complete);
		assert_int_equal(fm_split_failures(&f->split, p), 0);
		/* not before the scheduler says when */
		assert_null(fm_split_take(&f->split, 1000, UINT32_MAX,
					  &probe));
		fm_split_due(&f->split, p, 2000);
		assert_ptr_equal(fm_split_take(&f->split, 2000, UINT32_MAX,
					       &probe),
				 p);
	}
	assert_int_equal(f->split.src[p->src].failures, 0);
	assert_int_equal(f->split.src[p->src].state, FM_SRC_OK);
	assert_int_equal(send(f, p, SIZE / 2, SIZE), FM_SPLIT_MORE);
	assert_true(end(f, p, false));
	check_file(f);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(split_whole_by_one),
		T(split_probe_then_cut),
		T(split_probe_confirmed_late),
		T(split_no_ranges),
		T(split_probe_retried),
		T(split_cuts_the_largest),
		T(split_failed_segment_retried),
		T(split_no_fd_not_counted),
		T(split_stop),
		T(split_resumed),
		T(split_digest_waits),
		T(split_sources_spread),
		T(split_source_mismatch),
		T(split_source_drop_and_avoid),
		T(split_source_avoided_after_failure),
		T(split_source_expired),
		cmocka_unit_test(ranges_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
