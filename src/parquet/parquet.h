/* parquet.h - the Parquet reader: footer, schema, statistics, column reads. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_PARQUET_H
#define LC_PARQUET_H

#include "../common/common.h"

#include "../common/error.h"

/*
 * The Parquet reader turns the columns of a Parquet file that a caller asks
 * for into typed in-memory arrays, reading nothing else. It is the bottom
 * half of the stac-geoparquet loader: the STAC layer asks for a few leaf
 * columns (id, datetime, bbox.xmin, assets.red.href, geometry...) and builds
 * its item table from the arrays.
 *
 *   source (a read vtable) ----> footer: FileMetaData (Thrift compact)
 *        |                          |
 *        |                   schema tree, leaf columns, row groups,
 *        |                   statistics, key-value metadata ("geo")
 *        v                          |
 *   one batched read per row group: the column chunks of the projected
 *   leaves only --> pages (dictionary, v1, v2) --> decompress --> levels
 *   and values --> assembly into arrays (validity bitmaps, list offsets)
 *
 * Everything in a file is untrusted: sizes and counts are checked against
 * the bytes that hold them and against struct lc__parquet_limits, every
 * allocation size is overflow-checked, and a malformed file gives
 * LC_ECORRUPT (or LC_ELIMIT, LC_EUNSUPPORTED) with a message naming the
 * file, and where it matters the row group, column and byte position.
 *
 * Specifications: apache/parquet-format parquet.thrift (the footer and page
 * headers), Encodings.md, Compression.md and LogicalTypes.md (nested types
 * and their backward-compatibility rules).
 *
 * Threads: a file, table or dataset handle is never used by two threads at
 * once; separate handles may be used concurrently. Nothing here keeps
 * global state. A read may decode on threads of its own (nthreads below),
 * which are joined before it returns.
 *
 * Byte order: the reader assumes a little-endian host (it checks this at
 * compile time), as Parquet's PLAIN encoding is little-endian.
 */

/* ---- reading bytes ------------------------------------------------------ */

/*
 * The parquet module may not depend on src/io (DESIGN.md: parsers work on
 * bytes in memory, fetching is io's job behind a vtable), so it reads
 * through this small vtable. Wrapping a struct lc__io takes three lines
 * (tests/c/parquet_glue.h has them, with a dataset opener):
 *
 *     static int io_read(void *o, struct lc_range_request *r, size_t n,
 *                        bool allow_short, struct lc__errbuf *err)
 *     { return lc__io_read(o, r, n, allow_short, err); }
 *     static int io_size(void *o, uint64_t *size, struct lc__errbuf *err)
 *     { return lc__io_size(o, size, err); }
 *     static void io_close(void *o) { lc__io_close(o); }
 *
 * read fills every request (lc__io_read semantics: all requests of one
 * call may run concurrently; a request past the end of the object fails
 * with LC_ECORRUPT unless allow_short). The reader asks for each row
 * group's projected column chunks in one call. size returns the object's
 * size, or LC_EUNSUPPORTED when it is not known yet (a remote object before
 * its first read). close, if not NULL, is called once when the file that
 * owns the source is closed. name is used in messages and is copied.
 */
struct lc__parquet_source {
    void *opaque;
    const char *name;
    int (*read)(void *opaque, struct lc_range_request *requests,
                size_t nrequests, bool allow_short, struct lc__errbuf *err);
    int (*size)(void *opaque, uint64_t *size_ret, struct lc__errbuf *err);
    void (*close)(void *opaque);
};

/*
 * Caps on what a file may ask of the reader. Zero in any field means the
 * default in brackets. Exceeding a cap is LC_ELIMIT.
 */
struct lc__parquet_limits {
    size_t max_footer_nbytes;    /* FileMetaData [128 MiB] */
    size_t max_page_nbytes;      /* one page, compressed or not [256 MiB] */
    size_t max_chunk_nbytes;     /* one column chunk on disk [1 GiB] */
    size_t max_row_groups;       /* row groups in a file [1,000,000] */
    size_t max_schema_elements;  /* schema nodes [100,000] */
    size_t max_schema_depth;     /* nesting of groups [64] */
    size_t max_thrift_depth;     /* nested Thrift structs/lists [32] */
    size_t max_string_nbytes;    /* one Thrift string/binary [64 MiB] */
    uint64_t max_chunk_values;   /* levels in one column chunk [2^28] */
    uint64_t max_decoded_nbytes; /* memory of one lc__parquet_read
                                    result [16 GiB, 2 GiB on 32-bit] */
};

