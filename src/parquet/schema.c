/* schema.c - the Parquet schema: flattened SchemaElements to a tree of nodes,
 * leaf columns with their levels and dotted paths. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include "parquet_internal.h"

/*
 * FileMetaData.schema lists the schema tree depth-first: the root (the
 * message), then each child followed by its own subtree. A group says how
 * many children it has; a primitive has a physical type and none. From
 * that list we build:
 *
 *   nodes    one per element, with parent, children, repetition, logical
 *            type, the definition and repetition levels reached at the
 *            node, and how it reads (PRIMITIVE, STRUCT, LIST, MAP);
 *   columns  one per primitive, in schema order (= the order of column
 *            chunks in every row group), with the path of nodes from the
 *            top-level field down to it and its max levels.
 *
 * The list is untrusted: children counts must add up to exactly the
 * elements given, nesting is capped (so levels fit in 16 bits and paths
 * stay short), and every index is checked before use.
 */

/* Maps a legacy ConvertedType to a logical type. */
static void from_converted(const struct lc__pq_schema_elem *e,
                           struct lc__parquet_logical_type *lt)
{
    memset(lt, 0, sizeof(*lt));
    switch (e->converted_type) {
    case 0:
        lt->kind = LC_PQ_LOGICAL_STRING;
        break;
    case 1:
    case 2:
        lt->kind = LC_PQ_LOGICAL_MAP;
        break;
    case 3:
        lt->kind = LC_PQ_LOGICAL_LIST;
        break;
    case 4:
        lt->kind = LC_PQ_LOGICAL_ENUM;
        break;
    case 5:
        lt->kind = LC_PQ_LOGICAL_DECIMAL;
        lt->scale = e->scale;
        lt->precision = e->precision;
        break;
    case 6:
        lt->kind = LC_PQ_LOGICAL_DATE;
        break;
    case 7:
    case 8:
        lt->kind = LC_PQ_LOGICAL_TIME;
        lt->unit = e->converted_type == 7 ? LC_PQ_MILLIS : LC_PQ_MICROS;
        lt->utc = true;
        break;
    case 9:
    case 10:
        lt->kind = LC_PQ_LOGICAL_TIMESTAMP;
        lt->unit = e->converted_type == 9 ? LC_PQ_MILLIS : LC_PQ_MICROS;
        lt->utc = true;
        break;
    case 11:
    case 12:
    case 13:
    case 14:
    case 15:
    case 16:
    case 17:
    case 18: {
        static const uint8_t widths[4] = {8, 16, 32, 64};
        int k = e->converted_type - 11;
        lt->kind = LC_PQ_LOGICAL_INTEGER;
        lt->is_signed = k >= 4;
        lt->bit_width = widths[k % 4];
        break;
    }
    case 19:
        lt->kind = LC_PQ_LOGICAL_JSON;
        break;
    case 20:
        lt->kind = LC_PQ_LOGICAL_BSON;
        break;
    case 21:
        lt->kind = LC_PQ_LOGICAL_INTERVAL;
        break;
    default:
        lt->kind =
            e->converted_type < 0 ? LC_PQ_LOGICAL_NONE : LC_PQ_LOGICAL_OTHER;
        break;
    }
}

static bool name_is(const struct lc__parquet_node *n, const char *s)
{
    return strcmp(n->name, s) == 0;
}

/* Whether child is named parent's name + "_tuple" (a legacy list). */
static bool is_tuple_name(const struct lc__parquet_node *parent,
                          const struct lc__parquet_node *child)
{
    size_t pn = strlen(parent->name);
    return strncmp(child->name, parent->name, pn) == 0 &&
           strcmp(child->name + pn, "_tuple") == 0;
}

