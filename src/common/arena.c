/* arena.c - bump allocation for trees that are built and freed as a whole. */
/* SPDX-License-Identifier: MIT */
#include "common.h"

#include "alloc.h"
#include "arena.h"

#define ARENA_ALIGN 16
#define ARENA_FIRST_NBYTES 1024
#define ARENA_MAX_GROWTH_NBYTES 65536

struct lc__arena_block {
    struct lc__arena_block *next;
    size_t used;
    size_t cap;
    /* The header is padded so that data starts aligned. */
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

void lc__arena_init(struct lc__arena *arena, const struct lc_allocator *alloc)
{
    memset(arena, 0, sizeof(*arena));
    if (alloc != NULL)
        arena->alloc = *alloc;
    arena->next_block_nbytes = ARENA_FIRST_NBYTES;
}

static struct lc__arena_block *new_block(struct lc__arena *arena, size_t cap)
{
    size_t nbytes;

    if (!lc__size_add(sizeof(struct lc__arena_block), cap, &nbytes))
        return NULL;
    struct lc__arena_block *b = lc__malloc(&arena->alloc, nbytes);
    if (b == NULL)
        return NULL;
    b->used = 0;
    b->cap = cap;
    arena->total_nbytes += nbytes;
    return b;
}

void *lc__arena_alloc(struct lc__arena *arena, size_t nbytes)
{
    size_t rounded;

    if (!lc__size_add(nbytes, ARENA_ALIGN - 1, &rounded))
        return NULL;
    rounded &= ~(size_t)(ARENA_ALIGN - 1);
    if (rounded == 0)
        rounded = ARENA_ALIGN;

    struct lc__arena_block *b = arena->blocks;
    if (b != NULL && b->cap - b->used >= rounded) {
        void *p = b->data + b->used;
        b->used += rounded;
        return p;
    }
    if (rounded > arena->next_block_nbytes / 2) {
        /* A large request gets a block of its own, linked behind the
         * current one so that the current block keeps serving small
         * requests. */
        struct lc__arena_block *big = new_block(arena, rounded);
        if (big == NULL)
            return NULL;
        big->used = rounded;
        if (b != NULL) {
            big->next = b->next;
            b->next = big;
        } else {
            big->next = NULL;
            arena->blocks = big;
        }
        return big->data;
    }
    struct lc__arena_block *nb = new_block(arena, arena->next_block_nbytes);
    if (nb == NULL)
        return NULL;
    if (arena->next_block_nbytes < ARENA_MAX_GROWTH_NBYTES)
        arena->next_block_nbytes *= 2;
    nb->next = b;
    arena->blocks = nb;
    nb->used = rounded;
    return nb->data;
}

void *lc__arena_calloc(struct lc__arena *arena, size_t count, size_t size)
{
    size_t nbytes;

    if (!lc__size_mul(count, size, &nbytes))
        return NULL;
    void *p = lc__arena_alloc(arena, nbytes);
    if (p != NULL)
        memset(p, 0, nbytes);
    return p;
}

char *lc__arena_strndup(struct lc__arena *arena, const char *s, size_t len)
{
    size_t nbytes;

    if (!lc__size_add(len, 1, &nbytes))
        return NULL;
    char *p = lc__arena_alloc(arena, nbytes);
    if (p == NULL)
        return NULL;
    if (len > 0)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void lc__arena_adopt(struct lc__arena *arena, struct lc__arena *from)
{
    struct lc__arena_block *head = from->blocks;
    if (head == NULL)
        return;
    struct lc__arena_block *last = head;
    while (last->next != NULL)
        last = last->next;
    /* Behind arena's current block, which keeps serving requests. */
    if (arena->blocks == NULL) {
        arena->blocks = head;
    } else {
        last->next = arena->blocks->next;
        arena->blocks->next = head;
    }
    arena->total_nbytes += from->total_nbytes;
    from->blocks = NULL;
    from->total_nbytes = 0;
    from->next_block_nbytes = ARENA_FIRST_NBYTES;
}

void lc__arena_free(struct lc__arena *arena)
{
    struct lc__arena_block *b = arena->blocks;
    while (b != NULL) {
        struct lc__arena_block *next = b->next;
        lc__free(&arena->alloc, b);
        b = next;
    }
    arena->blocks = NULL;
    arena->total_nbytes = 0;
    arena->next_block_nbytes = ARENA_FIRST_NBYTES;
}
