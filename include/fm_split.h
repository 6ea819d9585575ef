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
 * One mutex guards everything here: the scheduler (main thread) takes
 * and cuts segments, each worker's transfer writes its segment's bytes
 * (pwrite runs outside the lock: a segment's bytes are its own). */
#ifndef FM_SPLIT_H
#define FM_SPLIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

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
	unsigned failures;      /* attempts at it that failed */
	uint64_t due_ns;        /* free: not before (uv_hrtime()'s clock) */
};

enum fm_ranges {
	FM_RANGES_UNKNOWN,      /* no ranged answer yet */
	FM_RANGES_PROBING,      /* the probe is out */
	FM_RANGES_OK,           /* a 206 came: segments may be cut */
	FM_RANGES_NO,           /* the server ignores them: never cut */
};

struct fm_split {
	pthread_mutex_t lock;
	uint64_t size;          /* the body's */
	uint64_t min;           /* no segment is cut smaller */
	char *url;              /* where the first response came from (after
				   redirects): every segment asks it */
	char *validator;        /* for If-Range: a strong ETag, else
				   Last-Modified */
	char *etag;             /* the first response's, "" when none: every
				   206 must carry the same */
	int64_t mtime;          /* Last-Modified, -1 when none */
	bool foreign;           /* url is on another host than the entry's
				   (a redirect): no credentials go there */
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
	EVP_MD_CTX *md;         /* the digest of [0, hashed), or NULL */
	uint64_t hashed;
	bool hashing;           /* a thread is hashing (outside the lock) */
	pthread_cond_t hashed_cv; /* broadcast when hashing ends */
	uint64_t reread;        /* bytes read back to hash them */
};

/* Makes split for a body of size bytes (at least 2 * min) that the first
 * transfer is about to write from offset 0 into sink's open file (moved
 * into split: the caller's sink no longer owns it); that transfer holds
 * the first segment, returned in *first. url, validator and etag are
 * copied (etag may be ""). md: hash the body (SHA-256). Room for the
 * whole body is reserved at once where the file system can. Returns 0,
 * or -ENOMEM or -ENOSPC (split then holds nothing, sink is untouched). */
int fm_split_init(struct fm_split *split, uint64_t size, uint64_t min,
		  const char *url, const char *validator, const char *etag,
		  int64_t mtime, struct fm_sink *sink, bool md,
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
		    int64_t mtime, struct fm_sink *sink, bool md,
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
 * (when none is out). *probe tells which. Returns NULL when there is
 * nothing to take. Any of them is held until fm_split_end(). */
struct fm_seg *fm_split_take(struct fm_split *split, uint64_t now,
			     bool *probe);

/* The earliest due time of a free segment, or UINT64_MAX. */
uint64_t fm_split_next_due(struct fm_split *split);

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

/* The transfer holding seg ended (worker or scheduler): a complete seg
 * is done (*complete; seg may be freed then), else what it did not fetch
 * waits, free, with failed counted when the attempt failed (due: never,
 * until fm_split_due()). Returns true to exactly one caller: the body is
 * complete, and that caller commits it (fm_split_commit()). */
bool fm_split_end(struct fm_split *split, struct fm_seg *seg, bool failed,
		  bool *complete);

/* seg, free after a failed transfer (fm_split_end()), waits until due
 * (uv_hrtime()'s clock). */
void fm_split_due(struct fm_split *split, struct fm_seg *seg, uint64_t due);

/* The failed attempts at seg. */
unsigned fm_split_failures(struct fm_split *split, const struct fm_seg *seg);

/* Bytes on disk so far (for the live line). */
uint64_t fm_split_done(struct fm_split *split);

/* Every segment stops at its next byte. */
void fm_split_stop(struct fm_split *split);

/* Finishes the digest of the complete body into out (64 hex digits and
 * NUL), reading back what was not hashed as it came. Returns 0 or
 * -errno. */
int fm_split_digest(struct fm_split *split, char out[65]);

/* Gives the complete body NAME (fm_sink_commit()). Returns 0 or -errno. */
int fm_split_commit(struct fm_split *split);

/* The Range of seg's request, "FIRST-LAST", into buf; returns FIRST. */
uint64_t fm_split_range(struct fm_split *split, const struct fm_seg *seg,
			char *buf, size_t cap);

#endif
