/* src/run/stages.c: the pipeline's stages, each inside its log stage; the run that holds their results. */
#include "mc/run.h"

PetscErrorCode mc_run_create(MPI_Comm comm, MCRun **out)
{
  MCRun *run;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&run));
  run->comm = comm;
  PetscCall(PetscTime(&run->t_start));
  *out = run;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_destroy(MCRun **run)
{
  PetscFunctionBeginUser;
  if (!run || !*run) PetscFunctionReturn(0);
  PetscCall(mc_importance_destroy(&(*run)->importance));
  PetscCall(mc_null_destroy(&(*run)->clusterability));
  PetscCall(mc_cluster_destroy(&(*run)->clustering));
  PetscCall(mc_graph_destroy(&(*run)->graph));
  PetscCall(mc_model_destroy(&(*run)->model));
  PetscCall(mc_config_destroy(&(*run)->cfg));
  PetscCall(PetscFree(*run));
  PetscFunctionReturn(0);
}

/* Refuse, before any heavy work, a configuration that asks for a stage this build does not implement yet
   or for an impossible combination, naming the key. The config is the same on every rank. */
static PetscErrorCode check_stages(MPI_Comm comm, const MCConfig *cfg)
{
  PetscFunctionBeginUser;
  PetscCheck(!cfg->importance_enabled || cfg->data_source[0], comm, PETSC_ERR_USER_INPUT,
             "[importance] enabled = true needs the test set: set [data] source (e.g. data.source=/usr/share/datasets/fashion-mnist)");
  PetscCheck(!cfg->coherence_enabled, comm, PETSC_ERR_SUP, "[coherence] enabled = true: the coherence tests are not implemented yet; set it to false");
  PetscCheck(cfg->clusterability_random_init_trials == 0 || cfg->clusterability_n_shuffles > 0, comm, PETSC_ERR_USER_INPUT,
             "[clusterability] random_init_trials = %" PetscInt64_FMT " runs with the shuffle null only: set n_shuffles >= 1 too", cfg->clusterability_random_init_trials);
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_load_config(MCRun *run, const char *path, int n_overrides, const char *const overrides[])
{
  PetscFunctionBeginUser;
  PetscCall(mc_sys_stage_push(MC_STAGE_LOAD));
  PetscCall(mc_config_load(run->comm, path, n_overrides, overrides, &run->cfg));
  PetscCall(mc_sys_stage_pop());
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_check(MCRun *run)
{
  MCReportOpts ro;

  PetscFunctionBeginUser;
  PetscCall(mc_sys_stage_push(MC_STAGE_LOAD));
  PetscCall(mc_run_report_opts(run->cfg, &ro));
  PetscCall(mc_report_check_output(run->comm, &ro));
  PetscCall(check_stages(run->comm, run->cfg));
  PetscCall(mc_sys_stage_pop());
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_load_model(MCRun *run)
{
  MCModelReadOpts mo;

  PetscFunctionBeginUser;
  PetscCall(mc_sys_stage_push(MC_STAGE_LOAD));
  PetscCall(mc_run_model_read_opts(run->cfg, run->cfg->model_path, &mo));
  PetscCall(mc_io_model_read(run->comm, &mo, &run->model));
  PetscCall(mc_sys_stage_pop());
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_graph(MCRun *run)
{
  MCGraphOpts go;

  PetscFunctionBeginUser;
  PetscCall(mc_sys_stage_push(MC_STAGE_GRAPH));
  PetscCall(mc_run_graph_opts(run->cfg, &go));
  PetscCall(mc_graph_build(run->comm, &go, run->model, &run->graph));
  PetscCall(mc_sys_stage_pop());
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_cluster(MCRun *run)
{
  MCClusterOpts co;
  MCGroups      gr = mc_graph_groups(run->graph);

  PetscFunctionBeginUser;
  PetscCall(mc_sys_stage_push(MC_STAGE_SPECTRAL));
  PetscCall(mc_run_cluster_opts(run->cfg, &co));
  PetscCall(mc_cluster_graph(run->graph->adj, &gr, &co, &run->clustering));
  PetscCall(mc_sys_stage_pop());
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_clusterability(MCRun *run)
{
  MCNullOpts no;

  PetscFunctionBeginUser;
  if (run->cfg->clusterability_n_shuffles <= 0) PetscFunctionReturn(0);
  PetscCall(mc_sys_stage_push(MC_STAGE_NULL));
  PetscCall(mc_run_null_opts(run->cfg, &no));
  PetscCall(mc_null_run(run->comm, &no, run->model, run->graph, run->clustering, &run->clusterability));
  PetscCall(mc_sys_stage_pop());
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_report(MCRun *run)
{
  MCReport rep = {0};

  PetscFunctionBeginUser;
  PetscCall(mc_sys_stage_push(MC_STAGE_REPORT));
  PetscCall(mc_run_report_opts(run->cfg, &rep.opts));
  rep.config_text    = run->cfg->text;
  rep.seed           = run->cfg->cluster_seed;
  rep.graph_kind     = (MCGraphKind)run->cfg->graph_kind;
  rep.eig_tol        = run->cfg->cluster_eig_tol;
  rep.model          = run->model;
  rep.graph          = run->graph;
  rep.clustering     = run->clustering;
  rep.clusterability = run->clusterability;
  rep.importance     = run->importance;
  rep.t_start        = run->t_start;
  PetscCallMPI(MPI_Comm_size(run->comm, &rep.n_ranks));
  PetscCall(mc_report_write(run->comm, &rep));
  PetscCall(mc_null_checkpoint_clear(run->comm, run->clusterability)); /* the results are safe now */
  PetscCall(mc_report_print_summary(run->comm, &rep));
  PetscCall(mc_sys_stage_pop());
  PetscFunctionReturn(0);
}
