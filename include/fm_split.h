/* fm_split.h: one body fetched as several ranged transfers at once.
 *
 * A large body (at least twice --min-split-size, from a response with a
 * validator, sent as it is stored) is cut into segments while it
 * arrives. The entry's first transfer, a plain GET, becomes the first
 * segment; every other is a ranged GET (If-Range: the validator) whose
 * bytes are written in place (pwrite) into the one file. A segment is
 * made by cutting another in two, the one with the most left to fetch
 * (work stealing): the first cut when a slot is free, the last ones when
 * the run's other entries are done and their slots fall idle.
 *
 * The first cut is a probe: its transfer asks for the second half while
 * the first transfer goes on with the whole body; only when the probe's
 * 206 comes (with the same size and validator) is the first transfer's
 * end moved back to where the probe begins (or to where it has got by
 * then). A server that answers the probe with 200 ignores ranges: the
 * first transfer goes on alone, and the body is never cut again.
 *
 * Segments tile [0, size) in a list sorted by start. A segment that fails
 * gives back what it did not fetch, as a free segment retried on its own
 * (the scheduler sets when); adjacent finished segments merge. What is on
 * disk from offset 0 without a gap is hashed as it completes; bytes that
 * arrive beyond it are read back once when it reaches them.
 *
 * An entry with mirrors spreads its segments over them (its sources):
 * the URL the first response came from, then each of its other URLs. A
 * mirror's first segment tries it: a 206 of the same size and ETag (its
 * If-Range is the first response's validator) makes it a source like the
 * first; anything else (a 200, another size or ETag) leaves it out, and
 * what its segment did not fetch goes to another source, not counted as
 * a failure. A source that fails for good (a 404) is left out too; the
 * body fails only when no source is left.
 *
 * One mutex guards everything here: the scheduler (main thread) takes
 * and cuts segments, each worker's transfer writes its segment's bytes
 * (pwrite runs outside the lock: a segment's bytes are its own). */
#ifndef FM_SPLIT_H
#define FM_SPLIT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fm_digest.h"
#include "fm_sink.h"

enum fm_seg_state {
	FM_SEG_FREE,    /* waiting for a transfer (after a failure) */
	FM_SEG_RUNNING, /* a transfer has it */
	FM_SEG_DONE,    /* every byte on disk */
};

struct fm_seg {
	struct fm_seg *next;    /* the next by start */
	uint64_t start, end;    /* its bytes: [start, end) */
	uint64_t pos;           /* the next byte to write (taken by a write
				   under way, not yet on disk) */
	uint64_t disk;          /* [start, disk) is on disk */
	uint64_t skip;          /* bytes its response begins with that are
				   not its own (a probe cut late) */
	enum fm_seg_state state;
	bool held;              /* a transfer has it */
	unsigned src;           /* the source of its transfer (the last one,
				   while free); fixed while held */
	unsigned avoid;         /* a source its last failure came from, to
				   avoid for the next (FM_SRC_NONE: none) */
	unsigned failures;      /* attempts at it that failed */
	bool owed;              /* failed, not yet timed by the scheduler
				   (which holds it): never merged away */
	bool via_entry;         /* its last transfer asked the entry's URL
				   again (fm_split_src_expired()); set by
				   the transfer holding it */
	uint64_t due_ns;        /* free: not before (uv_hrtime()'s clock) */
};

enum fm_ranges {
	FM_RANGES_UNKNOWN,      /* no ranged answer yet */
	FM_RANGES_PROBING,      /* the probe is out */
	FM_RANGES_OK,           /* a 206 came: segments may be cut */
	FM_RANGES_NO,           /* the server ignores them: never cut */
};

/* Sources for segments at most: the first URL and 15 mirrors. */
#define FM_SRC_MAX 16u
#define FM_SRC_NONE (~0u)

