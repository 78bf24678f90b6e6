/* src/report/summary.c: summary.json (machine-readable, NaN as null) and the short stdout summary. */
#include <math.h>
#include <stdio.h>
#include <cjson/cJSON.h>
#include "mc/sys.h"
#include "report_impl.h"

PetscErrorCode mc__report_cluster_sizes(const MCReport *run, PetscInt **size, PetscInt **by_group)
{
  const MCClustering *c = run->clustering;
  const MCGraph      *g = run->graph;

  PetscFunctionBeginUser;
  PetscCall(PetscCalloc1(c->k, size));
  PetscCall(PetscCalloc1(c->k * g->n_groups, by_group));
  for (PetscInt grp = 0; grp < g->n_groups; ++grp) {
    for (PetscInt i = g->group_offset[grp]; i < g->group_offset[grp + 1]; ++i) {
      PetscInt l = c->labels[i];
      if (l < 0) continue;
      (*size)[l]++;
      (*by_group)[l * g->n_groups + grp]++;
    }
  }
  PetscFunctionReturn(0);
}

/* JSON has no NaN or infinity: write null instead. */
cJSON *mc__report_json_real(PetscReal v)
{
  return isfinite((double)v) ? cJSON_CreateNumber((double)v) : cJSON_CreateNull();
}

PetscErrorCode mc__report_json_add(cJSON *obj, const char *name, cJSON *item)
{
  PetscFunctionBeginUser;
  PetscCheck(item && cJSON_AddItemToObject(obj, name, item), PETSC_COMM_SELF, PETSC_ERR_MEM, "cannot build summary.json (%s)", name);
  PetscFunctionReturn(0);
}

PetscErrorCode mc__report_json_push(cJSON *arr, cJSON *item)
{
  PetscFunctionBeginUser;
  PetscCheck(item && cJSON_AddItemToArray(arr, item), PETSC_COMM_SELF, PETSC_ERR_MEM, "cannot build summary.json (an array)");
  PetscFunctionReturn(0);
}

/* "clusterability": the shuffle null (docs/method.md section 7). */
static PetscErrorCode add_clusterability(cJSON *root, const MCNull *nul)
{
  cJSON *o, *arr;

  PetscFunctionBeginUser;
  PetscCall(mc__report_json_add(root, "clusterability", o = cJSON_CreateObject()));
  PetscCall(mc__report_json_add(o, "shuffle", cJSON_CreateString(mc_shuffle_kind_name(nul->shuffle))));
  PetscCall(mc__report_json_add(o, "n_shuffles", cJSON_CreateNumber(nul->n_shuffles)));
  PetscCall(mc__report_json_add(o, "p_ties", cJSON_CreateString(mc_stats_ties_name(nul->p_ties))));
  PetscCall(mc__report_json_add(o, "group_size", cJSON_CreateNumber(nul->group_size)));
  PetscCall(mc__report_json_add(o, "ncut_true", mc__report_json_real(nul->ncut_true)));
  PetscCall(mc__report_json_add(o, "ncut_shuffled_mean", mc__report_json_real(nul->mean)));
  PetscCall(mc__report_json_add(o, "ncut_shuffled_std", mc__report_json_real(nul->std)));
  PetscCall(mc__report_json_add(o, "p_value", mc__report_json_real(nul->p_value)));
  PetscCall(mc__report_json_add(o, "z_score", mc__report_json_real(nul->z_score)));
  PetscCall(mc__report_json_add(o, "ncut_shuffled", arr = cJSON_CreateArray()));
  for (PetscInt i = 0; i < nul->n_shuffles; ++i) PetscCall(mc__report_json_push(arr, mc__report_json_real(nul->ncut_shuffled[i])));
  if (nul->n_random_init > 0) {
    PetscCall(mc__report_json_add(o, "random_init_trials", cJSON_CreateNumber(nul->n_random_init)));
    PetscCall(mc__report_json_add(o, "ncut_random_init_mean", mc__report_json_real(nul->random_init_mean)));
    PetscCall(mc__report_json_add(o, "ncut_random_init_std", mc__report_json_real(nul->random_init_std)));
  }
  PetscCall(mc__report_json_add(o, "plot", cJSON_CreateString(MC_REPORT_NULL_SVG)));
  PetscCall(mc__report_json_add(o, "seconds", cJSON_CreateNumber(nul->seconds)));
  PetscFunctionReturn(0);
}

