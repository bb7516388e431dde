/* test_stac_json.c - STAC items from JSON: every document kind, every
 * error, allocation failures, CQL2 on JSON-object values, real catalogues.
 */
/* SPDX-License-Identifier: MIT */
#include "../../src/common/common.h"

#include <dirent.h>
#include <math.h>
#include <sys/stat.h>

#include "../../src/stac/items_internal.h"
#include "test_util.h"

/* Expected instants were computed with Python's datetime (see the
 * comments), not with the library's parser. */
#define US_2020_01_02T03_04_05_123456Z INT64_C(1577934245123456)
#define US_2021_06_30T23_59_59P0200 INT64_C(1625090399000000)
#define US_2019_12_31 INT64_C(1577750400000000)

static struct lc__stac_items *load(const char *text, const char *name,
                                   const struct lc__stac_load_options *opts)
{
    struct lc__stac_items *t = NULL;
    struct lc__errbuf err = {0};
    int rc = lc__stac_items_from_json(text, strlen(text), name, opts, &t, &err);
    if (rc != LC_OK)
        LC_CHECK_FAIL_("%s: %s (%s)", name, lc_err_name(rc), err.msg);
    return t;
}

/* Loads text expecting status; the message must hold every needle. */
static void expect_error(const char *text,
                         const struct lc__stac_load_options *opts, int status,
                         const char *needle1, const char *needle2)
{
    struct lc__stac_items *t = NULL;
    struct lc__errbuf err = {0};
    int rc = lc__stac_items_from_json(text, strlen(text), "doc.json", opts, &t,
                                      &err);
    if (rc != status)
        LC_CHECK_FAIL_("%.60s...: %s (%s), expected %s", text, lc_err_name(rc),
                       err.msg, lc_err_name(status));
    if (t != NULL)
        LC_CHECK_FAIL_("a failed load returned a table");
    lc__stac_items_free(t);
    const char *needles[2] = {needle1, needle2};
    for (int i = 0; i < 2; i++)
        if (needles[i] != NULL && strstr(err.msg, needles[i]) == NULL)
            LC_CHECK_FAIL_("message \"%s\" lacks \"%s\"", err.msg, needles[i]);
}

static const struct lc__cql2_value *field(const struct lc__stac_items *t,
                                          size_t i, const char *name)
{
    size_t f = lc__stac_field_index(t, name);
    if (f == SIZE_MAX) {
        LC_CHECK_FAIL_("no field %s", name);
        static const struct lc__cql2_value null_value;
        return &null_value;
    }
    return &t->fields[i * t->nfields + f];
}

/* ---- document kinds ------------------------------------------------------
 */

static const char kItemA[] =
    "{\"type\":\"Feature\",\"id\":\"a\",\"collection\":\"c1\","
    "\"bbox\":[1,2,10,3,4,20],"
    "\"geometry\":{\"type\":\"Point\",\"coordinates\":[0,0]},"
    "\"properties\":{\"datetime\":\"2020-01-02T03:04:05.123456Z\","
    "\"proj:epsg\":32615,\"proj:shape\":[10,20],"
    "\"proj:transform\":[30,0,500000,0,-30,4000000,0,0,1],"
    "\"n\":4611686018427387904,\"r\":0.1,\"b\":true,\"z\":null,"
    "\"s\":\"2020-01-01\",\"list\":[1,\"x\",[2,3],null],"
    "\"obj\":{\"z\":1,\"a\":[1.5,{\"q\":null}],\"s\":\"\\\"\"},"
    "\"mixed\":[1,{\"k\":2}],\"empty\":[]},"
    "\"assets\":{\"B1\":{\"href\":\"s3://b/a1.tif\","
    "\"type\":\"image/tiff\",\"roles\":[\"data\",7,\"x\"],"
    "\"proj:code\":\"EPSG:4326\",\"proj:shape\":[5,6],"
    "\"storage:refs\":[\"r1\"],"
    "\"raster:bands\":[{\"nodata\":\"nan\",\"data_type\":\"uint16\","
    "\"scale\":2.5,\"offset\":-1},{\"nodata\":0},{\"nodata\":\"-inf\","
    "\"data_type\":\"cint16\"},{\"nodata\":\"Inf\"},7]},"
    "\"thumb\":{\"href\":\"t.png\"},"
    "\"nohref\":{\"type\":\"image/tiff\"}}}";

static const char kItemB[] =
    "{\"type\":\"Feature\",\"id\":\"b\","
    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[-5,-6],[7,-6],"
    "[7,8],[-5,-6]]]},"
    "\"properties\":{\"datetime\":null,"
    "\"start_datetime\":\"2021-06-30T23:59:59+02:00\","
    "\"end_datetime\":\"2019-12-31\",\"proj:code\":\"EPSG:3857\","
    "\"proj:epsg\":4326,\"collection\":\"in-props\"},"
    "\"assets\":{\"extra\":{\"href\":\"e.tif\",\"proj:epsg\":null},"
    "\"B1\":{\"href\":\"s3://b/b1.tif\",\"proj:epsg\":2154,"
    "\"proj:transform\":[1,2,3,4,5]}}}";

