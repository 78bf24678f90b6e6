/* src/sys/signal.c: SIGTERM as a request to stop (Slurm's --signal, scancel): the handler only records it,
   and long stages ask for it between tasks. The flag is the one process-wide variable of the program: a
   signal handler can reach nothing else. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include "mc/sys.h"

static volatile sig_atomic_t sigterm_received = 0;

static void on_sigterm(int sig)
{
  (void)sig;
  sigterm_received = 1;
}

struct MCSigterm {
  struct sigaction old;
};

PetscErrorCode mc_sys_sigterm_catch(MCSigterm **out)
{
  MCSigterm       *s;
  struct sigaction sa;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&s));
  PetscCall(PetscMemzero(&sa, sizeof(sa)));
  sa.sa_handler = on_sigterm;
  sigemptyset(&sa.sa_mask);
  sigterm_received = 0;
  PetscCheck(sigaction(SIGTERM, &sa, &s->old) == 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "cannot install the SIGTERM handler: %s", strerror(errno));
  *out = s;
  PetscFunctionReturn(0);
}

PetscBool mc_sys_sigterm_received(void)
{
  return sigterm_received ? PETSC_TRUE : PETSC_FALSE;
}

PetscErrorCode mc_sys_sigterm_restore(MCSigterm **s)
{
  PetscFunctionBeginUser;
  if (!s || !*s) PetscFunctionReturn(0);
  PetscCheck(sigaction(SIGTERM, &(*s)->old, NULL) == 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "cannot restore the SIGTERM handler: %s", strerror(errno));
  PetscCall(PetscFree(*s));
  PetscFunctionReturn(0);
}
