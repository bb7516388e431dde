/* _ext.c - the CPython extension module lazycogs._ext over liblazycogs. */
/* SPDX-License-Identifier: MIT */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdbool.h>

/* The extension links the library statically and may use its experimental
 * API (STYLE.md rule 8), and the internal mosaic for the Mosaic type; the
 * library's base header defines LC_EXPERIMENTAL, includes lazycogs.h and
 * must come before it. */
#include "../../src/common/common.h"
#include "../../src/geo/crs.h"
#include "../../src/mosaic/mosaic.h"
#include "../../src/tiff/tiff.h"

/*
 * This module stays thin: it exposes the C library's handles and status
 * codes, and the Python modules of the package build everything xarray-facing.
 */

static PyObject *ext_version(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    return PyLong_FromUnsignedLong(lc_version());
}

static PyObject *ext_version_string(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    return PyUnicode_FromString(lc_version_string());
}

static PyObject *ext_prepare_geo(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    Py_BEGIN_ALLOW_THREADS lc__geo_prepare();
    Py_END_ALLOW_THREADS Py_RETURN_NONE;
}

/* Returns {code: (name, description)} for every status code, so Python maps
 * codes to exception classes from the one table the library is built from. */
static PyObject *ext_status_table(PyObject *self, PyObject *args)
{
    static const int codes[] = {LC_OK,
#define LC_ERRNO_VALUE(name, value, text) value,
                                LC_ERRNO_MAP(LC_ERRNO_VALUE)
#undef LC_ERRNO_VALUE
    };
    (void)self;
    (void)args;
    PyObject *table = PyDict_New();
    if (table == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        PyObject *key = PyLong_FromLong(codes[i]);
        PyObject *value =
            Py_BuildValue("(ss)", lc_err_name(codes[i]), lc_strerror(codes[i]));
        int rc = (key == NULL || value == NULL)
                     ? -1
                     : PyDict_SetItem(table, key, value);
        Py_XDECREF(key);
        Py_XDECREF(value);
        if (rc < 0) {
            Py_DECREF(table);
            return NULL;
        }
    }
    return table;
}

/* ---- errors ------------------------------------------------------------- */

/* lazycogs._errors.error_for_status, registered at import, builds the
 * exception of the right class for a status and message. */
static PyObject *error_factory;

static PyObject *ext_set_error_factory(PyObject *self, PyObject *factory)
{
    (void)self;
    Py_XINCREF(factory);
    Py_XSETREF(error_factory, factory);
    Py_RETURN_NONE;
}

/* Raises the exception for a failed lc_ call and returns NULL. */
static PyObject *raise_status(int status)
{
    const char *msg = lc_errmsg();
    if (msg[0] == '\0')
        msg = lc_strerror(status);
    if (error_factory == NULL) {
        PyErr_Format(PyExc_RuntimeError, "%s: %s", lc_err_name(status), msg);
        return NULL;
    }
    PyObject *exc = PyObject_CallFunction(error_factory, "is", status, msg);
    if (exc != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
    return NULL;
}

/* ---- Store: where objects are read from --------------------------------- */

typedef struct {
    PyObject_HEAD struct lc_store *store;
} StoreObject;

/* Reads an optional str / float / int / bool option from a dict. */
static bool opt_str(PyObject *d, const char *key, const char **out)
{
    PyObject *v = PyDict_GetItemString(d, key);
    if (v == NULL || v == Py_None)
        return true;
    if (!PyUnicode_Check(v)) {
        PyErr_Format(PyExc_TypeError, "store option %s must be a str", key);
        return false;
    }
    *out = PyUnicode_AsUTF8(v);
    return *out != NULL;
}

static bool opt_double(PyObject *d, const char *key, double *out)
{
    PyObject *v = PyDict_GetItemString(d, key);
    if (v == NULL || v == Py_None)
        return true;
    *out = PyFloat_AsDouble(v);
    return !PyErr_Occurred();
}

static bool opt_int(PyObject *d, const char *key, int *out)
{
    PyObject *v = PyDict_GetItemString(d, key);
    if (v == NULL || v == Py_None)
        return true;
    int t = PyObject_IsTrue(v);
    *out = t;
    return t >= 0;
}

static bool opt_unsigned(PyObject *d, const char *key, unsigned *out)
{
    PyObject *v = PyDict_GetItemString(d, key);
    if (v == NULL || v == Py_None)
        return true;
    unsigned long x = PyLong_AsUnsignedLong(v);
    if (PyErr_Occurred() || x > UINT32_MAX) {
        PyErr_Format(PyExc_ValueError, "store option %s: bad value", key);
        return false;
    }
    *out = (unsigned)x;
    return true;
}

static int store_init(StoreObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"url", "options", NULL};
    const char *url;
    PyObject *d = NULL;
    struct lc_store_options o = {.struct_size = sizeof(o)};
    unsigned long long gap = 0;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "s|O!", kwlist, &url,
                                     &PyDict_Type, &d))
        return -1;
    if (d != NULL) {
        PyObject *g = PyDict_GetItemString(d, "coalesce_gap_nbytes");
        if (g != NULL && g != Py_None) {
            gap = PyLong_AsUnsignedLongLong(g);
            if (PyErr_Occurred())
                return -1;
        }
        if (!opt_str(d, "region", &o.region) ||
            !opt_str(d, "endpoint", &o.endpoint) ||
            !opt_str(d, "access_key_id", &o.access_key_id) ||
            !opt_str(d, "secret_access_key", &o.secret_access_key) ||
            !opt_str(d, "session_token", &o.session_token) ||
            !opt_str(d, "profile", &o.profile) ||
            !opt_int(d, "skip_signature", &o.skip_signature) ||
            !opt_int(d, "request_payer", &o.request_payer) ||
            !opt_int(d, "virtual_hosted_style_request",
                     &o.virtual_hosted_style) ||
            !opt_str(d, "bearer_token", &o.bearer_token) ||
            !opt_str(d, "azure_sas", &o.azure_sas) ||
            !opt_int(d, "use_netrc", &o.use_netrc) ||
            !opt_str(d, "ca_file", &o.ca_file) ||
            !opt_int(d, "insecure", &o.insecure) ||
            !opt_double(d, "connect_timeout", &o.connect_timeout_s) ||
            !opt_double(d, "first_byte_timeout", &o.first_byte_timeout_s) ||
            !opt_double(d, "stall_timeout", &o.stall_timeout_s) ||
            !opt_unsigned(d, "max_attempts", &o.max_attempts) ||
            !opt_double(d, "retry_base", &o.retry_base_s) ||
            !opt_double(d, "retry_max", &o.retry_max_s) ||
            !opt_unsigned(d, "max_connections_per_host",
                          &o.max_connections_per_host) ||
            !opt_unsigned(d, "max_in_flight", &o.max_in_flight))
            return -1;
        o.coalesce_gap_nbytes = (size_t)gap;
    }
    struct lc_store *store = NULL;
    int status = lc_store_open(url, &o, &store);
    if (status < 0) {
        raise_status(status);
        return -1;
    }
    lc_store_close(self->store);
    self->store = store;
    return 0;
}

static void store_dealloc(StoreObject *self)
{
    lc_store_close(self->store);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *stats_dict(const struct lc_io_stats *st)
{
    return Py_BuildValue(
        "{sK sK sK sK sd}", "requests", (unsigned long long)st->requests,
        "bytes", (unsigned long long)st->bytes, "retries",
        (unsigned long long)st->retries, "coalesced_ranges",
        (unsigned long long)st->coalesced_ranges, "wait_s", st->wait_s);
}

static PyObject *store_stats(StoreObject *self, PyObject *args)
{
    struct lc_io_stats st = {.struct_size = sizeof(st)};

    (void)args;
    if (self->store == NULL) {
        PyErr_SetString(PyExc_ValueError, "Store is not open");
        return NULL;
    }
    int status = lc_store_get_stats(self->store, &st);
    if (status < 0)
        return raise_status(status);
    return stats_dict(&st);
}

static PyMethodDef store_methods[] = {
    {"stats", (PyCFunction)store_stats, METH_NOARGS,
     "stats() -> dict\n\nRequests, bytes, retries, coalesced ranges, wait."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject StoreType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lazycogs._ext.Store",
    .tp_basicsize = sizeof(StoreObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Store(url, options=None): a C object store handle.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)store_init,
    .tp_dealloc = (destructor)store_dealloc,
    .tp_methods = store_methods,
};

/* read_ranges(href, [(offset, nbytes), ...], store=None) -> list[bytes]:
 * all ranges in one batch, without the GIL. */
static PyObject *ext_read_ranges(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"href", "ranges", "store", NULL};
    const char *href;
    PyObject *ranges, *store_obj = Py_None, *result = NULL;
    struct lc_store *store = NULL;

    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "sO|O", kwlist, &href, &ranges,
                                     &store_obj))
        return NULL;
    if (store_obj != Py_None) {
        if (!PyObject_TypeCheck(store_obj, &StoreType)) {
            PyErr_SetString(PyExc_TypeError, "store must be a lazycogs store");
            return NULL;
        }
        store = ((StoreObject *)store_obj)->store;
    }
    PyObject *seq = PySequence_Fast(ranges, "ranges: a sequence of pairs");
    if (seq == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    struct lc_range_request *reqs =
        PyMem_RawCalloc((size_t)(n > 0 ? n : 1), sizeof(*reqs));
    PyObject **bufs = PyMem_RawCalloc((size_t)(n > 0 ? n : 1), sizeof(*bufs));
    if (reqs == NULL || bufs == NULL) {
        PyErr_NoMemory();
        goto out;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned long long off;
        Py_ssize_t len;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "Kn", &off,
                              &len))
            goto out;
        if (len < 0) {
            PyErr_SetString(PyExc_ValueError, "negative range length");
            goto out;
        }
        bufs[i] = PyBytes_FromStringAndSize(NULL, len);
        if (bufs[i] == NULL)
            goto out;
        reqs[i].offset = off;
        reqs[i].nbytes = (size_t)len;
        reqs[i].buf = (uint8_t *)PyBytes_AS_STRING(bufs[i]);
    }
    int status;
    Py_BEGIN_ALLOW_THREADS status =
        lc_store_read_ranges(store, href, reqs, (size_t)n);
    Py_END_ALLOW_THREADS if (status < 0)
    {
        raise_status(status);
        goto out;
    }
    result = PyList_New(n);
    for (Py_ssize_t i = 0; result != NULL && i < n; i++) {
        if (reqs[i].nread < reqs[i].nbytes &&
            _PyBytes_Resize(&bufs[i], (Py_ssize_t)reqs[i].nread) < 0) {
            Py_CLEAR(result);
            break;
        }
        PyList_SET_ITEM(result, i, bufs[i]);
        bufs[i] = NULL;
    }