static const char kItemC[] = "{\"type\":\"Feature\",\"id\":\"c\","
                             "\"geometry\":null,\"properties\":{}}";

static void check_item_a(const struct lc__stac_items *t, size_t i, size_t b1,
                         bool fields)
{
    LC_ASSERT_STR_EQ(t->ids[i], "a");
    LC_ASSERT_EQ(t->datetime[i], US_2020_01_02T03_04_05_123456Z);
    LC_ASSERT_EQ(t->start_datetime[i], LC__STAC_NO_TIME);
    LC_ASSERT_TRUE(t->bbox[i].minx == 1 && t->bbox[i].miny == 2 &&
                   t->bbox[i].maxx == 3 && t->bbox[i].maxy == 4);
    LC_ASSERT_TRUE(t->geometry[i] != NULL &&
                   t->geometry[i]->type == LC__GEOM_POINT);

    const struct lc__stac_asset *a = &t->assets[i * t->nassets + b1];
    LC_ASSERT_STR_EQ(a->href, "s3://b/a1.tif");
    LC_ASSERT_STR_EQ(a->type, "image/tiff");
    LC_ASSERT_EQ(a->nroles, 2); /* the number 7 is skipped */
    if (a->nroles == 2) {
        LC_ASSERT_STR_EQ(a->roles[0], "data");
        LC_ASSERT_STR_EQ(a->roles[1], "x");
    }
    /* The asset's proj:code wins over the item's proj:epsg; shape is the
     * asset's, the transform the item's (first 6 of 9). */
    LC_ASSERT_STR_EQ(a->proj_code, "EPSG:4326");
    LC_ASSERT_EQ(a->epsg, 4326);
    LC_ASSERT_TRUE(a->has_shape && a->shape[0] == 5 && a->shape[1] == 6);
    LC_ASSERT_TRUE(a->has_transform && a->transform[0] == 30 &&
                   a->transform[2] == 500000 && a->transform[4] == -30 &&
                   a->transform[5] == 4000000);
    LC_ASSERT_EQ(a->nbands, 5);
    if (a->nbands == 5) {
        LC_ASSERT_TRUE(a->bands[0].has_nodata && isnan(a->bands[0].nodata));
        LC_ASSERT_EQ(a->bands[0].data_type, LC_DTYPE_UINT16);
        LC_ASSERT_TRUE(a->bands[0].scale == 2.5 && a->bands[0].offset == -1);
        LC_ASSERT_TRUE(a->bands[1].has_nodata && a->bands[1].nodata == 0);
        LC_ASSERT_EQ(a->bands[1].data_type, LC_DTYPE_UNKNOWN);
        LC_ASSERT_TRUE(a->bands[1].scale == 1 && a->bands[1].offset == 0);
        LC_ASSERT_TRUE(a->bands[2].nodata == -INFINITY);
        LC_ASSERT_EQ(a->bands[2].data_type, LC_DTYPE_UNKNOWN);
        LC_ASSERT_TRUE(a->bands[3].nodata == INFINITY);
        LC_ASSERT_TRUE(!a->bands[4].has_nodata && a->bands[4].scale == 1);
    }
    if (t->nasset_fields == 1) {
        const struct lc__cql2_value *refs = &a->fields[0];
        LC_ASSERT_EQ(refs->type, LC__CQL2_TARRAY);
        LC_ASSERT_TRUE(refs->nitems == 1 && refs->items[0].len == 2 &&
                       memcmp(refs->items[0].str, "r1", 2) == 0);
    }
    if (!fields)
        return;

    const struct lc__cql2_value *v = field(t, i, "n");
    LC_ASSERT_TRUE(v->type == LC__CQL2_TNUMBER && v->is_int &&
                   v->i64 == (INT64_C(1) << 62));
    v = field(t, i, "r");
    LC_ASSERT_TRUE(v->type == LC__CQL2_TNUMBER && !v->is_int && v->num == 0.1);
    v = field(t, i, "b");
    LC_ASSERT_TRUE(v->type == LC__CQL2_TBOOL && v->b);
    LC_ASSERT_EQ(field(t, i, "z")->type, LC__CQL2_TNULL);
    LC_ASSERT_EQ(field(t, i, "absent")->type, LC__CQL2_TNULL);
    v = field(t, i, "s"); /* a date string stays a string */
    LC_ASSERT_TRUE(v->type == LC__CQL2_TSTRING && v->len == 10 &&
                   strcmp(v->str, "2020-01-01") == 0);
    v = field(t, i, "collection"); /* a top-level member */
    LC_ASSERT_TRUE(v->type == LC__CQL2_TSTRING && strcmp(v->str, "c1") == 0);
    v = field(t, i, "list");
    LC_ASSERT_TRUE(v->type == LC__CQL2_TARRAY && v->nitems == 4);
    if (v->nitems == 4) {
        LC_ASSERT_TRUE(v->items[0].is_int && v->items[0].i64 == 1);
        LC_ASSERT_TRUE(v->items[1].type == LC__CQL2_TSTRING);
        LC_ASSERT_TRUE(v->items[2].type == LC__CQL2_TARRAY &&
                       v->items[2].nitems == 2 &&
                       v->items[2].items[1].i64 == 3);
        LC_ASSERT_EQ(v->items[3].type, LC__CQL2_TNULL);
    }
    v = field(t, i, "obj"); /* document order, compact */
    LC_ASSERT_EQ(v->type, LC__CQL2_TJSON);
    LC_ASSERT_STR_EQ(v->str,
                     "{\"z\":1,\"a\":[1.5,{\"q\":null}],\"s\":\"\\\"\"}");
    LC_ASSERT_EQ(v->len, strlen(v->str));
    v = field(t, i, "mixed");
    LC_ASSERT_EQ(v->type, LC__CQL2_TJSON);
    LC_ASSERT_STR_EQ(v->str, "[1,{\"k\":2}]");
    v = field(t, i, "empty");
    LC_ASSERT_TRUE(v->type == LC__CQL2_TARRAY && v->nitems == 0);
}

