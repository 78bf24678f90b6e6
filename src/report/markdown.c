/* src/report/markdown.c: report.md, the readable report, and clusters.csv, one row per unit. */
#include <stdio.h>
#include <string.h>
#include "mc/sys.h"
#include "report_impl.h"

/* "## Clusterability": the shuffle null, with the histogram linked. */
static void write_clusterability(FILE *fp, const MCNull *nul)
{
  fprintf(fp, "## Clusterability\n\n");
  fprintf(fp, "Is the network more clusterable than the same weights shuffled? Each of %" PetscInt_FMT " networks had every layer's weight block "
              "permuted (`%s`: %s) and was clustered with the same settings.\n\n",
          nul->n_shuffles, mc_shuffle_kind_name(nul->shuffle), nul->shuffle == MC_SHUFFLE_LAYER_NONZERO ? "non-zero weights permuted among the non-zero positions" : "all entries permuted, zeros included");
  fprintf(fp, "| | n-cut |\n|---|---:|\n| true network | %.6g |\n| shuffled, mean +- std | %.6g +- %.3g |\n", (double)nul->ncut_true, (double)nul->mean,
          (double)nul->std);
  if (nul->n_random_init > 0)
    fprintf(fp, "| %" PetscInt_FMT " random initializations, mean +- std | %.6g +- %.3g |\n", nul->n_random_init, (double)nul->random_init_mean,
            (double)nul->random_init_std);
  fprintf(fp, "\n- p = **%.4g** = (#{shuffled %s true} + 1) / (%" PetscInt_FMT " + 1); the smallest possible is %.4g. Small p: more clusterable than chance.\n",
          (double)nul->p_value, nul->p_ties == MC_TIES_STRICT ? "<" : "<=", nul->n_shuffles, 1.0 / (double)(nul->n_shuffles + 1));
  fprintf(fp, "- z = **%.3g** (true minus shuffled mean, over the shuffled population std); negative is more clusterable.\n", (double)nul->z_score);
  fprintf(fp, "- %" PetscInt_FMT " rank%s per shuffle, %" PetscInt_FMT " group%s, %.1f s", nul->group_size, nul->group_size > 1 ? "s" : "", nul->n_groups,
          nul->n_groups > 1 ? "s" : "", (double)nul->seconds);
  if (nul->n_resumed > 0) fprintf(fp, "; %" PetscInt_FMT " results resumed from a checkpoint", nul->n_resumed);
  fprintf(fp, ".\n\n![shuffled n-cuts](%s)\n\nEvery shuffled n-cut is in `results.h5` (`/clusterability/ncut_shuffled`).\n\n", MC_REPORT_NULL_SVG);
}

