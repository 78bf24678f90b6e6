/* src/io/guard.c: a crash inside a library while a file is read (HDF5 1.10 trusts some structures of a
   file, e.g. the lengths in its global heap, and a corrupt one can make it read wild memory) ends the job
   with one line naming the file, instead of PETSc's generic SEGV banner. */
#include <stdio.h>
#include "io/io_impl.h"

static PetscErrorCode on_crash(int sig, void *ctx)
{
  fprintf(stderr,
          "modclust-mpi: error: %s: crashed (signal %d) while reading this file: it is corrupt in a way the HDF5 library does not check; re-export "
          "it, or check it with h5dump\n",
          (const char *)ctx, sig);
  fflush(stderr);
  return 1; /* PETSc then aborts the job */
}

PetscErrorCode mc__io_guard_push(const char *path, PetscBool *pushed)
{
  PetscBool off = PETSC_FALSE;

  PetscFunctionBeginUser;
  /* -no_signal_handler (the fuzzing harnesses, debuggers) leaves crashes to whoever handles them. */
  PetscCall(PetscOptionsHasName(NULL, NULL, "-no_signal_handler", &off));
  *pushed = (PetscBool)!off;
  if (*pushed) PetscCall(PetscPushSignalHandler(on_crash, (void *)path));
  PetscFunctionReturn(0);
}

PetscErrorCode mc__io_guard_pop(PetscBool pushed)
{
  PetscFunctionBeginUser;
  if (pushed) PetscCall(PetscPopSignalHandler());
  PetscFunctionReturn(0);
}
