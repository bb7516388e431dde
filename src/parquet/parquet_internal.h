/* parquet_internal.h - what the files of src/parquet/ share with each other.
 */
/* SPDX-License-Identifier: MIT */
#ifndef LC_PARQUET_INTERNAL_H
#define LC_PARQUET_INTERNAL_H

#include "../common/common.h"

#include "../codec/codec.h"
#include "../common/alloc.h"
#include "../common/error.h"
#include "parquet.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#error "the Parquet reader assumes a little-endian host"
#endif

/* How a message over a cap of struct lc_limits says to raise it. */
#define LC__PQ_RAISE_HINT(name)                                                \
    "; raise it with limits={'" name "': ...} (docs/limits.md)"

/* Bytes borrowed from a buffer the file (or a page) owns. */
struct lc__pq_span {
    const uint8_t *p;
    size_t n;
};

/* ---- Thrift compact protocol (thrift.c) ----------------------------------
 */

/* Compact protocol wire types. */
enum lc__thrift_type {
    LC_TH_STOP = 0,
    LC_TH_TRUE = 1,
    LC_TH_FALSE = 2,
    LC_TH_I8 = 3,
    LC_TH_I16 = 4,
    LC_TH_I32 = 5,
    LC_TH_I64 = 6,
    LC_TH_DOUBLE = 7,
    LC_TH_BINARY = 8,
    LC_TH_LIST = 9,
    LC_TH_SET = 10,
    LC_TH_MAP = 11,
    LC_TH_STRUCT = 12
};

/*
 * A cursor over Thrift bytes in memory. base is where offsets in messages
 * count from; where says what is being parsed ("footer", "page header")
 * and name which file, both for messages.
 */
struct lc__thrift {
    const uint8_t *p;
    const uint8_t *end;
    const uint8_t *base;
    uint64_t base_offset; /* file offset of base, for messages */
    size_t depth;
    size_t max_depth;
    size_t max_string;
    const char *name;
    const char *where;
    struct lc__errbuf *err;
};

/* A corrupt-Thrift error at the cursor's position (returns LC_ECORRUPT). */
int lc__thrift_corrupt(struct lc__thrift *t, const char *what);

/* ---- footer structures (thrift.c fills them) -----------------------------
 */

struct lc__pq_kv {
    struct lc__pq_span key;
    struct lc__pq_span value;
    bool has_value;
};

struct lc__pq_stats {
    struct lc__pq_span max, min, max_value, min_value;
    bool has_max, has_min, has_max_value, has_min_value;
    bool has_null_count;
    int64_t null_count;
};

/* ColumnChunk with its ColumnMetaData. */
struct lc__pq_chunk {
    int32_t type;
    int32_t codec;
    int64_t num_values;
    int64_t total_uncompressed_size;
    int64_t total_compressed_size;
    int64_t data_page_offset;
    int64_t dictionary_page_offset;
    bool has_dictionary_page_offset;
    bool has_stats;
    bool external; /* file_path set: data in another file */
    bool encrypted;
    struct lc__pq_stats stats;
};

struct lc__pq_row_group {
    struct lc__pq_chunk *columns;
    size_t ncolumns;
    int64_t num_rows;
};

struct lc__pq_schema_elem {
    struct lc__pq_span name;
    int32_t type; /* -1 when absent */
    int32_t type_length;
    int32_t repetition;     /* -1 when absent */
    int32_t num_children;   /* -1 when absent */
    int32_t converted_type; /* -1 when absent */
    int32_t scale;
    int32_t precision;
    int32_t field_id;
    bool has_logical;
    struct lc__parquet_logical_type logical;
};

struct lc__pq_meta {
    int32_t version;
    int64_t num_rows;
    struct lc__pq_schema_elem *schema;
    size_t nschema;
    struct lc__pq_row_group *row_groups;
    size_t nrow_groups;
    struct lc__pq_kv *kv;
    size_t nkv;
    struct lc__pq_span created_by;
    bool encrypted; /* encryption_algorithm set (plaintext footer) */
};

