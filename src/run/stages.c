/* src/run/stages.c: the pipeline's stages, each inside its log stage; the run that holds their results. */
#include "run_impl.h"

PetscErrorCode mc_run_create(MPI_Comm comm, MCRun **out)
{
  MCRun *run;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&run));
  run->comm = comm;
  PetscCall(PetscTime(&run->t_start));
  PetscCall(mc_sys_sigterm_catch(&run->sigterm));
  *out = run;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_destroy(MCRun **run)
{
  PetscFunctionBeginUser;
  if (!run || !*run) PetscFunctionReturn(0);
  for (PetscInt p = 0; p < (*run)->n_parts; ++p) {
    MCPartitioning *pt = &(*run)->part[p];
    PetscCall(mc_importance_destroy(&pt->importance));
    PetscCall(mc_null_destroy(&pt->clusterability));
    PetscCall(mc_cluster_destroy(&pt->clustering));
    PetscCall(mc_cluster_destroy(&pt->global));
  }
  for (int k = 0; k < 2; ++k) PetscCall(mc_graph_destroy(&(*run)->graphs[k]));
  PetscCall(mc_model_destroy(&(*run)->model));
  PetscCall(mc_config_destroy(&(*run)->cfg));
  PetscCall(mc_sys_sigterm_restore(&(*run)->sigterm));
  PetscCall(mc_run_release(*run));
  PetscCall(PetscFree(*run));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_release(MCRun *run)
{
  PetscFunctionBeginUser;
  if (run) PetscCall(mc_sys_lock_release(&run->output_lock));
  PetscFunctionReturn(0);
}

/* Refuse, before any heavy work, a configuration that asks for a stage this build does not implement yet
   or for an impossible combination, naming the key. The config is the same on every rank. */
static PetscErrorCode check_stages(MPI_Comm comm, const MCConfig *cfg, PetscInt n_parts, const MCGraphKind kind[])
{
  PetscBool acts = PETSC_FALSE, weights = PETSC_FALSE;

  PetscFunctionBeginUser;
  for (PetscInt p = 0; p < n_parts; ++p) {
    acts    = (PetscBool)(acts || kind[p] == MC_GRAPH_ACTIVATIONS);
    weights = (PetscBool)(weights || kind[p] == MC_GRAPH_WEIGHTS);
  }
  PetscCheck(!cfg->importance_enabled || cfg->data_source[0], comm, PETSC_ERR_USER_INPUT,
             "[importance] enabled = true needs the test set: set [data] source (e.g. data.source=/usr/share/datasets/fashion-mnist)");
  PetscCheck(!cfg->coherence_enabled, comm, PETSC_ERR_SUP, "[coherence] enabled = true: the coherence tests are not implemented yet; set it to false");
  PetscCheck(!acts || cfg->data_source[0], comm, PETSC_ERR_USER_INPUT,
             "graph.kind = activations needs training examples: set [data] source (e.g. data.source=/usr/share/datasets/fashion-mnist)");
  PetscCheck(weights || cfg->clusterability_n_shuffles == 0, comm, PETSC_ERR_USER_INPUT,
             "[clusterability] n_shuffles = %" PetscInt64_FMT ": the clusterability test shuffles weights, so it applies to weight graphs, not to graph.kind = activations; set n_shuffles = 0",
             cfg->clusterability_n_shuffles);
  PetscCheck(cfg->clusterability_random_init_trials == 0 || cfg->clusterability_n_shuffles > 0, comm, PETSC_ERR_USER_INPUT,
             "[clusterability] random_init_trials = %" PetscInt64_FMT " runs with the shuffle null only: set n_shuffles >= 1 too", cfg->clusterability_random_init_trials);
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_load_config(MCRun *run, const char *path, int n_overrides, const char *const overrides[])
{
  PetscFunctionBeginUser;
  PetscCall(mc_sys_stage_push(run->comm, MC_STAGE_LOAD));
  PetscCall(mc_config_load(run->comm, path, n_overrides, overrides, &run->cfg));
  PetscCall(mc_sys_stage_pop());
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_check(MCRun *run)
{
  MCReportOpts ro;
  MCGraphKind  kind[MC_MAX_PARTITIONINGS];
  MCScope      scope[MC_MAX_PARTITIONINGS];
  PetscInt     n;

  PetscFunctionBeginUser;
  PetscCall(mc_sys_stage_push(run->comm, MC_STAGE_LOAD));
  PetscCall(mc_run_report_opts(run->cfg, &ro));
  PetscCall(mc_report_claim_output(run->comm, &ro, &run->output_lock));
  PetscCall(mc_run_partitionings(run->comm, run->cfg, &n, kind, scope));
  PetscCall(check_stages(run->comm, run->cfg, n, kind));
  run->n_parts = n;
  for (PetscInt p = 0; p < n; ++p) {
    run->part[p].kind  = kind[p];
    run->part[p].scope = scope[p];
  }
  PetscCall(mc_sys_stage_pop());
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_load_model(MCRun *run)
{
  MCModelReadOpts mo;

  PetscFunctionBeginUser;
  PetscCall(mc_sys_stage_push(run->comm, MC_STAGE_LOAD));
  PetscCall(mc_run_model_read_opts(run->cfg, run->cfg->model_path, &mo));
  PetscCall(mc_io_model_read(run->comm, &mo, &run->model));
  /* What the weight graph of a branched network does not serve yet: say so before any work is done. */
  if (!mc_model_is_chain(run->model))
    for (PetscInt p = 0; p < run->n_parts; ++p) {
      if (run->part[p].kind != MC_GRAPH_WEIGHTS) continue;
      PetscCheck(run->part[p].scope == MC_SCOPE_GLOBAL, run->comm, PETSC_ERR_SUP,
                 "Model '%s' has branches, merges or grouped convolutions: its weight graph can be partitioned globally, but the local weight partitioning (weights_local) needs a sequential network so far",
                 run->model->source);
      PetscCheck(!run->cfg->importance_enabled || (MCLesionMode)run->cfg->importance_lesion == MC_LESION_OUTGOING, run->comm, PETSC_ERR_SUP,
                 "Model '%s' has branches, merges or grouped convolutions: its weight-graph groups are lesioned in their consumer's input ([importance] lesion = outgoing); lesion = incoming needs a sequential network",
                 run->model->source);
    }
  PetscCall(mc_sys_stage_pop());
  PetscFunctionReturn(0);
}

PetscErrorCode mc__run_graph_build(MPI_Comm comm, const MCConfig *cfg, MCGraphKind kind, const MCModel *model, MCGraph **out)
{
  MCGraphOpts go;

  PetscFunctionBeginUser;
  PetscCall(mc_run_graph_opts(cfg, &go));
  go.kind = kind;
  if (kind == MC_GRAPH_ACTIVATIONS) {
    MCDataset    *train = NULL;
    MCDatasetOpts dopts;

    PetscCall(mc_run_dataset_opts(cfg, model, &dopts));
    PetscCall(mc_io_dataset_read(comm, cfg->data_source, "train", &dopts, &train));
    PetscCall(mc_graph_build_activations(comm, &go, model, train, out));
    PetscCall(mc_io_dataset_destroy(&train));
  } else PetscCall(mc_graph_build(comm, &go, model, out));
  PetscFunctionReturn(0);
}

PetscErrorCode mc__run_graphs(MPI_Comm comm, const MCConfig *cfg, PetscInt n_parts, MCPartitioning part[], const MCModel *model, MCGraph *graphs[2])
{
  PetscFunctionBeginUser;
  for (PetscInt p = 0; p < n_parts; ++p) {
    if (!graphs[part[p].kind]) PetscCall(mc__run_graph_build(comm, cfg, part[p].kind, model, &graphs[part[p].kind]));
    part[p].graph = graphs[part[p].kind];
  }
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_graph(MCRun *run)
{
  PetscFunctionBeginUser;
  PetscCall(mc_sys_stage_push(run->comm, MC_STAGE_GRAPH));
  PetscCall(mc__run_graphs(run->comm, run->cfg, run->n_parts, run->part, run->model, run->graphs));
  PetscCall(mc_sys_stage_pop());
  PetscFunctionReturn(0);
}

PetscErrorCode mc__run_partitions(const MCConfig *cfg, PetscInt n_parts, MCPartitioning part[])
{
  MCClusterOpts co;

  PetscFunctionBeginUser;
  PetscCall(mc_run_cluster_opts(cfg, &co));
  /* The global ones first: a local partitioning starts from the global one of its graph, computed once. */
  for (PetscInt p = 0; p < n_parts; ++p) {
    MCGroups gr = mc_graph_groups(part[p].graph);
    if (part[p].scope == MC_SCOPE_GLOBAL) PetscCall(mc_cluster_graph(part[p].graph->adj, &gr, &co, &part[p].clustering));
  }
  for (PetscInt p = 0; p < n_parts; ++p) {
    MCPartitioning *pt = &part[p];
    MCGroups        gr = mc_graph_groups(pt->graph);
    PetscInt        q  = 0;

    if (pt->scope != MC_SCOPE_LOCAL) continue;
    while (q < n_parts && (part[q].scope != MC_SCOPE_GLOBAL || part[q].kind != pt->kind)) ++q;
    if (q < n_parts) PetscCall(mc_cluster_duplicate(part[q].clustering, &pt->global));
    else PetscCall(mc_cluster_graph(pt->graph->adj, &gr, &co, &pt->global));
    PetscCall(mc_cluster_local(pt->graph, pt->global, &co, (MCLocalK)cfg->graph_local_k, &pt->clustering));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_cluster(MCRun *run)
{
  PetscFunctionBeginUser;
  PetscCall(mc_sys_stage_push(run->comm, MC_STAGE_SPECTRAL));
  PetscCall(mc__run_partitions(run->cfg, run->n_parts, run->part));
  PetscCall(mc_sys_stage_pop());
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_clusterability(MCRun *run)
{
  PetscFunctionBeginUser;
  if (run->cfg->clusterability_n_shuffles <= 0) PetscFunctionReturn(0);
  PetscCall(mc_sys_stage_push(run->comm, MC_STAGE_NULL));
  for (PetscInt p = 0; p < run->n_parts; ++p) {
    MCPartitioning *pt = &run->part[p];
    MCNullOpts      no;

    if (pt->kind != MC_GRAPH_WEIGHTS) continue;
    if (run->n_parts > 1) PetscCall(PetscPrintf(run->comm, "clusterability: %s\n", mc_graph_partitioning_name(pt->kind, pt->scope)));
    PetscCall(mc_run_null_opts(run->cfg, &no));
    /* Each partitioning keeps its own checkpoint: a local one's depends on its k per layer too. */
    if (pt->clustering->local_k) no.config_hash = mc_sys_hash(no.config_hash, pt->clustering->local_k, sizeof(PetscInt) * (size_t)pt->clustering->n_groups);
    PetscCall(mc_null_run(run->comm, &no, run->model, pt->graph, pt->clustering, &pt->clusterability));
  }
  PetscCall(mc_sys_stage_pop());
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_report(MCRun *run)
{
  MCReport        rep = {0};
  MCPartitioning *pt  = &run->part[0];

  PetscFunctionBeginUser;
  PetscCall(mc_sys_stage_push(run->comm, MC_STAGE_REPORT));
  PetscCall(mc_run_report_opts(run->cfg, &rep.opts));
  rep.config_text       = run->cfg->text;
  rep.seed              = run->cfg->cluster_seed;
  rep.graph_kind        = pt->kind;
  rep.eig_tol           = run->cfg->cluster_eig_tol;
  rep.model             = run->model;
  rep.graph             = pt->graph;
  rep.clustering        = pt->clustering;
  rep.clustering_global = pt->global;
  rep.clusterability    = pt->clusterability;
  rep.importance        = pt->importance;
  rep.n_parts           = run->n_parts;
  rep.part              = run->part;
  rep.t_start           = run->t_start;
  PetscCallMPI(MPI_Comm_size(run->comm, &rep.n_ranks));
  PetscCall(mc_report_write(run->comm, &rep));
  for (PetscInt p = 0; p < run->n_parts; ++p) { /* the results are safe now */
    PetscCall(mc_null_checkpoint_clear(run->comm, run->part[p].clusterability));
    PetscCall(mc_importance_checkpoint_clear(run->comm, run->part[p].importance));
  }
  PetscCall(mc_report_print_summary(run->comm, &rep));
  PetscCall(mc_sys_stage_pop());
  PetscFunctionReturn(0);
}
