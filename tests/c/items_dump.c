/* items_dump.c - `lazycogs items` under the name the item tests use. */
/* SPDX-License-Identifier: MIT */
/*
 * The STAC item oracles (tests/python/test_stac_*_oracle.py) were written
 * against this name while the CLI command was being written; it runs
 * `lazycogs items ARGS...`, whose output is the dump format.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    char **args = calloc((size_t)argc + 2, sizeof *args);
    if (args == NULL)
        return 1;
    args[0] = (char *)LC_CLI_PATH;
    args[1] = (char *)"items";
    for (int i = 1; i < argc; i++)
        args[i + 1] = argv[i];
    execv(LC_CLI_PATH, args);
    perror("items_dump: " LC_CLI_PATH);
    return 1;
}