out:
    for (Py_ssize_t i = 0; bufs != NULL && i < n; i++)
        Py_XDECREF(bufs[i]);
    PyMem_RawFree(bufs);
    PyMem_RawFree(reqs);
    Py_DECREF(seq);
    return result;
}

/* ---- catalogues ---------------------------------------------------------- */

/* A list of str as a C array borrowed from the list's items (valid while
 * the list lives); None gives NULL. */
static bool str_list(PyObject *obj, const char *what, PyObject **seq_ret,
                     const char ***list_ret, size_t *n_ret)
{
    *seq_ret = NULL;
    *list_ret = NULL;
    *n_ret = 0;
    if (obj == Py_None)
        return true;
    if (PyUnicode_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be a list of str", what);
        return false;
    }
    PyObject *seq = PySequence_Fast(obj, what);
    if (seq == NULL)
        return false;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    const char **list = PyMem_Calloc((size_t)(n > 0 ? n : 1), sizeof *list);
    if (list == NULL) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return false;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i);
        list[i] = PyUnicode_Check(item) ? PyUnicode_AsUTF8(item) : NULL;
        if (list[i] == NULL) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_TypeError, "%s must be a list of str", what);
            PyMem_Free(list);
            Py_DECREF(seq);
            return false;
        }
    }
    *seq_ret = seq;
    *list_ret = list;
    *n_ret = (size_t)n;
    return true;
}

/* The C store of a lazycogs store argument (None: NULL). */
static struct lc_store *store_arg(PyObject *obj, bool *ok)
{
    *ok = true;
    if (obj == Py_None)
        return NULL;
    if (!PyObject_TypeCheck(obj, &StoreType)) {
        PyErr_SetString(PyExc_TypeError, "store must be a lazycogs store");
        *ok = false;
        return NULL;
    }
    return ((StoreObject *)obj)->store;
}

/* items_json(href, *, filter=None, sortby=None, datetime=None, bbox=None,
 *            ids=None, limit=0, assets=None, fields=None,
 *            asset_fields=None, max_items=0, geometry=False, store=None)
 *   -> (str, int loaded): the selected items as JSON lines. */
static PyObject *ext_items_json(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {
        "href",      "filter",   "sortby", "datetime", "bbox",
        "ids",       "limit",    "assets", "fields",   "asset_fields",
        "max_items", "geometry", "store",  NULL};
    const char *href;
    PyObject *bbox = Py_None, *ids = Py_None, *assets = Py_None;
    PyObject *fields = Py_None, *asset_fields = Py_None, *store_obj = Py_None;
    Py_ssize_t limit = 0, max_items = 0;
    int geometry = 0;
    struct lc_items_query q = {.struct_size = sizeof(q)};
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(
            args, kwds, "s|$zzzOOnOOOnpO", kwlist, &href, &q.filter, &q.sortby,
            &q.datetime, &bbox, &ids, &limit, &assets, &fields, &asset_fields,
            &max_items, &geometry, &store_obj))
        return NULL;
    if (limit < 0 || max_items < 0) {
        PyErr_SetString(PyExc_ValueError, "limit and max_items must be >= 0");
        return NULL;
    }
    q.limit = (size_t)limit;
    q.max_items = (size_t)max_items;
    q.with_geometry = geometry;
    if (bbox != Py_None) {
        if (!PyArg_ParseTuple(bbox, "dddd", &q.bbox[0], &q.bbox[1], &q.bbox[2],
                              &q.bbox[3])) {
            PyErr_Clear();
            PyErr_SetString(PyExc_TypeError,
                            "bbox must be (west, south, east, north)");
            return NULL;
        }
        q.has_bbox = 1;
    }
    bool ok = true;
    q.store = store_arg(store_obj, &ok);
    if (!ok)
        return NULL;
    PyObject *seqs[4] = {NULL, NULL, NULL, NULL};
    const char **lists[4] = {NULL, NULL, NULL, NULL};
    PyObject *result = NULL;
    if (!str_list(ids, "ids", &seqs[0], &lists[0], &q.nids) ||
        !str_list(assets, "assets", &seqs[1], &lists[1], &q.nassets) ||
        !str_list(fields, "fields", &seqs[2], &lists[2], &q.nfields) ||
        !str_list(asset_fields, "asset_fields", &seqs[3], &lists[3],
                  &q.nasset_fields))
        goto out;
    q.ids = lists[0];
    q.assets = lists[1];
    q.fields = lists[2];
    q.asset_fields = lists[3];
    char *json = NULL;
    size_t count = 0, loaded = 0;
    int status;
    Py_BEGIN_ALLOW_THREADS status =
        lc_items_json(href, &q, &json, &count, &loaded);
    Py_END_ALLOW_THREADS if (status < 0)
    {
        raise_status(status);
        goto out;
    }
    result = Py_BuildValue("(sn)", json, (Py_ssize_t)loaded);
    lc_free(json);
out:
    for (int k = 0; k < 4; k++) {
        PyMem_Free(lists[k]);
        Py_XDECREF(seqs[k]);
    }
    return result;
}

/* catalog_store_info(href, asset=None, store=None) -> dict or None (no
 * item): the first item's chosen asset and what its Storage Extension
 * says. */
static PyObject *ext_catalog_store_info(PyObject *self, PyObject *args,
                                        PyObject *kwds)
{
    static char *kwlist[] = {"href", "asset", "store", NULL};
    const char *href, *asset = NULL;
    PyObject *store_obj = Py_None;
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "s|zO", kwlist, &href, &asset,
                                     &store_obj))
        return NULL;
    bool ok = true;
    struct lc_store *store = store_arg(store_obj, &ok);
    if (!ok)
        return NULL;
    struct lc_catalog_store_info *info = PyMem_RawCalloc(1, sizeof *info);
    if (info == NULL)
        return PyErr_NoMemory();
    info->struct_size = sizeof *info;
    int status;
    Py_BEGIN_ALLOW_THREADS status =
        lc_catalog_store_info(href, store, asset, info);
    Py_END_ALLOW_THREADS PyObject *result = NULL;
    if (status < 0)
        raise_status(status);
    else if (!info->found_item)
        result = Py_NewRef(Py_None);
    else
        result = Py_BuildValue(
            "{s:s,s:O,s:s,s:s,s:s,s:i,s:z,s:O,s:z,s:O,s:z}", "item_id",
            info->item_id, "found_asset",
            info->found_asset ? Py_True : Py_False, "asset_key",
            info->asset_key, "href", info->href, "root", info->root,
            "storage_version", info->storage_version, "region",
            info->has_region ? info->region : NULL, "request_payer",
            info->request_payer ? Py_True : Py_False, "endpoint",
            info->has_endpoint ? info->endpoint : NULL, "storage_malformed",
            info->storage_malformed ? Py_True : Py_False, "storage_problem",
            info->storage_malformed ? info->storage_problem : NULL);
    PyMem_RawFree(info);
    return result;
}

static PyObject *ext_process_stats(PyObject *self, PyObject *args)
{
    struct lc_io_stats st = {.struct_size = sizeof(st)};

    (void)self;
    (void)args;
    int status = lc_io_get_process_stats(&st);
    if (status < 0)
        return raise_status(status);
    return stats_dict(&st);
}

static PyObject *ext_set_block_cache_budget(PyObject *self, PyObject *arg)
{
    (void)self;
    size_t nbytes = PyLong_AsSize_t(arg);
    if (nbytes == (size_t)-1 && PyErr_Occurred())
        return NULL;
    return PyLong_FromSize_t(lc__block_cache_set_budget(nbytes));
}

static PyObject *ext_block_cache_stats(PyObject *self, PyObject *args)
{
    size_t nblocks = 0, nbytes = 0;

    (void)self;
    (void)args;
    lc__block_cache_stats(&nblocks, &nbytes);
    return Py_BuildValue("(nn)", (Py_ssize_t)nblocks, (Py_ssize_t)nbytes);
}

/* ---- Cog: an open GeoTIFF ------------------------------------------------ */

typedef struct {
    PyObject_HEAD struct lc_cog *cog;
} CogObject;

static int cog_init(CogObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"href", "prefix_nbytes", "store", NULL};
    const char *href;
    Py_ssize_t prefix_nbytes = 0;
    PyObject *store_obj = Py_None;
    struct lc_cog_options opts = {.struct_size = sizeof(opts)};
    struct lc_cog *cog = NULL;
    int status;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "s|nO", kwlist, &href,
                                     &prefix_nbytes, &store_obj))
        return -1;
    if (store_obj != Py_None) {
        if (!PyObject_TypeCheck(store_obj, &StoreType) ||
            ((StoreObject *)store_obj)->store == NULL) {
            PyErr_SetString(PyExc_TypeError, "store must be a lazycogs store");
            return -1;
        }
        opts.store = ((StoreObject *)store_obj)->store;
    }
    if (prefix_nbytes < 0) {
        PyErr_SetString(PyExc_ValueError, "prefix_nbytes must be >= 0");
        return -1;
    }
    opts.prefix_nbytes = (size_t)prefix_nbytes;
    Py_BEGIN_ALLOW_THREADS status = lc_cog_open_ex(href, &opts, &cog);
    Py_END_ALLOW_THREADS if (status < 0)
    {
        raise_status(status);
        return -1;
    }
    lc_cog_close(self->cog);
    self->cog = cog;
    return 0;
}

