/* src/report/partitionings.c: a run with several partitionings ([graph] partitionings): each one's results
   and their agreement (adjusted Rand index and NMI over the units both graphs have). */
#include "mc/lesion.h"
#include "mc/stats.h"
#include "report_impl.h"

static const char *part_name(const MCPartitioning *pt)
{
  return mc_graph_partitioning_name(pt->kind, pt->scope);
}

/* A node's (unit layer, unit) as one sortable key; a graph's nodes are in ascending key order (groups in
   forward order, units ascending), so two graphs' common units are found by one merge. */
static PetscInt64 node_key(const MCGraph *g, PetscInt i)
{
  PetscInt layer, unit;

  mc_graph_node_info(g, i, &layer, &unit);
  return ((PetscInt64)layer << 32) + unit;
}

static PetscBool unit_keyed(const MCGraph *g)
{
  for (PetscInt grp = 0; grp < g->n_groups; ++grp)
    if (g->group_layer[grp] < 0 || (grp > 0 && g->group_layer[grp] <= g->group_layer[grp - 1])) return PETSC_FALSE;
  return PETSC_TRUE;
}

/* Agreement of partitionings a and b over the units both graphs have and both keep (label >= 0). */
static PetscErrorCode agreement(const MCPartitioning *a, const MCPartitioning *b, PetscReal *ari, PetscReal *nmi, PetscInt *n_common)
{
  const MCGraph *ga = a->graph, *gb = b->graph;
  PetscInt      *la, *lb, n = 0;
  PetscBool      comparable = (ga == gb || (unit_keyed(ga) && unit_keyed(gb))) ? PETSC_TRUE : PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(PetscMin(ga->n_nodes, gb->n_nodes), &la, PetscMin(ga->n_nodes, gb->n_nodes), &lb));
  /* Units are matched by (unit layer, unit): not possible when a graph's groups are not distinct unit layers
     (a branched network's weight graph), which then agrees only with itself. */
  for (PetscInt i = 0, j = 0; comparable && i < ga->n_nodes && j < gb->n_nodes;) {
    PetscInt64 ki = node_key(ga, i), kj = node_key(gb, j);
    if (ki < kj) ++i;
    else if (kj < ki) ++j;
    else {
      if (a->clustering->labels[i] >= 0 && b->clustering->labels[j] >= 0) {
        la[n] = a->clustering->labels[i];
        lb[n] = b->clustering->labels[j];
        n++;
      }
      ++i;
      ++j;
    }
  }
  *n_common = n;
  *ari      = *nmi = (PetscReal)NAN;
  if (n > 0) {
    PetscCall(mc_stats_ari(n, la, lb, ari));
    PetscCall(mc_stats_nmi(n, la, lb, nmi));
  }
  PetscCall(PetscFree2(la, lb));
  PetscFunctionReturn(0);
}

/* The P x P agreement matrices (row-major; the diagonal compares a partitioning with itself). */
static PetscErrorCode agreements(const MCReport *run, PetscReal **ari, PetscReal **nmi, PetscInt **n_common)
{
  const PetscInt P = run->n_parts;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc3(P * P, ari, P * P, nmi, P * P, n_common));
  for (PetscInt a = 0; a < P; ++a)
    for (PetscInt b = 0; b < P; ++b) PetscCall(agreement(&run->part[a], &run->part[b], &(*ari)[a * P + b], &(*nmi)[a * P + b], &(*n_common)[a * P + b]));
  PetscFunctionReturn(0);
}

