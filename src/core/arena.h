/* arena.h - per-message bump allocator.
 *
 * Everything parsed from or built for one SIP message is allocated here and
 * released at once when the message's processing ends (arena_reset). The
 * first block is embedded so a typical message needs no malloc at all. */
#ifndef OSP_ARENA_H
#define OSP_ARENA_H

#include <stddef.h>

#define ARENA_FIRST_BLOCK 16384

typedef struct arena_block {
	struct arena_block *next;
	size_t cap, used;
	_Alignas(16) char data[];
} arena_block_t;

typedef struct arena {
	arena_block_t *head; /* current block */
	arena_block_t *extra; /* malloc'ed blocks, freed on reset */
	size_t first_used;
	_Alignas(16) char first[ARENA_FIRST_BLOCK];
} arena_t;

void arena_init(arena_t *a);
/* Free extra blocks and rewind; memory handed out before is invalid. */
void arena_reset(arena_t *a);
void arena_destroy(arena_t *a);
/* 16-byte aligned; NULL only when malloc fails. */
void *arena_alloc(arena_t *a, size_t n);
void *arena_zalloc(arena_t *a, size_t n);
/* NUL-terminated copy. */
char *arena_strndup(arena_t *a, const char *s, size_t n);

#endif