/* Decides how a group reads (LogicalTypes.md, "Nested Types"). */
static void classify_group(struct lc__parquet_file *f, size_t i)
{
    struct lc__parquet_node *n = &f->nodes[i];
    enum lc__parquet_logical k = n->logical.kind;

    n->kind = LC_PQ_NODE_STRUCT;
    n->element = SIZE_MAX;
    if (n->nchildren != 1)
        return;
    struct lc__parquet_node *r = &f->nodes[n->children[0]];
    if (r->repetition != LC_PQ_REPEATED)
        return;
    if (k == LC_PQ_LOGICAL_LIST) {
        n->kind = LC_PQ_NODE_LIST;
        /* The backward-compatibility rules: a repeated primitive, a group
         * of several fields, or a one-field group named "array" or
         * "<list>_tuple" is itself the element; otherwise its only field
         * is (the standard 3-level list). */
        if (r->kind == LC_PQ_NODE_PRIMITIVE || r->nchildren != 1 ||
            name_is(r, "array") || is_tuple_name(n, r))
            n->element = n->children[0];
        else
            n->element = r->children[0];
    } else if (k == LC_PQ_LOGICAL_MAP && r->kind != LC_PQ_NODE_PRIMITIVE &&
               r->nchildren >= 1 && r->nchildren <= 2) {
        n->kind = LC_PQ_NODE_MAP;
        n->element = n->children[0];
    }
}

/* Whether node i is left out of short paths: the repeated child of a LIST
 * or MAP, and a 3-level list's element. */
static bool elided(const struct lc__parquet_file *f, size_t i)
{
    const struct lc__parquet_node *n = &f->nodes[i];
    if (n->parent == SIZE_MAX)
        return false;
    const struct lc__parquet_node *p = &f->nodes[n->parent];
    if ((p->kind == LC_PQ_NODE_LIST || p->kind == LC_PQ_NODE_MAP) &&
        p->children[0] == i)
        return true;
    if (p->parent != SIZE_MAX) {
        const struct lc__parquet_node *g = &f->nodes[p->parent];
        if (g->kind == LC_PQ_NODE_LIST && g->element == i)
            return true;
    }
    return false;
}

void lc__pq_free_schema(struct lc__parquet_file *f)
{
    const struct lc_allocator *a = &f->alloc;

    lc__free(a, f->nodes);
    lc__free(a, f->columns);
    lc__free(a, f->index_pool);
    lc__free(a, f->path_pool);
    lc__free(a, (void *)f->parts_pool);
    lc__free(a, f->name_pool);
    lc__free(a, f->string_pool);
    lc__free(a, (void *)f->node_paths);
    lc__free(a, (void *)f->node_short);
    f->nodes = NULL;
    f->columns = NULL;
    f->index_pool = NULL;
    f->path_pool = NULL;
    f->parts_pool = NULL;
    f->name_pool = NULL;
    f->string_pool = NULL;
    f->node_paths = NULL;
    f->node_short = NULL;
    f->nnodes = 0;
    f->ncolumns = 0;
}

/* The biggest string pool we build (dotted paths of every node). */
#define LC_PQ_MAX_PATHS_NBYTES ((size_t)256 << 20)

static int nomem(struct lc__parquet_file *f, struct lc__errbuf *err)
{
    return lc__error(err, LC_ENOMEM, "%s: out of memory reading the schema",
                     f->name);
}

/* Fills each node from its element (everything but the links) and copies
 * the names; *nchildren_ret receives the children of all groups. */
static int init_nodes(struct lc__parquet_file *f, size_t *nchildren_ret,
                      struct lc__errbuf *err)
{
    const struct lc__pq_schema_elem *el = f->meta.schema;
    size_t n = f->meta.nschema;
    size_t total = 0, names = 0;

