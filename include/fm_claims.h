/* fm_claims.h: which output paths entries have claimed so far.
 *
 * A few bytes per entry, whatever the length of its path: the set keeps a
 * 64-bit hash of each path (FNV-1a, then mixed), about 6 bytes an entry
 * once settled. Two distinct paths colliding in 64 bits is ~3e-8 likely
 * for a million entries; such a collision would only refuse an entry,
 * never overwrite a file.
 *
 * The most recent claims (up to FM_CLAIMS_RECENT) sit in a small hash
 * table that also remembers who made each; older ones are settled into
 * one sorted array that keeps only the hash. A second use of a recent
 * path can name the earlier line; of a settled one, only that it was
 * used. */
#ifndef FM_CLAIMS_H
#define FM_CLAIMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Who claimed a path. Known only for recent claims whose line fits in
 * 40 bits and source in 23: the line (0: an argument) and the index of
 * its source on the command line. part: the path taken is that entry's
 * NAME.part (fm_claims_take_path() with part). */
struct fm_claim {
	bool known;
	bool part;
	uint32_t source;
	uint64_t line;
};

/* What taking a claim came to. */
enum fm_claim_result {
	FM_CLAIM_FREE,       /* it was free: it is now taken */
	FM_CLAIM_PATH_TAKEN, /* the path itself is another's: nothing taken */
	FM_CLAIM_PART_TAKEN, /* its NAME.part is (fm_claims_take_path()) */
	FM_CLAIM_NOMEM,      /* the set could not grow (ENOMEM): the entry
				must not go on */
};

/* Recent claims held with their line; more are settled first. */
#define FM_CLAIMS_RECENT 6144

struct fm_claims {
	/* Recent: open addressing with linear probing; key 0 is empty. */
	uint64_t *key;
	uint64_t *where;  /* who claimed each key (see claims.c) */
	size_t recent;
	/* Settled: the low 48 bits of each key, 6 bytes each, sorted by
	 * key; bucket b (the key's top 16 bits) is [dir[b], dir[b + 1]). */
	unsigned char *low;
	size_t low_bytes; /* mapped for low */
	uint32_t *dir;
	size_t settled;
	size_t used;      /* recent + settled */
};

/* Claims path for (source, line). Returns FM_CLAIM_FREE, FM_CLAIM_PATH_TAKEN
 * (*prev then says by whom, where known) or FM_CLAIM_NOMEM. */
enum fm_claim_result fm_claims_take(struct fm_claims *c, const char *path,
				    uint32_t source, uint64_t line,
				    struct fm_claim *prev);

/* Claims path like fm_claims_take(), and with part (-c, or no O_TMPFILE:
 * fm_sink_writes_parts()) also the path's NAME.part, which the body is
 * written to: an entry whose path is another's NAME.part, or whose
 * NAME.part is another's path, would overwrite that entry's file. Returns
 * FM_CLAIM_FREE when both were free (both are now taken),
 * FM_CLAIM_PATH_TAKEN or FM_CLAIM_PART_TAKEN (nothing taken;
 * *prev says by whom, where known), or FM_CLAIM_NOMEM. */
enum fm_claim_result fm_claims_take_path(struct fm_claims *c, const char *path,
					 bool part, uint32_t source,
					 uint64_t line, struct fm_claim *prev);

/* The same for a key already made from a path by fm_claims_key(): lets
 * tests place keys where they want. */
enum fm_claim_result fm_claims_take_key(struct fm_claims *c, uint64_t key,
					uint32_t source, uint64_t line,
					struct fm_claim *prev);

/* A path's key: never 0. */
uint64_t fm_claims_key(const char *path);

/* Bytes the set holds. */
size_t fm_claims_bytes(const struct fm_claims *c);

void fm_claims_free(struct fm_claims *c);

#endif