enum fm_src_state {
	FM_SRC_UNTRIED,         /* a mirror not asked yet */
	FM_SRC_TRYING,          /* its first segment is out: no other goes
				   there before its answer */
	FM_SRC_OK,              /* the same file, with ranges */
	FM_SRC_NO,              /* another file, or it failed: left out */
};

struct fm_host;

struct fm_src {
	char *url;              /* what every segment there asks */
	bool foreign;           /* url is on another host than the entry's
				   URL it stands for (a redirect): no
				   credentials go there */
	unsigned url_i;         /* which of the entry's URLs (fm_job_url()) */
	bool redirected;        /* url is where that URL redirected to */
	atomic_bool via_entry;  /* url refused a segment (a signed URL
				   expired): segments ask the entry's URL
				   again and follow its redirect */
	enum fm_src_state state;
	unsigned running;       /* segments out there */
	unsigned failures;      /* segments there that failed */
	/* The scheduler's alone (set when it lists the body): */
	struct fm_host *host;   /* its queue record, for --per-host */
	uint32_t site;          /* the hash of its host name */
	bool ref;               /* host is a reference of the split's own */
};

struct fm_split {
	pthread_mutex_t lock;
	uint64_t size;          /* the body's */
	uint64_t min;           /* no segment is cut smaller */
	char *validator;        /* for If-Range: a strong ETag, else
				   Last-Modified */
	char *etag;             /* the first response's, "" when none: every
				   206 must carry the same */
	int64_t mtime;          /* Last-Modified, -1 when none */
	struct fm_src src[FM_SRC_MAX]; /* src[0]: where the first response
				   came from (after redirects) */
	unsigned nsrc;          /* set before the split is shared */
	bool record;            /* -c: what is on disk is kept beside the
				   .part (FM_RANGES_ATTR), to resume it */
	struct fm_sink sink;    /* the body's file */
	struct fm_seg *segs;    /* sorted by start, tiling [0, size) */
	struct fm_seg *probe;   /* the first cut while it is tried, outside
				   the list */
	enum fm_ranges ranges;
	unsigned probes;        /* probes that failed (not with a 200) */
	unsigned held;          /* segments that transfers hold */
	uint64_t done;          /* bytes on disk, all segments */
	uint64_t unrecorded;    /* of them, written since the last record */
	bool abort;             /* every segment stops at its next byte */
	bool complete;          /* done == size, seen by the one that
				   commits */
	bool committed;         /* named: the file is closed, nothing may
				   touch it */
	atomic_bool halt;       /* abort or complete: a transfer of it that
				   waits for bytes stops (fm_split_halted()) */
	pthread_cond_t hashed_cond; /* hashing went false */
	struct fm_hasher hash;  /* the digests of [0, hashed); none on
				   when none is wanted */
	uint64_t hashed;
	bool hashing;           /* a thread is hashing (outside the lock) */
	uint64_t reread;        /* bytes read back to hash them */
};

/* Adds URL i of the entry (fm_job_url()) as a source, untried (before
 * the split is shared). Returns 0, -ENOSPC when there are FM_SRC_MAX
 * already, or -ENOMEM. */
int fm_split_add_src(struct fm_split *split, const char *url, unsigned i);

/* Makes split for a body of size bytes (at least 2 * min) that the first
 * transfer is about to write from offset 0 into sink's open file (moved
 * into split: the caller's sink no longer owns it); that transfer holds
 * the first segment, returned in *first. url, validator and etag are
 * copied (etag may be ""). digests: the set of algorithms to hash the
 * body with (fm_digest_set(); 0: none). Room for the whole body is
 * reserved at once where the file system can. Returns 0, or -ENOMEM or
 * -ENOSPC (split then holds nothing, sink is untouched). */
int fm_split_init(struct fm_split *split, uint64_t size, uint64_t min,
		  const char *url, const char *validator, const char *etag,
		  int64_t mtime, struct fm_sink *sink, unsigned digests,
		  struct fm_seg **first);

