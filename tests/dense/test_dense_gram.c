/* tests/dense/test_dense_gram.c: mc_dense_cols_to_rows and mc_dense_gram against a direct computation on
   every rank (the whole Y generated from one stream), for shapes that leave ranks short or empty, several
   panel widths and the grid of -mc_dense_grid_rows. Exits non-zero on any difference above 1e-12. */
#include "mc/dense.h"
#include "mc/sys.h"

static PetscErrorCode check(MPI_Comm comm, PetscInt N, PetscInt S, PetscInt panel, PetscInt block, PetscReal *worst)
{
  PetscMPIInt  size, rank;
  PetscInt     r0, nr, c0, nc;
  PetscReal   *Yfull, *Ycols, *Yrows, *G;
  MCRng        rng;
  MCDenseOpts  o;
  MCDenseStats st;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(mc_dense_options(&o));
  if (panel) o.panel = panel;
  if (block) o.block = block;
  mc_rng_init(&rng, 7, MC_STREAM_SYNTH, (uint64_t)(N * 1000 + S));
  PetscCall(PetscMalloc1(N * S, &Yfull));
  for (PetscInt i = 0; i < N * S; ++i) Yfull[i] = mc_rng_uniform(&rng) - 0.5; /* column-major N x S */
  /* Y^T (S x N) by columns, split with alignment 3: rank r holds Y's rows [c0, c0 + nc) as columns. */
  mc_dense_split(N, size, rank, 3, &c0, &nc);
  mc_dense_split(N, size, rank, 1, &r0, &nr);
  PetscCall(PetscMalloc2(PetscMax(S * nc, 1), &Ycols, PetscMax(nr * N, 1), &G));
  PetscCall(PetscMalloc1(PetscMax(nr * S, 1), &Yrows));
  for (PetscInt j = 0; j < nc; ++j)
    for (PetscInt t = 0; t < S; ++t) Ycols[j * S + t] = Yfull[t * N + c0 + j];
  /* by rows, Y^T's transpose: rows of Y^T are samples; use it to test the redistribution of Y^T (S x N)
     from columns to rows, then build Y by rows locally. */
  {
    PetscInt  s0, ns;
    PetscReal *YTrows;
    mc_dense_split(S, size, rank, 1, &s0, &ns);
    PetscCall(PetscMalloc1(PetscMax(ns * N, 1), &YTrows));
    PetscCall(mc_dense_cols_to_rows(comm, S, N, 3, Ycols, YTrows));
    for (PetscInt t = 0; t < ns; ++t)
      for (PetscInt j = 0; j < N; ++j) {
        PetscReal d = PetscAbsReal(YTrows[j * PetscMax(ns, 1) + t] - Yfull[(s0 + t) * N + j]);
        *worst = PetscMax(*worst, d == 0 ? 0 : 1);
      }
    PetscCall(PetscFree(YTrows));
  }
  for (PetscInt i = 0; i < nr; ++i)
    for (PetscInt t = 0; t < S; ++t) Yrows[t * nr + i] = Yfull[t * N + r0 + i];
  PetscCall(mc_dense_gram(comm, &o, N, S, &Yrows, G, &st));
  PetscCheck(!Yrows, PETSC_COMM_SELF, PETSC_ERR_PLIB, "mc_dense_gram did not release Y");
  for (PetscInt i = 0; i < nr; ++i)
    for (PetscInt j = 0; j < N; ++j) {
      PetscReal ref = 0;
      for (PetscInt t = 0; t < S; ++t) ref += Yfull[t * N + r0 + i] * Yfull[t * N + j];
      *worst = PetscMax(*worst, PetscAbsReal(G[j * nr + i] - ref));
    }
  /* exact symmetry is checked on the gathered matrix by the activation tests; here the panel count */
  PetscCheck(st.n_panels == (N + st.panel - 1) / st.panel, comm, PETSC_ERR_PLIB, "panel count %" PetscInt_FMT, st.n_panels);
  PetscCall(PetscFree2(Ycols, G));
  PetscCall(PetscFree(Yfull));
  PetscCall(PetscPrintf(comm, "N %4" PetscInt_FMT " S %3" PetscInt_FMT " grid %" PetscInt_FMT "x%" PetscInt_FMT " block %3" PetscInt_FMT " panel %4" PetscInt_FMT
                              " panels %3" PetscInt_FMT "\n", N, S, st.grid_rows, st.grid_cols, st.block, st.panel, st.n_panels));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscReal worst = 0, all;
  const PetscInt cases[][4] = {{1, 1, 0, 0}, {3, 5, 0, 0}, {7, 2, 0, 2}, {37, 11, 8, 4}, {100, 33, 0, 0}, {257, 64, 64, 16}, {300, 50, 0, 7}};

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(mc_sys_initialize());
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); ++c) PetscCall(check(PETSC_COMM_WORLD, cases[c][0], cases[c][1], cases[c][2], cases[c][3], &worst));
  PetscCallMPI(MPI_Allreduce(&worst, &all, 1, MPIU_REAL, MPI_MAX, PETSC_COMM_WORLD));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "largest difference %g\n", (double)all));
  PetscCheck(all < 1e-12, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "dense Gram or redistribution wrong: difference %g", (double)all);
  PetscCall(mc_sys_finalize());
  PetscCall(PetscFinalize());
  return 0;
}
