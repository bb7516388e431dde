/* grid.c - pixel grids: affine geotransforms, bbox to grid, windows. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include "grid.h"

#include <math.h>

void lc__gt_from_affine(const double affine[6], double gt[6])
{
    double a = affine[0], b = affine[1], c = affine[2];
    double d = affine[3], e = affine[4], f = affine[5];
    gt[0] = c;
    gt[1] = a;
    gt[2] = b;
    gt[3] = f;
    gt[4] = d;
    gt[5] = e;
}

void lc__gt_to_affine(const double gt[6], double affine[6])
{
    double g0 = gt[0], g1 = gt[1], g2 = gt[2];
    double g3 = gt[3], g4 = gt[4], g5 = gt[5];
    affine[0] = g1;
    affine[1] = g2;
    affine[2] = g0;
    affine[3] = g4;
    affine[4] = g5;
    affine[5] = g3;
}

void lc__gt_apply(const double gt[6], double col, double row, double *x_ret,
                  double *y_ret)
{
    /* GDALApplyGeoTransform's order of operations. */
    *x_ret = gt[0] + col * gt[1] + row * gt[2];
    *y_ret = gt[3] + col * gt[4] + row * gt[5];
}

bool lc__gt_is_north_up(const double gt[6])
{
    return gt[2] == 0.0 && gt[4] == 0.0;
}

static bool all_finite(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]))
            return false;
    }
    return true;
}

int lc__gt_invert(const double gt[6], double inv[6], struct lc__errbuf *err)
{
    LC_RETURN_IF(!all_finite(gt, 6), err, LC_EINVAL,
                 "geotransform is not finite");
    if (lc__gt_is_north_up(gt) && gt[1] != 0.0 && gt[5] != 0.0) {
        /* GDAL's special case: no determinant, so a point on a pixel edge
         * lands where GDAL puts it. */
        inv[0] = -gt[0] / gt[1];
        inv[1] = 1.0 / gt[1];
        inv[2] = 0.0;
        inv[3] = -gt[3] / gt[5];
        inv[4] = 0.0;
        inv[5] = 1.0 / gt[5];
        return LC_OK;
    }
    double det = gt[1] * gt[5] - gt[2] * gt[4];
    double mag =
        fmax(fmax(fabs(gt[1]), fabs(gt[2])), fmax(fabs(gt[4]), fabs(gt[5])));
    LC_RETURN_IF(!(fabs(det) > 1e-10 * mag * mag), err, LC_EINVAL,
                 "geotransform is singular (determinant %g)", det);
    double idet = 1.0 / det;
    inv[0] = (gt[2] * gt[3] - gt[0] * gt[5]) * idet;
    inv[1] = gt[5] * idet;
    inv[2] = -gt[2] * idet;
    inv[3] = (-gt[1] * gt[3] + gt[0] * gt[4]) * idet;
    inv[4] = -gt[4] * idet;
    inv[5] = gt[1] * idet;
    return LC_OK;
}

double lc__round_half_even(double v)
{
    double r = floor(v);
    double diff = v - r; /* exact: v and r are within one unit */
    if (diff > 0.5)
        return r + 1.0;
    if (diff < 0.5)
        return r;
    return fmod(r, 2.0) == 0.0 ? r : r + 1.0;
}

/* max(1, round(extent / res)) as an unsigned size, or an error. */
static int grid_side(double extent, double res, const char *what,
                     uint32_t *side_ret, struct lc__errbuf *err)
{
    double n = lc__round_half_even(extent / res);
    if (n < 1.0)
        n = 1.0;
    LC_RETURN_IF(!(n <= (double)LC_GRID_MAX_DIM), err, LC_ELIMIT,
                 "grid %s of %g pixels is over the limit of %u", what, n,
                 LC_GRID_MAX_DIM);
    *side_ret = (uint32_t)n;
    return LC_OK;
}

int lc__grid_from_bbox(const double bbox[4], double res,
                       struct lc__grid *grid_ret, struct lc__errbuf *err)
{
    LC_RETURN_IF(bbox == NULL || grid_ret == NULL, err, LC_EINVAL,
                 "NULL argument to lc__grid_from_bbox");
    LC_RETURN_IF(!(isfinite(res) && res > 0.0), err, LC_EINVAL,
                 "resolution %g is not a positive number", res);
    LC_RETURN_IF(!all_finite(bbox, 4), err, LC_EINVAL, "bbox is not finite");
    double minx = bbox[0], miny = bbox[1], maxx = bbox[2], maxy = bbox[3];
    LC_RETURN_IF(maxx < minx || maxy < miny, err, LC_EINVAL,
                 "bbox (%g, %g, %g, %g) has max < min", minx, miny, maxx, maxy);
    struct lc__grid g;
    LC_FORWARD_IF_ERROR(grid_side(maxx - minx, res, "width", &g.width, err));
    LC_FORWARD_IF_ERROR(grid_side(maxy - miny, res, "height", &g.height, err));
    g.gt[0] = minx;
    g.gt[1] = res;
    g.gt[2] = 0.0;
    g.gt[3] = maxy;
    g.gt[4] = 0.0;
    g.gt[5] = -res;
    *grid_ret = g;
    return LC_OK;
}

