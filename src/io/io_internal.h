/* io_internal.h - constructors of the io backends, used by io.c. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_IO_INTERNAL_H
#define LC_IO_INTERNAL_H

#include "io.h"

/* A local path or file:// URL, read with pread. */
int lc__io_open_file(const char *href, const struct lc_allocator *alloc,
                     struct lc__io **io_ret, struct lc__errbuf *err);

/* The path a local path or file:// URL names (percent-decoded), into path
 * (path_cap bytes). LC_EINVAL for a remote file:// host or a bad escape. */
int lc__file_href_to_path(const char *href, char *path, size_t path_cap,
                          struct lc__errbuf *err);

#endif /* LC_IO_INTERNAL_H */