    for (size_t i = 0; i < n; i++)
        names += el[i].name.n + 1; /* names lie in the footer: no overflow */
    f->name_pool = lc__malloc(&f->alloc, names);
    if (f->name_pool == NULL)
        return nomem(f, err);
    char *s = f->name_pool;
    for (size_t i = 0; i < n; i++) {
        const struct lc__pq_schema_elem *e = &el[i];
        struct lc__parquet_node *nd = &f->nodes[i];
        bool group = e->num_children > 0 || i == 0 ||
                     (e->num_children == 0 && e->type < 0);

        memcpy(s, e->name.p, e->name.n);
        s[e->name.n] = '\0';
        nd->name = s;
        s += e->name.n + 1;
        nd->parent = SIZE_MAX;
        nd->leaf = SIZE_MAX;
        nd->element = SIZE_MAX;
        nd->field_id = e->field_id;
        nd->converted_type = e->converted_type;
        if (e->has_logical && e->logical.kind != LC_PQ_LOGICAL_NONE)
            nd->logical = e->logical;
        else
            from_converted(e, &nd->logical);
        if (i == 0 || e->repetition < 0) {
            nd->repetition = LC_PQ_REQUIRED;
        } else if (e->repetition <= 2) {
            nd->repetition = (enum lc__parquet_repetition)e->repetition;
        } else {
            return lc__error(err, LC_EUNSUPPORTED,
                             "%s: schema element %zu ('%s') has repetition "
                             "%d (VECTOR or unknown)",
                             f->name, i, nd->name, (int)e->repetition);
        }
        if (group) {
            LC_RETURN_IF(e->num_children < 0, err, LC_ECORRUPT,
                         "%s: schema root is not a group", f->name);
            nd->kind = LC_PQ_NODE_STRUCT;
            nd->nchildren = (size_t)e->num_children;
            LC_RETURN_IF(nd->nchildren > n - 1 - total, err, LC_ECORRUPT,
                         "%s: schema element %zu ('%s') claims %zu "
                         "children, more than the schema holds",
                         f->name, i, nd->name, nd->nchildren);
            total += nd->nchildren;
            continue;
        }
        LC_RETURN_IF(e->type < 0, err, LC_ECORRUPT,
                     "%s: schema element %zu ('%s') is neither a group nor "
                     "a primitive",
                     f->name, i, nd->name);
        LC_RETURN_IF(e->type > LC_PQ_FIXED_LEN_BYTE_ARRAY, err, LC_EUNSUPPORTED,
                     "%s: schema element %zu ('%s') has physical type %d",
                     f->name, i, nd->name, (int)e->type);
        nd->kind = LC_PQ_NODE_PRIMITIVE;
        nd->type = (enum lc__parquet_type)e->type;
        nd->type_length = e->type_length;
        LC_RETURN_IF(nd->type == LC_PQ_FIXED_LEN_BYTE_ARRAY &&
                         (e->type_length <= 0 || e->type_length > (1 << 24)),
                     err, LC_ECORRUPT,
                     "%s: FIXED_LEN_BYTE_ARRAY column '%s' of length %d",
                     f->name, nd->name, (int)e->type_length);
    }
    *nchildren_ret = total;
    return LC_OK;
}

/*
 * Links parents and children, depth-first as the list is written, and
 * computes levels; *nleaves_ret receives the number of primitives.
 */
static int build_tree(struct lc__parquet_file *f, size_t *nleaves_ret,
                      struct lc__errbuf *err)
{
    size_t n = f->meta.nschema;
    size_t max_depth = f->lim.max_schema_depth;
    /* The open groups, each with the number of children still to come. */
    size_t *stack =
        lc__malloc_array(&f->alloc, max_depth + 1, 2 * sizeof(size_t));
    if (stack == NULL)
        return nomem(f, err);
    size_t sp = 1, pos = 1, cursor = 0, nleaves = 0;
    int status = LC_OK;

    f->nodes[0].children = f->index_pool;
    cursor = f->nodes[0].nchildren;
    stack[0] = 0;
    stack[1] = f->nodes[0].nchildren;
    while (sp > 0) {
        size_t top = stack[2 * (sp - 1)];
        size_t *left = &stack[2 * (sp - 1) + 1];
        if (*left == 0) {
            sp--;
            continue;
        }
        struct lc__parquet_node *parent = &f->nodes[top];
        if (pos >= n) {
            status = lc__error(err, LC_ECORRUPT,
                               "%s: schema ends inside group '%s' (%zu "
                               "elements)",
                               f->name, parent->name, n);
            goto out;
        }
        size_t child = pos++;
        f->index_pool[(size_t)(parent->children - f->index_pool) +
                      parent->nchildren - *left] = child;
        (*left)--;
        struct lc__parquet_node *c = &f->nodes[child];
        c->parent = top;
        c->def_level = parent->def_level;
        c->rep_level = parent->rep_level;
        if (c->repetition != LC_PQ_REQUIRED)
            c->def_level++;
        if (c->repetition == LC_PQ_REPEATED)
            c->rep_level++;
        if (c->kind == LC_PQ_NODE_PRIMITIVE) {
            nleaves++;
            continue;
        }
        if (sp > max_depth) {
            status = lc__error(err, LC_ELIMIT,
                               "%s: schema nests deeper than %zu groups "
                               "(at '%s')",
                               f->name, max_depth, c->name);
            goto out;
        }
        c->children = f->index_pool + cursor;
        cursor += c->nchildren;
        stack[2 * sp] = child;
        stack[2 * sp + 1] = c->nchildren;
        sp++;
    }
    if (pos != n) {
        status = lc__error(err, LC_ECORRUPT,
                           "%s: schema tree holds %zu of its %zu elements",
                           f->name, pos, n);
        goto out;
    }
    *nleaves_ret = nleaves;
out:
    lc__free(&f->alloc, stack);
    return status;
}