int lc__grid_coords(const struct lc__grid *grid, double *xs, double *ys,
                    struct lc__errbuf *err)
{
    LC_RETURN_IF(grid == NULL, err, LC_EINVAL, "grid is NULL");
    LC_RETURN_IF(!lc__gt_is_north_up(grid->gt), err, LC_EINVAL,
                 "pixel-centre coordinates of a rotated grid");
    if (xs != NULL) {
        for (uint32_t i = 0; i < grid->width; i++)
            xs[i] = grid->gt[0] + ((double)i + 0.5) * grid->gt[1];
    }
    if (ys != NULL) {
        for (uint32_t j = 0; j < grid->height; j++)
            ys[j] = grid->gt[3] + ((double)j + 0.5) * grid->gt[5];
    }
    return LC_OK;
}

int lc__grid_window(const struct lc__grid *grid, uint32_t col_off,
                    uint32_t row_off, uint32_t width, uint32_t height,
                    struct lc__grid *sub_ret, struct lc__errbuf *err)
{
    LC_RETURN_IF(grid == NULL || sub_ret == NULL, err, LC_EINVAL,
                 "NULL argument to lc__grid_window");
    LC_RETURN_IF(width == 0 || height == 0, err, LC_EINVAL,
                 "empty window %ux%u", width, height);
    LC_RETURN_IF(col_off > grid->width || width > grid->width - col_off ||
                     row_off > grid->height || height > grid->height - row_off,
                 err, LC_EINVAL,
                 "window (col %u, row %u, %ux%u) is outside the %ux%u grid",
                 col_off, row_off, width, height, grid->width, grid->height);
    struct lc__grid s = *grid;
    s.gt[0] = grid->gt[0] + (double)col_off * grid->gt[1] +
              (double)row_off * grid->gt[2];
    s.gt[3] = grid->gt[3] + (double)col_off * grid->gt[4] +
              (double)row_off * grid->gt[5];
    s.width = width;
    s.height = height;
    *sub_ret = s;
    return LC_OK;
}

void lc__grid_bounds(const struct lc__grid *grid, double bbox[4])
{
    const double cols[4] = {0.0, (double)grid->width, 0.0, (double)grid->width};
    const double rows[4] = {0.0, 0.0, (double)grid->height,
                            (double)grid->height};
    double minx = HUGE_VAL, miny = HUGE_VAL, maxx = -HUGE_VAL, maxy = -HUGE_VAL;
    for (int k = 0; k < 4; k++) {
        double x, y;
        lc__gt_apply(grid->gt, cols[k], rows[k], &x, &y);
        minx = fmin(minx, x);
        maxx = fmax(maxx, x);
        miny = fmin(miny, y);
        maxy = fmax(maxy, y);
    }
    bbox[0] = minx;
    bbox[1] = miny;
    bbox[2] = maxx;
    bbox[3] = maxy;
}

int lc__align_bbox(const double affine[6], const double bbox[4], double out[4],
                   struct lc__errbuf *err)
{
    LC_RETURN_IF(affine == NULL || bbox == NULL || out == NULL, err, LC_EINVAL,
                 "NULL argument to lc__align_bbox");
    LC_RETURN_IF(!all_finite(affine, 6) || !all_finite(bbox, 4), err, LC_EINVAL,
                 "affine or bbox is not finite");
    double pixel_w = affine[0];
    double x0 = affine[2];
    double abs_h = fabs(affine[4]);
    double y0 = affine[5];
    LC_RETURN_IF(pixel_w == 0.0 || abs_h == 0.0, err, LC_EINVAL,
                 "affine has a zero pixel size");
    /* The reference's expressions, operation for operation. */
    double minx = x0 + floor((bbox[0] - x0) / pixel_w) * pixel_w;
    double maxx = x0 + ceil((bbox[2] - x0) / pixel_w) * pixel_w;
    double miny = y0 + floor((bbox[1] - y0) / abs_h) * abs_h;
    double maxy = y0 + ceil((bbox[3] - y0) / abs_h) * abs_h;
    out[0] = minx;
    out[1] = miny;
    out[2] = maxx;
    out[3] = maxy;
    return LC_OK;
}

int lc__overview_choose(double target_res, double native_res,
                        const double *ovr_res, size_t novr, size_t *level_ret,
                        struct lc__errbuf *err)
{
    LC_RETURN_IF(level_ret == NULL, err, LC_EINVAL, "level_ret is NULL");
    *level_ret = 0;
    LC_RETURN_IF(isnan(target_res), err, LC_EINVAL, "target resolution is NaN");
    LC_RETURN_IF(!(isfinite(native_res) && native_res > 0.0), err, LC_EINVAL,
                 "native resolution %g is not a positive number", native_res);
    LC_RETURN_IF(novr > 0 && ovr_res == NULL, err, LC_EINVAL,
                 "overview resolutions are NULL");
    for (size_t i = 0; i < novr; i++)
        LC_RETURN_IF(!(isfinite(ovr_res[i]) && ovr_res[i] > 0.0), err,
                     LC_EINVAL, "overview %zu resolution %g is not positive", i,
                     ovr_res[i]);
    if (novr == 0 || target_res <= native_res)
        return LC_OK;
    size_t chosen = 0;
    for (size_t i = 0; i < novr; i++) {
        if (ovr_res[i] > target_res)
            break;
        chosen = i + 1;
    }
    *level_ret = chosen;
    return LC_OK;
}