PetscErrorCode mc__report_results_partitionings(MCH5Writer *w, const MCReport *run)
{
  const PetscInt P = run->n_parts;
  PetscReal     *ari, *nmi;
  PetscInt      *nc, *layer, *unit;
  char           names[256] = "";

  PetscFunctionBeginUser;
  PetscCall(agreements(run, &ari, &nmi, &nc));
  PetscCall(mc_io_h5w_group_push(w, "partitionings"));
  for (PetscInt p = 0; p < P; ++p) {
    const MCPartitioning *pt = &run->part[p];
    const MCClustering   *c  = pt->clustering;
    const MCGraph        *g  = pt->graph;

    PetscCall(PetscStrlcat(names, p ? "," : "", sizeof(names)));
    PetscCall(PetscStrlcat(names, part_name(pt), sizeof(names)));
    PetscCall(mc_io_h5w_group_push(w, part_name(pt)));
    PetscCall(mc_io_h5w_attr_string(w, "kind", mc_graph_kind_name(pt->kind)));
    PetscCall(mc_io_h5w_attr_string(w, "scope", mc_graph_scope_name(pt->scope)));
    PetscCall(mc_io_h5w_attr_int(w, "k", c->k));
    PetscCall(mc_io_h5w_attr_real(w, "ncut", c->ncut));
    PetscCall(mc_io_h5w_attr_int(w, "n_removed", c->n_removed));
    PetscCall(PetscMalloc2(g->n_nodes, &layer, g->n_nodes, &unit));
    for (PetscInt i = 0; i < g->n_nodes; ++i) mc_graph_node_info(g, i, &layer[i], &unit[i]);
    PetscCall(mc_io_h5w_ints(w, "labels", c->n_nodes, 0, c->labels));
    PetscCall(mc_io_h5w_ints(w, "node_layer", g->n_nodes, 0, layer));
    PetscCall(mc_io_h5w_ints(w, "node_unit", g->n_nodes, 0, unit));
    PetscCall(PetscFree2(layer, unit));
    if (pt->global) {
      PetscCall(mc_io_h5w_ints(w, "local_k", c->n_groups, 0, c->local_k));
      PetscCall(mc_io_h5w_ints(w, "global_labels", pt->global->n_nodes, 0, pt->global->labels));
      PetscCall(mc_io_h5w_attr_real(w, "global_ncut", pt->global->ncut));
    }
    if (pt->clusterability) PetscCall(mc__report_results_clusterability(w, pt->clusterability));
    PetscCall(mc__report_results_importance(w, pt->importance));
    PetscCall(mc_io_h5w_group_pop(w));
  }
  PetscCall(mc_io_h5w_attr_string(w, "names", names));
  PetscCall(mc_io_h5w_reals(w, "ari", P, P, ari));
  PetscCall(mc_io_h5w_reals(w, "nmi", P, P, nmi));
  PetscCall(mc_io_h5w_ints(w, "n_common", P, P, nc));
  PetscCall(mc_io_h5w_group_pop(w));
  PetscCall(PetscFree3(ari, nmi, nc));
  PetscFunctionReturn(0);
}

/* The figures of one partitioning's tests as table cells. */
static void cells(const MCPartitioning *pt, char clus[64], char pm[32], char pr[32], char em[64], char er[64])
{
  const MCImportance *imp = pt->importance;

  if (pt->clusterability) {
    char p[32];
    mc__report_fmt_p(p, 32, pt->clusterability->p_value);
    snprintf(clus, 64, "%s (z %.2f)", p, (double)pt->clusterability->z_score);
  } else snprintf(clus, 64, "%s", pt->kind == MC_GRAPH_WEIGHTS ? "not run" : "n/a");
  if (imp) {
    mc__report_fmt_p(pm, 32, imp->p_mean);
    mc__report_fmt_p(pr, 32, imp->p_range);
    snprintf(em, 64, "%.3f", (double)imp->net[0]->effect_mean_avg);
    snprintf(er, 64, "%.3f", (double)imp->net[0]->effect_range_avg);
  } else {
    snprintf(pm, 32, "not run");
    snprintf(pr, 32, "not run");
    em[0] = 0;
    er[0] = 0;
  }
}

PetscErrorCode mc__report_markdown_partitionings(const MCReport *run, FILE *fp)
{
  const PetscInt P = run->n_parts;
  PetscReal     *ari, *nmi;
  PetscInt      *nc;

  PetscFunctionBeginUser;
  if (P < 2) PetscFunctionReturn(0);
  PetscCall(agreements(run, &ari, &nmi, &nc));
  fprintf(fp, "\n## The partitionings side by side\n\n");
  fprintf(fp, "The sections above report the first, `%s`. Clusterability applies to weight graphs only; the n-cut of a local "
              "partitioning is the sum of its windows' n-cuts (docs/method.md). Importance: the combined p-values of the lesion test "
              "(`p_mean`: accuracy drops more than for random sets; `p_range`: the drop is more class-specific) and the mean effects 2e "
              "over the sub-clusters of the [model] network.\n\n",
          part_name(&run->part[0]));
  fprintf(fp, "| partitioning | clusters | n-cut | clusterability p | importance p_mean | p_range | effect mean | effect range |\n");
  fprintf(fp, "|---|---:|---:|---:|---:|---:|---:|---:|\n");
  for (PetscInt p = 0; p < P; ++p) {
    const MCPartitioning *pt = &run->part[p];
    char                  clus[64], pm[32], pr[32], em[64], er[64];

    cells(pt, clus, pm, pr, em, er);
    fprintf(fp, "| %s | %" PetscInt_FMT " | %.4f | %s | %s | %s | %s | %s |\n", part_name(pt), pt->clustering->k, (double)pt->clustering->ncut, clus, pm, pr, em,
            er);
  }
  fprintf(fp, "\nAgreement over the units both graphs have (hidden units; removed units left out): adjusted Rand index above the "
              "diagonal, NMI below it (1 = the same partition, ARI 0 = chance).\n\n|   |");
  for (PetscInt b = 0; b < P; ++b) fprintf(fp, " %s |", part_name(&run->part[b]));
  fprintf(fp, "\n|---|");
  for (PetscInt b = 0; b < P; ++b) fprintf(fp, "---:|");
  fprintf(fp, "\n");
  for (PetscInt a = 0; a < P; ++a) {
    fprintf(fp, "| %s |", part_name(&run->part[a]));
    for (PetscInt b = 0; b < P; ++b) {
      if (a == b) fprintf(fp, " |");
      else fprintf(fp, " %.3f |", (double)(a < b ? ari[a * P + b] : nmi[a * P + b]));
    }
    fprintf(fp, "\n");
  }
  fprintf(fp, "\nEach partitioning's labels, tests and these matrices are in `results.h5` (`/partitionings`).\n");
  PetscCall(PetscFree3(ari, nmi, nc));
  PetscFunctionReturn(0);
}

