/* src/graph/subgraph.c: the graph induced by a range of node groups (the local partitionings' windows). */
#include "mc/graph.h"
#include "mc/sys.h"

PetscErrorCode mc_graph_subgraph(const MCGraph *g, PetscInt g0, PetscInt g1, MCGraph **out)
{
  MPI_Comm           comm = PetscObjectComm((PetscObject)g->adj);
  MCGraph           *s;
  PetscInt           lo, hi, rstart, rend, r0, r1, n_local, start, *dnz, *onz, ncols;
  const PetscInt    *cols;
  const PetscScalar *vals;

  PetscFunctionBeginUser;
  PetscCheck(0 <= g0 && g0 < g1 && g1 <= g->n_groups, comm, PETSC_ERR_ARG_OUTOFRANGE, "groups [%" PetscInt_FMT ", %" PetscInt_FMT ") of a graph with %" PetscInt_FMT, g0, g1, g->n_groups);
  lo = g->group_offset[g0];
  hi = g->group_offset[g1];
  PetscCall(PetscNew(&s));
  s->n_groups = g1 - g0;
  s->n_nodes  = hi - lo;
  s->layered  = g->layered;
  PetscCall(PetscMalloc2(s->n_groups + 1, &s->group_offset, s->n_groups, &s->group_layer));
  for (PetscInt k = 0; k <= s->n_groups; ++k) s->group_offset[k] = g->group_offset[g0 + k] - lo;
  for (PetscInt k = 0; k < s->n_groups; ++k) s->group_layer[k] = g->group_layer[g0 + k];
  /* Each rank keeps the rows it owns in g, so every insertion is local; exact preallocation. */
  PetscCall(MatGetOwnershipRange(g->adj, &rstart, &rend));
  r0      = PetscMax(rstart, lo);
  r1      = PetscMin(rend, hi);
  n_local = PetscMax(0, r1 - r0);
  PetscCall(mc_sys_ownership_start(comm, n_local, &start));
  PetscCall(PetscCalloc2(PetscMax(n_local, 1), &dnz, PetscMax(n_local, 1), &onz));
  for (PetscInt r = r0; r < r1; ++r) {
    PetscCall(MatGetRow(g->adj, r, &ncols, &cols, &vals));
    for (PetscInt j = 0; j < ncols; ++j)
      if (cols[j] >= lo && cols[j] < hi && PetscRealPart(vals[j]) != 0) {
        PetscInt c = cols[j] - lo;
        if (c >= start && c < start + n_local) dnz[r - r0]++;
        else onz[r - r0]++;
      }
    PetscCall(MatRestoreRow(g->adj, r, &ncols, &cols, &vals));
  }
  PetscCall(MatCreateAIJ(comm, n_local, n_local, s->n_nodes, s->n_nodes, 0, dnz, 0, onz, &s->adj));
  for (PetscInt r = r0; r < r1; ++r) {
    PetscInt row = r - lo;
    PetscCall(MatGetRow(g->adj, r, &ncols, &cols, &vals));
    for (PetscInt j = 0; j < ncols; ++j)
      if (cols[j] >= lo && cols[j] < hi && PetscRealPart(vals[j]) != 0) {
        PetscInt c = cols[j] - lo;
        PetscCall(MatSetValues(s->adj, 1, &row, 1, &c, &vals[j], INSERT_VALUES));
      }
    PetscCall(MatRestoreRow(g->adj, r, &ncols, &cols, &vals));
  }
  PetscCall(PetscFree2(dnz, onz));
  PetscCall(MatAssemblyBegin(s->adj, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(s->adj, MAT_FINAL_ASSEMBLY));
  PetscCall(MatSetOption(s->adj, MAT_SYMMETRIC, PETSC_TRUE));
  PetscCall(MatSetOption(s->adj, MAT_SYMMETRY_ETERNAL, PETSC_TRUE));
  *out = s;
  PetscFunctionReturn(0);
}