static void cog_dealloc(CogObject *self)
{
    lc_cog_close(self->cog);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static bool cog_check_open(CogObject *self)
{
    if (self->cog == NULL) {
        PyErr_SetString(PyExc_ValueError, "Cog is not open");
        return false;
    }
    return true;
}

static PyObject *geotransform_tuple(const double *gt)
{
    return Py_BuildValue("(dddddd)", gt[0], gt[1], gt[2], gt[3], gt[4], gt[5]);
}

static PyObject *cog_info(CogObject *self, PyObject *args)
{
    struct lc_cog_info info = {.struct_size = sizeof(info)};

    (void)args;
    if (!cog_check_open(self))
        return NULL;
    int status = lc_cog_get_info(self->cog, &info);
    if (status < 0)
        return raise_status(status);
    PyObject *nodata =
        info.has_nodata ? PyFloat_FromDouble(info.nodata) : Py_NewRef(Py_None);
    PyObject *gt = (info.georef == LC_GEOREF_TIEPOINT ||
                    info.georef == LC_GEOREF_TRANSFORM)
                       ? geotransform_tuple(info.geotransform)
                       : Py_NewRef(Py_None);
    if (nodata == NULL || gt == NULL) {
        Py_XDECREF(nodata);
        Py_XDECREF(gt);
        return NULL;
    }
    return Py_BuildValue(
        "{sI sI sI sI sI ss sI sI sI sI sO sO sO sO sn sO sN sO ss si sO "
        "sN sd sd sK sK sK sK sK sK sd}",
        "width", info.width, "height", info.height, "block_width",
        info.block_width, "block_height", info.block_height, "samples",
        info.samples, "dtype", lc_dtype_name(info.dtype), "bits_per_sample",
        info.bits_per_sample, "compression", info.compression, "predictor",
        info.predictor, "photometric", info.photometric, "planar_separate",
        info.planar_separate ? Py_True : Py_False, "tiled",
        info.tiled ? Py_True : Py_False, "bigtiff",
        info.bigtiff ? Py_True : Py_False, "big_endian",
        info.big_endian ? Py_True : Py_False, "nlevels",
        (Py_ssize_t)info.nlevels, "has_mask",
        info.has_mask ? Py_True : Py_False, "geotransform", gt, "rotated",
        info.rotated ? Py_True : Py_False, "crs", info.crs, "epsg", info.epsg,
        "pixel_is_point", info.pixel_is_point ? Py_True : Py_False, "nodata",
        nodata, "scale", info.scale, "offset", info.offset, "file_nbytes",
        (unsigned long long)info.file_nbytes, "nrequests",
        (unsigned long long)info.nrequests, "nbytes_read",
        (unsigned long long)info.nbytes_read, "http_requests",
        (unsigned long long)info.http_requests, "http_retries",
        (unsigned long long)info.http_retries, "coalesced_ranges",
        (unsigned long long)info.coalesced_ranges, "wait_s", info.wait_s);
}

static PyObject *cog_level(CogObject *self, PyObject *args)
{
    Py_ssize_t level;
    struct lc_cog_level lv = {.struct_size = sizeof(lv)};

    if (!PyArg_ParseTuple(args, "n", &level) || !cog_check_open(self))
        return NULL;
    if (level < 0) {
        PyErr_SetString(PyExc_ValueError, "level must be >= 0");
        return NULL;
    }
    int status = lc_cog_get_level(self->cog, (size_t)level, &lv);
    if (status < 0)
        return raise_status(status);
    return Py_BuildValue("{sI sI sI sI sO sN}", "width", lv.width, "height",
                         lv.height, "block_width", lv.block_width,
                         "block_height", lv.block_height, "has_mask",
                         lv.has_mask ? Py_True : Py_False, "geotransform",
                         geotransform_tuple(lv.geotransform));
}

/* Parses (col_off, row_off, width, height). */
static bool parse_window(PyObject *obj, struct lc_window *w)
{
    unsigned long v[4];

    if (!PyTuple_Check(obj) || PyTuple_GET_SIZE(obj) != 4) {
        PyErr_SetString(PyExc_TypeError,
                        "window must be (col_off, row_off, width, height)");
        return false;
    }
    for (int i = 0; i < 4; i++) {
        v[i] = PyLong_AsUnsignedLong(PyTuple_GET_ITEM(obj, i));
        if (PyErr_Occurred() || v[i] > UINT32_MAX) {
            PyErr_SetString(PyExc_ValueError,
                            "window values must be integers in [0, 2**32)");
            return false;
        }
    }
    *w = (struct lc_window){(uint32_t)v[0], (uint32_t)v[1], (uint32_t)v[2],
                            (uint32_t)v[3]};
    return true;
}

/* read_window(level, window, samples, out) fills the writable buffer out
 * (a C-contiguous numpy array) in place, without the GIL. */
static PyObject *cog_read_window(CogObject *self, PyObject *args)
{
    Py_ssize_t level;
    PyObject *win_obj, *samples_obj, *out_obj;
    struct lc_window w;
    uint32_t samples[256];
    size_t nsamples = 0;
    Py_buffer out;

    if (!PyArg_ParseTuple(args, "nOOO", &level, &win_obj, &samples_obj,
                          &out_obj) ||
        !cog_check_open(self) || !parse_window(win_obj, &w))
        return NULL;
    if (level < 0) {
        PyErr_SetString(PyExc_ValueError, "level must be >= 0");
        return NULL;
    }
    if (samples_obj != Py_None) {
        PyObject *seq = PySequence_Fast(samples_obj, "samples: a sequence");
        if (seq == NULL)
            return NULL;
        Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
        if (n < 1 || n > 256) {
            Py_DECREF(seq);
            PyErr_SetString(PyExc_ValueError, "1 to 256 samples");
            return NULL;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            unsigned long v =
                PyLong_AsUnsignedLong(PySequence_Fast_GET_ITEM(seq, i));
            if (PyErr_Occurred() || v > UINT32_MAX) {
                Py_DECREF(seq);
                PyErr_SetString(PyExc_ValueError, "bad sample index");
                return NULL;
            }
            samples[i] = (uint32_t)v;
        }
        nsamples = (size_t)n;
        Py_DECREF(seq);
    }
    if (PyObject_GetBuffer(out_obj, &out, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) <
        0)
        return NULL;
    int status;
    struct lc_cog *cog = self->cog;
    Py_BEGIN_ALLOW_THREADS status =
        lc_cog_read_window(cog, (size_t)level, &w, nsamples ? samples : NULL,
                           nsamples, out.buf, (size_t)out.len);
    Py_END_ALLOW_THREADS PyBuffer_Release(&out);
    if (status < 0)
        return raise_status(status);
    Py_RETURN_NONE;
}

/* read_mask(level, window, out) fills a uint8 buffer: 255 valid, 0 not. */
static PyObject *cog_read_mask(CogObject *self, PyObject *args)
{
    Py_ssize_t level;
    PyObject *win_obj, *out_obj;
    struct lc_window w;
    Py_buffer out;

    if (!PyArg_ParseTuple(args, "nOO", &level, &win_obj, &out_obj) ||
        !cog_check_open(self) || !parse_window(win_obj, &w))
        return NULL;
    if (level < 0) {
        PyErr_SetString(PyExc_ValueError, "level must be >= 0");
        return NULL;
    }
    if (PyObject_GetBuffer(out_obj, &out, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) <
        0)
        return NULL;
    int status;
    struct lc_cog *cog = self->cog;
    Py_BEGIN_ALLOW_THREADS status =
        lc_cog_read_mask(cog, (size_t)level, &w, out.buf, (size_t)out.len);
    Py_END_ALLOW_THREADS PyBuffer_Release(&out);
    if (status < 0)
        return raise_status(status);
    Py_RETURN_NONE;
}

static PyMethodDef cog_methods[] = {
    {"info", (PyCFunction)cog_info, METH_NOARGS,
     "info() -> dict\n\nWhat the file holds (see struct lc_cog_info)."},
    {"level", (PyCFunction)cog_level, METH_VARARGS,
     "level(i) -> dict\n\nSize, blocks and geotransform of level i."},
    {"read_window", (PyCFunction)cog_read_window, METH_VARARGS,
     "read_window(level, window, samples, out)\n\nFills out in place."},
    {"read_mask", (PyCFunction)cog_read_mask, METH_VARARGS,
     "read_mask(level, window, out)\n\nFills a uint8 buffer in place."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject CogType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lazycogs._ext.Cog",
    .tp_basicsize = sizeof(CogObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Cog(href, prefix_nbytes=0): an open GeoTIFF (C handle).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)cog_init,
    .tp_dealloc = (destructor)cog_dealloc,
    .tp_methods = cog_methods,
};

/* ---- Collection: the lazy (band, time, y, x) array ---------------------- */

typedef struct {
    PyObject_HEAD struct lc_collection *collection;
} CollectionObject;

/* Collection options come in one dict; these are its keys. */
/* clang-format off */
static const char *const collection_keys[] = {
    "crs",         "bbox",     "resolution",     "datetime",
    "filter",      "ids",      "bands",          "sortby",
    "time_period", "nodata",   "dtype",          "mosaic_method",
    "resampling",  "store",    "catalog_store",  "max_concurrent_reads",
    "errors",      "nthreads", "path_from_href", "allowed_local_roots",
    "limits",      "readahead", NULL};
/* clang-format on */

/* readahead: absent or None keeps the default (on); else true or false. */
static bool coll_readahead(PyObject *d, struct lc_collection_options *o)
{
    PyObject *v = PyDict_GetItemString(d, "readahead");
    if (v == NULL || v == Py_None)
        return true;
    int on = PyObject_IsTrue(v);
    if (on < 0)
        return false;
    o->readahead = on ? 1 : -1;
    return true;
}

/* limits: absent or None keeps every default; else a dict of cap name ->
 * int > 0 (None: that cap's default). An unknown name is a ValueError
 * listing the known ones. */
static bool coll_limits(PyObject *d, struct lc_limits *out)
{
    PyObject *v = PyDict_GetItemString(d, "limits");
    if (v == NULL || v == Py_None)
        return true;
    if (!PyDict_Check(v)) {
        PyErr_SetString(PyExc_TypeError,
                        "limits must be a dict of cap name -> int");
        return false;
    }
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(v, &pos, &key, &value)) {
        const char *k = PyUnicode_Check(key) ? PyUnicode_AsUTF8(key) : NULL;
        if (k == NULL) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_ValueError, "unknown limit %R", key);
            return false;
        }
        /* None: the default (0), once the name is known. */
        Py_ssize_t x = 0;
        if (value != Py_None) {
            x = PyNumber_AsSsize_t(value, PyExc_OverflowError);
            if (x == -1 && PyErr_Occurred())
                return false;
            if (x <= 0) {
                PyErr_Format(PyExc_ValueError,
                             "limit %s must be a positive int, got %zd", k, x);
                return false;
            }
        }
        if (lc_limits_set(out, k, (size_t)x) != LC_OK) {
            PyErr_SetString(PyExc_ValueError, lc_errmsg());
            return false;
        }
    }
    return true;
}

