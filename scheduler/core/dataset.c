/* dataset.c - dataset URIs (dataset.h). */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dataset.h"

int dag_dataset_uri_check(const char *uri, const char **why) {
  size_t len = strlen(uri);
  if (len == 0) {
    *why = "a dataset URI cannot be empty";
    return -1;
  }
  if (len > DAG_DATASET_URI_MAX) {
    *why = "a dataset URI is at most 3000 characters";
    return -1;
  }
  for (const char *p = uri; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c <= ' ' || c >= 0x7f) {
      *why = "a dataset URI holds printable ASCII only, without spaces (percent-encode the rest)";
      return -1;
    }
  }
  const char *sep = strstr(uri, "://");
  size_t n = sep ? (size_t)(sep - uri) : 0;
  bool scheme_ok = n > 0 && isalpha((unsigned char)uri[0]);
  for (size_t i = 1; scheme_ok && i < n; i++) {
    char c = uri[i];
    scheme_ok = isalnum((unsigned char)c) || c == '+' || c == '-' || c == '.';
  }
  if (!scheme_ok) {
    *why = "a dataset URI starts with a scheme and '://', e.g. warehouse://gold/top_tracks";
    return -1;
  }
  if (sep[3] == '\0') {
    *why = "a dataset URI names something after its scheme";
    return -1;
  }
  if ((n == 7 && strncasecmp(uri, "airflow", 7) == 0) ||
      (n == 6 && strncasecmp(uri, "dagctl", 6) == 0)) {
    *why = "the schemes 'airflow' and 'dagctl' are reserved";
    return -1;
  }
  return 0;
}

void dag_dataset_list_free(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i]);
  free(v);
}
