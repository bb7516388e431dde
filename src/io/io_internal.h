/* io_internal.h - constructors of the io backends, used by io.c. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_IO_INTERNAL_H
#define LC_IO_INTERNAL_H

#include "io.h"

/* A local path or file:// URL, read with pread. */
int lc__io_open_file(const char *href, const struct lc_allocator *alloc,
                     struct lc__io **io_ret, struct lc__errbuf *err);

#endif /* LC_IO_INTERNAL_H */
