/* arena.h - bump allocation for trees that are built and freed as a whole. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_ARENA_H
#define LC_ARENA_H

#include "common.h"

/*
 * An arena hands out memory from blocks taken from one allocator and frees
 * every block at once. Parsed geometries and CQL2 expression trees live in
 * arenas: a parser that fails half-way needs no unwinding beyond
 * lc__arena_free, and freeing a tree of thousands of nodes is one loop
 * over a few blocks.
 *
 *   arena -> [block: header | used ............ | free]
 *               |next
 *            [block: header | used ...................]
 *
 * Blocks grow from 1 KiB, doubling up to 64 KiB; a request larger than half
 * the next block gets a block of its own. Every pointer returned is aligned
 * for any scalar type (16 bytes). An arena is not safe for concurrent use.
 */
struct lc__arena_block;

struct lc__arena {
    struct lc_allocator alloc; /* a copy; all-NULL means malloc/free */
    struct lc__arena_block *blocks;
    size_t next_block_nbytes;
    size_t total_nbytes; /* bytes taken from the allocator */
};

/* Prepares an empty arena that allocates through alloc (NULL: malloc). */
void lc__arena_init(struct lc__arena *arena, const struct lc_allocator *alloc);

/* Returns nbytes of memory (16-byte aligned, not zeroed), or NULL when the
 * allocator fails or the size overflows. */
void *lc__arena_alloc(struct lc__arena *arena, size_t nbytes);

/* Returns count * size zeroed bytes, or NULL (also on overflow). */
void *lc__arena_calloc(struct lc__arena *arena, size_t count, size_t size);

/* Copies len bytes of s into the arena and adds a NUL; NULL on failure. */
char *lc__arena_strndup(struct lc__arena *arena, const char *s, size_t len);

/* Moves every block of from into arena, which then owns (and frees) what
 * was allocated from either; from is left empty. Both must take their
 * blocks from the same allocator. */
void lc__arena_adopt(struct lc__arena *arena, struct lc__arena *from);

/* Frees every block; the arena is then empty and may be used again. */
void lc__arena_free(struct lc__arena *arena);

#endif /* LC_ARENA_H */
