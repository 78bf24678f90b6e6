/* src/main.c: the modclust-mpi driver: prolog (command line, MPI/PETSc, config), stages, epilog. */
#include <slepcsys.h>
#include "mc/mc.h"

static const char help[] = "modclust-mpi: are the units of a trained neural network modular? See --help.\n";

/* The pipeline; every error travels up to main. Each stage lives in src/run/ and runs in its log stage. */
static PetscErrorCode pipeline(MCRun *run, const MCCli *cli)
{
  PetscFunctionBeginUser;
  PetscCall(mc_run_load_config(run, cli->config_path, cli->n_overrides, cli->overrides));
  if (cli->print_config) PetscCall(PetscPrintf(run->comm, "%s", run->cfg->text));
  else {
    PetscCall(mc_run_check(run));          /* refuse what cannot run, before any heavy work */
    PetscCall(mc_run_load_model(run));     /* the network, read by rank 0 and broadcast */
    PetscCall(mc_run_graph(run));          /* |weights| of every layer, rows spread over the ranks */
    PetscCall(mc_run_cluster(run));        /* eigenvectors, embedding, k-means, n-cut */
    PetscCall(mc_run_clusterability(run)); /* the n-cut against shuffled weights' */
    PetscCall(mc_run_importance(run));     /* lesion tests farmed over the ranks */
    PetscCall(mc_run_report(run));         /* results.h5, summary.json, report.md */
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode run(MPI_Comm comm, const MCCli *cli)
{
  MCRun         *run = NULL;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(mc_sys_warn_launcher(comm));
  PetscCall(mc_run_create(comm, &run));
  ierr = pipeline(run, cli);
  if (ierr) PetscCall(mc_run_release(run)); /* a failed run leaves no lock file behind */
  PetscCall(ierr);
  PetscCall(mc_run_destroy(&run));
  PetscFunctionReturn(0);
}

/* --help and --version, answered before MPI starts. */
static void print_info(const MCCli *cli)
{
  char buf[1024];

  if (cli->help) mc_cli_usage("modclust-mpi", stdout);
  else {
    mc_sys_version_string(buf, sizeof(buf));
    fputs(buf, stdout);
  }
}

int main(int argc, char **argv)
{
  MCCli          cli;
  PetscErrorCode ierr;
  int            status;

  /* The CPU's own BLAS kernels (may re-execute the program), then our words leave argv before
     PetscInitialize, so PETSc sees only its options. */
  mc_sys_blas_prepare(argv);
  status = mc_cli_parse("modclust-mpi", &argc, &argv, &cli);
  if (status || cli.help || cli.version) {
    if (!status) print_info(&cli);
    mc_cli_free(&cli);
    return status;
  }
  PetscCall(SlepcInitialize(&argc, &argv, NULL, help));
  ierr = mc_sys_initialize();
  if (!ierr && cli.config_reference) ierr = mc_config_print_markdown(stdout);
  else if (!ierr) ierr = run(PETSC_COMM_WORLD, &cli);
  /* Every rank agrees on the outcome before finalizing; a rank stuck in a collective ends the job. */
  status = mc_sys_finish(PETSC_COMM_WORLD, ierr, 30.0);
  mc_cli_free(&cli);
  if (mc_sys_finalize() || SlepcFinalize()) return 1;
  return status;
}