static void check_item_b(const struct lc__stac_items *t, size_t i, size_t b1)
{
    LC_ASSERT_STR_EQ(t->ids[i], "b");
    LC_ASSERT_EQ(t->datetime[i], LC__STAC_NO_TIME);
    LC_ASSERT_EQ(t->start_datetime[i], US_2021_06_30T23_59_59P0200);
    LC_ASSERT_EQ(t->end_datetime[i], US_2019_12_31);
    /* No bbox: the geometry's envelope. */
    LC_ASSERT_TRUE(t->bbox[i].minx == -5 && t->bbox[i].miny == -6 &&
                   t->bbox[i].maxx == 7 && t->bbox[i].maxy == 8);
    const struct lc__stac_asset *a = &t->assets[i * t->nassets + b1];
    LC_ASSERT_STR_EQ(a->href, "s3://b/b1.tif");
    LC_ASSERT_TRUE(a->type == NULL && a->nroles == 0 && a->nbands == 0);
    /* The asset's proj:epsg beats the item's proj:code; a 5-number
     * transform is no transform. */
    LC_ASSERT_STR_EQ(a->proj_code, "EPSG:2154");
    LC_ASSERT_EQ(a->epsg, 2154);
    LC_ASSERT_TRUE(!a->has_transform && !a->has_shape);
}

static size_t key_index(const struct lc__stac_items *t, const char *key)
{
    for (size_t k = 0; k < t->nassets; k++)
        if (strcmp(t->asset_keys[k], key) == 0)
            return k;
    LC_CHECK_FAIL_("no asset key %s", key);
    return 0;
}

