/* fuzz_cql2_json.c - libFuzzer target for the CQL2-JSON parser alone: the
 * same checks as fuzz_cql2.c, with a corpus of JSON documents, so that
 * mutations are spent on JSON rather than on text. */
/* SPDX-License-Identifier: MIT */
#define LC_FUZZ_CQL2_JSON_ONLY
#include "fuzz_cql2.c"