/* Under -c a cut body's .part says which of its bytes are on disk in
 * its extended attribute FM_RANGES_ATTR (fm_sink.h): "SIZE A-B,A-B,..." (byte offsets, B excluded,
 * sorted), written as segments end. A .part without it was written from
 * its start without a gap. */
#define FM_RANGES_MAX 64        /* ranges a .part may record */
#define FM_RANGES_TEXT 2048     /* room for their text */

struct fm_range {
	uint64_t start, end;    /* [start, end) */
};

/* Parses the text of FM_RANGES_ATTR (n bytes): the body's size and the
 * ranges on disk, sorted, apart, each within the size, at most max.
 * Returns how many, or -1 when the text is not that. Pure. */
int fm_ranges_parse(const char *text, size_t n, uint64_t *size,
		    struct fm_range *done, unsigned max);

/* Writes the text of FM_RANGES_ATTR for a body of size bytes of which
 * done[0..n) are on disk (sorted, apart) into buf. Returns its length, or
 * -1 when it does not fit. Pure. */
int fm_ranges_format(uint64_t size, const struct fm_range *done, unsigned n,
		     char *buf, size_t cap);

/* Makes split, as fm_split_init(), for a .part resumed under -c whose
 * bytes done[0..n) are on disk (fm_ranges_parse()): the first transfer
 * fetches the first gap from *first_from (the caller's request asked it
 * from there), the other gaps wait, free, for transfers of their own; the
 * server is known to honour ranges (its 206 came). Records what is on
 * disk from then on (record). Returns 0, -ENOMEM or -EINVAL (no gap: the
 * caller asked for none). */
int fm_split_resume(struct fm_split *split, uint64_t size, uint64_t min,
		    const char *url, const char *validator, const char *etag,
		    int64_t mtime, struct fm_sink *sink, unsigned digests,
		    const struct fm_range *done, unsigned n,
		    struct fm_seg **first);

/* The first gap of a .part whose bytes done[0..n) of size are on disk, or
 * the last byte when there is none (so that a request still proves the
 * file unchanged). Pure. */
struct fm_range fm_ranges_first_gap(uint64_t size, const struct fm_range *done,
				    unsigned n);

/* Under -c: start recording what is on disk beside the .part. Returns 0,
 * or -errno when the file system keeps no extended attributes (the body
 * is then not cut: a .part with gaps and no record could not be
 * resumed). */
int fm_split_start_record(struct fm_split *split);

/* Closes the file (removing it unless keep, a NAME.part to resume) and
 * frees everything. */
void fm_split_free(struct fm_split *split, bool keep);

/* A segment for a new transfer (scheduler): a free one that is due at
 * now, else a cut of the running segment with the most left (at least
 * 2 * min), once the server is known to honour ranges, else the probe
 * (when none is out). *probe tells which. Its source (seg->src) is one
 * of those in usable (bit k: source k's host has room): until ranges
 * are known to work only the first, then the one with the fewest
 * segments out (a mirror not tried yet counts as one that works; the
 * one the segment last failed at goes last). Returns NULL when there is
 * nothing to take, or no source for it. Any of them is held until
 * fm_split_end(). */
struct fm_seg *fm_split_take(struct fm_split *split, uint64_t now,
			     uint32_t usable, bool *probe);

/* The answer of seg's source, a mirror tried or used (worker): same,
 * a 206 of the same file, makes it a source that works; else it is left
 * out. Returns false when that leaves no source for the rest of the
 * body. */
bool fm_split_src_answer(struct fm_split *split, struct fm_seg *seg,
			 bool same);

/* seg, free after a failed transfer (fm_split_end()), failed for good at
 * its source (a 404): that source is left out and, when another is left,
 * seg goes again at once, its failure not counted (returns true). Returns
 * false when no source is left. */
bool fm_split_src_drop(struct fm_split *split, struct fm_seg *seg);