static void test_kinds(void)
{
    static const char *const fields[] = {
        "n",    "properties.r", "b",     "z",     "s",      "collection",
        "list", "obj",          "mixed", "empty", "absent", "datetime",
    };
    static const char *const asset_fields[] = {"storage:refs"};
    struct lc__stac_load_options opts = {
        .fields = fields,
        .nfields = sizeof fields / sizeof fields[0],
        .asset_fields = asset_fields,
        .nasset_fields = 1,
    };
    char doc[8192];

    /* A FeatureCollection, every asset: keys in order of first
     * appearance, "nohref" kept as a key with a NULL href. */
    (void)snprintf(doc, sizeof doc,
                   "{\"type\":\"FeatureCollection\",\"features\":[%s,%s,%s],"
                   "\"links\":[]}",
                   kItemA, kItemB, kItemC);
    struct lc__stac_items *t = load(doc, "fc.json", &opts);
    if (t != NULL) {
        LC_ASSERT_EQ(t->count, 3);
        LC_ASSERT_STR_EQ(t->source, "fc.json");
        LC_ASSERT_EQ(t->nfields, 11); /* datetime is a fixed column */
        LC_ASSERT_EQ(t->nassets, 4);
        if (t->nassets == 4) {
            LC_ASSERT_STR_EQ(t->asset_keys[0], "B1");
            LC_ASSERT_STR_EQ(t->asset_keys[1], "thumb");
            LC_ASSERT_STR_EQ(t->asset_keys[2], "nohref");
            LC_ASSERT_STR_EQ(t->asset_keys[3], "extra");
            LC_ASSERT_TRUE(t->assets[2].href == NULL &&
                           t->assets[2].type == NULL);
            LC_ASSERT_TRUE(t->assets[1 * 4 + 1].href == NULL);
            /* "extra" has proj:epsg null: the item's proj:code. */
            LC_ASSERT_STR_EQ(t->assets[1 * 4 + 3].proj_code, "EPSG:3857");
            LC_ASSERT_EQ(t->assets[1 * 4 + 3].epsg, 3857);
            /* "thumb" has no projection of its own: the item's. */
            LC_ASSERT_STR_EQ(t->assets[1].proj_code, "EPSG:32615");
            LC_ASSERT_TRUE(t->assets[1].has_shape &&
                           t->assets[1].shape[0] == 10 &&
                           t->assets[1].shape[1] == 20);
        }
        check_item_a(t, 0, 0, true);
        check_item_b(t, 1, 0);
        LC_ASSERT_STR_EQ(field(t, 1, "collection")->str, "in-props");
        LC_ASSERT_STR_EQ(t->ids[2], "c");
        LC_ASSERT_TRUE(t->geometry[2] == NULL &&
                       t->bbox[2].minx > t->bbox[2].maxx);
        LC_ASSERT_EQ(t->datetime[2], LC__STAC_NO_TIME);
        LC_ASSERT_EQ(field(t, 2, "list")->type, LC__CQL2_TNULL);
        lc__stac_items_free(t);
    }

    /* An array, requested assets (one no item has). */
    static const char *const keys[] = {"missing", "B1"};
    struct lc__stac_load_options opts2 = opts;
    opts2.assets = keys;
    opts2.nassets = 2;
    (void)snprintf(doc, sizeof doc, " [%s,\n%s] ", kItemB, kItemA);
    t = load(doc, "array.json", &opts2);
    if (t != NULL) {
        LC_ASSERT_EQ(t->count, 2);
        LC_ASSERT_EQ(t->nassets, 2);
        LC_ASSERT_TRUE(t->assets[0].href == NULL && t->assets[2].href == NULL);
        check_item_b(t, 0, 1);
        check_item_a(t, 1, 1, true);
        lc__stac_items_free(t);
    }

    /* A single item; "type" may be left out, as on NDJSON lines. */
    t = load("{\"id\":\"untyped\"}", "untyped.json", NULL);
    if (t != NULL) {
        LC_ASSERT_TRUE(t->count == 1 && strcmp(t->ids[0], "untyped") == 0);
        lc__stac_items_free(t);
    }
    /* A single item. */
    t = load(kItemA, "item.json", &opts);
    if (t != NULL) {
        LC_ASSERT_EQ(t->count, 1);
        check_item_a(t, 0, key_index(t, "B1"), true);
        lc__stac_items_free(t);
    }

    /* NDJSON: blank lines, CRLF, white space around values. */
    (void)snprintf(doc, sizeof doc, "\n%s\r\n  \n\t%s \n%s", kItemA, kItemB,
                   kItemC);
    t = load(doc, "items.ndjson", &opts);
    if (t != NULL) {
        LC_ASSERT_EQ(t->count, 3);
        check_item_a(t, 0, key_index(t, "B1"), true);
        check_item_b(t, 1, key_index(t, "B1"));
        LC_ASSERT_STR_EQ(t->ids[2], "c");
        lc__stac_items_free(t);
    }

    /* max_items: a FeatureCollection is cut; NDJSON lines after the
     * limit are not even read. */
    struct lc__stac_load_options one = {.max_items = 1};
    (void)snprintf(doc, sizeof doc, "{\"features\":[%s,%s]}", kItemC, kItemA);
    t = load(doc, "fc.json", &one);
    if (t != NULL) {
        LC_ASSERT_EQ(t->count, 1);
        LC_ASSERT_STR_EQ(t->ids[0], "c");
        lc__stac_items_free(t);
    }
    (void)snprintf(doc, sizeof doc, "%s\n%s\n{broken\n", kItemC, kItemA);
    one.max_items = 2;
    t = load(doc, "items.ndjson", &one);
    if (t != NULL) {
        LC_ASSERT_EQ(t->count, 2);
        LC_ASSERT_STR_EQ(t->ids[1], "a");
        lc__stac_items_free(t);
    }

    /* Nothing at all: no items. An empty FeatureCollection: none. */
    t = load(" \n\n", "empty.ndjson", NULL);
    if (t != NULL) {
        LC_ASSERT_EQ(t->count, 0);
        lc__stac_items_free(t);
    }
    t = load("{\"type\":\"FeatureCollection\",\"features\":[]}", "fc", NULL);
    if (t != NULL) {
        LC_ASSERT_TRUE(t->count == 0 && t->nassets == 0);
        lc__stac_items_free(t);
    }

    /* An integer beyond int64 (legal JSON): the document is read with
     * every number as a double. */
    static const char *const big_fields[] = {"big", "small"};
    struct lc__stac_load_options big = {.fields = big_fields, .nfields = 2};
    t = load("{\"type\":\"Feature\",\"id\":\"x\",\"properties\":{"
             "\"big\":123456789012345678901234,\"small\":3,"
             "\"proj:epsg\":4326},\"assets\":{\"a\":{\"href\":\"h\","
             "\"proj:shape\":[2,3]}}}",
             "big.json", &big);
    if (t != NULL) {
        const struct lc__cql2_value *v = field(t, 0, "big");
        LC_ASSERT_TRUE(v->type == LC__CQL2_TNUMBER && !v->is_int &&
                       v->num == 123456789012345678901234.0);
        LC_ASSERT_EQ(field(t, 0, "small")->num, 3);
        LC_ASSERT_STR_EQ(t->assets[0].proj_code, "EPSG:4326");
        LC_ASSERT_TRUE(t->assets[0].has_shape && t->assets[0].shape[1] == 3);
        lc__stac_items_free(t);
    }

    /* An antimeridian bbox stays as written. */
    t = load("{\"type\":\"Feature\",\"id\":\"x\",\"bbox\":[170,-1,-170,1],"
             "\"properties\":{}}",
             "am.json", NULL);
    if (t != NULL) {
        LC_ASSERT_TRUE(t->bbox[0].minx == 170 && t->bbox[0].maxx == -170);
        lc__stac_items_free(t);
    }
}