/* An optional str of the options: absent or None leaves *out as it is. */
static bool coll_str(PyObject *d, const char *key, const char **out)
{
    PyObject *v = PyDict_GetItemString(d, key);
    if (v == NULL || v == Py_None)
        return true;
    if (!PyUnicode_Check(v)) {
        PyErr_Format(PyExc_TypeError, "option %s must be a str or None", key);
        return false;
    }
    *out = PyUnicode_AsUTF8(v);
    return *out != NULL;
}

/* An optional int >= 0 (absent or None: 0, the default). */
static bool coll_size(PyObject *d, const char *key, size_t *out)
{
    PyObject *v = PyDict_GetItemString(d, key);
    if (v == NULL || v == Py_None)
        return true;
    Py_ssize_t x = PyNumber_AsSsize_t(v, PyExc_OverflowError);
    if (x == -1 && PyErr_Occurred())
        return false;
    if (x < 0) {
        PyErr_Format(PyExc_ValueError, "option %s must be >= 0", key);
        return false;
    }
    *out = (size_t)x;
    return true;
}

/* A list of str as a tuple (a private copy: another thread cannot change
 * it while the GIL is released) and a C array borrowing its items. */
static bool coll_str_list(PyObject *d, const char *key, PyObject **tuple_ret,
                          const char ***list_ret, size_t *n_ret)
{
    PyObject *v = PyDict_GetItemString(d, key);
    if (v == NULL || v == Py_None)
        return true;
    if (PyUnicode_Check(v) || PyBytes_Check(v)) {
        PyErr_Format(PyExc_TypeError, "option %s must be a list of str", key);
        return false;
    }
    PyObject *t = PySequence_Tuple(v);
    if (t == NULL)
        return false;
    Py_ssize_t n = PyTuple_GET_SIZE(t);
    const char **list = PyMem_Calloc((size_t)(n > 0 ? n : 1), sizeof *list);
    if (list == NULL) {
        Py_DECREF(t);
        PyErr_NoMemory();
        return false;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyTuple_GET_ITEM(t, i);
        list[i] = PyUnicode_Check(item) ? PyUnicode_AsUTF8(item) : NULL;
        if (list[i] == NULL) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_TypeError, "option %s must be a list of str",
                             key);
            PyMem_Free(list);
            Py_DECREF(t);
            return false;
        }
    }
    *tuple_ret = t;
    *list_ret = list;
    *n_ret = (size_t)n;
    return true;
}

static bool coll_store(PyObject *d, const char *key, struct lc_store **out)
{
    PyObject *v = PyDict_GetItemString(d, key);
    if (v == NULL || v == Py_None)
        return true;
    if (!PyObject_TypeCheck(v, &StoreType) ||
        ((StoreObject *)v)->store == NULL) {
        PyErr_Format(PyExc_TypeError, "option %s must be a lazycogs Store",
                     key);
        return false;
    }
    *out = ((StoreObject *)v)->store;
    return true;
}

/* dtype by numpy name ("uint16"), None: inferred. */
static bool coll_dtype(PyObject *d, enum lc_dtype *out)
{
    const char *name = NULL;
    if (!coll_str(d, "dtype", &name))
        return false;
    if (name == NULL)
        return true;
    for (int k = LC_DTYPE_UINT8; k <= LC_DTYPE_FLOAT64; k++) {
        if (strcmp(name, lc_dtype_name((enum lc_dtype)k)) == 0) {
            *out = (enum lc_dtype)k;
            return true;
        }
    }
    PyErr_Format(PyExc_ValueError,
                 "dtype %R is not one of uint8, int8, uint16, int16, uint32, "
                 "int32, uint64, int64, float32, float64",
                 PyDict_GetItemString(d, "dtype"));
    return false;
}

static bool coll_check_keys(PyObject *d)
{
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(d, &pos, &key, &value)) {
        const char *k = PyUnicode_Check(key) ? PyUnicode_AsUTF8(key) : NULL;
        bool known = false;
        for (size_t i = 0; k != NULL && collection_keys[i] != NULL; i++)
            known = known || strcmp(k, collection_keys[i]) == 0;
        if (!known) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_TypeError, "unknown collection option %R",
                             key);
            return false;
        }
    }
    return true;
}

/* allowed_local_roots: absent or None keeps the default (confined when the
 * catalogue is remote); a list of folders turns confinement on. */
static bool coll_local_roots(PyObject *d, struct lc_collection_options *o,
                             PyObject **tuple, const char ***list)
{
    PyObject *v = PyDict_GetItemString(d, "allowed_local_roots");
    if (v == NULL || v == Py_None)
        return true;
    o->confine_local_hrefs = 1;
    if (!coll_str_list(d, "allowed_local_roots", tuple, list,
                       &o->nallowed_local_roots))
        return false;
    o->allowed_local_roots = *list;
    return true;
}

/* Fills o from the options dict d (a private copy, which keeps every
 * string alive); tuples_ret[0..1] receive the ids and bands tuples and
 * lists_ret[0..1] their C arrays, for the caller to free. */
static bool coll_options(PyObject *d, struct lc_collection_options *o,
                         PyObject **tuples, const char ***lists)
{
    if (!coll_check_keys(d))
        return false;
    PyObject *bbox = PyDict_GetItemString(d, "bbox");
    PyObject *res = PyDict_GetItemString(d, "resolution");
    if (PyDict_GetItemString(d, "crs") == NULL || bbox == NULL || res == NULL) {
        PyErr_SetString(PyExc_TypeError,
                        "options crs, bbox and resolution are required");
        return false;
    }
    if (!coll_str(d, "crs", &o->crs))
        return false;
    PyObject *bt = PySequence_Check(bbox) ? PySequence_Tuple(bbox) : NULL;
    if (bt == NULL || PyTuple_GET_SIZE(bt) != 4) {
        Py_XDECREF(bt);
        PyErr_Clear();
        PyErr_SetString(PyExc_TypeError,
                        "bbox must be (minx, miny, maxx, maxy)");
        return false;
    }
    for (int i = 0; i < 4; i++)
        o->bbox[i] = PyFloat_AsDouble(PyTuple_GET_ITEM(bt, i));
    Py_DECREF(bt);
    o->resolution = PyFloat_AsDouble(res);
    if (PyErr_Occurred())
        return false;

    /* time_period: None means exact grouping ("none"); absent, P1D. */
    PyObject *tp = PyDict_GetItemString(d, "time_period");
    if (tp == Py_None)
        o->time_period = "none";
    else if (!coll_str(d, "time_period", &o->time_period))
        return false;
    PyObject *nodata = PyDict_GetItemString(d, "nodata");
    if (nodata != NULL && nodata != Py_None) {
        o->nodata = PyFloat_AsDouble(nodata);
        if (PyErr_Occurred())
            return false;
        o->has_nodata = 1;
    }
    size_t method = 0;
    if (!coll_size(d, "mosaic_method", &method))
        return false;
    if (method > LC_MOSAIC_COUNT) {
        PyErr_Format(PyExc_ValueError, "mosaic_method must be 0 to %d",
                     (int)LC_MOSAIC_COUNT);
        return false;
    }
    o->mosaic_method = (enum lc_mosaic_method)method;
    const char *errors = NULL;
    if (!coll_str(d, "errors", &errors))
        return false;
    if (errors != NULL && strcmp(errors, "raise") != 0 &&
        strcmp(errors, "ignore") != 0) {
        PyErr_Format(PyExc_ValueError,
                     "errors must be 'raise' or 'ignore', got '%s'", errors);
        return false;
    }
    o->errors = errors != NULL && strcmp(errors, "ignore") == 0
                    ? LC_ERRORS_IGNORE
                    : LC_ERRORS_RAISE;
    return coll_str(d, "datetime", &o->datetime) &&
           coll_str(d, "filter", &o->filter) &&
           coll_str(d, "sortby", &o->sortby) &&
           coll_str(d, "resampling", &o->resampling) &&
           coll_dtype(d, &o->dtype) && coll_store(d, "store", &o->store) &&
           coll_store(d, "catalog_store", &o->catalog_store) &&
           coll_size(d, "max_concurrent_reads", &o->max_concurrent_reads) &&
           coll_size(d, "nthreads", &o->nthreads) &&
           coll_str_list(d, "ids", &tuples[0], &lists[0], &o->nids) &&
           coll_str_list(d, "bands", &tuples[1], &lists[1], &o->nbands) &&
           coll_local_roots(d, o, &tuples[2], &lists[2]) &&
           coll_limits(d, &o->limits) && coll_readahead(d, o);
}

/* path_from_href during lc_collection_open: the open runs without the
 * GIL, so the callback takes it to call the Python function. The first
 * exception is kept for the caller to raise. */
struct href_mapper {
    PyObject *fn;
    PyObject *exc_type, *exc_value, *exc_tb;
};

