/* tests/cluster/test_kmeans.c: distributed k-means on a fixed embedding (a Gaussian mixture generated per
   global row, so every rank count holds the same rows; -lattice puts them on {-1,0,1}^dim instead, full of
   exact distance ties; -in reads n x dim float64 rows from a file, e.g. an embedding dumped for
   profiling). Checks here: every label is the nearest returned
   centre, the reported inertia matches a recomputation, the sign flip leaves each column's largest entry
   positive. Rank 0 writes the rows, labels, centres and inertia to -out so kmeans_oracle.py can check
   bitwise equality across rank counts and compare with scikit-learn. */
#include "mc/kmeans.h"
#include "mc/spectral.h"

int main(int argc, char **argv)
{
  MPI_Comm     comm;
  PetscInt     n = 3000, dim = 5, k = 6, n_init = 10, nloc = PETSC_DECIDE, rstart = 0, *lab, *all_lab = NULL;
  PetscReal   *U, *all_U = NULL, cen[64 * 16], inertia = 0;
  MCKMeansOpts o;
  MCKMeansInfo info;
  PetscMPIInt  rank, size, *counts, *displs, mine;
  char         out[PETSC_MAX_PATH_LEN] = "kmeans.bin", in[PETSC_MAX_PATH_LEN] = "";
  PetscBool    lattice                 = PETSC_FALSE;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(mc_sys_initialize());
  comm = PETSC_COMM_WORLD;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-n", &n, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-dim", &dim, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-k", &k, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-n_init", &n_init, NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-out", out, sizeof(out), NULL));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-lattice", &lattice, NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-in", in, sizeof(in), NULL));
  PetscCheck(k <= 64 && dim <= 16, comm, PETSC_ERR_USER_INPUT, "k <= 64 and dim <= 16 in this test");
  PetscCall(PetscSplitOwnership(comm, &nloc, &n));
  PetscCallMPI(MPI_Exscan(&nloc, &rstart, 1, MPIU_INT, MPI_SUM, comm));
  if (rank == 0) rstart = 0;
  PetscCall(PetscMalloc2(nloc * dim, &U, nloc, &lab));
  if (in[0]) {
    /* -in: n x dim float64 rows (an embedding dumped for profiling); this rank reads its own block. */
    FILE *fp = fopen(in, "rb");
    PetscCheck(fp && fseek(fp, (long)(rstart * dim * (PetscInt)sizeof(PetscReal)), SEEK_SET) == 0 &&
                 fread(U, sizeof(PetscReal), (size_t)(nloc * dim), fp) == (size_t)(nloc * dim),
               PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot read %" PetscInt_FMT " x %" PetscInt_FMT " rows from %s", n, dim, in);
    fclose(fp);
  } else for (PetscInt i = 0; i < nloc; ++i) {
    PetscInt g = rstart + i, c = (g * 7) % 9; /* 9 overlapping blobs for k clusters: a non-trivial landscape */
    MCRng    rc, rx;
    mc_rng_init(&rc, 3, MC_STREAM_SYNTH, (uint64_t)c);
    mc_rng_init(&rx, 3, MC_STREAM_SYNTH, 1000 + (uint64_t)g);
    for (PetscInt j = 0; j < dim; ++j) U[i * dim + j] = 2 * mc_rng_uniform(&rc) - 1 + 0.35 * mc_rng_normal(&rx);
    /* -lattice: coordinates in {-1, 0, 1}, so rows repeat and exact distance ties are common. */
    if (lattice)
      for (PetscInt j = 0; j < dim; ++j) U[i * dim + j] = (PetscReal)((PetscInt)mc_rng_below(&rx, 3) - 1);
  }
  PetscCall(mc_spectral_sign_flip(comm, nloc, rstart, dim, U));
  o.k        = k;
  o.n_init   = n_init;
  o.max_iter = 300;
  o.tol      = 1e-4;
  o.seed     = 42;
  PetscCall(mc_kmeans_run(comm, nloc, dim, U, &o, lab, cen, &info));
  for (PetscInt i = 0; i < nloc; ++i) {
    PetscReal dbest = PETSC_MAX_REAL, d;
    PetscInt  cbest = -1;
    for (PetscInt c = 0; c < k; ++c) {
      d = 0;
      for (PetscInt j = 0; j < dim; ++j) d += (U[i * dim + j] - cen[c * dim + j]) * (U[i * dim + j] - cen[c * dim + j]);
      if (d < dbest) {
        dbest = d;
        cbest = c;
      }
    }
    PetscCheck(cbest == lab[i], PETSC_COMM_SELF, PETSC_ERR_PLIB, "row %" PetscInt_FMT " is not assigned to its nearest centre", rstart + i);
    inertia += dbest;
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &inertia, 1, MPIU_REAL, MPI_SUM, comm));
  PetscCheck(PetscAbsReal(inertia - info.inertia) <= 1e-9 * inertia, comm, PETSC_ERR_PLIB, "inertia %.17g vs recomputed %.17g", (double)info.inertia,
             (double)inertia);
  PetscCall(PetscMalloc2(size, &counts, size, &displs));
  PetscCall(PetscMPIIntCast(nloc, &mine));
  PetscCallMPI(MPI_Gather(&mine, 1, MPI_INT, counts, 1, MPI_INT, 0, comm));
  if (rank == 0) {
    displs[0] = 0;
    for (PetscMPIInt r = 1; r < size; ++r) displs[r] = displs[r - 1] + counts[r - 1];
    PetscCall(PetscMalloc2(n, &all_lab, n * dim, &all_U));
  }
  PetscCallMPI(MPI_Gatherv(lab, mine, MPIU_INT, all_lab, counts, displs, MPIU_INT, 0, comm));
  if (rank == 0)
    for (PetscMPIInt r = 0; r < size; ++r) {
      counts[r] *= (PetscMPIInt)dim;
      displs[r] *= (PetscMPIInt)dim;
    }
  PetscCallMPI(MPI_Gatherv(U, mine * (PetscMPIInt)dim, MPIU_REAL, all_U, counts, displs, MPIU_REAL, 0, comm));
  if (rank == 0) {
    /* Sign convention: each column's largest-|.| entry (first on ties) is positive. */
    for (PetscInt j = 0; j < dim; ++j) {
      PetscInt b = 0;
      for (PetscInt i = 1; i < n; ++i)
        if (PetscAbsReal(all_U[i * dim + j]) > PetscAbsReal(all_U[b * dim + j])) b = i;
      PetscCheck(all_U[b * dim + j] > 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "column %" PetscInt_FMT " not sign-flipped", j);
    }
    FILE   *fp = fopen(out, "wb");
    int64_t hdr[4] = {n, dim, k, info.best_restart};
    PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", out);
    fwrite(hdr, sizeof(int64_t), 4, fp);
    fwrite(all_U, sizeof(PetscReal), (size_t)(n * dim), fp);
    for (PetscInt i = 0; i < n; ++i) {
      int64_t l = all_lab[i];
      fwrite(&l, sizeof(l), 1, fp);
    }
    fwrite(cen, sizeof(PetscReal), (size_t)(k * dim), fp);
    fwrite(&info.inertia, sizeof(PetscReal), 1, fp);
    fclose(fp);
    PetscCall(PetscFree2(all_lab, all_U));
  }
  PetscCall(PetscPrintf(comm, "kmeans: inertia %a restart %" PetscInt_FMT " iterations %" PetscInt_FMT "\n", (double)info.inertia, info.best_restart,
                        info.n_iter));
  PetscCall(PetscFree2(counts, displs));
  PetscCall(PetscFree2(U, lab));
  PetscCall(PetscPopErrorHandler());
  PetscCall(PetscFinalize());
  return 0;
}
