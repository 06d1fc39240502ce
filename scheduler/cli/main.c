/* main.c - the dagctl command line: global flags, then one verb. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "version") == 0) {
    printf("dagctl %s\n", DAGCTL_VERSION);
    return 0;
  }
  fprintf(stderr, "usage: dagctl VERB ...\n");
  return 2;
}
