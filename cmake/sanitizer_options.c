/* sanitizer_options.c - the sanitizer runtime's defaults, linked into every
 * executable of a sanitized build (DAGCTL_SANITIZE, DAGCTL_FUZZ) by the
 * top-level CMakeLists.txt. ASAN_OPTIONS still overrides them.
 *
 * intercept_tls_get_addr=0: up to GCC 13 and LLVM 16 the runtime's
 * __tls_get_addr interceptor takes a dynamic TLS block whose address is
 * 16 mod 4096 for one with a glibc 2.19 header, and records the two words
 * before it (the allocator's own chunk header) as the block's start and
 * size. Since glibc 2.25 there is no such header: the blocks come from
 * malloc, so one of them lands there whenever the count of earlier small
 * allocations says so. At exit LeakSanitizer's tracer then scans that bogus
 * range and dies ("Tracer caught signal 11"), killing the process with
 * SIGABRT after a clean run. A `dagctl __task` child meets it whenever the
 * plugin it dlopen()s brings a library with thread-local variables (libcurl
 * -> gnutls, p11-kit). Upstream: google/sanitizers#1322, fixed in LLVM 17.
 *
 * Leak detection loses nothing: LeakSanitizer treats every block the
 * dynamic loader allocates (the dynamic TLS blocks among them) as a root
 * and scans it, so pointers held only in thread-local variables keep their
 * targets reachable, and anything else that is lost is still reported. */

const char *__asan_default_options(void);

__attribute__((used, visibility("default"))) const char *__asan_default_options(void) {
  return "intercept_tls_get_addr=0";
}