/* seg, free after a failed transfer (fm_split_end()), was refused for
 * good (a 4xx) by its source, a redirect's target (a signed URL whose
 * time ran out, or a node gone): unless seg's transfer already asked the
 * entry's URL again, every segment there from now on asks the entry's URL
 * and follows its redirect, and seg goes again at once, its failure not
 * counted (returns true). Returns false otherwise: the source then fails
 * for good (fm_split_src_drop()). */
bool fm_split_src_expired(struct fm_split *split, struct fm_seg *seg);

/* The earliest due time after after of a free segment, or UINT64_MAX
 * (one due by then waits only for a slot). */
uint64_t fm_split_next_due(struct fm_split *split, uint64_t after);

/* The probe's 206 came (same size and validator): the segment it cut
 * from ends where the probe's bytes now begin. Returns false when
 * nothing was left to cut (the probe then has nothing to do). */
bool fm_split_confirm(struct fm_split *split, struct fm_seg *probe);

/* The probe came to nothing: with no_ranges the server ignores ranges
 * (nothing is cut, ever); else it may be tried again. */
void fm_split_unprobe(struct fm_split *split, struct fm_seg *probe,
		      bool no_ranges);

/* What a write made of a segment. */
enum fm_split_wrote {
	FM_SPLIT_MORE,          /* all taken: go on */
	FM_SPLIT_END,           /* the segment is complete: stop here */
	FM_SPLIT_STOP,          /* fm_split_stop() asked every one to stop */
};

/* Writes n bytes of seg's response (worker): drops what skip says, writes
 * up to seg's end, hashes what extends the prefix. Returns what became of
 * it, or -errno from the file. */
int fm_split_write(struct fm_split *split, struct fm_seg *seg,
		   const void *buf, size_t n);

/* How the transfer holding a segment ended. */
enum fm_seg_end {
	FM_SEG_ENDED,  /* no failure: it stopped, or got all it was for */
	FM_SEG_FAILED, /* an attempt that failed, counted */
	FM_SEG_NO_FD,  /* no descriptor for its socket: not counted */
};

/* The transfer holding seg ended (worker or scheduler): a complete seg
 * is done (*complete; seg may be freed then), else what it did not fetch
 * waits, free: at once after FM_SEG_ENDED; after the others, until
 * fm_split_due() says when, FM_SEG_FAILED counted against seg and its
 * source. Returns true to exactly one caller: the body is complete, and
 * that caller commits it (fm_split_commit()). */
bool fm_split_end(struct fm_split *split, struct fm_seg *seg,
		  enum fm_seg_end how, bool *complete);

/* seg, free after a failed transfer (fm_split_end()), waits until due
 * (uv_hrtime()'s clock). */
void fm_split_due(struct fm_split *split, struct fm_seg *seg, uint64_t due);

/* The failed attempts at seg. */
unsigned fm_split_failures(struct fm_split *split, const struct fm_seg *seg);

/* Whether the transfers of split have nothing more to do (it stops, or
 * every byte is there): one that waits for bytes stops now. Any thread,
 * without the lock. */
static inline bool fm_split_halted(struct fm_split *split)
{
	return atomic_load_explicit(&split->halt, memory_order_relaxed);
}

/* Bytes on disk so far (for the live line). */
uint64_t fm_split_done(struct fm_split *split);

/* Every segment stops at its next byte. */
void fm_split_stop(struct fm_split *split);

/* Finishes the digests of the complete body into out ("" for those not
 * wanted), reading back what was not hashed as it came. Returns 0 or
 * -errno. */
int fm_split_digest(struct fm_split *split, struct fm_digests *out);

/* Gives the complete body NAME (fm_sink_commit()). Returns 0 or -errno. */
int fm_split_commit(struct fm_split *split);

/* The Range of seg's request, "FIRST-LAST", into buf; returns FIRST. */
uint64_t fm_split_range(struct fm_split *split, const struct fm_seg *seg,
			char *buf, size_t cap);

#endif
