/* tests/fuzz/fuzz_config.c: the INI parser and the command-line overrides. The input is the config text,
   optionally followed by a line "--" and one override (key=value) per line. */
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "mc/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char       *text = malloc(size + 1), *sep, *over[16];
  int         n_over = 0;
  MCConfig   *cfg    = NULL;

  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  if ((sep = strstr(text, "\n--\n"))) {
    char *line = sep + 4, *save = NULL;

    *sep = '\0';
    for (char *t = strtok_r(line, "\n", &save); t && n_over < 16; t = strtok_r(NULL, "\n", &save)) over[n_over++] = t;
  }
  if (!mc_config_parse(PETSC_COMM_SELF, "fuzz.ini", text, n_over, (const char *const *)over, &cfg)) {
    mc_fuzz_outcome(1);
    mc_config_destroy(&cfg);
  } else mc_fuzz_outcome(0);
  free(text);
  return 0;
}