/* ---- types ---------------------------------------------------------------
 */

/* Physical types (parquet.thrift Type; values pinned to the format). */
enum lc__parquet_type {
    LC_PQ_BOOLEAN = 0,
    LC_PQ_INT32 = 1,
    LC_PQ_INT64 = 2,
    LC_PQ_INT96 = 3, /* legacy timestamps: 8 bytes of nanoseconds in the
                        day, then 4 bytes of Julian day, little-endian */
    LC_PQ_FLOAT = 4,
    LC_PQ_DOUBLE = 5,
    LC_PQ_BYTE_ARRAY = 6,
    LC_PQ_FIXED_LEN_BYTE_ARRAY = 7
};

/* Field repetition (parquet.thrift FieldRepetitionType). */
enum lc__parquet_repetition {
    LC_PQ_REQUIRED = 0,
    LC_PQ_OPTIONAL = 1,
    LC_PQ_REPEATED = 2
};

/*
 * Logical type of a node, from its LogicalType annotation or, when absent,
 * its legacy ConvertedType (UTF8 -> STRING, TIMESTAMP_MILLIS -> TIMESTAMP
 * in ms with UTC, INT_8..UINT_64 -> INTEGER...).
 */
enum lc__parquet_logical {
    LC_PQ_LOGICAL_NONE = 0,
    LC_PQ_LOGICAL_STRING = 1,
    LC_PQ_LOGICAL_MAP = 2,
    LC_PQ_LOGICAL_LIST = 3,
    LC_PQ_LOGICAL_ENUM = 4,
    LC_PQ_LOGICAL_DECIMAL = 5,
    LC_PQ_LOGICAL_DATE = 6, /* INT32 days since 1970-01-01 */
    LC_PQ_LOGICAL_TIME = 7,
    LC_PQ_LOGICAL_TIMESTAMP = 8,
    LC_PQ_LOGICAL_INTEGER = 10, /* bit_width, is_signed */
    LC_PQ_LOGICAL_NULL = 11,    /* always null (Arrow's null type) */
    LC_PQ_LOGICAL_JSON = 12,
    LC_PQ_LOGICAL_BSON = 13,
    LC_PQ_LOGICAL_UUID = 14,
    LC_PQ_LOGICAL_FLOAT16 = 15,
    LC_PQ_LOGICAL_VARIANT = 16,
    LC_PQ_LOGICAL_GEOMETRY = 17,
    LC_PQ_LOGICAL_GEOGRAPHY = 18,
    LC_PQ_LOGICAL_INTERVAL = 100, /* ConvertedType INTERVAL only */
    LC_PQ_LOGICAL_OTHER = 101     /* an annotation we do not know */
};

enum lc__parquet_time_unit {
    LC_PQ_MILLIS = 0,
    LC_PQ_MICROS = 1,
    LC_PQ_NANOS = 2
};

/* A logical type with its parameters. */
struct lc__parquet_logical_type {
    enum lc__parquet_logical kind;
    enum lc__parquet_time_unit unit; /* TIME, TIMESTAMP */
    bool utc;                        /* TIME, TIMESTAMP: isAdjustedToUTC */
    uint8_t bit_width;               /* INTEGER: 8, 16, 32 or 64 */
    bool is_signed;                  /* INTEGER */
    int32_t scale;                   /* DECIMAL */
    int32_t precision;               /* DECIMAL */
};

/*
 * How a node is read, following LogicalTypes.md and its backward-
 * compatibility rules (as Arrow reads them):
 *   PRIMITIVE  a leaf value;
 *   STRUCT     a group whose children are fields;
 *   LIST       a LIST-annotated group; element is the node holding the
 *              list's values: the repeated child itself (2-level and legacy
 *              lists) or the repeated child's only child (3-level lists);
 *   MAP        a MAP (or MAP_KEY_VALUE) group; element is the repeated
 *              key_value group, whose children key and value are the
 *              pair.
 * A repeated node that is not the repeated child of a LIST or MAP (an
 * unannotated repeated field) reads as a list of its own values: see
 * lc__parquet_node.repetition.
 */
