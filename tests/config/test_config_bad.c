/* tests/config/test_config_bad.c: every bad configuration fails, on every rank, with its expected message.
   Each fixture states what it expects in header comments:
     ; expect: <fragment of the error message, usually "name.ini:line: message">   (one or more)
     ; override: <section.key=value>                                               (zero or more)
   Usage: test_config_bad BAD_DIR fixture.ini ...
   Also checks a missing file and a directory given as the config. A failed parse leaks by design (PETSc
   errors have no clean-up path), so this test does not run with -malloc_dump. */
#include <string.h>
#include "mc/config.h"
#include "mc/sys.h"

#define MAX_ITEMS 8

typedef struct {
  PetscBool      have;
  PetscErrorCode code;
  char           msg[4096];
} Capture;

/* Keep the message of the error where it was raised; stay silent. */
static PetscErrorCode capture(MPI_Comm comm, int line, const char *fun, const char *file, PetscErrorCode n, PetscErrorType p, const char *mess, void *ctx)
{
  Capture *c = (Capture *)ctx;

  if (p == PETSC_ERROR_INITIAL && !c->have) {
    c->have = PETSC_TRUE;
    c->code = n;
    snprintf(c->msg, sizeof(c->msg), "%s", mess ? mess : "");
  }
  return n;
}

/* Read the "; expect:" and "; override:" header lines of a fixture (every rank reads it: tests only). */
static PetscErrorCode read_expectations(const char *path, int *n_expect, char expect[][1024], int *n_over, char over[][1024])
{
  FILE *fp = fopen(path, "r");
  char  line[1024];

  PetscFunctionBeginUser;
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open fixture %s", path);
  *n_expect = *n_over = 0;
  while (fgets(line, sizeof(line), fp)) {
    size_t n = strlen(line);

    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    if (!strncmp(line, "; expect: ", 10) && *n_expect < MAX_ITEMS) snprintf(expect[(*n_expect)++], 1024, "%s", line + 10);
    else if (!strncmp(line, "; override: ", 12) && *n_over < MAX_ITEMS) snprintf(over[(*n_over)++], 1024, "%s", line + 12);
  }
  fclose(fp);
  PetscCheck(*n_expect > 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "fixture %s has no '; expect:' line", path);
  PetscFunctionReturn(0);
}

/* Run mc_config_load and require failure with every fragment in rank 0's message. */
static PetscErrorCode expect_failure(const char *path, int n_over, const char *const over[], int n_expect, char expect[][1024], PetscErrorCode want_code, int *n_failed)
{
  Capture        cap = {PETSC_FALSE, 0, ""};
  MCConfig      *cfg = NULL;
  PetscErrorCode ierr;
  PetscMPIInt    rank;
  int            ok = 1, all_ok;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCall(PetscPushErrorHandler(capture, &cap));
  ierr = mc_config_load(PETSC_COMM_WORLD, path, n_over, over, &cfg);
  PetscCall(PetscPopErrorHandler());
  if (!ierr) {
    ok = 0;
    PetscCall(mc_config_destroy(&cfg));
    fprintf(stderr, "[rank %d] FAIL %s: parsed without error\n", rank, path);
  } else if (rank == 0) {
    for (int i = 0; i < n_expect; ++i) {
      if (!strstr(cap.msg, expect[i])) {
        ok = 0;
        fprintf(stderr, "FAIL %s:\n  message:  %s\n  expected: %s\n", path, cap.msg, expect[i]);
      }
    }
    if (cap.code != want_code) {
      ok = 0;
      fprintf(stderr, "FAIL %s: error code %d, expected %d (message: %s)\n", path, (int)cap.code, (int)want_code, cap.msg);
    }
  }
  PetscCallMPI(MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, PETSC_COMM_WORLD));
  if (!all_ok) ++*n_failed;
  else PetscCall(PetscPrintf(PETSC_COMM_WORLD, "ok   %s: %s\n", strrchr(path, '/') ? strrchr(path, '/') + 1 : path, cap.msg));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  char        expect[MAX_ITEMS][1024], over[MAX_ITEMS][1024], path[PETSC_MAX_PATH_LEN];
  const char *over_p[MAX_ITEMS];
  int         n_expect, n_over, n_failed = 0;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCheck(argc >= 3, PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT, "usage: test_config_bad BAD_DIR fixture.ini ...");
  for (int f = 2; f < argc; ++f) {
    if (argv[f][0] == '-') continue; /* a PETSc option */
    PetscCall(read_expectations(argv[f], &n_expect, expect, &n_over, over));
    for (int i = 0; i < n_over; ++i) over_p[i] = over[i];
    PetscCall(expect_failure(argv[f], n_over, over_p, n_expect, expect, PETSC_ERR_USER_INPUT, &n_failed));
  }

  /* A missing file and a directory: rank 0 finds out, every rank fails. */
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/does-not-exist.ini", argv[1]));
  PetscCall(PetscSNPrintf(expect[0], sizeof(expect[0]), "cannot open config file '%s': No such file or directory", path));
  PetscCall(expect_failure(path, 0, NULL, 1, expect, PETSC_ERR_FILE_OPEN, &n_failed));
  PetscCall(PetscSNPrintf(expect[0], sizeof(expect[0]), "config file '%s' is a directory, not an INI file", argv[1]));
  PetscCall(expect_failure(argv[1], 0, NULL, 1, expect, PETSC_ERR_FILE_OPEN, &n_failed));

  PetscCheck(n_failed == 0, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%d bad-config case(s) failed", n_failed);
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "test_config_bad: %d fixtures and 2 file errors fail as expected\n", argc - 2));
  PetscCall(PetscFinalize());
  return 0;
}
