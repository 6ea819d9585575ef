/* fm_claims.h: which output paths entries have claimed so far.
 *
 * A few bytes per entry, whatever the length of its path: the set keeps a
 * 64-bit hash of each path (FNV-1a) and where it was claimed. Two distinct
 * paths colliding in 64 bits is ~3e-8 likely for a million entries; such a
 * collision would only refuse an entry, never overwrite a file. */
#ifndef FM_CLAIMS_H
#define FM_CLAIMS_H

#include <stddef.h>
#include <stdint.h>

struct fm_claim {
	uint64_t hash;     /* 0: empty slot */
	uint32_t line;     /* line of the claimant, 0 for an argument */
	uint32_t source;   /* index of its source (command-line order) */
};

struct fm_claims {
	struct fm_claim *slot;
	size_t cap, used;
};

/* Claims path for (source, line). Returns 0 when the path was free, 1 when
 * it is taken (*prev then says by whom), -ENOMEM when the set cannot grow. */
int fm_claims_take(struct fm_claims *c, const char *path, uint32_t source,
		   uint32_t line, struct fm_claim *prev);

/* 64-bit FNV-1a of n bytes. */
uint64_t fm_fnv1a64(const void *p, size_t n);

void fm_claims_free(struct fm_claims *c);

#endif
