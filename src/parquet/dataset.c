/* dataset.c - several Parquet files read as one table: directories, Hive
 * partitions, globs. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include <dirent.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "parquet_internal.h"

/*
 * A dataset is a sorted list of files with one schema. Local directories
 * and glob patterns are expanded here (the io layer has no listing); each
 * file is then opened through the caller's opener, so remote files work
 * the same as local ones. Directory names of the form key=value between
 * the dataset's root and a file are Hive partitions: they become constant
 * string columns of that file's rows.
 */

struct lc__parquet_dataset {
    struct lc_allocator alloc;
    size_t nfiles;
    char **paths;
    struct lc__parquet_file **files;
    size_t nkeys;
    char **keys;
    char **values; /* [nfiles * nkeys] */
};

/* Most files a dataset may list, and how deep directories are walked. */
#define LC_PQ_MAX_FILES 1000000
#define LC_PQ_MAX_DIR_DEPTH 64

/* A growable list of owned strings. */
struct strlist {
    char **v;
    size_t n, cap;
};

static char *dup_str(const struct lc_allocator *a, const char *s, size_t n)
{
    char *d = lc__malloc(a, n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int strlist_add(const struct lc_allocator *a, struct strlist *l,
                       const char *s, struct lc__errbuf *err)
{
    LC_RETURN_IF(l->n >= LC_PQ_MAX_FILES, err, LC_ELIMIT,
                 "parquet dataset: more than %d files", LC_PQ_MAX_FILES);
    if (l->n == l->cap) {
        size_t cap = l->cap == 0 ? 16 : l->cap * 2;
        char **v =
            lc__realloc(a, l->v, l->cap * sizeof(char *), cap * sizeof(char *));
        LC_RETURN_IF(v == NULL, err, LC_ENOMEM, "out of memory");
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n] = dup_str(a, s, strlen(s));
    LC_RETURN_IF(l->v[l->n] == NULL, err, LC_ENOMEM, "out of memory");
    l->n++;
    return LC_OK;
}

static void strlist_free(const struct lc_allocator *a, struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        lc__free(a, l->v[i]);
    lc__free(a, l->v);
    memset(l, 0, sizeof(*l));
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static bool is_parquet_name(const char *name)
{
    return ends_with(name, ".parquet") || ends_with(name, ".geoparquet");
}

/* Lists the Parquet files below dir, recursively. */
static int walk(const struct lc_allocator *a, const char *dir, size_t depth,
                struct strlist *out, struct lc__errbuf *err)
{
    LC_RETURN_IF(depth > LC_PQ_MAX_DIR_DEPTH, err, LC_ELIMIT,
                 "%s: directories nest deeper than %d", dir,
                 LC_PQ_MAX_DIR_DEPTH);
    DIR *d = opendir(dir);
    LC_RETURN_IF(d == NULL, err, LC_EIO, "%s: cannot list the directory", dir);
    int status = LC_OK;
    struct dirent *e;
    while (status == LC_OK && (e = readdir(d)) != NULL) {
        /* Hidden and metadata files (_SUCCESS, _metadata), as Arrow. */
        if (e->d_name[0] == '.' || e->d_name[0] == '_')
            continue;
        size_t n = strlen(dir) + strlen(e->d_name) + 2;
        char *path = lc__malloc(a, n);
        if (path == NULL) {
            status = lc__error(err, LC_ENOMEM, "out of memory");
            break;
        }
        snprintf(path, n, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                status = walk(a, path, depth + 1, out, err);
            else if (S_ISREG(st.st_mode) && is_parquet_name(e->d_name))
                status = strlist_add(a, out, path, err);
        }
        lc__free(a, path);
    }
    closedir(d);
    return status;
}

static bool has_glob(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

static bool is_remote(const char *s)
{
    return strstr(s, "://") != NULL && strncmp(s, "file://", 7) != 0;
}

/* Expands path into files (sorted) and the root their partitions hang
 * from (*root_nbytes_ret: length of the root prefix of every file). */
static int expand(const struct lc_allocator *a, const char *path,
                  struct strlist *files, size_t *root_nbytes_ret,
                  struct lc__errbuf *err)
{
    *root_nbytes_ret = 0;
    if (is_remote(path))
        return strlist_add(a, files, path, err);
    const char *local = strncmp(path, "file://", 7) == 0 ? path + 7 : path;
    if (has_glob(local)) {
        glob_t g;
        memset(&g, 0, sizeof(g));
        int rc = glob(local, 0, NULL, &g);
        LC_RETURN_IF(rc == GLOB_NOMATCH, err, LC_ENOTFOUND,
                     "%s: no file matches", path);
        LC_RETURN_IF(rc != 0, err, LC_EIO, "%s: glob failed", path);
        int status = LC_OK;
        for (size_t i = 0; i < g.gl_pathc && status == LC_OK; i++) {
            struct stat st;
            if (stat(g.gl_pathv[i], &st) == 0 && S_ISREG(st.st_mode))
                status = strlist_add(a, files, g.gl_pathv[i], err);
        }
        globfree(&g);
        LC_FORWARD_IF_ERROR(status);
        /* The key=value directories right above each file are its
         * partitions (see trailing_partitions). */
        *root_nbytes_ret = SIZE_MAX;
    } else {
        struct stat st;
        LC_RETURN_IF(stat(local, &st) != 0, err, LC_ENOTFOUND,
                     "%s: no such file or directory", path);
        if (!S_ISDIR(st.st_mode))
            return strlist_add(a, files, local, err);
        size_t n = strlen(local);
        while (n > 1 && local[n - 1] == '/')
            n--;
        char *dir = dup_str(a, local, n);
        LC_RETURN_IF(dir == NULL, err, LC_ENOMEM, "out of memory");
        int status = walk(a, dir, 0, files, err);
        lc__free(a, dir);
        LC_FORWARD_IF_ERROR(status);
        *root_nbytes_ret = n + 1;
    }
    LC_RETURN_IF(files->n == 0, err, LC_ENOTFOUND, "%s: no Parquet file found",
                 path);
    qsort(files->v, files->n, sizeof(char *), cmp_str);
    return LC_OK;
}

static int hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into a new string (Hive values are URI-encoded
 * by Arrow and Spark). */
static char *uri_decode(const struct lc_allocator *a, const char *s, size_t n)
{
    char *d = lc__malloc(a, n + 1);
    size_t k = 0;
    if (d == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hex(s[i + 1]) >= 0 &&
            hex(s[i + 2]) >= 0) {
            d[k++] = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
            i += 2;
        } else {
            d[k++] = s[i];
        }
    }
    d[k] = '\0';
    return d;
}

/* Where the run of key=value directories just above path's file name
 * starts: the partitions of a file matched by a glob. */
static const char *trailing_partitions(const char *path)
{
    const char *end = strrchr(path, '/');
    if (end == NULL)
        return path + strlen(path);
    const char *start = end + 1;
    for (;;) {
        const char *d = end;
        while (d > path && d[-1] != '/')
            d--;
        const char *eq = memchr(d, '=', (size_t)(end - d));
        if (eq == NULL || eq == d)
            break;
        start = d;
        if (d == path)
            break;
        end = d - 1;
    }
    return start;
}

/* The key=value directories of rel (a path below the root). */
static int partitions(const struct lc_allocator *a, const char *rel,
                      struct strlist *keys, struct strlist *values,
                      struct lc__errbuf *err)
{
    const char *p = rel;
    for (;;) {
        const char *slash = strchr(p, '/');
        if (slash == NULL)
            break; /* the file name itself */
        const char *eq = memchr(p, '=', (size_t)(slash - p));
        if (eq != NULL && eq > p) {
            char *k = dup_str(a, p, (size_t)(eq - p));
            char *v = uri_decode(a, eq + 1, (size_t)(slash - eq - 1));
            int status = LC_OK;
            if (k == NULL || v == NULL)
                status = lc__error(err, LC_ENOMEM, "out of memory");
            if (status == LC_OK)
                status = strlist_add(a, keys, k, err);
            if (status == LC_OK)
                status = strlist_add(a, values, v, err);
            lc__free(a, k);
            lc__free(a, v);
            LC_FORWARD_IF_ERROR(status);
        }
        p = slash + 1;
    }
    return LC_OK;
}

void lc__parquet_dataset_close(struct lc__parquet_dataset *ds)
{
    if (ds == NULL)
        return;
    const struct lc_allocator *a = &ds->alloc;
    for (size_t i = 0; i < ds->nfiles; i++) {
        if (ds->files != NULL)
            lc__parquet_close(ds->files[i]);
        if (ds->paths != NULL)
            lc__free(a, ds->paths[i]);
    }
    for (size_t k = 0; ds->keys != NULL && k < ds->nkeys; k++)
        lc__free(a, ds->keys[k]);
    if (ds->values != NULL) {
        for (size_t i = 0; i < ds->nfiles * ds->nkeys; i++)
            lc__free(a, ds->values[i]);
    }
    lc__free(a, ds->files);
    lc__free(a, ds->paths);
    lc__free(a, ds->keys);
    lc__free(a, ds->values);
    struct lc_allocator alloc = ds->alloc;
    lc__free(&alloc, ds);
}

/* Fails unless file f has the leaf columns of first. */
static int same_schema(const struct lc__parquet_file *first,
                       const struct lc__parquet_file *f, struct lc__errbuf *err)
{
    LC_RETURN_IF(f->ncolumns != first->ncolumns, err, LC_EINVAL,
                 "%s: %zu leaf columns where %s has %zu: the files of a "
                 "dataset must share one schema",
                 f->name, f->ncolumns, first->name, first->ncolumns);
    for (size_t i = 0; i < f->ncolumns; i++) {
        const struct lc__parquet_column *c = &f->columns[i];
        const struct lc__parquet_column *d = &first->columns[i];
        if (strcmp(c->path, d->path) != 0) {
            /* Another order: look it up. */
            d = NULL;
            for (size_t j = 0; j < first->ncolumns; j++) {
                if (strcmp(first->columns[j].path, c->path) == 0) {
                    d = &first->columns[j];
                    break;
                }
            }
        }
        LC_RETURN_IF(d == NULL, err, LC_EINVAL,
                     "%s: column '%s' is not in %s: the files of a dataset "
                     "must share one schema",
                     f->name, c->path, first->name);
        LC_RETURN_IF(c->type != d->type || c->max_def != d->max_def ||
                         c->max_rep != d->max_rep ||
                         c->type_length != d->type_length,
                     err, LC_EINVAL,
                     "%s: column '%s' differs in type or nesting from %s",
                     f->name, c->path, first->name);
    }
    return LC_OK;
}

int lc__parquet_dataset_open(const char *path,
                             const struct lc__parquet_opener *opener,
                             const struct lc_allocator *alloc,
                             const struct lc__parquet_limits *limits,
                             struct lc__parquet_dataset **ds_ret,
                             struct lc__errbuf *err)
{
    struct strlist files = {0}, keys = {0}, values = {0}, k2 = {0};
    size_t root_n = 0;
    int status;

    if (ds_ret != NULL)
        *ds_ret = NULL;
    LC_RETURN_IF(path == NULL || opener == NULL || opener->open == NULL ||
                     ds_ret == NULL,
                 err, LC_EINVAL, "parquet dataset: NULL argument");
    struct lc__parquet_dataset *ds = lc__calloc(alloc, 1, sizeof(*ds));
    LC_RETURN_IF(ds == NULL, err, LC_ENOMEM, "%s: out of memory", path);
    if (alloc != NULL)
        ds->alloc = *alloc;
    const struct lc_allocator *a = &ds->alloc;

    status = expand(a, path, &files, &root_n, err);
    if (status < 0)
        goto fail;
    /* Partition keys of the first file name them for all. */
    for (size_t i = 0; i < files.n && status == LC_OK; i++) {
        struct strlist *kl = i == 0 ? &keys : &k2;
        size_t before = values.n;
        const char *rel = root_n == SIZE_MAX ? trailing_partitions(files.v[i])
                                             : files.v[i] + root_n;
        status = partitions(a, rel, kl, &values, err);
        if (status < 0)
            break;
        bool same = kl->n == keys.n;
        for (size_t k = 0; same && i > 0 && k < keys.n; k++)
            same = strcmp(kl->v[k], keys.v[k]) == 0;
        if (!same || values.n - before != keys.n) {
            status = lc__error(err, LC_EINVAL,
                               "%s: its Hive partition keys differ from "
                               "those of %s",
                               files.v[i], files.v[0]);
            break;
        }
        if (i > 0)
            strlist_free(a, &k2);
    }
    if (status < 0)
        goto fail;

    ds->files = lc__calloc(a, files.n, sizeof(*ds->files));
    if (ds->files == NULL) {
        status = lc__error(err, LC_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    ds->nfiles = files.n;
    ds->paths = files.v;
    ds->nkeys = keys.n;
    ds->keys = keys.v;
    ds->values = values.v;
    memset(&files, 0, sizeof(files));
    memset(&keys, 0, sizeof(keys));
    memset(&values, 0, sizeof(values));
    for (size_t i = 0; i < ds->nfiles; i++) {
        struct lc__parquet_source src;
        memset(&src, 0, sizeof(src));
        status = opener->open(opener->opaque, ds->paths[i], &src, err);
        if (status < 0)
            goto fail;
        status = lc__parquet_open(&src, a, limits, &ds->files[i], err);
        if (status < 0)
            goto fail;
        if (i > 0) {
            status = same_schema(ds->files[0], ds->files[i], err);
            if (status < 0)
                goto fail;
        }
    }
    *ds_ret = ds;
    return LC_OK;
fail:
    strlist_free(a, &files);
    strlist_free(a, &keys);
    strlist_free(a, &values);
    strlist_free(a, &k2);
    lc__parquet_dataset_close(ds);
    return status;
}

size_t lc__parquet_dataset_num_files(const struct lc__parquet_dataset *ds)
{
    return ds->nfiles;
}

struct lc__parquet_file *
lc__parquet_dataset_file(const struct lc__parquet_dataset *ds, size_t i)
{
    return i < ds->nfiles ? ds->files[i] : NULL;
}

const char *lc__parquet_dataset_path(const struct lc__parquet_dataset *ds,
                                     size_t i)
{
    return i < ds->nfiles ? ds->paths[i] : NULL;
}

size_t lc__parquet_dataset_num_keys(const struct lc__parquet_dataset *ds)
{
    return ds->nkeys;
}

const char *lc__parquet_dataset_key(const struct lc__parquet_dataset *ds,
                                    size_t k)
{
    return k < ds->nkeys ? ds->keys[k] : NULL;
}

const char *lc__parquet_dataset_value(const struct lc__parquet_dataset *ds,
                                      size_t i, size_t k)
{
    return i < ds->nfiles && k < ds->nkeys ? ds->values[i * ds->nkeys + k]
                                           : NULL;
}

/* A row group the filter kept, and its rows. */
struct ds_part {
    size_t file, rg;
    const uint8_t *rows;
};

/* A read into a table (visit NULL) or a scan. */
static int dataset_run(struct lc__parquet_dataset *ds, const char *const *paths,
                       size_t npaths,
                       const struct lc__parquet_dataset_read_options *opts,
                       lc__parquet_visit visit, void *visit_opaque,
                       struct lc__parquet_table **table_ret,
                       struct lc__errbuf *err)
{
    static const struct lc__parquet_dataset_read_options defaults = {0};
    LC_RETURN_IF(ds == NULL || (visit == NULL && table_ret == NULL) ||
                     (paths == NULL && npaths > 0),
                 err, LC_EINVAL, "parquet dataset: NULL argument");
    if (opts == NULL)
        opts = &defaults;
    const struct lc_allocator *a = &ds->alloc;
    struct lc__parquet_file *first = ds->files[0];
    size_t cells, nrgs = 0;
    LC_RETURN_IF(!lc__size_mul(ds->nfiles, npaths, &cells), err, LC_ELIMIT,
                 "parquet dataset: too many columns");
    for (size_t i = 0; i < ds->nfiles; i++)
        LC_RETURN_IF(!lc__size_add(nrgs, ds->files[i]->meta.nrow_groups, &nrgs),
                     err, LC_ELIMIT, "parquet dataset: too many row groups");
    size_t *leaves = lc__malloc_array(a, cells + 1, sizeof(size_t));
    const struct lc__parquet_column **cols =
        lc__calloc(a, npaths + 1, sizeof(*cols));
    const char **consts = lc__calloc(a, npaths + 1, sizeof(*consts));
    const char **names = lc__calloc(a, npaths + 1, sizeof(*names));
    struct ds_part *parts = lc__malloc_array(a, nrgs + 1, sizeof(*parts));
    struct lc__pq_reader *r = NULL;
    int status = LC_OK;
    if (leaves == NULL || cols == NULL || consts == NULL || names == NULL ||
        parts == NULL) {
        status = lc__error(err, LC_ENOMEM, "parquet dataset: out of memory");
        goto out;
    }
    for (size_t j = 0; j < npaths; j++) {
        size_t key = SIZE_MAX, leaf;
        for (size_t k = 0; k < ds->nkeys; k++) {
            if (strcmp(ds->keys[k], paths[j]) == 0)
                key = k;
        }
        if (key != SIZE_MAX) {
            names[j] = ds->keys[key];
            for (size_t i = 0; i < ds->nfiles; i++)
                leaves[i * npaths + j] = key;
            continue;
        }
        if (lc__parquet_find_column(first, paths[j], &leaf) != LC_OK) {
            status = lc__error(err, LC_ENOTFOUND, "%s: no column '%s'",
                               first->name, paths[j]);
            goto out;
        }
        cols[j] = &first->columns[leaf];
        for (size_t i = 0; i < ds->nfiles; i++) {
            /* same_schema made sure every file has the column. */
            const struct lc__parquet_file *f = ds->files[i];
            size_t k = leaf;
            if (k >= f->ncolumns ||
                strcmp(f->columns[k].path, cols[j]->path) != 0) {
                for (k = 0; k < f->ncolumns; k++) {
                    if (strcmp(f->columns[k].path, cols[j]->path) == 0)
                        break;
                }
            }
            leaves[i * npaths + j] = k;
        }
    }
    status = lc__pq_reader_new(first, cols, names, npaths, false,
                               opts->nthreads, &r, err);
    if (status < 0)
        goto out;
    if (visit != NULL)
        lc__pq_reader_set_visitor(r, visit, visit_opaque);
    /* Which rows of which row groups, first: the buffers are then sized
     * once for all of them. */
    size_t nparts = 0;
    for (size_t i = 0; i < ds->nfiles; i++) {
        struct lc__parquet_file *f = ds->files[i];
        for (size_t rg = 0; rg < f->meta.nrow_groups; rg++) {
            const uint8_t *rows = NULL;
            if (opts->filter != NULL &&
                !opts->filter(opts->opaque, f, i, rg, &rows))
                continue;
            parts[nparts++] = (struct ds_part){i, rg, rows};
            if (visit == NULL)
                lc__pq_reader_plan(r, f, rg, leaves + i * npaths, rows);
        }
    }
    status = lc__pq_reader_reserve(r, err);
    for (size_t p = 0; p < nparts && status == LC_OK; p++) {
        size_t i = parts[p].file;
        for (size_t j = 0; j < npaths; j++) {
            if (cols[j] == NULL)
                consts[j] = ds->values[i * ds->nkeys + leaves[i * npaths + j]];
        }
        status =
            lc__pq_reader_add(r, ds->files[i], parts[p].rg, leaves + i * npaths,
                              consts, parts[p].rows, i, err);
    }
    if (status == LC_OK && visit != NULL) {
        status = lc__pq_reader_flush(r, err);
    } else if (status == LC_OK) {
        status = lc__pq_reader_finish(r, table_ret, err);
        r = NULL;
    }
out:
    lc__pq_reader_free(r);
    lc__free(a, leaves);
    lc__free(a, (void *)cols);
    lc__free(a, (void *)consts);
    lc__free(a, (void *)names);
    lc__free(a, parts);
    return status;
}

int lc__parquet_dataset_read_ex(
    struct lc__parquet_dataset *ds, const char *const *paths, size_t npaths,
    const struct lc__parquet_dataset_read_options *opts,
    struct lc__parquet_table **table_ret, struct lc__errbuf *err)
{
    if (table_ret != NULL)
        *table_ret = NULL;
    LC_RETURN_IF(table_ret == NULL, err, LC_EINVAL,
                 "parquet dataset: NULL argument");
    return dataset_run(ds, paths, npaths, opts, NULL, NULL, table_ret, err);
}

int lc__parquet_dataset_scan(
    struct lc__parquet_dataset *ds, const char *const *paths, size_t npaths,
    const struct lc__parquet_dataset_read_options *opts,
    lc__parquet_visit visit, void *opaque, struct lc__errbuf *err)
{
    LC_RETURN_IF(visit == NULL, err, LC_EINVAL,
                 "parquet dataset: NULL argument");
    return dataset_run(ds, paths, npaths, opts, visit, opaque, NULL, err);
}

/* Adapts a row-group filter to a row filter. */
struct rg_filter {
    lc__parquet_row_group_filter filter;
    void *opaque;
};

static bool rg_filter_call(void *opaque, const struct lc__parquet_file *f,
                           size_t file_index, size_t rg,
                           const uint8_t **rows_ret)
{
    const struct rg_filter *a = opaque;
    *rows_ret = NULL;
    return a->filter(a->opaque, f, file_index, rg);
}

int lc__parquet_dataset_read(struct lc__parquet_dataset *ds,
                             const char *const *paths, size_t npaths,
                             lc__parquet_row_group_filter filter,
                             void *filter_opaque,
                             struct lc__parquet_table **table_ret,
                             struct lc__errbuf *err)
{
    struct rg_filter adapter = {filter, filter_opaque};
    struct lc__parquet_dataset_read_options opts = {
        .filter = filter != NULL ? rg_filter_call : NULL,
        .opaque = &adapter,
    };
    return lc__parquet_dataset_read_ex(ds, paths, npaths, &opts, table_ret,
                                       err);
}
