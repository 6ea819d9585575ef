/* claims.c: an open-addressing set of output-path hashes.
 *
 * Linear probing over a power-of-two table kept at most half full. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fm_claims.h"

uint64_t fm_fnv1a64(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static struct fm_claim *find(struct fm_claim *slot, size_t cap, uint64_t h)
{
	size_t i = (size_t)(h ^ (h >> 32)) & (cap - 1);

	while (slot[i].hash && slot[i].hash != h)
		i = (i + 1) & (cap - 1);
	return &slot[i];
}

static int grow(struct fm_claims *c)
{
	size_t cap = c->cap ? c->cap * 2 : 1024;
	struct fm_claim *slot = calloc(cap, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < c->cap; i++)
		if (c->slot[i].hash)
			*find(slot, cap, c->slot[i].hash) = c->slot[i];
	free(c->slot);
	c->slot = slot;
	c->cap = cap;
	return 0;
}

int fm_claims_take(struct fm_claims *c, const char *path, uint32_t source,
		   uint32_t line, struct fm_claim *prev)
{
	uint64_t h = fm_fnv1a64(path, strlen(path));
	struct fm_claim *s;

	if (h == 0)
		h = 1; /* 0 marks an empty slot */
	if ((c->used + 1) * 2 > c->cap && grow(c))
		return -ENOMEM;
	s = find(c->slot, c->cap, h);
	if (s->hash) {
		*prev = *s;
		return 1;
	}
	*s = (struct fm_claim){.hash = h, .line = line, .source = source};
	c->used++;
	return 0;
}

void fm_claims_free(struct fm_claims *c)
{
	free(c->slot);
	*c = (struct fm_claims){0};
}
