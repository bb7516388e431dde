/* items_write.c - items as JSON, the form `lazycogs items` prints. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include "../common/isotime.h"
#include "items.h"

#include <math.h>

static void write_string_or_null(struct lc__strbuf *sb, const char *s)
{
    if (s == NULL)
        lc__strbuf_puts(sb, "null");
    else
        lc__strbuf_json_string(sb, s, strlen(s));
}

static void write_time(struct lc__strbuf *sb, int64_t us,
                       enum lc__isotime_style style)
{
    char text[LC_ISOTIME_FORMAT_CAP];
    size_t n = lc__isotime_format(us, style, text, sizeof text);
    lc__strbuf_putc(sb, '"');
    lc__strbuf_append(sb, text, n);
    lc__strbuf_putc(sb, '"');
}

static void write_time_or_null(struct lc__strbuf *sb, int64_t us)
{
    if (us == LC__STAC_NO_TIME)
        lc__strbuf_puts(sb, "null");
    else
        write_time(sb, us, LC_ISOTIME_AUTO);
}

/* A number: integers exactly, others in JSON form; non-finite as the
 * strings STAC uses. */
static void write_double(struct lc__strbuf *sb, double v)
{
    if (isnan(v))
        lc__strbuf_puts(sb, "\"nan\"");
    else if (isinf(v))
        lc__strbuf_puts(sb, v > 0 ? "\"inf\"" : "\"-inf\"");
    else
        lc__strbuf_double_json(sb, v);
}

void lc__stac_value_write_json(const struct lc__cql2_value *v,
                               struct lc__strbuf *sb)
{
    switch (v->type) {
    case LC__CQL2_TNULL:
        lc__strbuf_puts(sb, "null");
        return;
    case LC__CQL2_TBOOL:
        lc__strbuf_puts(sb, v->b ? "true" : "false");
        return;
    case LC__CQL2_TNUMBER:
        if (v->is_int)
            lc__strbuf_printf(sb, "%" PRId64, v->i64);
        else
            write_double(sb, v->num);
        return;
    case LC__CQL2_TSTRING:
        lc__strbuf_json_string(sb, v->str, v->len);
        return;
    case LC__CQL2_TTIMESTAMP:
        write_time(sb, v->us, LC_ISOTIME_AUTO);
        return;
    case LC__CQL2_TDATE:
        write_time(sb, v->us, LC_ISOTIME_DATE);
        return;
    case LC__CQL2_TINTERVAL:
        lc__strbuf_putc(sb, '[');
        if (v->start_us == LC__CQL2_OPEN_START)
            lc__strbuf_puts(sb, "\"..\"");
        else
            write_time(sb, v->start_us, LC_ISOTIME_AUTO);
        lc__strbuf_putc(sb, ',');
        if (v->end_us == LC__CQL2_OPEN_END)
            lc__strbuf_puts(sb, "\"..\"");
        else
            write_time(sb, v->end_us, LC_ISOTIME_AUTO);
        lc__strbuf_putc(sb, ']');
        return;
    case LC__CQL2_TGEOMETRY:
        lc__geom_to_geojson(v->geom, sb);
        return;
    case LC__CQL2_TARRAY:
        lc__strbuf_putc(sb, '[');
        for (size_t k = 0; k < v->nitems; k++) {
            if (k > 0)
                lc__strbuf_putc(sb, ',');
            lc__stac_value_write_json(&v->items[k], sb);
        }
        lc__strbuf_putc(sb, ']');
        return;
    case LC__CQL2_TJSON:
        lc__strbuf_append(sb, v->str, v->len);
        return;
    }
}