enum lc__parquet_node_kind {
    LC_PQ_NODE_PRIMITIVE = 0,
    LC_PQ_NODE_STRUCT = 1,
    LC_PQ_NODE_LIST = 2,
    LC_PQ_NODE_MAP = 3
};

/*
 * One node of the schema tree (a SchemaElement). Node 0 is the root (the
 * message); its children are the top-level columns. Borrowed from the file
 * handle.
 */
struct lc__parquet_node {
    const char *name; /* NUL-terminated; may contain dots */
    size_t parent;    /* SIZE_MAX for the root */
    size_t nchildren;
    const size_t *children;                 /* node indices, in schema order */
    enum lc__parquet_repetition repetition; /* REQUIRED for the root */
    enum lc__parquet_node_kind kind;
    size_t element; /* LIST and MAP: see above; SIZE_MAX otherwise */
    size_t leaf;    /* PRIMITIVE: index of the leaf column */
    enum lc__parquet_type type; /* PRIMITIVE only */
    int32_t type_length;        /* FIXED_LEN_BYTE_ARRAY value size */
    int32_t converted_type;     /* ConvertedType, or -1 */
    struct lc__parquet_logical_type logical;
    int32_t field_id;   /* -1 when absent */
    uint16_t def_level; /* definition level reached when this node is
                           present: optional and repeated nodes from the
                           root down to here, this one included */
    uint16_t rep_level; /* repeated nodes from the root to here */
};

/*
 * A leaf (primitive) column: what a caller projects and reads. Leaves are
 * numbered in schema order, which is also the order of column chunks in a
 * row group. Borrowed from the file handle.
 */
struct lc__parquet_column {
    const char *path;         /* the schema names joined by '.', as Parquet
                                 tools print them: "bbox.xmin",
                                 "assets.red.href", "bbox.list.element" */
    size_t depth;             /* nodes from the top-level field to the leaf */
    const size_t *path_nodes; /* [depth] node indices, root excluded */
    const char *const *path_parts; /* [depth] names (unambiguous even when
                                      a name contains '.') */
    size_t node;                   /* == path_nodes[depth - 1] */
    enum lc__parquet_type type;
    int32_t type_length;
    struct lc__parquet_logical_type logical;
    uint16_t max_def;
    uint16_t max_rep;
};

/* ---- files ---------------------------------------------------------------
 */

/* An open Parquet file: its footer parsed, no data read. */
struct lc__parquet_file;

/*
 * Opens the Parquet file behind src: reads its tail (the last 64 KiB in one
 * read, or the whole file when smaller) and, only when the footer is larger,
 * one more read for the rest of it; then parses FileMetaData and builds the
 * schema tree. When the source cannot tell its size before a first read (a
 * remote object), a 4-byte read of the leading magic comes first.
 *
 * The file takes ownership of src (its close is called by
 * lc__parquet_close, or by this call when it fails). alloc may be NULL (the
 * C library); it and limits (NULL: defaults) are copied. Returns LC_OK and
 * the handle in *file_ret, or: LC_ECORRUPT (not Parquet, truncated, corrupt
 * Thrift, inconsistent schema or row groups), LC_EUNSUPPORTED (encrypted
 * footer, column data in another file), LC_ELIMIT, LC_ENOMEM, LC_EINVAL,
 * or a read error of the source; err names the file.
 */
int lc__parquet_open(const struct lc__parquet_source *src,
                     const struct lc_allocator *alloc,
                     const struct lc__parquet_limits *limits,
                     struct lc__parquet_file **file_ret,
                     struct lc__errbuf *err);

/* Closes a file and its source; NULL does nothing. Tables read from it stay
 * valid, except their column pointers (see lc__parquet_array). */
void lc__parquet_close(struct lc__parquet_file *f);

/* The source name given at open (borrowed). */
const char *lc__parquet_name(const struct lc__parquet_file *f);

/* FileMetaData num_rows (also the sum of row-group row counts). */
uint64_t lc__parquet_num_rows(const struct lc__parquet_file *f);

/* FileMetaData created_by, or "" (borrowed). */
const char *lc__parquet_created_by(const struct lc__parquet_file *f);

/* The file's size in bytes. */
uint64_t lc__parquet_file_nbytes(const struct lc__parquet_file *f);