static char *map_href_python(void *opaque, const char *href)
{
    struct href_mapper *m = opaque;
    PyGILState_STATE gil = PyGILState_Ensure();
    char *copy = NULL;
    if (m->exc_type == NULL) {
        PyObject *r = PyObject_CallFunction(m->fn, "s", href);
        const char *path = NULL;
        if (r != NULL && !PyUnicode_Check(r))
            PyErr_Format(PyExc_TypeError,
                         "path_from_href must return a str, got %R", r);
        else if (r != NULL)
            path = PyUnicode_AsUTF8(r);
        if (path != NULL && (copy = strdup(path)) == NULL)
            PyErr_NoMemory();
        Py_XDECREF(r);
        if (copy == NULL)
            PyErr_Fetch(&m->exc_type, &m->exc_value, &m->exc_tb);
    }
    PyGILState_Release(gil);
    return copy;
}

static int collection_init(CollectionObject *self, PyObject *args,
                           PyObject *kwds)
{
    static char *kwlist[] = {"href", "options", NULL};
    const char *href;
    PyObject *options;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "sO!", kwlist, &href,
                                     &PyDict_Type, &options))
        return -1;
    /* A private copy: its values (and so the strings borrowed below) stay
     * alive while the GIL is released, whatever other threads do. */
    PyObject *d = PyDict_Copy(options);
    if (d == NULL)
        return -1;
    struct lc_collection_options o = {.struct_size = sizeof(o)};
    PyObject *tuples[3] = {NULL, NULL, NULL};
    const char **lists[3] = {NULL, NULL, NULL};
    int rc = -1;
    struct href_mapper mapper = {.fn =
                                     PyDict_GetItemString(d, "path_from_href")};
    if (mapper.fn == Py_None)
        mapper.fn = NULL;
    if (mapper.fn != NULL && !PyCallable_Check(mapper.fn)) {
        PyErr_SetString(PyExc_TypeError, "path_from_href must be callable");
    } else if (coll_options(d, &o, tuples, lists)) {
        o.ids = lists[0];
        o.bands = lists[1];
        if (mapper.fn != NULL) {
            o.map_href = map_href_python;
            o.map_href_opaque = &mapper;
        }
        struct lc_collection *c = NULL;
        int status;
        Py_BEGIN_ALLOW_THREADS status = lc_collection_open(href, &o, &c);
        Py_END_ALLOW_THREADS if (mapper.exc_type != NULL)
        {
            /* The function's own exception, not the open's message. */
            lc_collection_close(c);
            PyErr_Restore(mapper.exc_type, mapper.exc_value, mapper.exc_tb);
        }
        else if (status < 0)
        {
            raise_status(status);
        }
        else
        {
            lc_collection_close(self->collection);
            self->collection = c;
            rc = 0;
        }
    }
    for (int k = 0; k < 3; k++) {
        PyMem_Free(lists[k]);
        Py_XDECREF(tuples[k]);
    }
    Py_DECREF(d);
    return rc;
}

static void collection_dealloc(CollectionObject *self)
{
    lc_collection_close(self->collection);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static bool collection_check_open(CollectionObject *self)
{
    if (self->collection == NULL) {
        PyErr_SetString(PyExc_ValueError, "Collection is not open");
        return false;
    }
    return true;
}

static PyObject *collection_info(CollectionObject *self, PyObject *args)
{
    struct lc_collection_info info = {.struct_size = sizeof(info)};
    (void)args;
    if (!collection_check_open(self))
        return NULL;
    int status = lc_collection_get_info(self->collection, &info);
    if (status < 0)
        return raise_status(status);
    PyObject *nodata =
        info.has_nodata ? PyFloat_FromDouble(info.nodata) : Py_NewRef(Py_None);
    if (nodata == NULL)
        return NULL;
    return Py_BuildValue(
        "{sn sn sI sI sN ss sO sN sO sO si sn si ss sn}", "nbands",
        (Py_ssize_t)info.nbands, "ntimes", (Py_ssize_t)info.ntimes, "width",
        info.width, "height", info.height, "transform",
        geotransform_tuple(info.transform), "dtype", lc_dtype_name(info.dtype),
        "has_nodata", info.has_nodata ? Py_True : Py_False, "nodata", nodata,
        "dtype_explicit", info.dtype_explicit ? Py_True : Py_False,
        "nodata_explicit", info.nodata_explicit ? Py_True : Py_False,
        "mosaic_method", (int)info.mosaic_method, "nitems",
        (Py_ssize_t)info.nitems, "epsg", info.epsg, "crs_wkt", info.crs_wkt,
        "nthreads", (Py_ssize_t)info.nthreads);
}

static PyObject *collection_bands(CollectionObject *self, PyObject *args)
{
    (void)args;
    if (!collection_check_open(self))
        return NULL;
    PyObject *list = PyList_New(0);
    for (size_t i = 0; list != NULL; i++) {
        const char *band = lc_collection_band(self->collection, i);
        if (band == NULL)
            break;
        PyObject *s = PyUnicode_FromString(band);
        if (s == NULL || PyList_Append(list, s) < 0)
            Py_CLEAR(list);
        Py_XDECREF(s);
    }
    return list;
}

static PyObject *collection_times(CollectionObject *self, PyObject *args)
{
    struct lc_collection_info info = {.struct_size = sizeof(info)};
    (void)args;
    if (!collection_check_open(self))
        return NULL;
    int status = lc_collection_get_info(self->collection, &info);
    if (status < 0)
        return raise_status(status);
    PyObject *list = PyList_New((Py_ssize_t)info.ntimes);
    for (size_t t = 0; list != NULL && t < info.ntimes; t++) {
        struct lc_time_step step = {.struct_size = sizeof(step)};
        status = lc_collection_get_time(self->collection, t, &step);
        if (status < 0) {
            Py_DECREF(list);
            return raise_status(status);
        }
        PyObject *d =
            Py_BuildValue("{ss ss sL ss sn}", "label", step.label, "filter",
                          step.filter, "coord", (long long)step.coord, "unit",
                          step.coord_unit == 1 ? "ns" : "s", "nitems",
                          (Py_ssize_t)step.nitems);
        if (d == NULL)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)t, d);
    }
    return list;
}

/* A sequence of indices >= 0 as a new size_t array (PyMem_Raw). */
static size_t *index_array(PyObject *obj, const char *what, size_t *n_ret)
{
    PyObject *t = PySequence_Tuple(obj);
    if (t == NULL)
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(t);
    size_t *v = PyMem_RawCalloc((size_t)(n > 0 ? n : 1), sizeof *v);
    if (v == NULL) {
        Py_DECREF(t);
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t x =
            PyNumber_AsSsize_t(PyTuple_GET_ITEM(t, i), PyExc_OverflowError);
        if (x < 0) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_ValueError, "%s: negative index", what);
            PyMem_RawFree(v);
            Py_DECREF(t);
            return NULL;
        }
        v[i] = (size_t)x;
    }
    Py_DECREF(t);
    *n_ret = (size_t)n;
    return v;
}

static PyObject *read_stats_dict(const struct lc_read_stats *st)
{
    return Py_BuildValue(
        "{sn sn sn sn sn sK sK sd ss ss sO sd sd sd sd sd sd sK}",
        "items_matched", (Py_ssize_t)st->items_matched, "items_read",
        (Py_ssize_t)st->items_read, "items_skipped",
        (Py_ssize_t)st->items_skipped, "items_failed",
        (Py_ssize_t)st->items_failed, "cogs_opened",
        (Py_ssize_t)st->cogs_opened, "requests",
        (unsigned long long)st->requests, "bytes",
        (unsigned long long)st->bytes, "seconds", st->seconds, "failed_item",
        st->failed_item, "failed_bands", st->failed_bands, "contract_violation",
        st->contract_violation ? Py_True : Py_False, "header_seconds",
        st->header_seconds, "fetch_seconds", st->fetch_seconds,
        "decode_seconds", st->decode_seconds, "warp_seconds", st->warp_seconds,
        "match_seconds", st->match_seconds, "mosaic_seconds",
        st->mosaic_seconds, "pixels_warped",
        (unsigned long long)st->pixels_warped);
}

/* Raises the error of a failed read; when an item failed, the exception
 * also gets item_id, bands (its asset keys) and contract_violation, from
 * which the Python layer builds ChunkReadError. */
static PyObject *raise_read_error(int status, const struct lc_read_stats *st)
{
    raise_status(status);
    if (st->failed_item[0] == '\0')
        return NULL;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyObject *bands = PyList_New(0);
    const char *p = st->failed_bands;
    while (bands != NULL && *p != '\0') {
        const char *end = strchr(p, ',');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        PyObject *s = PyUnicode_FromStringAndSize(p, (Py_ssize_t)n);
        if (s == NULL || PyList_Append(bands, s) < 0)
            Py_CLEAR(bands);
        Py_XDECREF(s);
        p += n + (end != NULL ? 1 : 0);
    }
    PyObject *item = PyUnicode_FromString(st->failed_item);
    if (value == NULL || bands == NULL || item == NULL ||
        PyObject_SetAttrString(value, "item_id", item) < 0 ||
        PyObject_SetAttrString(value, "bands", bands) < 0 ||
        PyObject_SetAttrString(value, "contract_violation",
                               st->contract_violation ? Py_True : Py_False) <
            0) {
        /* Keep the read's error rather than one about its attributes. */
        PyErr_Clear();
    }
    Py_XDECREF(bands);
    Py_XDECREF(item);
    PyErr_Restore(type, value, tb);
    return NULL;
}

/* The messages of the items a read skipped with errors="ignore" (at most
 * IGNORED_MAX), gathered without the GIL while the read runs. */
#define IGNORED_MAX 100
struct ignored_log {
    char *msgs[IGNORED_MAX];
    size_t n;
};

static void collect_ignored(void *ctx, const char *item_id, const char *message)
{
    struct ignored_log *log = ctx;
    size_t len = strlen(message) + 1;

    (void)item_id;
    if (log->n == IGNORED_MAX)
        return;
    char *m = PyMem_RawMalloc(len);
    if (m == NULL)
        return; /* the count in items_failed still tells */
    memcpy(m, message, len);
    log->msgs[log->n++] = m;
}

