// dlopen: a static program that loads a shared library at run time (glibc's static dlopen) and
// calls into it; ImageRunTests puts it in an image with and without `image -Library libz.so.1`.
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "libz.so.1";
    void *library = dlopen(name, RTLD_NOW);
    if (!library) { printf("dlopen %s: %s\n", name, dlerror()); return 1; }
    const char *(*version)(void) = (const char *(*)(void))dlsym(library, "zlibVersion");
    printf("dlopen %s: ok, zlibVersion %s\n", name, version ? version() : "(none)");
    return 0;
}
