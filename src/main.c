/* src/main.c: the modclust-mpi driver: prolog (command line, MPI/PETSc, config), stages, epilog. */
#include <slepcsys.h>
#include "mc/mc.h"

static const char help[] = "modclust-mpi: are the units of a trained neural network modular? See --help.\n";

/* The pipeline; every error travels up to main. */
static PetscErrorCode run(MPI_Comm comm, const MCCli *cli)
{
  MCConfig      *cfg        = NULL;
  MCModel       *model      = NULL;
  MCGraph       *graph      = NULL;
  MCClustering  *clustering = NULL;
  MCNull        *nul        = NULL;
  MCImportance  *importance = NULL;
  MCClusterOpts  opts;
  MCRun          rep = {0};

  PetscFunctionBeginUser;
  PetscCall(PetscTime(&rep.t_start));
  PetscCallMPI(MPI_Comm_size(comm, &rep.n_ranks));
  PetscCall(mc_sys_warn_launcher(comm));

  /* Load: configuration, then the network. */
  PetscCall(mc_sys_stage_push(MC_STAGE_LOAD));
  PetscCall(mc_config_load(comm, cli->config_path, cli->n_overrides, cli->overrides, &cfg));
  if (cli->print_config) {
    PetscCall(PetscPrintf(comm, "%s", cfg->text));
    PetscCall(mc_sys_stage_pop());
    PetscCall(mc_config_destroy(&cfg));
    PetscFunctionReturn(0);
  }
  PetscCall(mc_report_check_output(comm, cfg));
  PetscCall(mc_run_check_stages(comm, cfg));
  PetscCall(mc_io_model_read(comm, cfg, &model));
  PetscCall(mc_sys_stage_pop());

  /* Graph: |weights| of every layer, rows spread over the ranks. */
  PetscCall(mc_sys_stage_push(MC_STAGE_GRAPH));
  PetscCall(mc_graph_build(comm, cfg, model, &graph));
  PetscCall(mc_sys_stage_pop());

  /* Spectral clustering: eigenvectors, embedding, k-means, n-cut. */
  PetscCall(mc_sys_stage_push(MC_STAGE_SPECTRAL));
  PetscCall(mc_run_cluster_opts(cfg, &opts));
  PetscCall(mc_cluster_graph(graph->adj, &opts, &clustering));
  PetscCall(mc_sys_stage_pop());

  /* Clusterability: the true n-cut against shuffled weights' ([clusterability] n_shuffles > 0). */
  PetscCall(mc_null_stage(comm, cfg, model, graph, clustering, &nul));

  /* Importance: lesion tests farmed over the ranks ([importance] enabled; reads the test set). */
  PetscCall(mc_lesion_stage(comm, cfg, model, graph, clustering, &importance));

  /* Report: results.h5, summary.json, report.md. */
  PetscCall(mc_sys_stage_push(MC_STAGE_REPORT));
  rep.cfg            = cfg;
  rep.model          = model;
  rep.graph          = graph;
  rep.clustering     = clustering;
  rep.clusterability = nul;
  rep.importance     = importance;
  PetscCall(mc_report_write(comm, &rep));
  PetscCall(mc_null_checkpoint_clear(comm, nul)); /* the results are safe now */
  PetscCall(mc_report_print_summary(comm, &rep));
  PetscCall(mc_sys_stage_pop());

  PetscCall(mc_importance_destroy(&importance));
  PetscCall(mc_null_destroy(&nul));
  PetscCall(mc_cluster_destroy(&clustering));
  PetscCall(mc_graph_destroy(&graph));
  PetscCall(mc_model_destroy(&model));
  PetscCall(mc_config_destroy(&cfg));
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

  /* Our words leave argv before PetscInitialize, so PETSc sees only its options. */
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