/*
 * Parses FileMetaData from t (the whole footer) into *meta, allocating its
 * arrays with alloc; lc__pq_meta_free releases them, also after a failure.
 * max_row_groups and max_schema cap the lists (LC_ELIMIT).
 */
int lc__pq_parse_meta(struct lc__thrift *t, const struct lc_allocator *alloc,
                      size_t max_row_groups, size_t max_schema,
                      struct lc__pq_meta *meta);
void lc__pq_meta_free(const struct lc_allocator *alloc,
                      struct lc__pq_meta *meta);

/* PageHeader, with the one sub-header its type calls for. */
struct lc__pq_page_header {
    int32_t type; /* 0 data, 1 index, 2 dictionary, 3 data v2 */
    int32_t uncompressed_page_size;
    int32_t compressed_page_size;
    int32_t num_values; /* data, dictionary and v2 headers */
    int32_t encoding;
    int32_t def_encoding; /* v1 */
    int32_t rep_encoding; /* v1 */
    int32_t num_nulls;    /* v2 */
    int32_t num_rows;     /* v2 */
    int32_t def_nbytes;   /* v2 */
    int32_t rep_nbytes;   /* v2 */
    bool is_compressed;   /* v2, default true */
};

/* Parses one PageHeader at t's cursor, leaving t after it. */
int lc__pq_parse_page_header(struct lc__thrift *t,
                             struct lc__pq_page_header *h);

/* ---- encodings (encoding.c): pure functions over bytes in memory ---------
 */

/* Bits needed for values 0..max (0 for max 0). */
unsigned lc__pq_bit_width(uint64_t max);

/*
 * Decodes n values of the RLE/bit-packed hybrid at in[0..nbytes) (no length
 * prefix) with bit width bw (0..32) into out. Fails with LC_ECORRUPT when
 * the data ends before n values. *used_ret (may be NULL) receives the bytes
 * consumed.
 */
int lc__pq_rle_decode(const uint8_t *in, size_t nbytes, unsigned bw,
                      uint32_t *out, size_t n, size_t *used_ret,
                      struct lc__errbuf *err);

/* The deprecated BIT_PACKED encoding (most significant bit first). */
int lc__pq_bitpacked_decode(const uint8_t *in, size_t nbytes, unsigned bw,
                            uint32_t *out, size_t n, size_t *used_ret,
                            struct lc__errbuf *err);

/*
 * DELTA_BINARY_PACKED: decodes the first n values of the stream at
 * in[0..nbytes) into out (two's complement wrap-around; 32-bit columns take
 * the low 32 bits). *used_ret receives the length of the whole stream (all
 * the values its header announces), which DELTA_LENGTH_BYTE_ARRAY needs.
 * max_block caps the block size (LC_ELIMIT).
 */
int lc__pq_delta_decode(const uint8_t *in, size_t nbytes, uint64_t *out,
                        size_t n, size_t *used_ret, struct lc__errbuf *err);

/* The number of values a DELTA_BINARY_PACKED header announces. */
int lc__pq_delta_count(const uint8_t *in, size_t nbytes, uint64_t *count_ret,
                       struct lc__errbuf *err);

/* ---- reading (read.c), shared with dataset.c ------------------------------
 */

/* The file handle. */
struct lc__parquet_file {
    struct lc_allocator alloc;
    struct lc__parquet_limits lim;
    struct lc__parquet_source src;
    char *name;
    uint64_t file_nbytes;
    uint8_t *footer_buf; /* owns the footer bytes the spans point into */
    struct lc__pq_meta meta;
    uint64_t num_rows; /* sum over row groups */
    struct lc__parquet_node *nodes;
    size_t nnodes;
    struct lc__parquet_column *columns;
    size_t ncolumns;
    size_t *index_pool;      /* children arrays */
    size_t *path_pool;       /* path_nodes arrays */
    const char **parts_pool; /* path_parts arrays */
    char *name_pool;         /* node names */
    char *string_pool;       /* full and short paths */
    const char **node_paths; /* [nnodes] full dotted paths */
    const char **node_short; /* [nnodes] paths without list/map wrappers */
    char *created_by;
};