/* ---- errors --------------------------------------------------------------
 */

static void test_errors(void)
{
    char doc[4096];
    const char *item_ok =
        "{\"type\":\"Feature\",\"id\":\"ok\",\"properties\":{}}";

    (void)snprintf(doc, sizeof doc, "[%s,%s,%s,{\"type\":\"Feature\"}]",
                   item_ok, item_ok, item_ok);
    expect_error(doc, NULL, LC_ECORRUPT, "doc.json: item 4 has no id", NULL);
    expect_error("{\"type\":\"Feature\",\"id\":12}", NULL, LC_ECORRUPT,
                 "item 1: id is a number", NULL);
    expect_error("[1]", NULL, LC_ECORRUPT, "item 1 is a number", NULL);
    expect_error("{\"properties\":{}}", NULL, LC_ECORRUPT,
                 "doc.json: item 1 has no id", NULL);
    expect_error("{\"type\":\"Catalog\",\"id\":\"c\"}", NULL, LC_ECORRUPT,
                 "type \"Catalog\", not an item", NULL);

    expect_error("{\"type\":\"Feature\",\"id\":\"S2\",\"properties\":{"
                 "\"datetime\":\"2020-13-01T00:00:00Z\"}}",
                 NULL, LC_ECORRUPT, "item 1 \"S2\": properties.datetime",
                 "2020-13-01T00:00:00Z");
    expect_error("{\"type\":\"Feature\",\"id\":\"S2\",\"properties\":{"
                 "\"end_datetime\":20200101}}",
                 NULL, LC_ECORRUPT, "properties.end_datetime is a number",
                 NULL);
    expect_error("{\"type\":\"Feature\",\"id\":\"bb\",\"bbox\":[1,2,3,4,5],"
                 "\"properties\":{}}",
                 NULL, LC_ECORRUPT, "\"bb\": bbox is not an array of 4 or 6",
                 NULL);
    expect_error("{\"type\":\"Feature\",\"id\":\"bb\",\"bbox\":[1,2,\"3\",4],"
                 "\"properties\":{}}",
                 NULL, LC_ECORRUPT, "bbox", NULL);
    expect_error("{\"type\":\"Feature\",\"id\":\"g\",\"geometry\":{\"type\":"
                 "\"Polygon\",\"coordinates\":[[[0,0],[1]]]},"
                 "\"properties\":{}}",
                 NULL, LC_ECORRUPT, "item 1 \"g\": geometry: GeoJSON",
                 "coordinates[0][1]");
    expect_error("{\"type\":\"Feature\",\"id\":\"g\",\"geometry\":[0,0],"
                 "\"properties\":{}}",
                 NULL, LC_ECORRUPT, "geometry is an array", NULL);
    struct lc__geom_limits few = {.max_points = 3};
    struct lc__stac_load_options capped = {.geom_limits = &few};
    expect_error("{\"type\":\"Feature\",\"id\":\"g\",\"geometry\":{\"type\":"
                 "\"LineString\",\"coordinates\":[[0,0],[1,1],[2,2],[3,3]]},"
                 "\"properties\":{}}",
                 &capped, LC_ELIMIT, "\"g\": geometry", NULL);

    /* Malformed JSON: jansson's line and column. */
    expect_error("{\"features\": [\n  {\"id\": \"a\",\n   \"x\": tru }\n]}",
                 NULL, LC_ECORRUPT, "doc.json: invalid token near 'tru'",
                 "at line 3, column ");
    expect_error("{\"features\": [", NULL, LC_ECORRUPT, "line 1", NULL);
    /* A pretty-printed value followed by another: not NDJSON. */
    expect_error("{\n\"id\": \"a\"\n}\n{\"id\": \"b\"}\n", NULL, LC_ECORRUPT,
                 "end of file expected", "line 4, column");

    /* NDJSON: the line of the bad item. */
    (void)snprintf(doc, sizeof doc, "%s\n\n{\"id\": }\n%s\n", item_ok, item_ok);
    expect_error(doc, NULL, LC_ECORRUPT, "doc.json line 3: ", "column 8");
    (void)snprintf(doc, sizeof doc, "%s\n%s\n\n{\"type\":\"Feature\"}\n",
                   item_ok, item_ok);
    expect_error(doc, NULL, LC_ECORRUPT, "doc.json line 4: item has no id",
                 NULL);
    (void)snprintf(doc, sizeof doc,
                   "%s\n{\"type\":\"Feature\",\"id\":\"d\",\"properties\":{"
                   "\"datetime\":\"yesterday\"}}\n",
                   item_ok);
    expect_error(doc, NULL, LC_ECORRUPT,
                 "doc.json line 2: item \"d\": properties.datetime",
                 "yesterday");
    (void)snprintf(doc, sizeof doc, "%s\n[1]\n", item_ok);
    expect_error(doc, NULL, LC_ECORRUPT, "line 2: expected an item",
                 "found an array");

    /* Documents that are not items. */
    expect_error("{\"type\":\"Collection\",\"id\":\"c\"}", NULL, LC_ECORRUPT,
                 "type \"Collection\"", NULL);
    expect_error("{\"features\":{}}", NULL, LC_ECORRUPT,
                 "\"features\" is an object", NULL);
    expect_error("\"text\"", NULL, LC_ECORRUPT, "a string, not an item", NULL);

    /* Nesting: 64 containers pass, 65 do not (item, properties, 62
     * arrays = 64). */
    for (int extra = 0; extra < 2; extra++) {
        int arrays = 62 + extra;
        int n = snprintf(doc, sizeof doc,
                         "{\"type\":\"Feature\",\"id\":\"d\",\"properties\":{"
                         "\"deep\":");
        for (int i = 0; i < arrays; i++)
            doc[n++] = '[';
        for (int i = 0; i < arrays; i++)
            doc[n++] = ']';
        (void)snprintf(doc + n, sizeof doc - (size_t)n, "}}");
        if (extra == 0) {
            struct lc__stac_items *t = load(doc, "deep.json", NULL);
            lc__stac_items_free(t);
        } else {
            expect_error(doc, NULL, LC_ELIMIT, "nested deeper than 64", NULL);
            char nd[sizeof doc + 64];
            (void)snprintf(nd, sizeof nd, "%s\n%s\n", item_ok, doc);
            expect_error(nd, NULL, LC_ELIMIT, "doc.json line 2: JSON nested",
                         NULL);
        }
    }
    /* Deeper than jansson's own cap: its error, no crash. */
    {
        static char deep[6001];
        memset(deep, '[', 3000);
        memset(deep + 3000, ']', 3000);
        expect_error(deep, NULL, LC_ECORRUPT, "doc.json: ", NULL);
    }

    /* Too many distinct asset keys, and a mostly empty table. */
    {
        static char many[200000];
        int n = snprintf(many, sizeof many,
                         "{\"type\":\"Feature\",\"id\":\"m\",\"properties\":{},"
                         "\"assets\":{");
        for (int k = 0; k < 1025; k++)
            n += snprintf(many + n, sizeof many - (size_t)n,
                          "%s\"k%d\":{\"href\":\"h\"}", k ? "," : "", k);
        (void)snprintf(many + n, sizeof many - (size_t)n, "}}");
        expect_error(many, NULL, LC_ELIMIT, "more than 1024 distinct asset",
                     NULL);
        static const char *const k0[] = {"k0"};
        struct lc__stac_load_options named = {.assets = k0, .nassets = 1};
        struct lc__stac_items *t = load(many, "many.json", &named);
        if (t != NULL)
            LC_ASSERT_STR_EQ(t->assets[0].href, "h");
        lc__stac_items_free(t);

        /* 100 items with 1000 keys each, every key its own: 100000 records
         * for 1000 assets. */
        n = snprintf(many, sizeof many, "[");
        for (int i = 0; i < 100; i++)
            n += snprintf(many + n, sizeof many - (size_t)n,
                          "%s{\"id\":\"%d\",\"assets\":{\"k%d\":{\"href\":"
                          "\"h\"}}}",
                          i ? "," : "", i, i);
        for (int i = 100; i < 1000; i++)
            n += snprintf(many + n, sizeof many - (size_t)n,
                          ",{\"id\":\"%d\",\"assets\":{\"k%d\":{}}}", i, i);
        (void)snprintf(many + n, sizeof many - (size_t)n, "]");
        expect_error(many, NULL, LC_ELIMIT, "name the assets to load", NULL);
    }

    /* Bad arguments. */
    struct lc__stac_items *t = NULL;
    LC_ASSERT_EQ(lc__stac_items_from_json(NULL, 3, "x", NULL, &t, NULL),
                 LC_EINVAL);
}

