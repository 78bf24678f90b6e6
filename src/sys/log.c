/* src/sys/log.c: error handler, log stages and events, agreed exit. */
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "mc/sys.h"

PetscLogStage MC_STAGES[MC_N_STAGES];
static const char *const stage_names[MC_N_STAGES] = {"Load", "Graph", "Spectral", "Null", "Lesion", "Coherence", "Report"};
PetscLogEvent MC_EVENTS[MC_N_EVENTS];

/* The running program's name (modclust-mpi, modclust-train, ...) into buf: the first word of every message. */
static const char *program(char *buf, size_t n)
{
  char        name[PETSC_MAX_PATH_LEN] = "";
  const char *slash;

  if (PetscGetProgramName(name, sizeof(name)) || !name[0]) snprintf(name, sizeof(name), "modclust-mpi");
  slash = strrchr(name, '/');
  snprintf(buf, n, "%s", slash ? slash + 1 : name);
  return buf;
}

/* One clear line per error instead of PETSc's traceback banner: the message raised at the point of failure
   (PETSC_ERROR_INITIAL) is printed once; the frames that pass it upwards stay silent. For a collective
   error only rank 0 of the communicator prints. -mc_traceback restores PETSc's full traceback. */
static PetscErrorCode error_handler(MPI_Comm comm, int line, const char *fun, const char *file, PetscErrorCode n,
                                    PetscErrorType p, const char *mess, void *ctx)
{
  PetscMPIInt rank = 0, crank = 0, csize = 1;
  char        prog[64];

  if (p != PETSC_ERROR_INITIAL || n == MC_ERR_REPORTED) return n;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (comm != MPI_COMM_NULL) {
    MPI_Comm_rank(comm, &crank);
    MPI_Comm_size(comm, &csize);
  }
  if (csize > 1 && crank != 0) return n;
  if (!mess || !mess[0]) {
    const char *text = NULL;
    PetscErrorMessage(n, &text, NULL);
    mess = text ? text : "unknown error";
  }
  if (rank == 0) fprintf(stderr, "%s: error: %s\n", program(prog, sizeof(prog)), mess);
  else fprintf(stderr, "%s: error (rank %d): %s\n", program(prog, sizeof(prog)), (int)rank, mess);
  if (ctx) fprintf(stderr, "  raised in %s() at %s:%d\n", fun, file, line);
  fflush(stderr);
  return n;
}

PetscErrorCode mc_sys_initialize(void)
{
  static const char *event_names[MC_N_EVENTS] = {"mcModelRead", "mcGraphAssemble", "mcEPSSolve", "mcKMeansSeed",
                                                 "mcKMeansIter", "mcForward",       "mcFarmTask", "mcWrite",
                                                 "mcCorrGram"};
  PetscClassId classid;
  PetscBool    traceback = PETSC_FALSE, verbose = PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-mc_traceback", &traceback, NULL));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-mc_error_location", &verbose, NULL));
  /* Always push one handler, so mc_sys_finalize() always pops one. */
  if (traceback) PetscCall(PetscPushErrorHandler(PetscTraceBackErrorHandler, NULL));
  else PetscCall(PetscPushErrorHandler(error_handler, verbose ? (void *)1 : NULL));
  for (int s = 0; s < MC_N_STAGES; ++s) PetscCall(PetscLogStageRegister(stage_names[s], &MC_STAGES[s]));
  PetscCall(PetscClassIdRegister("modclust", &classid));
  for (int e = 0; e < MC_N_EVENTS; ++e) PetscCall(PetscLogEventRegister(event_names[e], classid, &MC_EVENTS[e]));
  PetscCall(mc_sys_blas_check(PETSC_COMM_WORLD));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_sys_finalize(void)
{
  PetscFunctionBeginUser;
  PetscCall(PetscPopErrorHandler());
  PetscFunctionReturn(0);
}

PetscErrorCode mc_sys_stage_push(MPI_Comm comm, MCStage stage)
{
  /* Not before Report: everything is computed by then, and writing it takes seconds. */
  int stop = stage != MC_STAGE_REPORT && mc_sys_sigterm_received() ? 1 : 0;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &stop, 1, MPI_INT, MPI_LOR, comm));
  PetscCheck(!stop, comm, PETSC_ERR_SIG,
             "Stopped early (SIGTERM) before the %s stage; rerun the same command to resume (finished clusterability and importance tasks are kept in the checkpoint)",
             stage_names[stage]);
  {
    /* Fault injection for the tests: -mc_fault_kill <stage> kills the last rank as that stage starts (a lost
       node while the others work in it). */
    char        name[32] = "";
    PetscBool   set;
    PetscMPIInt rank, size;

    PetscCall(PetscOptionsGetString(NULL, NULL, "-mc_fault_kill", name, sizeof(name), &set));
    PetscCallMPI(MPI_Comm_rank(comm, &rank));
    PetscCallMPI(MPI_Comm_size(comm, &size));
    if (set && !strcasecmp(name, stage_names[stage]) && rank == size - 1) (void)kill(getpid(), SIGKILL);
  }
  PetscCall(PetscLogStagePush(MC_STAGES[stage]));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_sys_stage_pop(void)
{
  PetscFunctionBeginUser;
  PetscCall(PetscLogStagePop());
  PetscFunctionReturn(0);
}

PetscErrorCode mc_sys_rank0_status(MPI_Comm comm, PetscErrorCode ierr0)
{
  PetscMPIInt   rank;
  int           code = (int)ierr0;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Bcast(&code, 1, MPI_INT, 0, comm));
  /* Rank 0 printed the message when the error was raised; the others fail quietly. */
  PetscCheck(code == 0, comm, MC_ERR_REPORTED, " ");
  PetscFunctionReturn(0);
}

int mc_sys_finish(MPI_Comm comm, PetscErrorCode ierr, double timeout_s)
{
  int             mine = ierr == 0 ? 0 : ierr == PETSC_ERR_SIG ? 1 : 2, any = 0, done = 0; /* ok < stopped < failed */
  MPI_Request     req;
  struct timespec t0, t, nap = {0, 1000000};
  char            prog[64];

  if (MPI_Iallreduce(&mine, &any, 1, MPI_INT, MPI_MAX, comm, &req) != MPI_SUCCESS) MPI_Abort(comm, 1);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (done) return any == 0 ? 0 : any == 1 ? MC_EXIT_STOPPED : 1;
    clock_gettime(CLOCK_MONOTONIC, &t);
    if ((double)(t.tv_sec - t0.tv_sec) + 1e-9 * (double)(t.tv_nsec - t0.tv_nsec) > timeout_s) break;
    nanosleep(&nap, NULL);
  }
  /* Some rank is stuck in a collective that a failed rank left: end the job rather than hang. */
  fprintf(stderr, "%s: ranks did not agree on the exit status within %g s; aborting the job\n", program(prog, sizeof(prog)), timeout_s);
  MPI_Abort(comm, 1);
  return 1;
}

PetscErrorCode mc_sys_warn_launcher(MPI_Comm comm)
{
  PetscMPIInt size;
  const char *vars[] = {"SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  if (size != 1) PetscFunctionReturn(0);
  for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); ++i) {
    const char *v = getenv(vars[i]);
    if (v && atoi(v) > 1) {
      PetscCall(PetscPrintf(comm, "warning: running on 1 rank but %s=%s: is the MPI launcher the one this build uses?\n", vars[i], v));
      break;
    }
  }
  PetscFunctionReturn(0);
}