PetscErrorCode mc__report_json_partitionings(const MCReport *run, cJSON *root)
{
  const PetscInt P = run->n_parts;
  PetscReal     *ari, *nmi;
  PetscInt      *nc;
  cJSON         *list, *ma, *mn;

  PetscFunctionBeginUser;
  PetscCall(agreements(run, &ari, &nmi, &nc));
  PetscCall(mc__report_json_add(root, "partitionings", list = cJSON_CreateArray()));
  for (PetscInt p = 0; p < P; ++p) {
    const MCPartitioning *pt = &run->part[p];
    cJSON                *o  = cJSON_CreateObject();

    PetscCall(mc__report_json_push(list, o));
    PetscCall(mc__report_json_add(o, "name", cJSON_CreateString(part_name(pt))));
    PetscCall(mc__report_json_add(o, "k", cJSON_CreateNumber(pt->clustering->k)));
    PetscCall(mc__report_json_add(o, "ncut", mc__report_json_real(pt->clustering->ncut)));
    if (pt->clusterability) PetscCall(mc__report_json_add(o, "clusterability_p", mc__report_json_real(pt->clusterability->p_value)));
    if (pt->importance) {
      PetscCall(mc__report_json_add(o, "importance_p_mean", mc__report_json_real(pt->importance->p_mean)));
      PetscCall(mc__report_json_add(o, "importance_p_range", mc__report_json_real(pt->importance->p_range)));
      PetscCall(mc__report_json_add(o, "effect_mean_2e", mc__report_json_real(pt->importance->net[0]->effect_mean_avg)));
      PetscCall(mc__report_json_add(o, "effect_range_2e", mc__report_json_real(pt->importance->net[0]->effect_range_avg)));
    }
  }
  PetscCall(mc__report_json_add(root, "partitionings_ari", ma = cJSON_CreateArray()));
  PetscCall(mc__report_json_add(root, "partitionings_nmi", mn = cJSON_CreateArray()));
  for (PetscInt a = 0; a < P; ++a) {
    cJSON *ra = cJSON_CreateArray(), *rn = cJSON_CreateArray();
    PetscCall(mc__report_json_push(ma, ra));
    PetscCall(mc__report_json_push(mn, rn));
    for (PetscInt b = 0; b < P; ++b) {
      PetscCall(mc__report_json_push(ra, mc__report_json_real(ari[a * P + b])));
      PetscCall(mc__report_json_push(rn, mc__report_json_real(nmi[a * P + b])));
    }
  }
  PetscCall(PetscFree3(ari, nmi, nc));
  PetscFunctionReturn(0);
}

PetscErrorCode mc__report_print_partitionings(MPI_Comm comm, const MCReport *run)
{
  PetscFunctionBeginUser;
  if (run->n_parts < 2) PetscFunctionReturn(0);
  for (PetscInt p = 0; p < run->n_parts; ++p) {
    const MCPartitioning *pt = &run->part[p];
    char                  clus[64], pm[32], pr[32], em[64], er[64];

    cells(pt, clus, pm, pr, em, er);
    PetscCall(PetscPrintf(comm, "  %-18s k = %3" PetscInt_FMT ", n-cut %8.4f, clusterability p %s, importance p_mean %s, p_range %s\n", part_name(pt), pt->clustering->k,
                          (double)pt->clustering->ncut, clus, pm, pr));
  }
  PetscFunctionReturn(0);
}