/* Adds "ignored": [messages] to the stats dict d and frees the log. */
static PyObject *add_ignored(PyObject *d, struct ignored_log *log)
{
    PyObject *list = d != NULL ? PyList_New(0) : NULL;
    for (size_t i = 0; i < log->n; i++) {
        PyObject *m =
            list != NULL
                ? PyUnicode_DecodeUTF8(
                      log->msgs[i], (Py_ssize_t)strlen(log->msgs[i]), "replace")
                : NULL;
        if (m == NULL || PyList_Append(list, m) < 0)
            Py_CLEAR(list);
        Py_XDECREF(m);
        PyMem_RawFree(log->msgs[i]);
    }
    log->n = 0;
    if (list == NULL || PyDict_SetItemString(d, "ignored", list) < 0)
        Py_CLEAR(d);
    Py_XDECREF(list);
    return d;
}

/* read(bands, times, x0, y0, width, height, out, cancel=None) -> stats
 * fills out (a writable C-contiguous buffer of the collection's dtype,
 * shape (len(bands), len(times), height, width)) without the GIL. cancel,
 * if given, is a writable buffer whose first C int another thread sets to
 * nonzero to stop the read (numpy.zeros(1, numpy.intc)). */
static PyObject *collection_read(CollectionObject *self, PyObject *args,
                                 PyObject *kwds)
{
    static char *kwlist[] = {"bands",  "times", "x0",     "y0", "width",
                             "height", "out",   "cancel", NULL};
    PyObject *bands_obj, *times_obj, *out_obj, *cancel_obj = Py_None;
    unsigned int x0, y0, width, height;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOIIIIO|O", kwlist,
                                     &bands_obj, &times_obj, &x0, &y0, &width,
                                     &height, &out_obj, &cancel_obj) ||
        !collection_check_open(self))
        return NULL;
    struct lc_read_request req = {.struct_size = sizeof(req)};
    struct lc_read_stats st = {.struct_size = sizeof(st)};
    size_t *bands = NULL, *times = NULL;
    Py_buffer out = {0}, cancel = {0};
    bool have_out = false, have_cancel = false;
    PyObject *result = NULL;
    bands = index_array(bands_obj, "bands", &req.nbands);
    if (bands == NULL)
        goto done;
    times = index_array(times_obj, "times", &req.ntimes);
    if (times == NULL)
        goto done;
    if (PyObject_GetBuffer(out_obj, &out, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) <
        0)
        goto done;
    have_out = true;
    if (cancel_obj != Py_None) {
        if (PyObject_GetBuffer(cancel_obj, &cancel,
                               PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0)
            goto done;
        have_cancel = true;
        if ((size_t)cancel.len < sizeof(int)) {
            PyErr_SetString(PyExc_ValueError,
                            "cancel must hold at least one C int");
            goto done;
        }
        req.cancel = (const volatile int *)cancel.buf;
    }
    req.bands = bands;
    req.times = times;
    req.x0 = x0;
    req.y0 = y0;
    req.width = width;
    req.height = height;
    req.out = out.buf;
    req.out_nbytes = (size_t)out.len;
    struct ignored_log ignored = {.n = 0};
    req.on_ignored = collect_ignored;
    req.on_ignored_ctx = &ignored;
    int status;
    struct lc_collection *c = self->collection;
    Py_BEGIN_ALLOW_THREADS status = lc_collection_read(c, &req, &st);
    Py_END_ALLOW_THREADS if (status < 0) raise_read_error(status, &st);
    else result = read_stats_dict(&st);
    if (status < 0)
        Py_XDECREF(add_ignored(NULL, &ignored)); /* frees the messages */
    else
        result = add_ignored(result, &ignored);
done:
    if (have_cancel)
        PyBuffer_Release(&cancel);
    if (have_out)
        PyBuffer_Release(&out);
    PyMem_RawFree(bands);
    PyMem_RawFree(times);
    return result;
}

/* One read of a plan as a dict (None when the item has no such asset). */
static PyObject *plan_read_dict(const struct lc_plan_read *r)
{
    if (r->href == NULL)
        Py_RETURN_NONE;
    PyObject *level = Py_NewRef(Py_None), *res = Py_NewRef(Py_None);
    PyObject *window = Py_NewRef(Py_None), *ranges = Py_NewRef(Py_None);
    PyObject *requests = Py_NewRef(Py_None), *nbytes = Py_NewRef(Py_None);
    if (r->has_header) {
        Py_SETREF(level, PyLong_FromSize_t(r->level));
        Py_SETREF(res, PyFloat_FromDouble(r->resolution));
    }
    if (r->has_header && r->has_window) {
        Py_SETREF(window,
                  Py_BuildValue("(IIII)", r->window.col_off, r->window.row_off,
                                r->window.width, r->window.height));
        Py_SETREF(ranges, PyLong_FromUnsignedLongLong(r->est_ranges));
        Py_SETREF(requests, PyLong_FromUnsignedLongLong(r->est_requests));
        Py_SETREF(nbytes, PyLong_FromUnsignedLongLong(r->est_bytes));
    }
    PyObject *d = NULL;
    if (level != NULL && res != NULL && window != NULL && ranges != NULL &&
        requests != NULL && nbytes != NULL)
        d = Py_BuildValue("{ss sO sO sO sO sO sO sO}", "href", r->href,
                          "skipped", r->skipped ? Py_True : Py_False, "level",
                          level, "resolution", res, "window", window,
                          "est_ranges", ranges, "est_requests", requests,
                          "est_bytes", nbytes);
    Py_XDECREF(level);
    Py_XDECREF(res);
    Py_XDECREF(window);
    Py_XDECREF(ranges);
    Py_XDECREF(requests);
    Py_XDECREF(nbytes);
    return d;
}

/* The plan as nested lists: [time][window] -> [(id, k, [read per band])]. */
static PyObject *plan_lists(const struct lc_plan *plan, size_t ntimes,
                            size_t nwindows, size_t nbands)
{
    PyObject *out = PyList_New((Py_ssize_t)ntimes);
    for (size_t t = 0; out != NULL && t < ntimes; t++) {
        PyObject *per_window = PyList_New((Py_ssize_t)nwindows);
        if (per_window == NULL) {
            Py_CLEAR(out);
            break;
        }
        PyList_SET_ITEM(out, (Py_ssize_t)t, per_window);
        for (size_t w = 0; out != NULL && w < nwindows; w++) {
            size_t n = lc_plan_nitems(plan, t, w);
            PyObject *items = PyList_New((Py_ssize_t)n);
            if (items == NULL) {
                Py_CLEAR(out);
                break;
            }
            PyList_SET_ITEM(per_window, (Py_ssize_t)w, items);
            for (size_t i = 0; out != NULL && i < n; i++) {
                struct lc_plan_item it = {.struct_size = sizeof(it)};
                PyObject *reads = NULL, *tuple = NULL;
                if (lc_plan_get_item(plan, t, w, i, &it) == LC_OK)
                    reads = PyList_New((Py_ssize_t)nbands);
                for (size_t b = 0; reads != NULL && b < nbands; b++) {
                    struct lc_plan_read r = {.struct_size = sizeof(r)};
                    PyObject *d = NULL;
                    if (lc_plan_get_read(plan, t, w, i, b, &r) == LC_OK)
                        d = plan_read_dict(&r);
                    if (d == NULL)
                        Py_CLEAR(reads);
                    else
                        PyList_SET_ITEM(reads, (Py_ssize_t)b, d);
                }
                if (reads != NULL)
                    tuple =
                        Py_BuildValue("(snN)", it.id, (Py_ssize_t)it.k, reads);
                if (tuple == NULL) {
                    if (!PyErr_Occurred())
                        PyErr_SetString(PyExc_RuntimeError,
                                        "lc_plan: bad index");
                    Py_CLEAR(out);
                } else {
                    PyList_SET_ITEM(items, (Py_ssize_t)i, tuple);
                }
            }
        }
    }
    return out;
}

/* plan(bands, times, windows, fetch_headers=False) -> list
 * windows: (x0, y0, width, height) tuples of the grid. Without the GIL. */
static PyObject *collection_plan(CollectionObject *self, PyObject *args,
                                 PyObject *kwds)
{
    static char *kwlist[] = {"bands", "times", "windows", "fetch_headers",
                             NULL};
    PyObject *bands_obj, *times_obj, *windows_obj;
    int fetch = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO|p", kwlist, &bands_obj,
                                     &times_obj, &windows_obj, &fetch) ||
        !collection_check_open(self))
        return NULL;
    struct lc_plan_request req = {.struct_size = sizeof(req)};
    struct lc_window *windows = NULL;
    size_t *bands = NULL, *times = NULL;
    PyObject *result = NULL, *seq = NULL;
    bands = index_array(bands_obj, "bands", &req.nbands);
    if (bands == NULL)
        goto done;
    times = index_array(times_obj, "times", &req.ntimes);
    if (times == NULL)
        goto done;
    seq = PySequence_Tuple(windows_obj);
    if (seq == NULL)
        goto done;
    size_t nw = (size_t)PyTuple_GET_SIZE(seq);
    windows = PyMem_RawCalloc(nw > 0 ? nw : 1, sizeof(*windows));
    if (windows == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (size_t i = 0; i < nw; i++) {
        struct lc_window *w = &windows[i];
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(seq, (Py_ssize_t)i),
                              "IIII;a window is (x0, y0, width, height)",
                              &w->col_off, &w->row_off, &w->width, &w->height))
            goto done;
    }
    req.bands = bands;
    req.times = times;
    req.windows = windows;
    req.nwindows = nw;
    req.fetch_headers = fetch;
    struct lc_plan *plan = NULL;
    struct lc_collection *c = self->collection;
    int status;
    Py_BEGIN_ALLOW_THREADS status = lc_collection_plan(c, &req, &plan);
    Py_END_ALLOW_THREADS if (status < 0)
    {
        raise_status(status);
        goto done;
    }
    result = plan_lists(plan, req.ntimes, nw, req.nbands);
    lc_plan_free(plan);
