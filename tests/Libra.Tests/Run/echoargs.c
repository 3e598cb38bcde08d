// echoargs: each argument as hex bytes, one line each, then stdin copied to stdout and its length;
// the run command tests compile it (gcc -static) to see argv and stdin byte for byte.
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        printf("arg %d:", i);
        for (unsigned char *p = (unsigned char *)argv[i]; *p; p++) printf(" %02x", *p);
        printf("\n");
    }
    char buffer[4096];
    ssize_t n;
    long total = 0;
    fflush(stdout);
    while ((n = read(0, buffer, sizeof buffer)) > 0) { write(1, buffer, n); total += n; }
    printf("stdin: %ld bytes, end %s\n", total, n == 0 ? "of file" : "error");
    return 0;
}
