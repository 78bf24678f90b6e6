/* tests/cluster/test_blockop.c: a graph with blocks between any pairs of groups (as the channel walker makes
   for branched networks): its assembled adjacency equals the blocks placed symmetrically (a dense copy
   gathered on every rank), and the block product the eigensolver uses (composed as "mc_graph_mult") equals
   the CSR product, for several random vectors; run at several rank counts. Also the refusals of
   mc_graph_from_pairs (a pair out of order, a pair twice). */
#include "mc/graph.h"
#include "mc/sys.h"

static PetscErrorCode check(MPI_Comm comm)
{
  const PetscInt G = 5, size[5] = {7, 3, 9, 4, 6};
  const PetscInt pairs[12] = {0, 1, 0, 2, 0, 4, 1, 3, 2, 3, 3, 4};
  PetscInt       nb = 6, N = 0, off[6] = {0};
  PetscReal    **blocks, *D;
  MCGraph       *g;
  MCRng          r;
  PetscObject    op = NULL;
  Vec            x, y0, y1;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < G; ++i) off[i + 1] = off[i] + size[i];
  N = off[G];
  mc_rng_init(&r, 7, 0, 0);
  PetscCall(PetscMalloc1(nb, &blocks));
  PetscCall(PetscCalloc1(N * N, &D));
  for (PetscInt b = 0; b < nb; ++b) {
    PetscInt a = pairs[2 * b], c = pairs[2 * b + 1];
    PetscCall(PetscMalloc1(size[a] * size[c], &blocks[b]));
    for (PetscInt i = 0; i < size[a]; ++i)
      for (PetscInt j = 0; j < size[c]; ++j) {
        PetscReal v = mc_rng_uniform(&r) < 0.2 ? 0.0 : mc_rng_uniform(&r);
        blocks[b][i * size[c] + j]           = v;
        D[(off[a] + i) * N + off[c] + j]     = v;
        D[(off[c] + j) * N + off[a] + i]     = v;
      }
  }
  PetscCall(mc_graph_from_pairs(comm, G, size, NULL, nb, pairs, blocks, &g));
  PetscCheck(!g->layered, comm, PETSC_ERR_PLIB, "a graph with a block between groups 0 and 2 is not layered");
  {
    PetscInt rs, re, nc;
    const PetscInt *cols;
    const PetscScalar *vals;
    PetscCall(MatGetOwnershipRange(g->adj, &rs, &re));
    for (PetscInt i = rs; i < re; ++i) {
      PetscInt k = 0;
      PetscCall(MatGetRow(g->adj, i, &nc, &cols, &vals));
      for (PetscInt j = 0; j < N; ++j) {
        if (D[i * N + j] == 0) continue;
        PetscCheck(k < nc && cols[k] == j && vals[k] == D[i * N + j], PETSC_COMM_SELF, PETSC_ERR_PLIB, "row %" PetscInt_FMT " column %" PetscInt_FMT " differs from the blocks", i, j);
        k++;
      }
      PetscCheck(k == nc, PETSC_COMM_SELF, PETSC_ERR_PLIB, "row %" PetscInt_FMT " has %" PetscInt_FMT " entries, the blocks %" PetscInt_FMT, i, nc, k);
      PetscCall(MatRestoreRow(g->adj, i, &nc, &cols, &vals));
    }
  }
  PetscCall(PetscObjectQuery((PetscObject)g->adj, "mc_graph_mult", &op));
  PetscCheck(op, comm, PETSC_ERR_PLIB, "no block product composed on a non-layered graph");
  PetscCall(MatCreateVecs(g->adj, &x, &y0));
  PetscCall(VecDuplicate(y0, &y1));
  for (int t = 0; t < 3; ++t) {
    PetscReal    err, nrm;
    PetscScalar *xa;
    PetscInt     rs, re;
    PetscCall(VecGetOwnershipRange(x, &rs, &re));
    PetscCall(VecGetArray(x, &xa));
    for (PetscInt i = rs; i < re; ++i) {
      MCRng q;
      mc_rng_init(&q, 11 + t, 0, (uint64_t)i);
      xa[i - rs] = mc_rng_uniform(&q) - 0.5;
    }
    PetscCall(VecRestoreArray(x, &xa));
    PetscCall(MatMult(g->adj, x, y0));
    PetscCall(MatMult((Mat)op, x, y1));
    PetscCall(VecAXPY(y1, -1.0, y0));
    PetscCall(VecNorm(y1, NORM_INFINITY, &err));
    PetscCall(VecNorm(y0, NORM_INFINITY, &nrm));
    PetscCheck(err <= 1e-13 * nrm, comm, PETSC_ERR_PLIB, "block product differs from the CSR product by %g (of %g)", (double)err, (double)nrm);
  }
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&y0));
  PetscCall(VecDestroy(&y1));
  PetscCall(mc_graph_destroy(&g));
  PetscCall(PetscFree(D));
  PetscCall(PetscPrintf(comm, "block graph: CSR rows and block product agree\n"));

  /* Refusals: a pair out of order, a pair twice (each frees the blocks it was given). */
  {
    const PetscInt bad[2][4] = {{1, 0, 0, 1}, {0, 1, 0, 1}};
    for (int c = 0; c < 2; ++c) {
      PetscErrorCode ierr;
      PetscReal    **bl;
      PetscCall(PetscMalloc1(2, &bl));
      for (int b = 0; b < 2; ++b) PetscCall(PetscCalloc1(size[0] * size[1], &bl[b]));
      PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
      ierr = mc_graph_from_pairs(comm, G, size, NULL, 2, bad[c], bl, &g);
      PetscCall(PetscPopErrorHandler());
      PetscCheck(ierr == PETSC_ERR_ARG_OUTOFRANGE, comm, PETSC_ERR_PLIB, "bad pair list %d accepted (%d)", c, (int)ierr);
    }
  }
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(mc_sys_initialize());
  PetscCall(check(PETSC_COMM_WORLD));
  PetscCall(PetscFinalize());
  return 0;
}
