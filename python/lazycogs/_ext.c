/* _ext.c - the CPython extension module lazycogs._ext over liblazycogs. */
/* SPDX-License-Identifier: MIT */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "lazycogs.h"

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

static PyMethodDef ext_methods[] = {
    {"version", ext_version, METH_NOARGS,
     "version() -> int\n\nLC_VERSION_NUMBER of the linked C library."},
    {"version_string", ext_version_string, METH_NOARGS,
     "version_string() -> str\n\nThe C library's version, "
     "'MAJOR.MINOR.PATCH'."},
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
    PyObject *m = PyModule_Create(&ext_module);
    if (m == NULL)
        return NULL;
    /* The version this module was compiled against; lazycogs/__init__.py
     * compares it with version() of the library actually linked. */
    if (PyModule_AddIntConstant(m, "COMPILED_VERSION_NUMBER",
                                LC_VERSION_NUMBER) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
