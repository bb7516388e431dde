/* cli.h - what the files of the `lazycogs` command share. */
/* SPDX-License-Identifier: MIT */
#ifndef LC_CLI_H
#define LC_CLI_H

#include "../common/common.h"

/* Store options shared by every command that reads: returns 1 when
 * argv[*i] (and maybe its value) was one, 0 when not, -1 on a bad value. */
int cli_parse_store_option(int argc, char **argv, int *i,
                           struct lc_store_options *o, bool *any);

/* The help text of the store options. */
extern const char cli_store_usage[];

/* `lazycogs items`: returns the exit status. */
int cli_items(int argc, char **argv);

#endif /* LC_CLI_H */
