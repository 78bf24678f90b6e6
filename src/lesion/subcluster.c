/* src/lesion/subcluster.c: sub-clusters (cluster x hidden layer) and the random-partition control. */
#include "mc/lesion.h"
#include "mc/sys.h"

/* A group is a hidden layer when its units are neither the model input nor the network's outputs; in a
   branched network's weight graph, when it is a weight layer's input channels (the paper's ImageNet rule: the
   last group is never lesioned). */
static PetscBool is_hidden(const MCGraph *g, PetscInt grp, PetscInt n_unit_layers)
{
  if (g->branched) return (g->group_role && g->group_role[grp] == MC_GROUP_SOURCE) ? PETSC_TRUE : PETSC_FALSE;
  return (g->group_layer[grp] >= 1 && g->group_layer[grp] < n_unit_layers - 1) ? PETSC_TRUE : PETSC_FALSE;
}

PetscErrorCode mc_lesion_subclusters(const MCGraph *g, const PetscInt labels[], PetscInt n_unit_layers, PetscInt min_size, PetscReal max_prop,
                                     MCSubclusters **out)
{
  MCSubclusters *s;
  PetscInt       k = 0, n = 0, n_units = 0, *count;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < g->n_nodes; ++i) k = PetscMax(k, labels[i] + 1);
  PetscCall(PetscNew(&s));
  PetscCall(PetscCalloc1(PetscMax(k, 1) * g->n_groups, &count));
  /* Pass 1: sizes per (group, label), and which sets are kept. */
  for (PetscInt grp = 0; grp < g->n_groups; ++grp) {
    PetscInt valid = 0;
    if (!is_hidden(g, grp, n_unit_layers)) continue;
    for (PetscInt i = g->group_offset[grp]; i < g->group_offset[grp + 1]; ++i)
      if (labels[i] >= 0) {
        valid++;
        count[grp * k + labels[i]]++;
      }
    for (PetscInt c = 0; c < k; ++c) {
      PetscInt sz = count[grp * k + c];
      if (sz >= min_size && (PetscReal)sz <= max_prop * (PetscReal)valid) {
        n++;
        n_units += sz;
      } else count[grp * k + c] = 0;
    }
  }
  s->n = n;
  PetscCall(PetscMalloc7(n, &s->layer, n, &s->site, n, &s->width, n, &s->group, n, &s->cluster, n + 1, &s->offset, PetscMax(n_units, 1), &s->unit));
  /* Pass 2: members, ascending within each sub-cluster. */
  n           = 0;
  s->offset[0] = 0;
  for (PetscInt grp = 0; grp < g->n_groups; ++grp) {
    if (!is_hidden(g, grp, n_unit_layers)) continue;
    for (PetscInt c = 0; c < k; ++c) {
      PetscInt o = s->offset[n];
      if (!count[grp * k + c]) continue;
      s->layer[n]   = g->group_layer[grp];
      s->site[n]    = g->branched ? g->group_site[grp] : -1;
      s->width[n]   = g->group_offset[grp + 1] - g->group_offset[grp];
      s->group[n]   = grp;
      s->cluster[n] = c;
      for (PetscInt i = g->group_offset[grp]; i < g->group_offset[grp + 1]; ++i)
        if (labels[i] == c) s->unit[o++] = i - g->group_offset[grp];
      s->offset[++n] = o;
    }
  }
  PetscCall(PetscFree(count));
  *out = s;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_lesion_subclusters_destroy(MCSubclusters **s)
{
  PetscFunctionBeginUser;
  if (!*s) PetscFunctionReturn(0);
  PetscCall(PetscFree7((*s)->layer, (*s)->site, (*s)->width, (*s)->group, (*s)->cluster, (*s)->offset, (*s)->unit));
  PetscCall(PetscFree(*s));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_lesion_random_partition(const MCGraph *g, const PetscInt labels[], uint64_t seed, PetscInt labels_out[])
{
  PetscInt *idx, *perm;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(g->n_nodes, &idx, g->n_nodes, &perm));
  for (PetscInt i = 0; i < g->n_nodes; ++i) labels_out[i] = labels[i];
  for (PetscInt grp = 0; grp < g->n_groups; ++grp) {
    PetscInt n = 0;
    MCRng    r;
    for (PetscInt i = g->group_offset[grp]; i < g->group_offset[grp + 1]; ++i)
      if (labels[i] >= 0) idx[n++] = i;
    for (PetscInt j = 0; j < n; ++j) perm[j] = j;
    mc_rng_init(&r, seed, MC_STREAM_LESION, ((uint64_t)1 << 62) + (uint64_t)grp);
    mc_rng_permute(&r, n, perm);
    for (PetscInt j = 0; j < n; ++j) labels_out[idx[j]] = labels[idx[perm[j]]];
  }
  PetscCall(PetscFree2(idx, perm));
  PetscFunctionReturn(0);
}