/* Builds nodes and columns from f->meta.schema (schema.c). */
int lc__pq_build_schema(struct lc__parquet_file *f, struct lc__errbuf *err);

/* Frees what lc__pq_build_schema allocated. */
void lc__pq_free_schema(struct lc__parquet_file *f);

/* The default of each zero field of *lim. */
void lc__pq_limits_fill(struct lc__parquet_limits *lim);

/*
 * A read in progress: one builder per output column, scratch buffers and a
 * codec context, all reused from row group to row group and file to file.
 */
struct lc__pq_reader;

/*
 * Starts a read of ncolumns columns shaped like cols[] (borrowed, from f,
 * whose allocator and limits the read uses); a NULL entry is a constant string
 * column (a Hive key) named const_names[i] (copied; const_names may be NULL
 * when there is none). nthreads bounds the threads decoding the column
 * chunks of a row group (0: lc__pq_default_threads()).
 */
int lc__pq_reader_new(const struct lc__parquet_file *f,
                      const struct lc__parquet_column *const *cols,
                      const char *const *const_names, size_t ncolumns,
                      bool keep_levels, unsigned nthreads,
                      struct lc__pq_reader **reader_ret,
                      struct lc__errbuf *err);

/*
 * Appends row group rg of f: leaves[i] is the leaf index in f of output
 * column i (ignored for constant columns, which get constants[i] for every
 * row; the strings must outlive the read, the array need not). rows_kept
 * (NULL: all) is a bitmap of the row group's rows: only the rows whose bit
 * is set are appended. The chunks are read now (one call of the source);
 * they may be decoded later, with those of the next row groups, so an
 * error may show at a later call or at lc__pq_reader_finish (or flush).
 * leaves and rows_kept must stay valid until then. tag is passed to the
 * visitor.
 */
int lc__pq_reader_add(struct lc__pq_reader *r, struct lc__parquet_file *f,
                      size_t rg, const size_t *leaves,
                      const char *const *constants, const uint8_t *rows_kept,
                      size_t tag, struct lc__errbuf *err);

/*
 * Scanning instead of building a table: visit is called for every row
 * group added, in order, with a table of its rows (kept) that is valid
 * only during the call; a negative status from it ends the read.
 * lc__pq_reader_flush decodes (and visits) what is queued.
 */
void lc__pq_reader_set_visitor(struct lc__pq_reader *r, lc__parquet_visit visit,
                               void *opaque);
int lc__pq_reader_flush(struct lc__pq_reader *r, struct lc__errbuf *err);

/*
 * Before a read: tells the reader that row group rg of f (rows_kept as in
 * lc__pq_reader_add) will be appended; then lc__pq_reader_reserve sizes the
 * buffers of flat columns once for all of them.
 */
void lc__pq_reader_plan(struct lc__pq_reader *r,
                        const struct lc__parquet_file *f, size_t rg,
                        const size_t *leaves, const uint8_t *rows_kept);
int lc__pq_reader_reserve(struct lc__pq_reader *r, struct lc__errbuf *err);

/* The default number of decoding threads: the CPUs online, at most 8. */
unsigned lc__pq_default_threads(void);

/* Turns the builders into a table (the reader is freed either way). */
int lc__pq_reader_finish(struct lc__pq_reader *r,
                         struct lc__parquet_table **table_ret,
                         struct lc__errbuf *err);

void lc__pq_reader_free(struct lc__pq_reader *r);

#endif /* LC_PARQUET_INTERNAL_H */
