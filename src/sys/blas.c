/* src/sys/blas.c: the CPU's own BLAS kernels on every machine.

   Debian 12's OpenBLAS (0.3.21, built with DYNAMIC_ARCH) picks its kernels when the library loads, from
   the CPU it recognises; a CPU newer than the library (Sapphire Rapids and later) gets the generic
   "Prescott" SSE3 kernels, 3-4x slower. OpenBLAS reads OPENBLAS_CORETYPE only at load time, before main
   runs, so setting it from inside the program is too late: the one mechanism that works for every program
   and every launcher (mpiexec, srun, a shell) is to set it and replace the process image with itself
   (execv of /proc/self/exe, same pid, same arguments), before MPI or PETSc start. A core type that the
   user or the administrator set is never overridden, and MC_BLAS_AUTO=0 turns the whole check off.
   No C library call here needs MPI or PETSc. */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "mc/sys.h"

/* Set in the environment of the re-executed image: the core type we chose (also the loop guard). */
#define MC_BLAS_CHOSEN "MC_BLAS_CORETYPE_CHOSEN"

typedef char *CoreNameFn(void);

/* An environment variable's value, NULL when unset or empty. */
static const char *env(const char *name)
{
  const char *v = getenv(name);

  return v && v[0] ? v : NULL;
}

/* OpenBLAS's own report of its kernel, or NULL when the linked BLAS is not OpenBLAS. The test hook
   MC_TEST_BLAS_CORENAME pretends another answer (a fallback this CPU never shows), only before any
   re-execution. */
static const char *blas_corename(PetscBool pretend)
{
  CoreNameFn *fn   = (CoreNameFn *)dlsym(RTLD_DEFAULT, "openblas_get_corename");
  const char *fake = env("MC_TEST_BLAS_CORENAME");

  if (!fn) return NULL;
  if (pretend && fake) return fake;
  return fn();
}

/* Vector width of an OpenBLAS x86-64 kernel: 3 AVX-512, 2 AVX2, 1 AVX, 0 SSE (and anything unknown). */
static int core_level(const char *core)
{
  static const char *const avx512[] = {"skylakex", "cooperlake", "sapphirerapids"};
  static const char *const avx2[]   = {"haswell", "zen", "excavator"};
  static const char *const avx[]    = {"sandybridge", "bulldozer", "piledriver", "steamroller"};

  for (size_t i = 0; i < sizeof(avx512) / sizeof(avx512[0]); ++i)
    if (!strcasecmp(core, avx512[i])) return 3;
  for (size_t i = 0; i < sizeof(avx2) / sizeof(avx2[0]); ++i)
    if (!strcasecmp(core, avx2[i])) return 2;
  for (size_t i = 0; i < sizeof(avx) / sizeof(avx[0]); ++i)
    if (!strcasecmp(core, avx[i])) return 1;
  return 0;
}

/* The best OpenBLAS core type this CPU runs, by its instruction sets; NULL when SSE is all there is (or the
   machine is not x86-64). */
static const char *cpu_best_core(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return __builtin_cpu_is("amd") ? "Zen" : "Haswell";
  if (__builtin_cpu_supports("avx")) return "Sandybridge";
#endif
  return NULL;
}

void mc_sys_blas_prepare(char **argv)
{
  const char *auto_ = env("MC_BLAS_AUTO"), *core, *best;

  if ((auto_ && !strcmp(auto_, "0")) || env(MC_BLAS_CHOSEN) || env("OPENBLAS_CORETYPE")) return;
  core = blas_corename(PETSC_TRUE);
  best = cpu_best_core();
  if (!core || !best || core_level(core) >= core_level(best)) return;
  /* The library fell back below what the CPU runs: load it again with the CPU's kernels. */
  if (setenv("OPENBLAS_CORETYPE", best, 1) || setenv(MC_BLAS_CHOSEN, core, 1)) return;
  execv("/proc/self/exe", argv);
  /* Still here: exec failed. Undo, so the report says what happened. */
  unsetenv("OPENBLAS_CORETYPE");
  setenv(MC_BLAS_CHOSEN, "exec-failed", 1);
}

/* The state of the BLAS kernels: *state 0 = the CPU's best (or nothing to say), 1 = fixed by us, 2 = weaker
   than the CPU runs and left so (set by the user, or the fix failed). */
static void blas_state(const char **core, const char **best, const char **fallback, int *state)
{
  const char *chosen = env(MC_BLAS_CHOSEN);

  *core     = blas_corename(PETSC_FALSE);
  *best     = cpu_best_core();
  *fallback = chosen;
  *state    = 0;
  if (!*core) return;
  if (*best && core_level(*core) < core_level(*best)) *state = 2;
  else if (chosen && strcmp(chosen, "exec-failed")) *state = 1;
}

void mc_sys_blas_describe(char *buf, size_t n)
{
  const char *core, *best, *fallback, *user = env("OPENBLAS_CORETYPE");
  CoreNameFn *config = (CoreNameFn *)dlsym(RTLD_DEFAULT, "openblas_get_config");
  char        name[64] = "OpenBLAS";
  int         state;

  blas_state(&core, &best, &fallback, &state);
  if (!core) {
    snprintf(buf, n, "a BLAS other than OpenBLAS (its own kernel choice)");
    return;
  }
  /* "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ...": the name and version. */
  if (config) {
    const char *c = config();
    int         words = 0;
    size_t      len   = 0;

    while (c[len] && !(c[len] == ' ' && ++words == 2)) ++len;
    snprintf(name, sizeof(name), "%.*s", (int)len, c);
  }
  if (state == 1) snprintf(buf, n, "%s, kernels %s (OPENBLAS_CORETYPE=%s set by modclust: the library had chosen %s)", name, core, user ? user : "?", fallback);
  else if (user && !fallback) snprintf(buf, n, "%s, kernels %s (OPENBLAS_CORETYPE=%s set by the user)", name, core, user);
  else snprintf(buf, n, "%s, kernels %s (the library's choice)", name, core);
}

PetscErrorCode mc_sys_blas_check(MPI_Comm comm)
{
  const char *core, *best, *fallback;
  int         state;
  char        what[256];
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  blas_state(&core, &best, &fallback, &state);
  mc_sys_blas_describe(what, sizeof(what));
  PetscCall(PetscInfo(NULL, "BLAS: %s; this CPU runs %s kernels\n", what, best ? best : "SSE"));
  if (state == 2 && rank == 0) {
    if (env("OPENBLAS_CORETYPE") && !fallback)
      PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr,
                             "warning: OPENBLAS_CORETYPE=%s (set in the environment) runs OpenBLAS's %s kernels on a CPU that runs %s ones: dense algebra is up to 4x slower; unset it or set OPENBLAS_CORETYPE=%s\n",
                             env("OPENBLAS_CORETYPE"), core, best, best));
    else
      PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr,
                             "warning: OpenBLAS runs its %s kernels on a CPU that runs %s ones: dense algebra is up to 4x slower; set OPENBLAS_CORETYPE=%s in the job's environment\n",
                             core, best, best));
  }
  PetscFunctionReturn(0);
}