/* Schema nodes (node 0 is the root) and leaf columns. */
size_t lc__parquet_num_nodes(const struct lc__parquet_file *f);
const struct lc__parquet_node *
lc__parquet_node(const struct lc__parquet_file *f, size_t index);
size_t lc__parquet_num_columns(const struct lc__parquet_file *f);
const struct lc__parquet_column *
lc__parquet_column(const struct lc__parquet_file *f, size_t index);

/*
 * Finds a leaf column by its dotted path and stores its index in
 * *index_ret. Besides the exact path ("bbox.list.element"), the path
 * without LIST and MAP wrapper names is accepted: "bbox" for a list of
 * doubles, "raster:bands.nodata" for "raster:bands.list.element.nodata",
 * "m.key" for "m.key_value.key". Returns LC_OK or LC_ENOTFOUND.
 */
int lc__parquet_find_column(const struct lc__parquet_file *f, const char *path,
                            size_t *index_ret);

/*
 * Finds a schema node (group or leaf) by dotted path, with the same
 * shorthands as lc__parquet_find_column; "" is the root. Returns LC_OK or
 * LC_ENOTFOUND.
 */
int lc__parquet_find_node(const struct lc__parquet_file *f, const char *path,
                          size_t *index_ret);

/*
 * The value of footer key-value metadata key (e.g. "geo", "ARROW:schema"),
 * borrowed from the handle, in *value_ret (not NUL-terminated; use
 * *nbytes_ret) . Returns LC_OK, or LC_ENOTFOUND when the key is absent or
 * has no value.
 */
int lc__parquet_metadata(const struct lc__parquet_file *f, const char *key,
                         const uint8_t **value_ret, size_t *nbytes_ret);

/* Number of key-value pairs, and pair i (borrowed; value may be NULL). */
size_t lc__parquet_num_metadata(const struct lc__parquet_file *f);
void lc__parquet_metadata_at(const struct lc__parquet_file *f, size_t i,
                             const uint8_t **key_ret, size_t *key_nbytes_ret,
                             const uint8_t **value_ret,
                             size_t *value_nbytes_ret);

/* ---- row groups and statistics -------------------------------------------
 */

size_t lc__parquet_num_row_groups(const struct lc__parquet_file *f);

/* Rows of a row group (0 when rg is out of range). */
uint64_t lc__parquet_row_group_num_rows(const struct lc__parquet_file *f,
                                        size_t rg);

/*
 * One statistics bound, decoded by the column's physical type: i32 for
 * INT32, i64 for INT64, f32/f64 for FLOAT/DOUBLE, b for BOOLEAN. bytes
 * always holds the raw PLAIN bytes (for BYTE_ARRAY without a length
 * prefix), borrowed from the file handle.
 */
struct lc__parquet_bound {
    union {
        bool b;
        int32_t i32;
        int64_t i64;
        float f32;
        double f64;
    } v;
    const uint8_t *bytes;
    size_t nbytes;
};

/*
 * Statistics of one column chunk. has_min_max is true only when both
 * bounds are present and usable for the column's sort order: the legacy
 * min/max fields are used only for signed numeric types, and a NaN bound
 * is dropped, as parquet.thrift (ColumnOrder) asks of readers.
 */
struct lc__parquet_stats {
    bool has_min_max;
    struct lc__parquet_bound min, max;
    bool has_null_count;
    uint64_t null_count;
    uint64_t num_values; /* ColumnMetaData num_values (levels, nulls
                            included) */
};

/* Fills *stats_ret for column chunk (rg, column). Returns LC_OK or
 * LC_EINVAL (index out of range). */
int lc__parquet_column_stats(const struct lc__parquet_file *f, size_t rg,
                             size_t column,
                             struct lc__parquet_stats *stats_ret);

/* Where a column chunk lies and how it is stored. */
struct lc__parquet_chunk_info {
    int32_t codec;   /* parquet.thrift CompressionCodec: 0 none, 1 snappy,
                        2 gzip, 3 LZO, 4 brotli, 5 LZ4 (Hadoop), 6 zstd,
                        7 LZ4_RAW */
    uint64_t offset; /* the byte range a read fetches: from the dictionary
                        page (if any) over all pages */
    uint64_t nbytes;
    uint64_t uncompressed_nbytes;
    uint64_t num_values;
};

