/* dtls_module.c - a module with a thread-local variable, for dtls_exit.c.
 * Loaded with dlopen(), its TLS block is dynamic: glibc allocates it with
 * malloc() at the variable's first use in a thread. */
void **dtls_module_var(void);

static __thread void *var;

/* The variable's address in the calling thread (owned by that thread). */
__attribute__((visibility("default"))) void **dtls_module_var(void) {
  return &var;
}