done:
    Py_XDECREF(seq);
    PyMem_RawFree(windows);
    PyMem_RawFree(bands);
    PyMem_RawFree(times);
    return result;
}

static PyMethodDef collection_methods[] = {
    {"info", (PyCFunction)collection_info, METH_NOARGS,
     "info() -> dict\n\nShape, grid, dtype, nodata, CRS (struct "
     "lc_collection_info)."},
    {"bands", (PyCFunction)collection_bands, METH_NOARGS,
     "bands() -> list[str]\n\nThe asset keys of the bands, in order."},
    {"times", (PyCFunction)collection_times, METH_NOARGS,
     "times() -> list[dict]\n\nEach time step: label, filter, coord, unit "
     "('s' or 'ns'), nitems."},
    {"read", (PyCFunction)(void (*)(void))collection_read,
     METH_VARARGS | METH_KEYWORDS,
     "read(bands, times, x0, y0, width, height, out, cancel=None) -> dict\n\n"
     "Fills out in place without the GIL; returns the read's statistics, "
     "with 'ignored': the messages of the items skipped by errors='ignore' "
     "(the first 100; items_failed counts them all)."},
    {"plan", (PyCFunction)(void (*)(void))collection_plan,
     METH_VARARGS | METH_KEYWORDS,
     "plan(bands, times, windows, fetch_headers=False) -> list\n\n"
     "What reads of the windows ((x0, y0, width, height) of the grid) would "
     "touch, without reading a pixel (lc_collection_plan): result[t][w] "
     "lists the matched items in sort order as (id, k, reads), reads[b] "
     "None (no such asset) or a dict of href, skipped (first's early exit "
     "would skip it), level (0: full resolution; None without headers), "
     "resolution, window (col_off, row_off, width, height) or None, "
     "est_ranges, est_requests, est_bytes."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject CollectionType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lazycogs._ext.Collection",
    .tp_basicsize = sizeof(CollectionObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Collection(href, options): an open collection (C handle); "
              "options is a dict of crs, bbox, resolution, datetime, filter, "
              "ids, bands, sortby, time_period, nodata, dtype, "
              "mosaic_method, resampling, store, catalog_store, "
              "max_concurrent_reads, errors, nthreads.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)collection_init,
    .tp_dealloc = (destructor)collection_dealloc,
    .tp_methods = collection_methods,
};

/* ---- Mosaic: the C mosaic methods over numpy buffers -------------------- */

/*
 * The mosaic method classes of lazycogs/_mosaic.py feed numpy arrays
 * through this type, so that their arithmetic is the engine's own
 * (src/mosaic/mosaic.h): same validity rule, same early exit, same output.
 */

/* The library dtype of a buffer from its struct format and item size
 * (numpy exports "B", "h", "<f"...), LC_DTYPE_UNKNOWN for any other. */
static enum lc_dtype buffer_dtype(const Py_buffer *b)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    const char native = '>';
#else
    const char native = '<';
#endif
    const char *f = b->format == NULL ? "B" : b->format;
    if (*f == '@' || *f == '=' || *f == native)
        f++;
    if (f[0] == '\0' || f[1] != '\0')
        return LC_DTYPE_UNKNOWN;
    static const enum lc_dtype signed_by_size[] = {
        LC_DTYPE_INT8, LC_DTYPE_INT16, LC_DTYPE_INT32, LC_DTYPE_INT64};
    static const enum lc_dtype unsigned_by_size[] = {
        LC_DTYPE_UINT8, LC_DTYPE_UINT16, LC_DTYPE_UINT32, LC_DTYPE_UINT64};
    int log2size = b->itemsize == 1   ? 0
                   : b->itemsize == 2 ? 1
                   : b->itemsize == 4 ? 2
                   : b->itemsize == 8 ? 3
                                      : -1;
    if (log2size < 0)
        return LC_DTYPE_UNKNOWN;
    switch (*f) {
    case 'b':
    case 'h':
    case 'i':
    case 'l':
    case 'q':
        return signed_by_size[log2size];
    case 'B':
    case 'H':
    case 'I':
    case 'L':
    case 'Q':
        return unsigned_by_size[log2size];
    case 'f':
        return b->itemsize == 4 ? LC_DTYPE_FLOAT32 : LC_DTYPE_UNKNOWN;
    case 'd':
        return b->itemsize == 8 ? LC_DTYPE_FLOAT64 : LC_DTYPE_UNKNOWN;
    default:
        return LC_DTYPE_UNKNOWN;
    }
}

typedef struct {
    PyObject_HEAD struct lc_mosaic *m;
    enum lc_mosaic_method method;
    enum lc_dtype dtype;
    size_t nbands, height, width;
    uint64_t nfed; /* successful feed() calls (one may feed band by band) */
    bool busy;     /* a call runs without the GIL */
    bool broken;   /* a band-by-band feed failed halfway */
} MosaicObject;

static int mosaic_init(MosaicObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"method", "dtype", "nbands",
                             "height", "width", "exit_when_covered",
                             NULL};
    int method, exit_when_covered = 0;
    const char *dtype_name;
    Py_ssize_t nbands, height, width;
    enum lc_dtype dtype = LC_DTYPE_UNKNOWN;
    struct lc__errbuf err = {0};

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "isnnn|p", kwlist, &method,
                                     &dtype_name, &nbands, &height, &width,
                                     &exit_when_covered))
        return -1;
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Mosaic is in use");
        return -1;
    }
    if (method < 0 || method >= LC_MOSAIC_NMETHODS) {
        PyErr_Format(PyExc_ValueError, "mosaic method %d is not in 0..%d",
                     method, LC_MOSAIC_NMETHODS - 1);
        return -1;
    }
    for (int k = LC_DTYPE_UINT8; k <= LC_DTYPE_FLOAT64; k++)
        if (strcmp(dtype_name, lc_dtype_name((enum lc_dtype)k)) == 0)
            dtype = (enum lc_dtype)k;
    if (dtype == LC_DTYPE_UNKNOWN) {
        PyErr_Format(PyExc_TypeError,
                     "mosaic dtype '%s' is not one of uint8, int8, uint16, "
                     "int16, uint32, int32, uint64, int64, float32, float64",
                     dtype_name);
        return -1;
    }
    if (nbands < 1 || height < 1 || width < 1) {
        PyErr_Format(PyExc_ValueError,
                     "mosaic shape (%zd, %zd, %zd) must be positive", nbands,
                     height, width);
        return -1;
    }
    struct lc__mosaic_options o = {.method = (enum lc_mosaic_method)method,
                                   .dtype = dtype,
                                   .nbands = (size_t)nbands,
                                   .height = (size_t)height,
                                   .width = (size_t)width,
                                   .exit_when_covered = exit_when_covered};
    struct lc_mosaic *m = NULL;
    int status = lc__mosaic_new(&o, &m, &err);
    if (status < 0) {
        lc__publish(&err, status);
        raise_status(status);
        return -1;
    }
    lc__mosaic_free(self->m);
    self->m = m;
    self->method = o.method;
    self->dtype = dtype;
    self->nbands = o.nbands;
    self->height = o.height;
    self->width = o.width;
    self->nfed = 0;
    self->broken = false;
    return 0;
}

