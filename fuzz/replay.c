/* replay.c - runs a libFuzzer target over files and directories of inputs,
 * so checked-in corpora replay as ordinary CTest tests with any compiler. */
/* SPDX-License-Identifier: MIT */
#include "../src/common/common.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (buf == NULL) {
            fclose(fp);
            return -1;
        }
        n += fread(buf + n, 1, cap - n, fp);
        if (n < cap)
            break;
        cap *= 2;
        uint8_t *bigger = realloc(buf, cap);
        if (bigger == NULL)
            free(buf);
        buf = bigger;
    }
    fclose(fp);
    /* Exactly n bytes, so ASan sees a read past the input. */
    uint8_t *exact = malloc(n == 0 ? 1 : n);
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

int main(int argc, char **argv)
{
    int nfiles = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: no such file: %s\n", argv[i]);
            return EXIT_FAILURE;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (run_file(argv[i]) != 0)
                return EXIT_FAILURE;
            nfiles++;
            continue;
        }
        DIR *dir = opendir(argv[i]);
        if (dir == NULL)
            return EXIT_FAILURE;
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            char path[4096];
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
            if (run_file(path) != 0) {
                closedir(dir);
                return EXIT_FAILURE;
            }
            nfiles++;
        }
        closedir(dir);
    }
    printf("replayed %d input(s)\n", nfiles);
    /* An empty corpus would make the test pass without testing. */
    return nfiles > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