/* Fills *info_ret for column chunk (rg, column); LC_OK or LC_EINVAL. */
int lc__parquet_chunk_info(const struct lc__parquet_file *f, size_t rg,
                           size_t column,
                           struct lc__parquet_chunk_info *info_ret);

/* ---- reading columns -----------------------------------------------------
 */

/*
 * Reads produce, per projected leaf, a struct lc__parquet_array: the leaf's
 * values and the structure of every node on its path, in the layout Arrow
 * uses, so a caller needs no knowledge of definition and repetition levels.
 *
 * Slots. Each repeated node on the path starts a new "slot space" (its
 * elements); every other node lives in the slot space of the nearest
 * repeated ancestor, or in the rows. levels[i] describes path node i:
 *
 *   length     slots in node i's space;
 *   validity   for an OPTIONAL node, a bitmap (bit k = slot k is present,
 *              least significant bit first, as Arrow) or NULL when every
 *              slot is present; NULL for REQUIRED and REPEATED nodes.
 *              A node is absent in a slot whenever an ancestor in the
 *              same space is absent, so a node's own bit says all;
 *   offsets    for a REPEATED node: length(parent space) + 1 entries, the
 *              elements of parent slot k being offsets[k]..offsets[k+1]-1
 *              of this node's space. A null or empty list has none.
 *
 * Values are spaced: one per slot of the leaf's space, whether null or
 * not (nulls read as zero bytes / empty strings):
 *   BOOLEAN                 values: uint8_t 0 or 1
 *   INT32, FLOAT            values: int32_t, float
 *   INT64, DOUBLE           values: int64_t, double
 *   INT96                   values: 12 raw bytes each (lc__parquet_int96_ns)
 *   FIXED_LEN_BYTE_ARRAY    values: type_length bytes each
 *   BYTE_ARRAY              offsets[nvalues + 1] into data
 *
 * Example: the leaf "bbox.list.element" of an optional list<double>
 * (optional group bbox (LIST) { repeated group list { optional double
 * element } }) has levels[0] (bbox: a validity bitmap over rows),
 * levels[1] (list: offsets per row, length = number of elements),
 * levels[2] (element: validity over elements); values hold one double per
 * element. A struct field "bbox.xmin" has levels[0] and levels[1], both
 * over rows.
 */
struct lc__parquet_level {
    size_t length;
    const uint8_t *validity;
    size_t null_count;
    const size_t *offsets;
};

struct lc__parquet_array {
    const struct lc__parquet_column *column; /* borrowed from the file (or
                                                dataset): valid while it is
                                                open */
    size_t depth;                            /* == column->depth */
    const struct lc__parquet_level *levels;  /* [depth] */
    size_t nrows;                            /* rows of the table */
    size_t nvalues;                          /* == levels[depth - 1].length */
    const void *values;                      /* fixed-width types */
    size_t value_nbytes;   /* bytes per value (0 for BYTE_ARRAY) */
    const size_t *offsets; /* BYTE_ARRAY */
    const uint8_t *data;   /* BYTE_ARRAY bytes */
    size_t data_nbytes;
    /* With keep_levels: the raw levels, one per entry (NULL when the
     * column's max level is 0). */
    size_t nlevels;
    const uint16_t *def_levels;
    const uint16_t *rep_levels;
};

/* The result of a read: nrows rows of ncolumns projected leaves, in the
 * order asked for. Owns all of its memory. */
struct lc__parquet_table {
    size_t nrows;
    size_t ncolumns;
    const struct lc__parquet_array *columns;
};

/*
 * Which row groups to read and what to keep. All-zero means every row
 * group, every row, no raw levels, the default number of threads.
 * row_groups lists row-group indices in the order they are read (NULL:
 * all, in file order). rows (NULL: every row) has one entry per row group
 * read, in that order: NULL for all of its rows, or a bitmap over them
 * (bit k, least significant first, set when row k is kept); only the rows
 * kept are in the table, the others are decoded no further than needed to
 * skip them (a page of a flat column with none of them is not even
 * decompressed). A selection cannot keep levels (LC_EINVAL).
 *
 * nthreads bounds the threads that decode column chunks: 0 for the number
 * of CPUs (at most 8), 1 for the calling thread only. With more than one,
 * the chunks of a batch of nthreads row groups decode on that many threads
 * of the read's own (each chunk on one of them) while the calling thread
 * reads the next batch - each row group's chunks still with one call of
 * the source, always from the calling thread - and appends the rows
 * decoded, in order. Batches of less than 256 KiB are decoded on the
 * calling thread. The result, and the error when the read fails (that of
 * the first failing row group and column, in order), do not depend on
 * nthreads. A caller's allocator is then called from several threads
 * (struct lc_allocator requires it to allow that).
 */