/* ---- CQL2 on values of the table -----------------------------------------
 */

static int get_from_table(void *record, const char *name,
                          struct lc__cql2_value *out)
{
    const struct lc__stac_items *t = record;
    size_t f = lc__stac_field_index(t, name);
    memset(out, 0, sizeof *out);
    if (f != SIZE_MAX)
        *out = t->fields[f];
    return LC_OK;
}

static void test_cql2_json_values(void)
{
    static const char *const fields[] = {"obj", "list", "mixed", "n"};
    struct lc__stac_load_options opts = {.fields = fields, .nfields = 4};
    struct lc__stac_items *t = load(kItemA, "item.json", &opts);
    if (t == NULL)
        return;
    LC_ASSERT_EQ(field(t, 0, "obj")->type, LC__CQL2_TJSON);
    static const struct {
        const char *filter;
        enum lc__cql2_truth want;
    } cases[] = {
        {"obj IS NULL", LC__CQL2_FALSE},
        {"obj IS NOT NULL", LC__CQL2_TRUE},
        {"mixed IS NULL", LC__CQL2_FALSE},
        {"obj = 'x'", LC__CQL2_UNKNOWN},
        {"obj <> 'x'", LC__CQL2_UNKNOWN},
        {"obj = 1", LC__CQL2_UNKNOWN},
        {"obj < 1", LC__CQL2_UNKNOWN},
        {"obj = obj", LC__CQL2_UNKNOWN},
        {"obj = '{\"z\":1,\"a\":[1.5,{\"q\":null}],\"s\":\"\\\"\"}'",
         LC__CQL2_UNKNOWN},
        {"obj LIKE '%'", LC__CQL2_UNKNOWN},
        {"obj IN ('a', 1)", LC__CQL2_UNKNOWN},
        {"obj BETWEEN 1 AND 2", LC__CQL2_UNKNOWN},
        {"obj > TIMESTAMP('2020-01-01T00:00:00Z')", LC__CQL2_UNKNOWN},
        {"T_AFTER(obj, TIMESTAMP('2020-01-01T00:00:00Z'))", LC__CQL2_UNKNOWN},
        {"S_INTERSECTS(obj, POINT(0 0))", LC__CQL2_UNKNOWN},
        {"A_CONTAINS(mixed, (1))", LC__CQL2_UNKNOWN},
        {"A_CONTAINS(list, (1, 'x'))", LC__CQL2_TRUE},
        {"CASEI(obj) = CASEI('x')", LC__CQL2_UNKNOWN},
        {"obj + 1 = 2", LC__CQL2_UNKNOWN},
        {"NOT (obj = 'x')", LC__CQL2_UNKNOWN},
        {"obj = 'x' OR n = 4611686018427387904", LC__CQL2_TRUE},
        {"obj = 'x' AND n = 0", LC__CQL2_FALSE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct lc__cql2 *tree = NULL;
        struct lc__errbuf err = {0};
        enum lc__cql2_truth got;
        int rc = lc__cql2_parse_text(cases[i].filter, strlen(cases[i].filter),
                                     NULL, &tree, NULL, &err);
        if (rc == LC_OK)
            rc = lc__cql2_eval(tree, get_from_table, t, NULL, &got, &err);
        if (rc != LC_OK)
            LC_CHECK_FAIL_("%s: %s", cases[i].filter, err.msg);
        else if (got != cases[i].want)
            LC_CHECK_FAIL_("%s: %d, expected %d", cases[i].filter, (int)got,
                           (int)cases[i].want);
        lc__cql2_free(tree);
    }
    lc__stac_items_free(t);
}

/* ---- allocation failures -------------------------------------------------
 */

/* For N = 0, 1, 2...: fail the Nth allocation; each load must succeed or
 * give LC_ENOMEM and leave nothing allocated. */
static void test_alloc_failures(const char *label, const char *text,
                                const char *const *fields, size_t nfields)
{
    static const char *const asset_fields[] = {"storage:refs"};
    size_t n;
    for (n = 0; n < 100000; n++) {
        struct lc_test_failing f = {.fail_at = n};
        struct lc_allocator alloc = {lc_test_failing_alloc,
                                     lc_test_failing_free, &f};
        struct lc__stac_load_options opts = {
            .alloc = &alloc,
            .fields = fields,
            .nfields = nfields,
            .asset_fields = asset_fields,
            .nasset_fields = 1,
        };
        struct lc__stac_items *t = NULL;
        struct lc__errbuf err = {0};
        int rc = lc__stac_items_from_json(text, strlen(text), label, &opts, &t,
                                          &err);
        lc__stac_items_free(t);
        if (f.live != 0)
            LC_CHECK_FAIL_("%s: failing allocation %zu leaves %zu blocks",
                           label, n, f.live);
        if (rc == LC_OK)
            break;
        if (rc != LC_ENOMEM) {
            LC_CHECK_FAIL_("%s: failing allocation %zu gave %s (%s)", label, n,
                           lc_err_name(rc), err.msg);
            break;
        }
    }
    LC_ASSERT_TRUE(n > 3 && n < 100000);
    printf("%s: %zu allocation failures handled\n", label, n);
}

static void test_alloc(void)
{
    static const char *const fields[] = {"n",    "r",   "s",     "collection",
                                         "list", "obj", "mixed", "empty"};
    static char doc[16384];
    (void)snprintf(doc, sizeof doc, "{\"features\":[%s,%s,%s]}", kItemA, kItemB,
                   kItemC);
    test_alloc_failures("fc.json", doc, fields, 8);
    /* Enough items to grow the item list (64, 128, ...). */
    size_t n = 0;
    for (int i = 0; i < 70; i++)
        n += (size_t)snprintf(doc + n, sizeof doc - n,
                              "{\"id\":\"%d\",\"assets\":{\"a%d\":{\"href\":"
                              "\"h\"}}}\n",
                              i, i % 3);
    test_alloc_failures("items.ndjson", doc, fields, 2);
}

/* ---- real catalogues -----------------------------------------------------
 */

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    char *buf = NULL;
    if (fseek(fp, 0, SEEK_END) == 0) {
        long size = ftell(fp);
        if (size >= 0 && fseek(fp, 0, SEEK_SET) == 0 &&
            (buf = malloc((size_t)size + 1)) != NULL) {
            *len = fread(buf, 1, (size_t)size, fp);
            buf[*len] = '\0';
        }
    }
    fclose(fp);
    return buf;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void check_real_file(const char *path, size_t *nfiles)
{
    size_t len = 0;
    char *text = read_file(path, &len);
    if (text == NULL) {
        LC_CHECK_FAIL_("%s: cannot read", path);
        return;
    }
    (*nfiles)++;
    static const char *const fields[] = {"platform", "eo:cloud_cover",
                                         "collection", "proj:bbox",
                                         "stac_extensions"};
    struct lc__stac_load_options opts = {.fields = fields, .nfields = 5};
    struct lc__stac_items *t = NULL;
    struct lc__errbuf err = {0};
    int rc = lc__stac_items_from_json(text, len, path, &opts, &t, &err);
    /* Collections are not items; everything else loads. */
    bool collection = strstr(text, "\"type\": \"Collection\"") != NULL ||
                      strstr(text, "\"type\":\"Collection\"") != NULL;
    if (collection && strstr(text, "\"features\"") == NULL &&
        strstr(text, "\"Feature\"") == NULL) {
        if (rc != LC_ECORRUPT || strstr(err.msg, "Collection") == NULL)
            LC_CHECK_FAIL_("%s: %s (%s), expected a Collection error", path,
                           lc_err_name(rc), err.msg);
    } else if (rc != LC_OK) {
        LC_CHECK_FAIL_("%s: %s (%s)", path, lc_err_name(rc), err.msg);
    } else {
        LC_ASSERT_TRUE(t->count > 0);
        size_t hrefs = 0;
        for (size_t i = 0; i < t->count; i++) {
            LC_ASSERT_TRUE(t->ids[i] != NULL && t->ids[i][0] != '\0');
            for (size_t k = 0; k < t->nassets; k++)
                hrefs += t->assets[i * t->nassets + k].href != NULL;
        }
        LC_ASSERT_TRUE(hrefs > 0);
        printf("%s: %zu items, %zu asset keys, %zu hrefs\n", path, t->count,
               t->nassets, hrefs);
    }
    lc__stac_items_free(t);
    free(text);
}

static void walk(const char *dir, size_t *nfiles)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        (void)snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            walk(path, nfiles);
        else if (ends_with(path, ".json") || ends_with(path, ".ndjson"))
            check_real_file(path, nfiles);
    }
    closedir(d);
}

int main(int argc, char **argv)
{
    test_kinds();
    test_errors();
    test_cql2_json_values();
    test_alloc();
    if (argc > 1) {
        struct stat st;
        if (stat(argv[1], &st) != 0) {
            printf("%s absent: real catalogues skipped\n", argv[1]);
        } else {
            size_t nfiles = 0;
            walk(argv[1], &nfiles);
            LC_ASSERT_TRUE(nfiles > 0);
        }
    }
    LC_TEST_END();
}
