/* dtype.c - sizes and names of the pixel data types. */
/* SPDX-License-Identifier: MIT */
#include "common.h"

size_t lc_dtype_nbytes(enum lc_dtype dtype)
{
    switch (dtype) {
    case LC_DTYPE_UINT8:
    case LC_DTYPE_INT8:
        return 1;
    case LC_DTYPE_UINT16:
    case LC_DTYPE_INT16:
        return 2;
    case LC_DTYPE_UINT32:
    case LC_DTYPE_INT32:
    case LC_DTYPE_FLOAT32:
        return 4;
    case LC_DTYPE_UINT64:
    case LC_DTYPE_INT64:
    case LC_DTYPE_FLOAT64:
        return 8;
    case LC_DTYPE_UNKNOWN:
        return 0;
    }
    return 0;
}

const char *lc_dtype_name(enum lc_dtype dtype)
{
    switch (dtype) {
    case LC_DTYPE_UINT8:
        return "uint8";
    case LC_DTYPE_INT8:
        return "int8";
    case LC_DTYPE_UINT16:
        return "uint16";
    case LC_DTYPE_INT16:
        return "int16";
    case LC_DTYPE_UINT32:
        return "uint32";
    case LC_DTYPE_INT32:
        return "int32";
    case LC_DTYPE_UINT64:
        return "uint64";
    case LC_DTYPE_INT64:
        return "int64";
    case LC_DTYPE_FLOAT32:
        return "float32";
    case LC_DTYPE_FLOAT64:
        return "float64";
    case LC_DTYPE_UNKNOWN:
        return "unknown";
    }
    return "unknown";
}