struct lc__parquet_read_options {
    const size_t *row_groups;
    size_t nrow_groups;
    bool keep_levels;
    const uint8_t *const *rows;
    unsigned nthreads;
};

/*
 * Reads leaf columns columns[0..ncolumns) (indices as lc__parquet_column)
 * over the selected row groups into a new table in *table_ret. Per row
 * group, the chunks of the projected leaves, and only those, are read with
 * one call of the source's read; chunks of other columns are never
 * fetched. opts may be NULL. A column may be listed twice. Returns LC_OK,
 * or LC_EINVAL (bad index), LC_ECORRUPT, LC_EUNSUPPORTED (an encoding or
 * codec we do not decode), LC_ELIMIT, LC_ENOMEM, or a read error; err names
 * the file, row group, column and, where known, the byte offset.
 */
int lc__parquet_read(struct lc__parquet_file *f, const size_t *columns,
                     size_t ncolumns,
                     const struct lc__parquet_read_options *opts,
                     struct lc__parquet_table **table_ret,
                     struct lc__errbuf *err);

/* Frees a table; NULL does nothing. */
void lc__parquet_table_free(struct lc__parquet_table *t);

/* Bit k of a validity bitmap; a NULL bitmap means all present. */
static inline bool lc__parquet_bit(const uint8_t *bitmap, size_t k)
{
    return bitmap == NULL || ((bitmap[k >> 3] >> (k & 7)) & 1) != 0;
}

/* Whether path node `level` of array a is present in slot k. */
static inline bool lc__parquet_valid(const struct lc__parquet_array *a,
                                     size_t level, size_t k)
{
    return lc__parquet_bit(a->levels[level].validity, k);
}

/*
 * The list offsets of the r-th repeated node on a's path (r = 1 is the
 * outermost list) in *offsets_ret, with the number of parent slots in
 * *nparents_ret (offsets has nparents + 1 entries), and in *level_ret the
 * path index of that repeated node. For a leaf with max_rep == 1 under
 * top-level lists only, the parents are the rows: the one level of list
 * nesting the STAC layer reads (bbox as a list, proj:transform,
 * raster:bands). Returns LC_OK or LC_EINVAL (r == 0 or r > max_rep).
 */
int lc__parquet_array_list(const struct lc__parquet_array *a, unsigned r,
                           const size_t **offsets_ret, size_t *nparents_ret,
                           size_t *level_ret);

/* Converts an INT96 value (12 bytes) to nanoseconds since the epoch. */
int64_t lc__parquet_int96_ns(const uint8_t *p);

/* ---- datasets: several files ---------------------------------------------
 */

/*
 * How a dataset opens its files: open fills *src_ret for href (a path
 * built from the dataset path). The engine opens them through src/io.
 */
struct lc__parquet_opener {
    void *opaque;
    int (*open)(void *opaque, const char *href,
                struct lc__parquet_source *src_ret, struct lc__errbuf *err);
};

/* A set of Parquet files read as one table. */
struct lc__parquet_dataset;

/*
 * Opens a dataset at path, which is
 *   - one file (local or a URL);
 *   - a local directory: every *.parquet and *.geoparquet file below it,
 *     recursively, sorted by path (names starting with '.' or '_' are
 *     skipped, as Arrow does);
 *   - a directory whose subdirectories are named key=value (Hive
 *     partitioning): the keys become extra string columns, and every file
 *     must have the same keys in the same order;
 *   - a local glob pattern (*, ?, [...]), matches sorted; the key=value
 *     directories right above each matched file are its partitions
 *     (a pattern below data/year=2021/ still gives the key year).
 * Every file's footer is read. All files must have the same leaf columns
 * (by path, with the same physical type and levels), else LC_EINVAL naming
 * the file and column. Returns LC_OK, LC_ENOTFOUND (nothing matched),
 * LC_EINVAL, or any lc__parquet_open error.
 */