PetscErrorCode mc__report_write_json(const MCReport *run, const char *path)
{
  const MCClustering *c = run->clustering, *spec = mc__report_spectrum(run);
  const MCGraph      *g = run->graph;
  cJSON              *root, *model, *graph, *groups, *clus, *eig, *list, *timing;
  PetscInt           *size, *by_group;
  char               *text;
  FILE               *fp;

  PetscFunctionBeginUser;
  PetscCall(mc__report_cluster_sizes(run, &size, &by_group));
  PetscCheck(root = cJSON_CreateObject(), PETSC_COMM_SELF, PETSC_ERR_MEM, "cannot build summary.json");
  PetscCall(mc__report_json_add(root, "tool", cJSON_CreateString("modclust-mpi")));
  PetscCall(mc__report_json_add(root, "version", cJSON_CreateString(MC_VERSION)));
  PetscCall(mc__report_json_add(root, "git_hash", cJSON_CreateString(MC_GIT_HASH)));
  PetscCall(mc__report_json_add(root, "n_ranks", cJSON_CreateNumber(run->n_ranks)));
  PetscCall(mc__report_json_add(root, "seed", cJSON_CreateNumber((double)run->seed)));

  PetscCall(mc__report_json_add(root, "model", model = cJSON_CreateObject()));
  PetscCall(mc__report_json_add(model, "path", cJSON_CreateString(run->model->source)));
  PetscCall(mc__report_json_add(model, "format", cJSON_CreateString(run->model->format)));
  PetscCall(mc__report_json_add(model, "n_layers", cJSON_CreateNumber(run->model->n_layers)));

  PetscCall(mc__report_json_add(root, "graph", graph = cJSON_CreateObject()));
  PetscCall(mc__report_json_add(graph, "kind", cJSON_CreateString(mc_graph_kind_name(run->graph_kind))));
  PetscCall(mc__report_json_add(graph, "n_nodes", cJSON_CreateNumber(g->n_nodes)));
  PetscCall(mc__report_json_add(graph, "n_edges", cJSON_CreateNumber((double)run->n_edges)));
  PetscCall(mc__report_json_add(graph, "n_removed", cJSON_CreateNumber(c->n_removed)));
  if (run->graph_kind == MC_GRAPH_ACTIVATIONS) {
    PetscCall(mc__report_json_add(graph, "n_samples", cJSON_CreateNumber(g->n_samples)));
    PetscCall(mc__report_json_add(graph, "n_dead", cJSON_CreateNumber(g->n_dead)));
  }
  PetscCall(mc__report_json_add(graph, "groups", groups = cJSON_CreateArray()));
  for (PetscInt grp = 0; grp < g->n_groups; ++grp) {
    cJSON *o;

    PetscCall(mc__report_json_push(groups, o = cJSON_CreateObject()));
    PetscCall(mc__report_json_add(o, "layer", cJSON_CreateNumber(g->group_layer[grp])));
    PetscCall(mc__report_json_add(o, "n_units", cJSON_CreateNumber(g->group_offset[grp + 1] - g->group_offset[grp])));
  }

  PetscCall(mc__report_json_add(root, "clustering", clus = cJSON_CreateObject()));
  PetscCall(mc__report_json_add(clus, "k", cJSON_CreateNumber(c->k)));
  PetscCall(mc__report_json_add(clus, "ncut", mc__report_json_real(c->ncut)));
  PetscCall(mc__report_json_add(clus, "inertia", mc__report_json_real(c->inertia)));
  PetscCall(mc__report_json_add(clus, "scope", cJSON_CreateString(mc_graph_scope_name(run->clustering_global ? MC_SCOPE_LOCAL : MC_SCOPE_GLOBAL))));
  if (run->clustering_global) {
    cJSON *lk, *gl;
    PetscCall(mc__report_json_add(clus, "local_k", lk = cJSON_CreateArray()));
    for (PetscInt grp = 0; grp < c->n_groups; ++grp) PetscCall(mc__report_json_push(lk, cJSON_CreateNumber(c->local_k[grp])));
    PetscCall(mc__report_json_add(clus, "global", gl = cJSON_CreateObject()));
    PetscCall(mc__report_json_add(gl, "k", cJSON_CreateNumber(run->clustering_global->k)));
    PetscCall(mc__report_json_add(gl, "ncut", mc__report_json_real(run->clustering_global->ncut)));
  }
  PetscCall(mc__report_json_add(clus, "n_converged", cJSON_CreateNumber(spec->n_converged)));
  PetscCall(mc__report_json_add(clus, "max_residual", mc__report_json_real(spec->max_residual)));
  PetscCall(mc__report_json_add(clus, "eigenvalues", eig = cJSON_CreateArray()));
  for (PetscInt i = 0; i < spec->k; ++i) PetscCall(mc__report_json_push(eig, mc__report_json_real(spec->eigenvalues[i])));
  PetscCall(mc__report_json_add(clus, "clusters", list = cJSON_CreateArray()));
  for (PetscInt l = 0; l < c->k; ++l) {
    cJSON *o, *per;

    PetscCall(mc__report_json_push(list, o = cJSON_CreateObject()));
    PetscCall(mc__report_json_add(o, "id", cJSON_CreateNumber(l)));
    PetscCall(mc__report_json_add(o, "size", cJSON_CreateNumber(size[l])));
    PetscCall(mc__report_json_add(o, "units_per_layer", per = cJSON_CreateArray()));
    for (PetscInt grp = 0; grp < g->n_groups; ++grp)
      PetscCall(mc__report_json_push(per, cJSON_CreateNumber(by_group[l * g->n_groups + grp])));
  }

  if (run->clusterability) PetscCall(add_clusterability(root, run->clusterability));

  PetscCall(mc__report_importance_json(run, root));
  if (run->n_parts > 1) PetscCall(mc__report_json_partitionings(run, root));
  PetscCall(mc__report_json_add(root, "seconds", timing = cJSON_CreateObject()));
  {
    PetscLogDouble now;
    PetscCall(PetscTime(&now));
    PetscCall(mc__report_json_add(timing, "total", cJSON_CreateNumber(now - run->t_start)));
  }

  PetscCheck(text = cJSON_Print(root), PETSC_COMM_SELF, PETSC_ERR_MEM, "cannot print summary.json");
  PetscCall(mc__report_fopen(path, &fp));
  fputs(text, fp);
  fputc('\n', fp);
  PetscCall(mc__report_fclose(path, fp));
  cJSON_free(text);
  cJSON_Delete(root);
  PetscCall(PetscFree(size));
  PetscCall(PetscFree(by_group));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_report_print_summary(MPI_Comm comm, const MCReport *run)
{
  const MCClustering *c = run->clustering, *spec = mc__report_spectrum(run);
  const MCGraph      *g = run->graph;
  PetscLogDouble      now;

  PetscFunctionBeginUser;
  PetscCall(PetscTime(&now));
  PetscCall(PetscPrintf(comm, "modclust-mpi: %s (%s, %" PetscInt_FMT " layers)\n", run->model->source, run->model->format, run->model->n_layers));
  PetscCall(PetscPrintf(comm, "  graph     %s, %" PetscInt_FMT " nodes in %" PetscInt_FMT " layers, %" PetscInt_FMT " removed (degree 0)", mc_graph_kind_name(run->graph_kind), g->n_nodes, g->n_groups, c->n_removed));
  if (run->graph_kind == MC_GRAPH_ACTIVATIONS) PetscCall(PetscPrintf(comm, ", %" PetscInt_FMT " dead; %" PetscInt_FMT " examples", g->n_dead, g->n_samples));
  PetscCall(PetscPrintf(comm, "\n"));
  PetscCall(PetscPrintf(comm, "  spectrum  eigenvalues %.4g .. %.4g (%" PetscInt_FMT " converged, max residual %.1e)\n", (double)spec->eigenvalues[0],
                        (double)spec->eigenvalues[spec->k - 1], spec->n_converged, (double)spec->max_residual));
  if (run->clustering_global)
    PetscCall(PetscPrintf(comm, "  global    k = %" PetscInt_FMT ", n-cut = %.6g; the local partitioning below clusters each layer on its own\n", run->clustering_global->k,
                          (double)run->clustering_global->ncut));
  if (spec->n_components_warn)
    PetscCall(PetscPrintf(comm, "  warning   the graph (after removing degree-0 nodes) has several connected components: each is a\n"
                                "            perfect cluster (eigenvalue 0 repeated); they are clustered as they are\n"));
  PetscCall(PetscPrintf(comm, "  clusters  k = %" PetscInt_FMT ", n-cut = %.6g (0 = perfectly separable, %" PetscInt_FMT " = no structure)\n", c->k, (double)c->ncut, c->k));
  if (run->clusterability) {
    const MCNull *nul = run->clusterability;
    PetscCall(PetscPrintf(comm, "  null      %" PetscInt_FMT " %s shuffles: n-cut %.4g +- %.2g against %.6g, p = %.4g, z = %.3g (%" PetscInt_FMT " rank%s per shuffle, %.1f s)\n",
                          nul->n_shuffles, mc_shuffle_kind_name(nul->shuffle), (double)nul->mean, (double)nul->std, (double)nul->ncut_true, (double)nul->p_value, (double)nul->z_score,
                          nul->group_size, nul->group_size > 1 ? "s" : "", (double)nul->seconds));
  }
  PetscCall(mc__report_importance_print(comm, run));
  PetscCall(mc__report_print_partitionings(comm, run));
  PetscCall(PetscPrintf(comm, "  output    %s/ (results.h5, summary.json, report.md, clusters.csv) in %.2f s on %d rank%s\n", run->opts.dir,
                        now - run->t_start, (int)run->n_ranks, run->n_ranks > 1 ? "s" : ""));
  PetscFunctionReturn(0);
}

const MCClustering *mc__report_spectrum(const MCReport *run)
{
  return run->clustering_global ? run->clustering_global : run->clustering;
}
