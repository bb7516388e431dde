/* x86_internal.h - SIMD kernels for x86-64; each has a portable C
 * reference in the module that calls it (STYLE rule 23). */
/* SPDX-License-Identifier: MIT */
#ifndef LC_X86_INTERNAL_H
#define LC_X86_INTERNAL_H

#include "../common/common.h"

#if defined(__x86_64__) || defined(_M_X64)
#define LC_HAVE_X86_KERNELS 1

/*
 * TIFF predictor 2 undone on one row of n 16-bit samples of one channel
 * (in native byte order): each sample adds the one before it, mod 2^16.
 * SSE2, which every x86-64 processor has.
 */
void lc__x86_hor_acc16_sse2(uint8_t *row, size_t n);
#endif

#endif