int lc__parquet_dataset_open(const char *path,
                             const struct lc__parquet_opener *opener,
                             const struct lc_allocator *alloc,
                             const struct lc__parquet_limits *limits,
                             struct lc__parquet_dataset **ds_ret,
                             struct lc__errbuf *err);

void lc__parquet_dataset_close(struct lc__parquet_dataset *ds);

size_t lc__parquet_dataset_num_files(const struct lc__parquet_dataset *ds);

/* File i (borrowed; valid until the dataset is closed) and its path. */
struct lc__parquet_file *
lc__parquet_dataset_file(const struct lc__parquet_dataset *ds, size_t i);
const char *lc__parquet_dataset_path(const struct lc__parquet_dataset *ds,
                                     size_t i);

/* Hive partition keys, and the value of key k for file i (borrowed). */
size_t lc__parquet_dataset_num_keys(const struct lc__parquet_dataset *ds);
const char *lc__parquet_dataset_key(const struct lc__parquet_dataset *ds,
                                    size_t k);
const char *lc__parquet_dataset_value(const struct lc__parquet_dataset *ds,
                                      size_t i, size_t k);

/*
 * Decides whether row group rg of file i is read (true) or skipped, e.g.
 * from lc__parquet_column_stats. Called once per row group, in order.
 */
typedef bool (*lc__parquet_row_group_filter)(void *opaque,
                                             const struct lc__parquet_file *f,
                                             size_t file_index, size_t rg);

/*
 * Like lc__parquet_row_group_filter, and may keep only some rows of the
 * row group: *rows_ret is NULL (all; the default) or a bitmap over its
 * rows as in lc__parquet_read_options.rows, borrowed until the read
 * returns.
 */
typedef bool (*lc__parquet_row_filter)(void *opaque,
                                       const struct lc__parquet_file *f,
                                       size_t file_index, size_t rg,
                                       const uint8_t **rows_ret);

/* How lc__parquet_dataset_read_ex reads; all-zero reads every row of
 * every row group with the default number of threads. */
struct lc__parquet_dataset_read_options {
    lc__parquet_row_filter filter; /* NULL: every row */
    void *opaque;                  /* filter's */
    unsigned nthreads;             /* as lc__parquet_read_options */
};

/*
 * Reads columns named by paths[0..npaths) (as lc__parquet_find_column, in
 * the first file; a Hive key names its partition column: a required
 * BYTE_ARRAY string) from every file, concatenated in file order, into
 * *table_ret. The filter is called for every row group, in order, before
 * any is read. opts may be NULL. Returns as lc__parquet_read, or
 * LC_ENOTFOUND for an unknown path.
 */
int lc__parquet_dataset_read_ex(
    struct lc__parquet_dataset *ds, const char *const *paths, size_t npaths,
    const struct lc__parquet_dataset_read_options *opts,
    struct lc__parquet_table **table_ret, struct lc__errbuf *err);

/*
 * What lc__parquet_dataset_scan shows of each row group: rows (the rows
 * kept, columns as lc__parquet_dataset_read_ex would give them) is
 * borrowed and valid only during the call. A negative return ends the
 * scan with that status (err says why).
 */
typedef int (*lc__parquet_visit)(void *opaque,
                                 const struct lc__parquet_table *rows,
                                 size_t file_index, size_t rg,
                                 struct lc__errbuf *err);

/*
 * Reads like lc__parquet_dataset_read_ex but, instead of one table, shows
 * each row group read to visit, in order, as it is decoded: memory stays
 * that of a few row groups. Returns LC_OK, a status of visit, or as
 * lc__parquet_dataset_read_ex.
 */
int lc__parquet_dataset_scan(
    struct lc__parquet_dataset *ds, const char *const *paths, size_t npaths,
    const struct lc__parquet_dataset_read_options *opts,
    lc__parquet_visit visit, void *opaque, struct lc__errbuf *err);

/* lc__parquet_dataset_read_ex with a row-group filter (NULL: all). */
int lc__parquet_dataset_read(struct lc__parquet_dataset *ds,
                             const char *const *paths, size_t npaths,
                             lc__parquet_row_group_filter filter,
                             void *filter_opaque,
                             struct lc__parquet_table **table_ret,
                             struct lc__errbuf *err);

#endif /* LC_PARQUET_H */
