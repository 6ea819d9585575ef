/* heap.c: the array-backed binary min-heap of fm_heap.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "fm_heap.h"

static void swap(struct fm_heap_node *a, struct fm_heap_node *b)
{
	struct fm_heap_node t = *a;

	*a = *b;
	*b = t;
}

/* a goes before b: an earlier key, or the same key pushed earlier. */
static bool before(const struct fm_heap_node *a, const struct fm_heap_node *b)
{
	return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

int fm_heap_push(struct fm_heap *h, uint64_t key, void *item)
{
	size_t i;

	if (h->len == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct fm_heap_node *v = realloc(h->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	i = h->len++;
	h->v[i] = (struct fm_heap_node){.key = key, .seq = h->pushed++,
					.item = item};
	while (i > 0 && before(&h->v[i], &h->v[(i - 1) / 2])) {
		swap(&h->v[(i - 1) / 2], &h->v[i]);
		i = (i - 1) / 2;
	}
	return 0;
}

const struct fm_heap_node *fm_heap_peek(const struct fm_heap *h)
{
	return h->len ? &h->v[0] : NULL;
}

void *fm_heap_pop(struct fm_heap *h)
{
	void *item;
	size_t i = 0;

	if (!h->len)
		return NULL;
	item = h->v[0].item;
	h->v[0] = h->v[--h->len];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < h->len && before(&h->v[l], &h->v[m]))
			m = l;
		if (r < h->len && before(&h->v[r], &h->v[m]))
			m = r;
		if (m == i)
			break;
		swap(&h->v[i], &h->v[m]);
		i = m;
	}
	return item;
}

void fm_heap_free(struct fm_heap *h)
{
	free(h->v);
	*h = (struct fm_heap){0};
}
