/* tests/fuzz/harness.c: PETSc start-up and scratch files for the fuzzing harnesses. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "harness.h"
#include "mc/sys.h"

/* Errors are answers, not findings: returned quietly, or printed (first line only) with MC_FUZZ_VERBOSE=1. */
static PetscErrorCode quiet(MPI_Comm comm, int line, const char *fun, const char *file, PetscErrorCode n, PetscErrorType p, const char *mess, void *ctx)
{
  const char *v = getenv("MC_FUZZ_VERBOSE");

  if (v && v[0] == '1' && p == PETSC_ERROR_INITIAL && mess && mess[0]) fprintf(stderr, "refused: %s\n", mess ? mess : "(no message)");
  return n;
}

/* Test-harness state, not program state: the counts of one process's inputs. */
static long n_accepted, n_refused;

void mc_fuzz_outcome(int accepted)
{
  if (accepted) ++n_accepted;
  else ++n_refused;
}

void mc_fuzz_counts(long *accepted, long *refused)
{
  *accepted = n_accepted;
  *refused  = n_refused;
}

int mc_fuzz_start(void)
{
  PetscBool started = PETSC_FALSE;

  static char  name[] = "fuzz", nosig[] = "-no_signal_handler";
  static char *args[] = {name, nosig, NULL};
  char       **argv   = args;
  int          argc   = 2;

  if (PetscInitialized(&started) || started) return 0;
  /* Crashes belong to the sanitizer (and libFuzzer), not to PETSc's signal handler. */
  if (PetscInitialize(&argc, &argv, NULL, NULL)) abort();
  if (PetscPushErrorHandler(quiet, NULL)) abort();
  return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  return mc_fuzz_start();
}

/* This process's scratch directory (made once). */
static const char *scratch(void)
{
  static char dir[PETSC_MAX_PATH_LEN];

  if (!dir[0]) {
    const char *tmp = getenv("TMPDIR");

    snprintf(dir, sizeof(dir), "%s/mc-fuzz-%d", tmp && tmp[0] ? tmp : "/tmp", (int)getpid());
    if (mkdir(dir, 0700) && access(dir, W_OK)) {
      dir[0] = '\0';
      return NULL;
    }
  }
  return dir;
}

const char *mc_fuzz_dir(const char *name)
{
  static char path[PETSC_MAX_PATH_LEN + 128];
  const char *dir = scratch();

  if (!dir) return NULL;
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  return mkdir(path, 0700) && access(path, W_OK) ? NULL : path;
}

const char *mc_fuzz_file(const char *name, const uint8_t *data, size_t size)
{
  static char path[PETSC_MAX_PATH_LEN + 128];
  const char *dir = scratch();
  FILE       *fp;

  if (!dir) return NULL;
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  fp = fopen(path, "wb");
  if (!fp) return NULL;
  if (size && fwrite(data, 1, size, fp) != size) {
    fclose(fp);
    return NULL;
  }
  return fclose(fp) ? NULL : path;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void)remove(path);
  return 0;
}

void mc_fuzz_cleanup(void)
{
  const char *dir = scratch();

  if (dir) (void)nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}