static void write_asset(const struct lc__stac_items *items,
                        const struct lc__stac_asset *a, struct lc__strbuf *sb)
{
    lc__strbuf_puts(sb, "{\"href\":");
    write_string_or_null(sb, a->href);
    lc__strbuf_puts(sb, ",\"type\":");
    write_string_or_null(sb, a->type);
    lc__strbuf_puts(sb, ",\"roles\":[");
    for (size_t r = 0; r < a->nroles; r++) {
        if (r > 0)
            lc__strbuf_putc(sb, ',');
        write_string_or_null(sb, a->roles[r]);
    }
    lc__strbuf_puts(sb, "],\"proj:code\":");
    write_string_or_null(sb, a->proj_code);
    lc__strbuf_puts(sb, ",\"proj:epsg\":");
    if (a->epsg > 0)
        lc__strbuf_printf(sb, "%" PRId32, a->epsg);
    else
        lc__strbuf_puts(sb, "null");
    lc__strbuf_puts(sb, ",\"proj:transform\":");
    if (a->has_transform) {
        lc__strbuf_putc(sb, '[');
        for (int k = 0; k < 6; k++) {
            if (k > 0)
                lc__strbuf_putc(sb, ',');
            write_double(sb, a->transform[k]);
        }
        lc__strbuf_putc(sb, ']');
    } else {
        lc__strbuf_puts(sb, "null");
    }
    lc__strbuf_puts(sb, ",\"proj:shape\":");
    if (a->has_shape)
        lc__strbuf_printf(sb, "[%" PRId64 ",%" PRId64 "]", a->shape[0],
                          a->shape[1]);
    else
        lc__strbuf_puts(sb, "null");
    lc__strbuf_puts(sb, ",\"raster:bands\":[");
    for (size_t b = 0; b < a->nbands; b++) {
        const struct lc__stac_raster_band *band = &a->bands[b];
        lc__strbuf_puts(sb, b > 0 ? ",{\"nodata\":" : "{\"nodata\":");
        if (band->has_nodata)
            write_double(sb, band->nodata);
        else
            lc__strbuf_puts(sb, "null");
        lc__strbuf_puts(sb, ",\"data_type\":");
        write_string_or_null(sb, band->data_type == LC_DTYPE_UNKNOWN
                                     ? NULL
                                     : lc_dtype_name(band->data_type));
        lc__strbuf_puts(sb, ",\"scale\":");
        write_double(sb, band->scale);
        lc__strbuf_puts(sb, ",\"offset\":");
        write_double(sb, band->offset);
        lc__strbuf_putc(sb, '}');
    }
    lc__strbuf_putc(sb, ']');
    for (size_t f = 0; f < items->nasset_fields; f++) {
        lc__strbuf_putc(sb, ',');
        lc__strbuf_json_string(sb, items->asset_field_names[f],
                               strlen(items->asset_field_names[f]));
        lc__strbuf_putc(sb, ':');
        lc__stac_value_write_json(&a->fields[f], sb);
    }
    lc__strbuf_putc(sb, '}');
}

void lc__stac_item_write_json(const struct lc__stac_items *items, size_t i,
                              bool with_geometry, struct lc__strbuf *sb)
{
    lc__strbuf_puts(sb, "{\"id\":");
    write_string_or_null(sb, items->ids[i]);
    lc__strbuf_puts(sb, ",\"datetime\":");
    write_time_or_null(sb, items->datetime[i]);
    lc__strbuf_puts(sb, ",\"start_datetime\":");
    write_time_or_null(sb, items->start_datetime[i]);
    lc__strbuf_puts(sb, ",\"end_datetime\":");
    write_time_or_null(sb, items->end_datetime[i]);
    lc__strbuf_puts(sb, ",\"bbox\":");
    const struct lc__envelope *b = &items->bbox[i];
    /* An empty envelope is +inf/-inf; a box crossing the antimeridian has
     * minx > maxx but finite values. */
    if (isfinite(b->minx) && isfinite(b->maxx)) {
        lc__strbuf_putc(sb, '[');
        write_double(sb, b->minx);
        lc__strbuf_putc(sb, ',');
        write_double(sb, b->miny);
        lc__strbuf_putc(sb, ',');
        write_double(sb, b->maxx);
        lc__strbuf_putc(sb, ',');
        write_double(sb, b->maxy);
        lc__strbuf_putc(sb, ']');
    } else {
        lc__strbuf_puts(sb, "null");
    }
    if (with_geometry) {
        lc__strbuf_puts(sb, ",\"geometry\":");
        if (items->geometry[i] != NULL)
            lc__geom_to_geojson(items->geometry[i], sb);
        else
            lc__strbuf_puts(sb, "null");
    }
    lc__strbuf_puts(sb, ",\"assets\":{");
    bool first = true;
    for (size_t k = 0; k < items->nassets; k++) {
        const struct lc__stac_asset *a = &items->assets[i * items->nassets + k];
        if (a->href == NULL)
            continue;
        if (!first)
            lc__strbuf_putc(sb, ',');
        first = false;
        lc__strbuf_json_string(sb, items->asset_keys[k],
                               strlen(items->asset_keys[k]));
        lc__strbuf_putc(sb, ':');
        write_asset(items, a, sb);
    }
    lc__strbuf_puts(sb, "},\"properties\":{");
    for (size_t f = 0; f < items->nfields; f++) {
        if (f > 0)
            lc__strbuf_putc(sb, ',');
        lc__strbuf_json_string(sb, items->field_names[f],
                               strlen(items->field_names[f]));
        lc__strbuf_putc(sb, ':');
        lc__stac_value_write_json(&items->fields[i * items->nfields + f], sb);
    }
    lc__strbuf_puts(sb, "}}");
}
