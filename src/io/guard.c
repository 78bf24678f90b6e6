/* src/io/guard.c: the guards of a read. A size read from a file is checked against the memory a rank has
   before anything is allocated from it. While rank 0 reads a model or dataset, a crash inside a library (HDF5 1.10 trusts some
   structures of a file, e.g. its global heap, and a corrupt one can make it read wild memory) or a read
   that never ends (HDF5 loops forever on some corrupt heaps, as fuzzing found) ends the job with one line
   naming the file, instead of PETSc's generic SEGV banner or a job hung until its wall-time limit. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "io/io_impl.h"

PetscErrorCode mc__io_check_budget(const char *file, const char *what, double bytes, double budget)
{
  PetscFunctionBeginUser;
  /* Below 4 MiB nothing is refused: such a size cannot matter, whatever -mc_memory_per_rank says. */
  PetscCheck(budget <= 0 || bytes <= PetscMax(budget, 4194304.0), PETSC_COMM_SELF, PETSC_ERR_MEM,
             "%s: %s needs %.4g GB of memory on every rank, but a rank has %.4g GB here (the node's available memory shared by its ranks): use fewer ranks per node, a "
             "node with more memory, or -mc_memory_per_rank BYTES where this figure misleads",
             file, what, bytes / 1e9, budget / 1e9);
  PetscFunctionReturn(0);
}

static PetscErrorCode on_crash(int sig, void *ctx)
{
  const MCIOGuard *g = (const MCIOGuard *)ctx;

  fprintf(stderr,
          "modclust-mpi: error: %s: crashed (signal %d) while reading this file: it is corrupt in a way its reader does not check (the HDF5 "
          "library trusts some structures of a file); re-export it, or check an HDF5 file with h5dump\n",
          g->path, sig);
  fflush(stderr);
  return 1; /* PETSc then aborts the job */
}

/* The watchdog's SIGALRM (a POSIX timer carrying the guard): say what hung, end every rank. */
static void on_timeout(int sig, siginfo_t *info, void *uctx)
{
  const MCIOGuard *g = (const MCIOGuard *)info->si_value.sival_ptr;
  char             msg[PETSC_MAX_PATH_LEN + 256];
  int              n;

  n = snprintf(msg, sizeof(msg),
               "modclust-mpi: error: %s: reading this file did not end within %g s: the HDF5 library loops on some corrupt files; check it with h5dump "
               "(-mc_read_timeout sets the limit)\n",
               g ? g->path : "a model or dataset file", g ? g->seconds : 0.0);
  if (n > 0) (void)!write(STDERR_FILENO, msg, (size_t)PetscMin(n, (int)sizeof(msg) - 1));
  MPI_Abort(MPI_COMM_WORLD, 1);
}

PetscErrorCode mc__io_guard_push(const char *path, MCIOGuard *g)
{
  PetscBool   off = PETSC_FALSE, set = PETSC_FALSE;
  PetscReal   seconds;
  struct stat st;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(g, sizeof(*g)));
  PetscCall(PetscStrncpy(g->path, path, sizeof(g->path)));
  /* -no_signal_handler (the fuzzing harnesses, debuggers) leaves crashes and hangs to whoever handles them. */
  PetscCall(PetscOptionsHasName(NULL, NULL, "-no_signal_handler", &off));
  if (off) PetscFunctionReturn(0);
  PetscCall(PetscPushSignalHandler(on_crash, g));
  g->pushed = PETSC_TRUE;

  /* The limit: 10 minutes, plus 2 minutes per GB of the file (a directory counts as small). */
  seconds = 600 + (stat(path, &st) == 0 && S_ISREG(st.st_mode) ? 120.0 * (double)st.st_size / 1e9 : 0);
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-mc_read_timeout", &seconds, &set));
  if (seconds <= 0) PetscFunctionReturn(0);
  g->seconds = seconds;
  {
    struct sigaction  sa;
    struct sigevent   ev;
    struct itimerspec its;

    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_timeout;
    sa.sa_flags     = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    PetscCheck(sigaction(SIGALRM, &sa, &g->old) == 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "cannot install the read watchdog");
    memset(&ev, 0, sizeof(ev));
    ev.sigev_notify          = SIGEV_SIGNAL;
    ev.sigev_signo           = SIGALRM;
    ev.sigev_value.sival_ptr = g;
    PetscCheck(timer_create(CLOCK_MONOTONIC, &ev, &g->timer) == 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "cannot create the read watchdog");
    memset(&its, 0, sizeof(its));
    its.it_value.tv_sec  = (time_t)seconds;
    its.it_value.tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9);
    PetscCheck(timer_settime(g->timer, 0, &its, NULL) == 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "cannot start the read watchdog");
    g->timed = PETSC_TRUE;
  }
  {
    /* Fault injection for the tests: -mc_fault_read_crash crashes the read as it starts (SIGSEGV, as a wild
       read inside HDF5 would), so that the handler above is exercised. */
    PetscBool crash = PETSC_FALSE;

    PetscCall(PetscOptionsHasName(NULL, NULL, "-mc_fault_read_crash", &crash));
    if (crash) (void)raise(SIGSEGV);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode mc__io_guard_pop(MCIOGuard *g)
{
  PetscFunctionBeginUser;
  if (g->timed) {
    (void)timer_delete(g->timer);
    (void)sigaction(SIGALRM, &g->old, NULL);
    g->timed = PETSC_FALSE;
  }
  if (g->pushed) PetscCall(PetscPopSignalHandler());
  g->pushed = PETSC_FALSE;
  PetscFunctionReturn(0);
}
