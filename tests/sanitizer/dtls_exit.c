/* dtls_exit.c DTLS_MODULE - a sanitized process whose dynamic TLS block
 * sits 16 bytes past a 4 KiB boundary must still exit cleanly through
 * LeakSanitizer. The sanitizer runtime of GCC <= 13 and LLVM <= 16 takes
 * such a block for one with a glibc 2.19 header and its tracer then dies
 * at exit (cmake/sanitizer_options.c says why and how it is avoided).
 *
 * The block is put there on purpose rather than by luck: small chunks are
 * allocated until one lands on the spot, which is freed again; with the
 * quarantines off (ASAN_OPTIONS quarantine_size_mb=0 and
 * thread_local_quarantine_size_kb=0, set by ctest) the allocator hands the
 * same chunk to the next allocation of its size, which is the dynamic
 * loader's malloc() of the module's TLS block. The variable then holds the
 * only pointer to a heap block, which the leak check must find reachable
 * (a dynamic TLS block is one of its roots). Exits 0 when
 * the leak check passes, 1 when the setup did not happen as planned; the
 * runtime aborts the process when the defect strikes. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Chunks of this size are 32 bytes apart: one in 128 is on the spot. */
#define MAX_CHUNKS 100000

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: dtls_exit DTLS_MODULE\n");
    return 2;
  }
  void *mod = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (mod == NULL) {
    fprintf(stderr, "dtls_exit: %s\n", dlerror());
    return 1;
  }
  void **(*var)(void) = (void **(*)(void))dlsym(mod, "dtls_module_var");
  if (var == NULL) {
    fprintf(stderr, "dtls_exit: %s\n", dlerror());
    return 1;
  }
  void **held = calloc(MAX_CHUNKS, sizeof(*held)); /* owned, freed below */
  void *spot = NULL;
  size_t n = 0;
  while (held != NULL && n < MAX_CHUNKS) {
    void *p = malloc(sizeof(void *)); /* the size of the module's TLS block */
    if (p != NULL && (uintptr_t)p % 4096 == 16) {
      spot = p;
      break;
    }
    held[n++] = p;
  }
  int rc = 0;
  if (spot == NULL) {
    fprintf(stderr, "dtls_exit: no chunk at 16 mod 4096 in %zu allocations\n", n);
    rc = 1;
  } else {
    uintptr_t at = (uintptr_t)spot; /* compared, never used once freed */
    free(spot);
    void **v = var(); /* the first use: the loader allocates the block now */
    *v = malloc(100); /* owned by the thread's variable, never freed */
    if ((uintptr_t)v != at) {
      fprintf(stderr, "dtls_exit: the TLS block is at %#jx, not at %#jx: nothing was checked\n",
              (uintmax_t)(uintptr_t)v, (uintmax_t)at);
      rc = 1;
    }
  }
  for (size_t i = 0; i < n; i++) free(held[i]);
  free(held);
  return rc;
}
