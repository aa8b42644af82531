/* replay_main.c — run a harness's LLVMFuzzerTestOneInput on files without
 * libFuzzer: replay_X FILE|DIR... Prints one line per directory and ends
 * with "N passed, N failed" (an invariant failure aborts the process). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int passed, failed;

static void run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;
    if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET)) {
        printf("FAIL %s: cannot read\n", path);
        failed++;
        if (f)
            fclose(f);
        return;
    }
    buf = malloc(n ? (size_t)n : 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        printf("FAIL %s: cannot read\n", path);
        failed++;
    } else {
        LLVMFuzzerTestOneInput(buf, (size_t)n);
        passed++;
    }
    free(buf);
    fclose(f);
}

static void run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        printf("FAIL %s: missing\n", path);
        failed++;
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        int before = passed;
        if (!d) {
            printf("FAIL %s: cannot open\n", path);
            failed++;
            return;
        }
        while ((e = readdir(d)) != NULL) {
            char p[4096];
            if (e->d_name[0] == '.')
                continue;
            snprintf(p, sizeof p, "%s/%s", path, e->d_name);
            run_path(p);
        }
        closedir(d);
        printf("ok   %s: %d inputs\n", path, passed - before);
        return;
    }
    run_file(path);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        run_path(argv[i]);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
