/* fm_claims.h: which output paths entries have claimed so far.
 *
 * A few bytes per entry, whatever the length of its path: the set keeps a
 * 64-bit hash of each path (FNV-1a) and where it was claimed, 12 bytes a
 * slot. Two distinct
 * paths colliding in 64 bits is ~3e-8 likely for a million entries; such a
 * collision would only refuse an entry, never overwrite a file. */
#ifndef FM_CLAIMS_H
#define FM_CLAIMS_H

#include <stddef.h>
#include <stdint.h>

/* Who claimed a path: its line (0: an argument, or a line past 2^24) and
 * the index of its source on the command line (255 stands for 255 and
 * beyond). */
struct fm_claim {
	uint64_t hash;
	uint32_t line;
	uint32_t source;
};

#define FM_CLAIM_LINE_BITS 24
#define FM_CLAIM_LINE_MASK ((1u << FM_CLAIM_LINE_BITS) - 1)

#define FM_CLAIM_TABLES 256

struct fm_claim_table {
	uint64_t *hash;   /* 0: empty slot */
	uint32_t *where;  /* source << 24 | line */
	size_t cap, used;
};

struct fm_claims {
	struct fm_claim_table table[FM_CLAIM_TABLES];
	size_t used;
};

/* Claims path for (source, line). Returns 0 when the path was free, 1 when
 * it is taken (*prev then says by whom), -ENOMEM when the set cannot grow. */
int fm_claims_take(struct fm_claims *c, const char *path, uint32_t source,
		   uint32_t line, struct fm_claim *prev);

/* Bytes the set's tables take. */
size_t fm_claims_bytes(const struct fm_claims *c);

/* 64-bit FNV-1a of n bytes. */
uint64_t fm_fnv1a64(const void *p, size_t n);

void fm_claims_free(struct fm_claims *c);

#endif
