/* arena.c - per-message bump allocator (see arena.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"

#define ALIGN16(n) (((n) + 15) & ~(size_t)15)

void arena_init(arena_t *a)
{
	a->head = NULL;
	a->extra = NULL;
	a->first_used = 0;
}

void arena_reset(arena_t *a)
{
	arena_block_t *b = a->extra, *next;

	while (b) {
		next = b->next;
		free(b);
		b = next;
	}
	a->extra = NULL;
	a->head = NULL;
	a->first_used = 0;
}

void arena_destroy(arena_t *a)
{
	arena_reset(a);
}

void *arena_alloc(arena_t *a, size_t n)
{
	void *p;

	n = ALIGN16(n ? n : 1);
	if (!a->extra) {
		/* first block: embedded; its start is aligned by the struct
		 * layout only to 8, so align offsets from an aligned base */
		uintptr_t base = (uintptr_t)a->first;
		size_t off = ALIGN16(base + a->first_used) - base;

		if (off + n <= sizeof(a->first)) {
			a->first_used = off + n;
			return a->first + off;
		}
	}
	if (!a->head || a->head->used + n > a->head->cap) {
		size_t cap = n > 32768 ? n : 32768;
		arena_block_t *b = malloc(sizeof(*b) + cap);

		if (!b)
			return NULL;
		b->cap = cap;
		b->used = 0;
		b->next = a->extra;
		a->extra = b;
		a->head = b;
	}
	p = a->head->data + a->head->used;
	a->head->used += n;
	return p;
}

void *arena_zalloc(arena_t *a, size_t n)
{
	void *p = arena_alloc(a, n);

	if (p)
		memset(p, 0, n);
	return p;
}

char *arena_strndup(arena_t *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	if (!p)
		return NULL;
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}
