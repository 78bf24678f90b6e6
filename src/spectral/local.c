/* src/spectral/local.c: local partitionings (docs/method.md section 5): every layer clustered on its own
   window of the graph, with as many clusters as the global partitioning puts in that layer. */
#include "mc/cluster.h"
#include "mc/graph.h"

const char *mc_cluster_local_k_name(MCLocalK mode)
{
  static const char *const names[] = {"fixed", "reference"};

  return (mode >= 0 && (size_t)mode < sizeof(names) / sizeof(names[0])) ? names[mode] : "unknown";
}

/* k_l of group grp: distinct global labels among its valid units, clamped to [1, valid]. REFERENCE reads the
   labels at the positions the reference code did: counted from the start of the label vector as if the
   graph had no input group (which shifts them by the input width when it has one). */
static PetscErrorCode group_k(const MCGraph *g, const PetscInt labels[], PetscInt grp, MCLocalK mode, PetscInt k_max, PetscInt *k)
{
  PetscInt  lo = g->group_offset[grp], hi = g->group_offset[grp + 1], valid = 0, distinct = 0, s;
  PetscBool *seen;

  PetscFunctionBeginUser;
  for (PetscInt i = lo; i < hi; ++i) valid += labels[i] >= 0;
  s = (mode == MC_LOCAL_K_REFERENCE && g->n_groups > 1 && g->group_layer[0] == 0) ? lo - g->group_offset[1] : lo;
  PetscCall(PetscCalloc1(k_max + 1, &seen));
  for (PetscInt i = PetscMax(s, 0); i < s + (hi - lo) && i < g->n_nodes; ++i)
    if (labels[i] >= 0 && !seen[labels[i]]) {
      seen[labels[i]] = PETSC_TRUE;
      distinct++;
    }
  PetscCall(PetscFree(seen));
  *k = PetscMax(1, PetscMin(distinct, valid));
  PetscFunctionReturn(0);
}

/* Cluster the window of groups [w0, w1) into k clusters: lab[] (the window's nodes) gets labels 0..k-1, or
   -1 for its degree-0 nodes. *k_used is k after clamping to the kept nodes, *ncut the n-cut on the window. */
static PetscErrorCode cluster_window(const MCGraph *g, PetscInt w0, PetscInt w1, PetscInt k, const MCClusterOpts *opts, PetscInt lab[], PetscInt *k_used, PetscReal *ncut)
{
  MCGraph *s;
  PetscInt n_kept, *kept;

  PetscFunctionBeginUser;
  PetscCall(mc_graph_subgraph(g, w0, w1, &s));
  PetscCall(mc_graph_find_isolated(s->adj, &n_kept, &kept, NULL));
  for (PetscInt i = 0; i < s->n_nodes; ++i) lab[i] = -1;
  k = PetscMin(k, n_kept);
  if (k <= 1 || k == n_kept) {
    for (PetscInt j = 0; j < n_kept; ++j) lab[kept[j]] = k <= 1 ? 0 : j;
  } else {
    MCClusterOpts o  = *opts;
    MCGroups      gr = mc_graph_groups(s);
    MCClustering *c;

    o.k = k;
    PetscCall(mc_cluster_graph(s->adj, &gr, &o, &c));
    PetscCall(PetscArraycpy(lab, c->labels, s->n_nodes));
    PetscCall(mc_cluster_destroy(&c));
  }
  *k_used = PetscMax(k, 1);
  PetscCall(mc_cluster_ncut(s->adj, lab, ncut));
  PetscCall(PetscFree(kept));
  PetscCall(mc_graph_destroy(&s));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_cluster_local_given(const MCGraph *g, const PetscInt k_of[], const MCClusterOpts *opts, MCClustering **out)
{
  const PetscInt G = g->n_groups;
  MCClustering  *c;
  PetscInt      *lab, *map, next = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&c));
  c->n_nodes  = g->n_nodes;
  c->n_groups = G;
  PetscCall(PetscMalloc1(g->n_nodes, &c->labels));
  PetscCall(PetscMalloc1(G, &c->local_k));
  PetscCall(PetscMalloc2(g->n_nodes, &lab, g->n_nodes, &map));
  for (PetscInt i = 0; i < g->n_nodes; ++i) c->labels[i] = -1;

  /* Windows: (first group, end group, the group whose k it takes, groups [keep0, keep1) whose labels are kept). */
  for (PetscInt l = 0; l < G; ++l) {
    PetscInt  w0, w1, k, keep0, keep1, used = 1;
    PetscReal nc = 0;

    if (!g->layered) {
      w0 = keep0 = l;
      w1 = keep1 = l + 1;
      k          = k_of[l];
    } else if (G <= 3) {
      if (l > 0) break;
      w0 = keep0 = 0;
      w1 = keep1 = G;
      k          = 1;
      for (PetscInt q = (G == 3 ? 1 : 0); q < (G == 3 ? 2 : G); ++q) k = PetscMax(k, k_of[q]);
    } else {
      if (l == 0 || l == G - 1) continue;
      w0    = l - 1;
      w1    = l + 2;
      k     = k_of[l];
      keep0 = l == 1 ? 0 : l;
      keep1 = l == G - 2 ? G : l + 1;
    }
    PetscCall(cluster_window(g, w0, w1, k, opts, lab, &used, &nc));
    c->ncut += nc;
    /* Renumber the kept groups' labels group by group, by smallest member. */
    for (PetscInt grp = keep0; grp < keep1; ++grp) {
      PetscInt off = g->group_offset[w0];
      for (PetscInt i = 0; i < g->n_nodes; ++i) map[i] = -1;
      for (PetscInt i = g->group_offset[grp]; i < g->group_offset[grp + 1]; ++i) {
        PetscInt q = lab[i - off];
        if (q < 0) continue;
        if (map[q] < 0) map[q] = next++;
        c->labels[i] = map[q];
      }
      c->local_k[grp] = used;
    }
  }
  c->k = next;
  for (PetscInt i = 0; i < g->n_nodes; ++i) c->n_removed += c->labels[i] < 0;
  PetscCall(PetscFree2(lab, map));
  *out = c;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_cluster_local(const MCGraph *g, const MCClustering *global, const MCClusterOpts *opts, MCLocalK mode, MCClustering **out)
{
  PetscInt *k_of, k_max = 0;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < g->n_nodes; ++i) k_max = PetscMax(k_max, global->labels[i] + 1);
  PetscCall(PetscMalloc1(g->n_groups, &k_of));
  for (PetscInt grp = 0; grp < g->n_groups; ++grp) PetscCall(group_k(g, global->labels, grp, mode, k_max, &k_of[grp]));
  PetscCall(mc_cluster_local_given(g, k_of, opts, out));
  (*out)->n_init = global->n_init;
  PetscCall(PetscFree(k_of));
  PetscFunctionReturn(0);
}
