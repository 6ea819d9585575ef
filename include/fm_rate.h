/* fm_rate.h: one token bucket for --limit-rate, shared by all transfers.
 *
 * Pure arithmetic on a clock the caller passes in: the write callback
 * takes tokens, a timer of the scheduler refills them and resumes the
 * transfers that found the bucket empty. */
#ifndef FM_RATE_H
#define FM_RATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fm_bucket {
	double rate;     /* bytes per second */
	double burst;    /* most tokens held at once */
	double tokens;   /* may go below zero: a chunk is never split */
	uint64_t last;   /* time of the last refill, ns */
};

/* Starts a bucket of rate bytes/s at time now (ns), empty. The burst is
 * what 50 ms of the rate allows, and at least 16 KiB, so one libcurl
 * chunk always fits. */
void fm_bucket_init(struct fm_bucket *b, double rate, uint64_t now);

/* Adds the tokens earned since the last refill, up to the burst. */
void fm_bucket_refill(struct fm_bucket *b, uint64_t now);

/* Takes n tokens when any are left (the balance may then go negative by
 * at most one chunk, paid back before anything else is taken). Returns
 * false when the bucket is empty: the caller must wait. */
bool fm_bucket_take(struct fm_bucket *b, size_t n);

#endif
