/* tests/fuzz/replay.c: run a harness once over every file of the given files and directories (no libFuzzer
   needed): the seed corpus as a regression test, in the normal and the sanitizer build. Prints how many
   inputs ran and how the reader answered; a crash ends the process (and fails the test), and so does a
   corpus of which no input is accepted. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "harness.h"

static int run_file(const char *path)
{
  FILE    *fp = fopen(path, "rb");
  uint8_t *buf;
  long     n;

  if (!fp) return 1;
  if (fseek(fp, 0, SEEK_END) || (n = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET)) {
    fclose(fp);
    return 1;
  }
  buf = malloc((size_t)n + 1);
  if (!buf || fread(buf, 1, (size_t)n, fp) != (size_t)n) {
    free(buf);
    fclose(fp);
    return 1;
  }
  fclose(fp);
  LLVMFuzzerTestOneInput(buf, (size_t)n);
  free(buf);
  return 0;
}

int main(int argc, char **argv)
{
  long ran = 0, failed = 0, accepted = 0, refused = 0;

  mc_fuzz_start();
  for (int a = 1; a < argc; ++a) {
    struct stat st;

    if (stat(argv[a], &st)) {
      fprintf(stderr, "replay: cannot read %s\n", argv[a]);
      return 2;
    }
    if (S_ISDIR(st.st_mode)) {
      DIR           *d = opendir(argv[a]);
      struct dirent *e;

      while (d && (e = readdir(d))) {
        char p[4096];

        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof(p), "%s/%s", argv[a], e->d_name);
        if (run_file(p)) ++failed;
        else ++ran;
      }
      if (d) closedir(d);
    } else if (run_file(argv[a])) ++failed;
    else ++ran;
  }
  mc_fuzz_counts(&accepted, &refused);
  mc_fuzz_cleanup();
  printf("replay: %ld inputs run (%ld accepted, %ld refused by the reader), %ld unreadable\n", ran, accepted, refused, failed);
  PetscFinalize();
  /* Every corpus holds valid seeds: none accepted means the harness does not reach the reader. */
  return failed || ran == 0 || accepted == 0 ? 1 : 0;
}
