/* bench/bench_dense_eig.c: the leading eigenpairs of a dense activation-like graph (squared correlations of N
   units with 16 planted factors over S samples), by SLEPc on the MATMPIDENSE rows (mc_spectral_embed, what
   modclust-mpi uses) and by ScaLAPACK's pdsyevx on a 2-D grid (mc_dense_eig_top); prints both times and how
   far their eigenvalues differ. Not a test.
   Usage: mpiexec -n 2 bench_dense_eig -n 4224 -s 4992 -k 16 */
#include <slepcsys.h>
#include "mc/mc.h"

int main(int argc, char **argv)
{
  PetscInt       N = 1024, S = 4992, K = 16, r0, nr, lda, n_kept, *kept;
  PetscMPIInt    size, rank;
  PetscReal     *Y, *G, *d, *dall, *M, *eig, *V, worst = 0;
  Mat            A;
  MCDenseOpts    o;
  MCEmbedding   *emb;
  PetscLogDouble t0, t1, t_eps, t_sca;

  PetscCall(SlepcInitialize(&argc, &argv, NULL, NULL));
  PetscCall(mc_sys_initialize());
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-n", &N, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-s", &S, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-k", &K, NULL));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCall(mc_dense_options(&o));
  mc_dense_split(N, size, rank, 1, &r0, &nr);
  lda = PetscMax(1, nr);
  /* Unit i = factor (i mod 16) + noise, centred and scaled: rows by rank, each from its own stream. */
  PetscCall(PetscMalloc1(lda * S, &Y));
  for (PetscInt i = 0; i < nr; ++i) {
    MCRng     f, e;
    PetscReal m = 0, ss = 0;
    mc_rng_init(&f, 1, MC_STREAM_SYNTH, (uint64_t)((r0 + i) % 16));
    mc_rng_init(&e, 2, MC_STREAM_SYNTH, (uint64_t)(r0 + i));
    for (PetscInt t = 0; t < S; ++t) m += (Y[t * lda + i] = mc_rng_normal(&f) + 1.5 * mc_rng_normal(&e));
    m /= S;
    for (PetscInt t = 0; t < S; ++t) {
      Y[t * lda + i] -= m;
      ss += Y[t * lda + i] * Y[t * lda + i];
    }
    for (PetscInt t = 0; t < S; ++t) Y[t * lda + i] /= PetscSqrtReal(ss);
  }
  PetscCall(MatCreateDense(PETSC_COMM_WORLD, nr, nr, N, N, NULL, &A));
  PetscCall(MatDenseGetArrayWrite(A, &G));
  PetscCall(mc_dense_gram(PETSC_COMM_WORLD, &o, N, S, &Y, G, NULL));
  PetscCall(PetscMalloc3(lda, &d, N, &dall, lda * N, &M));
  for (PetscInt i = 0; i < nr; ++i) d[i] = 0;
  for (PetscInt j = 0; j < N; ++j)
    for (PetscInt i = 0; i < nr; ++i) {
      G[j * lda + i] = j == r0 + i ? 0 : G[j * lda + i] * G[j * lda + i];
      d[i] += G[j * lda + i];
    }
  PetscCall(mc_sys_gatherv(PETSC_COMM_WORLD, -1, d, nr, MPIU_REAL, dall));
  for (PetscInt j = 0; j < N; ++j)
    for (PetscInt i = 0; i < nr; ++i) M[j * lda + i] = G[j * lda + i] / PetscSqrtReal(dall[r0 + i] * dall[j]);
  PetscCall(MatDenseRestoreArrayWrite(A, &G));
  PetscCall(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));

  /* SLEPc, as modclust-mpi runs it. */
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  PetscCall(PetscTime(&t0));
  PetscCall(mc_graph_find_isolated(A, &n_kept, &kept, NULL));
  PetscCall(mc_spectral_embed(A, NULL, n_kept, kept, K, 1e-10, 0, 42, NULL, &emb));
  PetscCall(PetscTime(&t1));
  t_eps = t1 - t0;
  /* ScaLAPACK. */
  PetscCall(PetscMalloc2(K, &eig, PetscMax(1, lda) * K, &V));
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  PetscCall(mc_dense_eig_top(PETSC_COMM_WORLD, &o, N, M, K, eig, V, &t_sca));
  for (PetscInt i = 0; i < K; ++i) worst = PetscMax(worst, PetscAbsReal((1 - eig[i]) - emb->eigenvalues[i]));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "N %" PetscInt_FMT " S %" PetscInt_FMT " k %" PetscInt_FMT " on %d ranks: SLEPc %.3f s, pdsyevx %.3f s (ratio %.1f); eigenvalues differ by %.1e\n", N, S, K,
                        (int)size, t_eps, t_sca, t_sca / t_eps, (double)worst));
  PetscCall(PetscFree2(eig, V));
  PetscCall(PetscFree(kept));
  PetscCall(mc_spectral_embedding_destroy(&emb));
  PetscCall(PetscFree3(d, dall, M));
  PetscCall(MatDestroy(&A));
  PetscCall(mc_sys_finalize());
  PetscCall(SlepcFinalize());
  return 0;
}