static void mosaic_dealloc(MosaicObject *self)
{
    lc__mosaic_free(self->m);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* True when the mosaic may be used now; raises otherwise. Any call that
 * releases the GIL sets busy, so two threads never use it at once. */
static bool mosaic_check_usable(MosaicObject *self)
{
    if (self->m == NULL)
        PyErr_SetString(PyExc_ValueError, "Mosaic is not initialised");
    else if (self->busy)
        PyErr_SetString(PyExc_RuntimeError,
                        "Mosaic is in use by another thread");
    else if (self->broken)
        PyErr_SetString(PyExc_ValueError,
                        "Mosaic is unusable: an earlier feed failed halfway");
    else
        return true;
    return false;
}

/* Feeds nbands planes one by one, each with its own mask plane (the C
 * mosaic takes one mask for all the bands of a feed); *nok_ret counts the
 * bands fed before any error. Runs without the GIL. */
static int feed_band_by_band(struct lc_mosaic *m, struct lc__mosaic_src *src,
                             size_t nbands, size_t plane_nbytes,
                             size_t mask_plane_nbytes, size_t *nok_ret,
                             struct lc__errbuf *err)
{
    const uint8_t *data = src->data;
    const uint8_t *mask = src->mask;

    for (size_t b = 0; b < nbands; b++) {
        src->data = data + b * plane_nbytes;
        src->mask = mask + b * mask_plane_nbytes;
        src->band0 = b;
        src->nbands = 1;
        int status = lc__mosaic_feed(m, src, err);
        if (status < 0)
            return status;
        *nok_ret = b + 1;
    }
    return LC_OK;
}

/* feed(values, valid=None): values a C-contiguous buffer of the mosaic's
 * dtype holding (nbands, height, width) values; valid None (all valid) or
 * a C-contiguous buffer of 1-byte items, non-zero where valid, either
 * (height, width) for every band or (nbands, height, width). */
static PyObject *mosaic_feed(MosaicObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"values", "valid", NULL};
    PyObject *values_obj, *valid_obj = Py_None;
    Py_buffer values, valid = {0};
    bool have_valid = false;
    struct lc__errbuf err = {0};

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O", kwlist, &values_obj,
                                     &valid_obj) ||
        !mosaic_check_usable(self))
        return NULL;
    if (PyObject_GetBuffer(values_obj, &values,
                           PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    size_t plane = self->height * self->width; /* checked by lc__mosaic_new */
    size_t nvalues = plane * self->nbands;
    size_t esize = lc_dtype_nbytes(self->dtype);
    if (buffer_dtype(&values) != self->dtype) {
        PyErr_Format(PyExc_TypeError,
                     "mosaic values have format '%s' (item size %zd), the "
                     "mosaic holds %s",
                     values.format ? values.format : "B", values.itemsize,
                     lc_dtype_name(self->dtype));
        goto fail;
    }
    if ((size_t)values.len != nvalues * esize) {
        PyErr_Format(PyExc_ValueError,
                     "mosaic values hold %zd bytes, not the %zu of (%zu, %zu, "
                     "%zu) %s values",
                     values.len, nvalues * esize, self->nbands, self->height,
                     self->width, lc_dtype_name(self->dtype));
        goto fail;
    }
    if (valid_obj != Py_None) {
        if (PyObject_GetBuffer(valid_obj, &valid, PyBUF_C_CONTIGUOUS) < 0)
            goto fail;
        have_valid = true;
        if (valid.itemsize != 1 ||
            ((size_t)valid.len != plane && (size_t)valid.len != nvalues)) {
            PyErr_Format(PyExc_ValueError,
                         "mosaic validity must be 1-byte items of shape (%zu, "
                         "%zu) or (%zu, %zu, %zu), got %zd bytes",
                         self->height, self->width, self->nbands, self->height,
                         self->width, valid.len);
            goto fail;
        }
    }
    struct lc__mosaic_src src = {.data = values.buf,
                                 .dtype = self->dtype,
                                 .width = self->width,
                                 .height = self->height,
                                 .mask = have_valid ? valid.buf : NULL};
    bool per_band = have_valid && (size_t)valid.len != plane;
    size_t nok = 0;
    int status;
    struct lc_mosaic *m = self->m;
    self->busy = true;
    Py_BEGIN_ALLOW_THREADS status =
        per_band ? feed_band_by_band(m, &src, self->nbands, plane * esize,
                                     plane, &nok, &err)
                 : lc__mosaic_feed(m, &src, &err);
    Py_END_ALLOW_THREADS self->busy = false;
    if (status < 0) {
        self->broken = nok > 0;
        lc__publish(&err, status);
        raise_status(status);
        goto fail;
    }
    self->nfed++;
    PyBuffer_Release(&values);
    if (have_valid)
        PyBuffer_Release(&valid);
    Py_RETURN_NONE;
fail:
    PyBuffer_Release(&values);
    if (have_valid)
        PyBuffer_Release(&valid);
    return NULL;
}

/* get(out, fill): writes the result into out, a writable C-contiguous
 * buffer of (nbands, height, width) values of any library dtype. */
static PyObject *mosaic_get(MosaicObject *self, PyObject *args)
{
    PyObject *out_obj;
    double fill;
    Py_buffer out;
    struct lc__errbuf err = {0};

    if (!PyArg_ParseTuple(args, "Od", &out_obj, &fill) ||
        !mosaic_check_usable(self))
        return NULL;
    if (PyObject_GetBuffer(out_obj, &out,
                           PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) <
        0)
        return NULL;
    enum lc_dtype out_dtype = buffer_dtype(&out);
    size_t nvalues = self->nbands * self->height * self->width;
    if (out_dtype == LC_DTYPE_UNKNOWN) {
        PyErr_Format(PyExc_TypeError,
                     "mosaic output has format '%s' (item size %zd), not a "
                     "numeric dtype of lazycogs",
                     out.format ? out.format : "B", out.itemsize);
        PyBuffer_Release(&out);
        return NULL;
    }
    if ((size_t)out.len != nvalues * lc_dtype_nbytes(out_dtype)) {
        PyErr_Format(PyExc_ValueError,
                     "mosaic output holds %zd bytes, not (%zu, %zu, %zu) "
                     "values of %s",
                     out.len, self->nbands, self->height, self->width,
                     lc_dtype_name(out_dtype));
        PyBuffer_Release(&out);
        return NULL;
    }
    int status;
    struct lc_mosaic *m = self->m;
    self->busy = true;
    Py_BEGIN_ALLOW_THREADS status =
        lc__mosaic_get(m, out_dtype, fill, out.buf, (size_t)out.len, &err);
    Py_END_ALLOW_THREADS self->busy = false;
    PyBuffer_Release(&out);
    if (status < 0) {
        lc__publish(&err, status);
        return raise_status(status);
    }
    Py_RETURN_NONE;
}

static PyObject *mosaic_is_done(MosaicObject *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(self->m != NULL && !self->busy &&
                           lc__mosaic_is_done(self->m));
}

static PyObject *mosaic_nfed(MosaicObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromUnsignedLongLong(self->nfed);
}

static PyObject *mosaic_shape(MosaicObject *self, void *closure)
{
    (void)closure;
    return Py_BuildValue("(nnn)", (Py_ssize_t)self->nbands,
                         (Py_ssize_t)self->height, (Py_ssize_t)self->width);
}

static PyObject *mosaic_dtype(MosaicObject *self, void *closure)
{
    (void)closure;
    return PyUnicode_FromString(lc_dtype_name(self->dtype));
}

static PyObject *mosaic_output_dtype(MosaicObject *self, void *closure)
{
    (void)closure;
    return PyUnicode_FromString(
        lc_dtype_name(lc__mosaic_output_dtype(self->method, self->dtype)));
}

static PyMethodDef mosaic_methods[] = {
    {"feed", (PyCFunction)(void (*)(void))mosaic_feed,
     METH_VARARGS | METH_KEYWORDS,
     "feed(values, valid=None)\n\nFeeds (nbands, height, width) values of "
     "the mosaic's dtype; valid: None (all valid) or 1-byte flags, non-zero "
     "where valid, (height, width) or (nbands, height, width). NaN is never "
     "valid. Runs without the GIL."},
    {"get", (PyCFunction)mosaic_get, METH_VARARGS,
     "get(out, fill)\n\nWrites the result into out ((nbands, height, width) "
     "of any numeric dtype), fill where no value was valid (count: 0). "
     "Runs without the GIL."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef mosaic_getset[] = {
    {"is_done", (getter)mosaic_is_done, NULL,
     "True when no further feed can change the result (lc__mosaic_is_done).",
     NULL},
    {"nfed", (getter)mosaic_nfed, NULL, "Successful feed() calls.", NULL},
    {"shape", (getter)mosaic_shape, NULL, "(nbands, height, width).", NULL},
    {"dtype", (getter)mosaic_dtype, NULL, "dtype of the values fed.", NULL},
    {"output_dtype", (getter)mosaic_output_dtype, NULL,
     "The method's natural output dtype (lc__mosaic_output_dtype).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject MosaicType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lazycogs._ext.Mosaic",
    .tp_basicsize = sizeof(MosaicObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Mosaic(method, dtype, nbands, height, width, "
              "exit_when_covered=False): one C mosaic (src/mosaic/mosaic.h); "
              "method is enum lc_mosaic_method, dtype a numpy dtype name.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)mosaic_init,
    .tp_dealloc = (destructor)mosaic_dealloc,
    .tp_methods = mosaic_methods,
    .tp_getset = mosaic_getset,
};

static PyMethodDef ext_methods[] = {
    {"read_ranges", (PyCFunction)(void (*)(void))ext_read_ranges,
     METH_VARARGS | METH_KEYWORDS,
     "read_ranges(href, ranges, store=None) -> list[bytes]"},
    {"items_json", (PyCFunction)(void (*)(void))ext_items_json,
     METH_VARARGS | METH_KEYWORDS,
     "items_json(href, *, filter, sortby, datetime, bbox, ids, limit, "
     "assets, fields, asset_fields, max_items, geometry, store) -> "
     "(str, int)\n\nThe selected items as JSON lines, and how many items "
     "were loaded."},
    {"catalog_store_info", (PyCFunction)(void (*)(void))ext_catalog_store_info,
     METH_VARARGS | METH_KEYWORDS,
     "catalog_store_info(href, asset=None, store=None) -> dict | None"},
    {"process_stats", ext_process_stats, METH_NOARGS,
     "process_stats() -> dict\n\nRemote-read counters of the process."},
    {"set_block_cache_budget", ext_set_block_cache_budget, METH_O,
     "set_block_cache_budget(nbytes) -> int\n\nSets the block cache's "
     "budget (0 keeps nothing), evicting at once; returns the previous "
     "one."},
    {"block_cache_stats", ext_block_cache_stats, METH_NOARGS,
     "block_cache_stats() -> (int, int)\n\nThe blocks the block cache keeps "
     "and their bytes."},
    {"set_error_factory", ext_set_error_factory, METH_O,
     "set_error_factory(f)\n\nf(status, message) builds exceptions."},
    {"version", ext_version, METH_NOARGS,
     "version() -> int\n\nLC_VERSION_NUMBER of the linked C library."},
    {"version_string", ext_version_string, METH_NOARGS,
     "version_string() -> str\n\nThe C library's version, "
     "'MAJOR.MINOR.PATCH'."},
    {"prepare_geo", ext_prepare_geo, METH_NOARGS,
     "prepare_geo()\n\nOpens PROJ's database for the process (releases the "
     "GIL); lazycogs runs it on a thread at import."},
    {"status_table", ext_status_table, METH_NOARGS,
     "status_table() -> dict[int, tuple[str, str]]\n\n"
     "Every status code with its name and description."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef ext_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "lazycogs._ext",
    .m_doc = "C engine of lazycogs (internal; use the lazycogs package).",
    .m_size = -1,
    .m_methods = ext_methods,
};

PyMODINIT_FUNC PyInit__ext(void);

PyMODINIT_FUNC PyInit__ext(void)
{
    if (PyType_Ready(&CogType) < 0 || PyType_Ready(&StoreType) < 0 ||
        PyType_Ready(&CollectionType) < 0 || PyType_Ready(&MosaicType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&ext_module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "Cog", (PyObject *)&CogType) < 0 ||
        PyModule_AddObjectRef(m, "Store", (PyObject *)&StoreType) < 0 ||
        PyModule_AddObjectRef(m, "Collection", (PyObject *)&CollectionType) <
            0 ||
        PyModule_AddObjectRef(m, "Mosaic", (PyObject *)&MosaicType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    /* The version this module was compiled against; lazycogs/__init__.py
     * compares it with version() of the library actually linked. */
    if (PyModule_AddIntConstant(m, "COMPILED_VERSION_NUMBER",
                                LC_VERSION_NUMBER) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
