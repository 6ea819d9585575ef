/* fm_heap.h: a binary min-heap of (due time, item) pairs.
 *
 * Entries waiting out a backoff sit here, so thousands of them cost one
 * array and one timer, not a timer each. */
#ifndef FM_HEAP_H
#define FM_HEAP_H

#include <stddef.h>
#include <stdint.h>

struct fm_heap_node {
	uint64_t key;
	uint64_t seq;  /* order of pushing: equal keys pop first in, first out */
	void *item;
};

struct fm_heap {
	struct fm_heap_node *v;
	size_t len, cap;
	uint64_t pushed;
};

/* Adds item with key. Returns 0 or -ENOMEM. */
int fm_heap_push(struct fm_heap *h, uint64_t key, void *item);

/* The smallest key's node, or NULL when empty. */
const struct fm_heap_node *fm_heap_peek(const struct fm_heap *h);

/* Removes and returns the item with the smallest key (NULL when empty);
 * of equal keys, the one pushed first. */
void *fm_heap_pop(struct fm_heap *h);

void fm_heap_free(struct fm_heap *h);

#endif
