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

/* The options that open a collection, shared by `read` and `explain`
 * (read.c). Lists are copies of the command line, split at commas. */
struct cli_collection_args {
    const char *href;
    struct lc_collection_options opts;
    struct lc_store_options store;
    bool any_store_option, has_bbox;
    char *bands_copy, *ids_copy, *roots_copy;
    const char **bands, **ids, **roots;
};

/* Their help text. */
extern const char cli_collection_usage[];

/* Parses argv[*i] when it is a collection or store option: returns 1
 * (consumed, with its value), 0 (not one), or 2 (bad value, printed). */
int cli_parse_collection_option(int argc, char **argv, int *i, const char *cmd,
                                struct cli_collection_args *a);

/* 0 when FILE, --crs, --bbox and --resolution came; else 2, printed. */
int cli_check_collection_args(const char *cmd,
                              const struct cli_collection_args *a);

/* Opens the collection (and the stores the store options describe);
 * returns 0, or 1 after printing the library's message. */
int cli_open_collection(const char *cmd, struct cli_collection_args *a,
                        struct lc_collection **c_ret);

/* Closes the stores and frees the lists. */
void cli_free_collection_args(struct cli_collection_args *a);

/* Parses n comma-separated finite numbers. */
bool cli_parse_numbers(const char *text, double *v, int n);

/* The time step --time names (a label, or a date or instant inside one
 * step): 0 with *t_ret set (0 when want is NULL), 1 when no step or
 * several match (listed on stderr), 2 when want is no date. */
int cli_select_time(const char *cmd, struct lc_collection *c, size_t ntimes,
                    const char *want, size_t *t_ret);

/* `lazycogs read` and `lazycogs explain`: return the exit status. */
int cli_read(int argc, char **argv);
int cli_explain(int argc, char **argv);

#endif /* LC_CLI_H */
