/* src/io/records.c: task records, the files a long stage keeps its finished tasks in (the clusterability
   checkpoint): small text files of "<tag> <index> <hex float>" lines, written through a temporary file and
   rename(), so a reader never sees half a file, and found again by their common prefix. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mc/io.h"

PetscErrorCode mc_io_records_write(const char *path, const char *header, PetscInt n, const char tags[], const PetscInt index[], const PetscReal value[], int *err)
{
  char  tmp[PETSC_MAX_PATH_LEN + 16];
  FILE *fp;

  PetscFunctionBeginUser;
  *err = 0;
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp", path));
  fp = fopen(tmp, "w");
  if (!fp) {
    *err = errno ? errno : EIO;
    PetscFunctionReturn(0);
  }
  fprintf(fp, "%s\n", header);
  /* Hex floats keep every bit. */
  for (PetscInt i = 0; i < n; ++i) fprintf(fp, "%c %" PetscInt_FMT " %a\n", tags[i], index[i], (double)value[i]);
  if (ferror(fp)) *err = errno ? errno : EIO;
  if (fclose(fp) != 0 && !*err) *err = errno ? errno : EIO;
  if (!*err && rename(tmp, path) != 0) *err = errno ? errno : EIO;
  if (*err) (void)remove(tmp);
  PetscFunctionReturn(0);
}

/* The records of one file; malformed lines (and the header) are skipped. */
static void read_file(const char *path, MCRecordFn *fn, void *ctx)
{
  FILE *fp = fopen(path, "r");
  char  line[256];

  if (!fp) return;
  while (fgets(line, sizeof(line), fp)) {
    char  *end, *end2;
    long   idx;
    double v;

    if (!line[0] || line[1] != ' ') continue;
    idx = strtol(line + 2, &end, 10);
    if (end == line + 2 || idx < 0) continue;
    v = strtod(end, &end2);
    if (end2 == end) continue;
    fn(ctx, line[0], (PetscInt)idx, (PetscReal)v);
  }
  fclose(fp);
}

/* Visit the files <prefix>.* other than the lock (<prefix>.lock): read them (fn != NULL), or remove them
   and the temporary ones, keeping <prefix>.<keep> (keep may be NULL). */
static PetscErrorCode visit(const char *prefix, MCRecordFn *fn, void *ctx, const char *keep)
{
  char           dir[PETSC_MAX_PATH_LEN], base[PETSC_MAX_PATH_LEN], path[2 * PETSC_MAX_PATH_LEN + 2];
  const char    *slash = strrchr(prefix, '/');
  size_t         nb;
  DIR           *d;
  struct dirent *e;

  PetscFunctionBeginUser;
  if (slash) {
    size_t n = (size_t)(slash - prefix);

    if (n == 0) n = 1; /* "/name": the root directory */
    PetscCall(PetscSNPrintf(dir, sizeof(dir), "%.*s", (int)n, prefix));
    PetscCall(PetscSNPrintf(base, sizeof(base), "%s.", slash + 1));
  } else {
    PetscCall(PetscStrncpy(dir, ".", sizeof(dir)));
    PetscCall(PetscSNPrintf(base, sizeof(base), "%s.", prefix));
  }
  nb = strlen(base);
  d  = opendir(dir);
  if (!d) PetscFunctionReturn(0);
  while ((e = readdir(d))) {
    size_t    len = strlen(e->d_name);
    PetscBool tmp = len >= 4 && !strcmp(e->d_name + len - 4, ".tmp") ? PETSC_TRUE : PETSC_FALSE;

    if (strncmp(e->d_name, base, nb) != 0) continue;
    if (!strcmp(e->d_name + nb, "lock")) continue; /* its owner removes it */
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    if (fn) {
      if (!tmp) read_file(path, fn, ctx);
    } else if (tmp || !keep || strcmp(e->d_name + nb, keep) != 0) (void)unlink(path);
  }
  closedir(d);
  PetscFunctionReturn(0);
}

PetscErrorCode mc_io_records_read(const char *prefix, MCRecordFn *fn, void *ctx)
{
  PetscFunctionBeginUser;
  PetscCall(visit(prefix, fn, ctx, NULL));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_io_records_remove(const char *prefix, const char *keep)
{
  PetscFunctionBeginUser;
  PetscCall(visit(prefix, NULL, NULL, keep));
  PetscFunctionReturn(0);
}