PetscErrorCode mc__report_write_markdown(const MCReport *run, const char *path)
{
  const MCClustering *c = run->clustering, *spec = mc__report_spectrum(run);
  const MCGraph      *g = run->graph;
  PetscInt           *size, *by_group;
  FILE               *fp;
  char                blas[256], name[192];

  PetscFunctionBeginUser;
  PetscCall(mc__report_cluster_sizes(run, &size, &by_group));
  PetscCall(mc__report_fopen(path, &fp));
  fprintf(fp, "# modclust-mpi report\n\n");
  fprintf(fp, "- model: `%s` (%s, %" PetscInt_FMT " layers)\n", run->model->source, run->model->format, run->model->n_layers);
  fprintf(fp, "- graph: %s, %" PetscInt_FMT " nodes, %" PetscInt_FMT " removed (degree 0)", mc_graph_kind_name(run->graph_kind), g->n_nodes, c->n_removed);
  if (run->graph_kind == MC_GRAPH_ACTIVATIONS)
    fprintf(fp, "; squared correlations over %" PetscInt_FMT " training examples, %" PetscInt_FMT " dead units (zero variance)", g->n_samples, g->n_dead);
  fprintf(fp, "\n");
  if (run->clustering_global) {
    fprintf(fp, "- clustering: local: each layer clustered on its own (a weight graph's layer with its neighbours), with the number of global clusters (k = %" PetscInt_FMT ", n-cut %.6g) in that layer:", run->clustering_global->k, (double)run->clustering_global->ncut);
    for (PetscInt grp = 0; grp < g->n_groups; ++grp) fprintf(fp, " %s %" PetscInt_FMT "%s", mc_graph_group_name(g, run->model, grp, name, sizeof(name)), c->local_k[grp], grp + 1 < g->n_groups ? "," : "");
    fprintf(fp, "; %" PetscInt_FMT " clusters in all, seed %" PetscInt64_FMT "\n", c->k, run->seed);
  } else
    fprintf(fp, "- clustering: k = %" PetscInt_FMT ", seed %" PetscInt64_FMT ", %" PetscInt_FMT " k-means restarts (best: %" PetscInt_FMT ")\n", c->k, run->seed,
            c->n_init, c->best_restart);
  mc_sys_blas_describe(blas, sizeof(blas));
  fprintf(fp, "- ranks: %d; tool %s (git %s); BLAS: %s\n\n", (int)run->n_ranks, MC_VERSION, MC_GIT_HASH, blas);

  fprintf(fp, "## n-cut\n\n**%.6g** over %" PetscInt_FMT " clusters. The n-cut ranges from 0 (clusters with no edges between them) to k; ", (double)c->ncut, c->k);
  fprintf(fp, "lower means more modular. Whether this is lower than chance is the clusterability test ([clusterability] n_shuffles).\n\n");

  if (run->clusterability) write_clusterability(fp, run->clusterability);

  fprintf(fp, "## Spectrum\n\nThe %" PetscInt_FMT " smallest eigenvalues of the normalised Laplacian%s (%" PetscInt_FMT " converged, largest residual %.1e). ", spec->k,
          run->clustering_global ? " of the whole graph" : "", spec->n_converged, (double)spec->max_residual);
  fprintf(fp, "A large gap after the j-th eigenvalue suggests j well-separated modules.\n\n| # | eigenvalue | gap to next |\n|---:|---:|---:|\n");
  for (PetscInt i = 0; i < spec->k; ++i) {
    PetscReal d = i + 1 < spec->k ? spec->eigenvalues[i + 1] - spec->eigenvalues[i] : 0, e = PetscAbsReal(spec->eigenvalues[i]) < 1e-12 ? 0 : spec->eigenvalues[i];
    if (i + 1 < spec->k) fprintf(fp, "| %" PetscInt_FMT " | %.6f | %.6f |\n", i + 1, (double)e, (double)d);
    else fprintf(fp, "| %" PetscInt_FMT " | %.6f | |\n", i + 1, (double)e);
  }

  fprintf(fp, "\n## Clusters by layer\n\nUnits of each cluster in each layer (clusters numbered by their first unit).\n\n| cluster | size |");
  for (PetscInt grp = 0; grp < g->n_groups; ++grp) fprintf(fp, " %s |", mc_graph_group_name(g, run->model, grp, name, sizeof(name)));
  fprintf(fp, "\n|---:|---:|");
  for (PetscInt grp = 0; grp < g->n_groups; ++grp) fprintf(fp, "---:|");
  fprintf(fp, "\n");
  for (PetscInt l = 0; l < c->k; ++l) {
    fprintf(fp, "| %" PetscInt_FMT " | %" PetscInt_FMT " |", l, size[l]);
    for (PetscInt grp = 0; grp < g->n_groups; ++grp) fprintf(fp, " %" PetscInt_FMT " |", by_group[l * g->n_groups + grp]);
    fprintf(fp, "\n");
  }
  fprintf(fp, "\nEvery unit's label is in `clusters.csv` and `results.h5` (`/clusters/labels`, -1 = removed).\n");
  PetscCall(mc__report_importance_markdown(run, fp));
  PetscCall(mc__report_markdown_partitionings(run, fp));
  PetscCall(mc__report_fclose(path, fp));
  PetscCall(PetscFree(size));
  PetscCall(PetscFree(by_group));
  PetscFunctionReturn(0);
}

PetscErrorCode mc__report_write_csv(const MCReport *run, const char *path)
{
  const MCGraph *g = run->graph;
  FILE          *fp;

  PetscFunctionBeginUser;
  PetscCall(mc__report_fopen(path, &fp));
  fprintf(fp, "node,unit_name,layer,unit,label\n");
  for (PetscInt i = 0; i < g->n_nodes; ++i) {
    PetscInt layer, unit;
    mc_graph_node_info(g, i, &layer, &unit);
    fprintf(fp, "%" PetscInt_FMT ",%" PetscInt_FMT ":%" PetscInt_FMT ",%" PetscInt_FMT ",%" PetscInt_FMT ",%" PetscInt_FMT "\n", i, layer, unit, layer, unit,
            run->clustering->labels[i]);
  }
  PetscCall(mc__report_fclose(path, fp));
  PetscFunctionReturn(0);
}