/* Full and short dotted paths of every node, in one pool. */
static int build_paths(struct lc__parquet_file *f, struct lc__errbuf *err)
{
    size_t n = f->nnodes;
    size_t *lens = lc__calloc(&f->alloc, n, 2 * sizeof(size_t));
    if (lens == NULL)
        return nomem(f, err);
    size_t *full_len = lens, *short_len = lens + n;
    size_t total = 0;
    int status = LC_OK;

    /* Parents come before their children in the element list. */
    for (size_t i = 1; i < n; i++) {
        const struct lc__parquet_node *nd = &f->nodes[i];
        size_t p = nd->parent, add = strlen(nd->name);
        full_len[i] = p == 0 ? add : full_len[p] + 1 + add;
        if (elided(f, i))
            short_len[i] = short_len[p];
        else
            short_len[i] = short_len[p] + (short_len[p] > 0 ? 1 : 0) + add;
        if (full_len[i] > LC_PQ_MAX_PATHS_NBYTES ||
            short_len[i] > LC_PQ_MAX_PATHS_NBYTES ||
            full_len[i] + short_len[i] + 2 > LC_PQ_MAX_PATHS_NBYTES - total) {
            status = lc__error(err, LC_ELIMIT,
                               "%s: schema paths longer than %zu bytes in all",
                               f->name, LC_PQ_MAX_PATHS_NBYTES);
            goto out;
        }
        total += full_len[i] + short_len[i] + 2;
    }
    total += 2; /* the root's two empty paths */
    f->string_pool = lc__malloc(&f->alloc, total);
    f->node_paths = lc__calloc(&f->alloc, n, sizeof(char *));
    f->node_short = lc__calloc(&f->alloc, n, sizeof(char *));
    if (f->string_pool == NULL || f->node_paths == NULL ||
        f->node_short == NULL) {
        status = nomem(f, err);
        goto out;
    }
    char *s = f->string_pool;
    for (size_t i = 0; i < n; i++) {
        const struct lc__parquet_node *nd = &f->nodes[i];
        size_t p = nd->parent;
        char *full = s;
        if (i == 0) {
            full[0] = '\0';
        } else if (p == 0) {
            memcpy(full, nd->name, full_len[i] + 1);
        } else {
            memcpy(full, f->node_paths[p], full_len[p]);
            full[full_len[p]] = '.';
            memcpy(full + full_len[p] + 1, nd->name, full_len[i] - full_len[p]);
        }
        f->node_paths[i] = full;
        s += full_len[i] + 1;

        char *sh = s;
        if (i == 0 || (p != 0 && elided(f, i))) {
            if (i != 0)
                memcpy(sh, f->node_short[p], short_len[p]);
            sh[short_len[i]] = '\0';
        } else if (short_len[p] == 0) {
            memcpy(sh, nd->name, short_len[i] + 1);
        } else {
            memcpy(sh, f->node_short[p], short_len[p]);
            sh[short_len[p]] = '.';
            memcpy(sh + short_len[p] + 1, nd->name,
                   short_len[i] - short_len[p]);
        }
        f->node_short[i] = sh;
        s += short_len[i] + 1;
    }
out:
    lc__free(&f->alloc, lens);
    return status;
}

/* The leaf columns, with their paths of nodes. */
static int build_columns(struct lc__parquet_file *f, size_t nleaves,
                         struct lc__errbuf *err)
{
    size_t npath = 0;

    for (size_t i = 0; i < f->nnodes; i++) {
        if (f->nodes[i].kind != LC_PQ_NODE_PRIMITIVE)
            continue;
        for (size_t k = i; k != 0; k = f->nodes[k].parent)
            npath++;
    }
    f->columns = lc__calloc(&f->alloc, nleaves, sizeof(*f->columns));
    f->path_pool = lc__malloc_array(&f->alloc, npath + 1, sizeof(size_t));
    f->parts_pool = lc__malloc_array(&f->alloc, npath + 1, sizeof(char *));
    if (f->columns == NULL || f->path_pool == NULL || f->parts_pool == NULL)
        return nomem(f, err);
    f->ncolumns = nleaves;
    size_t leaf = 0, at = 0;
    for (size_t i = 0; i < f->nnodes; i++) {
        struct lc__parquet_node *nd = &f->nodes[i];
        if (nd->kind != LC_PQ_NODE_PRIMITIVE)
            continue;
        struct lc__parquet_column *c = &f->columns[leaf];
        size_t d = 0;
        for (size_t k = i; k != 0; k = f->nodes[k].parent)
            d++;
        size_t k = i;
        for (size_t j = d; j-- > 0; k = f->nodes[k].parent) {
            f->path_pool[at + j] = k;
            f->parts_pool[at + j] = f->nodes[k].name;
        }
        nd->leaf = leaf;
        c->path = f->node_paths[i];
        c->depth = d;
        c->path_nodes = f->path_pool + at;
        c->path_parts = f->parts_pool + at;
        c->node = i;
        c->type = nd->type;
        c->type_length = nd->type_length;
        c->logical = nd->logical;
        c->max_def = nd->def_level;
        c->max_rep = nd->rep_level;
        at += d;
        leaf++;
    }
    return LC_OK;
}

int lc__pq_build_schema(struct lc__parquet_file *f, struct lc__errbuf *err)
{
    size_t n = f->meta.nschema, nchildren = 0, nleaves = 0;

    LC_RETURN_IF(n == 0, err, LC_ECORRUPT, "%s: empty schema", f->name);
    f->nodes = lc__calloc(&f->alloc, n, sizeof(*f->nodes));
    if (f->nodes == NULL)
        return nomem(f, err);
    f->nnodes = n;
    LC_FORWARD_IF_ERROR(init_nodes(f, &nchildren, err));
    f->index_pool = lc__malloc_array(&f->alloc, nchildren + 1, sizeof(size_t));
    if (f->index_pool == NULL)
        return nomem(f, err);
    LC_FORWARD_IF_ERROR(build_tree(f, &nleaves, err));
    /* Children before parents: a group's kind depends on its children's. */
    for (size_t i = n; i-- > 0;) {
        if (f->nodes[i].kind != LC_PQ_NODE_PRIMITIVE)
            classify_group(f, i);
    }
    LC_FORWARD_IF_ERROR(build_paths(f, err));
    return build_columns(f, nleaves, err);
}

int lc__parquet_find_column(const struct lc__parquet_file *f, const char *path,
                            size_t *index_ret)
{
    for (size_t i = 0; i < f->ncolumns; i++) {
        if (strcmp(f->columns[i].path, path) == 0) {
            *index_ret = i;
            return LC_OK;
        }
    }
    for (size_t i = 0; i < f->ncolumns; i++) {
        if (strcmp(f->node_short[f->columns[i].node], path) == 0) {
            *index_ret = i;
            return LC_OK;
        }
    }
    return LC_ENOTFOUND;
}

int lc__parquet_find_node(const struct lc__parquet_file *f, const char *path,
                          size_t *index_ret)
{
    for (size_t i = 0; i < f->nnodes; i++) {
        if (strcmp(f->node_paths[i], path) == 0) {
            *index_ret = i;
            return LC_OK;
        }
    }
    /* The outermost node of a short path: a list "bbox" is the LIST group,
     * not its repeated child or element, which share its short path. */
    for (size_t i = 0; i < f->nnodes; i++) {
        if (strcmp(f->node_short[i], path) == 0) {
            *index_ret = i;
            return LC_OK;
        }
    }
    return LC_ENOTFOUND;
}
