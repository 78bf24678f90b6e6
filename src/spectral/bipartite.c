/* src/spectral/bipartite.c: the half-size eigenproblem of a layered (bipartite) graph: the block between
   its two sides, stored for fast products (dense, on one rank by bands or as the formed operator; or
   sparse), the top eigenpairs of C C^T, and the embedding rebuilt from them. */
#include "eps_impl.h"
#include <petscblaslapack.h>

/* The bipartite operator: y = B B^T x with B = S_s A_sl S_l, the block of M = D^-1/2 A D^-1/2 from the
   smaller side s (rows) to the larger side l (columns). */
typedef struct {
  Mat B;      /* A_sl, kept nodes only (sparse, or dense when at least a third full); owned */
  Vec ss, sl; /* d^-1/2 on each side (local parts of the kept layout); owned */
  Vec sl2;    /* d^-1 on side l */
  Vec ws, wl; /* work */
  /* Bands of a dense B held by one rank: the rows of each layer of side s, with the window of columns
     (layers of side l) where the band has non-zeros: band t is rows band[4t]..band[4t+1]-1, columns
     band[4t+2]..band[4t+3]-1. The products then skip the zero blocks between layers (an MLP's block is
     about 60% full: layer 1 meets layers 0 and 2, layer 3 meets 2 and 4...). */
  PetscInt  nband, *band;
} BipCtx;

/* Rows of a dense local array a (column-major, leading dimension lda) times x, band by band:
   trans: wl = B^T ws (each band adds into its column window); else ws = B wl (bands own their rows). */
static PetscErrorCode band_mult(const BipCtx *b, PetscBool trans, Vec in, Vec out)
{
  const PetscScalar *a, *x;
  PetscScalar       *y;
  PetscInt           lda;
  PetscBLASInt       m, n, ld, one = 1;
  const PetscScalar  s_one = 1, s_zero = 0;

  PetscFunctionBeginUser;
  PetscCall(MatDenseGetArrayRead(b->B, &a));
  PetscCall(MatDenseGetLDA(b->B, &lda));
  PetscCall(PetscBLASIntCast(lda, &ld));
  PetscCall(VecGetArrayRead(in, &x));
  PetscCall(VecGetArrayWrite(out, &y));
  if (trans) {
    PetscInt nl;
    PetscCall(VecGetLocalSize(out, &nl));
    PetscCall(PetscArrayzero(y, nl));
  }
  for (PetscInt t = 0; t < b->nband; ++t) {
    const PetscInt *w = b->band + 4 * t;
    if (w[3] <= w[2]) continue;
    PetscCall(PetscBLASIntCast(w[1] - w[0], &m));
    PetscCall(PetscBLASIntCast(w[3] - w[2], &n));
    if (trans) PetscCallBLAS("BLASgemv", BLASgemv_("T", &m, &n, &s_one, a + w[0] + w[2] * lda, &ld, x + w[0], &one, &s_one, y + w[2], &one));
    else PetscCallBLAS("BLASgemv", BLASgemv_("N", &m, &n, &s_one, a + w[0] + w[2] * lda, &ld, x + w[2], &one, &s_zero, y + w[0], &one));
  }
  /* A band without columns (impossible for kept nodes, which have edges) still gets its zeros. */
  if (!trans)
    for (PetscInt t = 0; t < b->nband; ++t)
      if (b->band[4 * t + 3] <= b->band[4 * t + 2]) PetscCall(PetscArrayzero(y + b->band[4 * t], b->band[4 * t + 1] - b->band[4 * t]));
  PetscCall(VecRestoreArrayWrite(out, &y));
  PetscCall(VecRestoreArrayRead(in, &x));
  PetscCall(MatDenseRestoreArrayRead(b->B, &a));
  PetscFunctionReturn(0);
}

/* wl = A_ls ws: by bands, or a transpose product. */
static PetscErrorCode mult_transpose(const BipCtx *b, Vec ws, Vec wl)
{
  PetscFunctionBeginUser;
  if (b->nband) PetscCall(band_mult(b, PETSC_TRUE, ws, wl));
  else PetscCall(MatMultTranspose(b->B, ws, wl));
  PetscFunctionReturn(0);
}

/* ws = A_sl wl. */
static PetscErrorCode mult_block(const BipCtx *b, Vec wl, Vec ws)
{
  PetscFunctionBeginUser;
  if (b->nband) PetscCall(band_mult(b, PETSC_FALSE, wl, ws));
  else PetscCall(MatMult(b->B, wl, ws));
  PetscFunctionReturn(0);
}

static PetscErrorCode bip_mult(Mat Op, Vec x, Vec y)
{
  BipCtx *b;

  PetscFunctionBeginUser;
  PetscCall(MatShellGetContext(Op, &b));
  PetscCall(VecPointwiseMult(b->ws, b->ss, x));
  PetscCall(mult_transpose(b, b->ws, b->wl));
  PetscCall(VecPointwiseMult(b->wl, b->wl, b->sl2));
  PetscCall(mult_block(b, b->wl, y));
  PetscCall(VecPointwiseMult(y, y, b->ss));
  PetscFunctionReturn(0);
}

/* Whether form_gram pays off: a banded B whose Gram matrix is no larger than the bands (each product then
   reads less), and a side s small enough that forming it (about n_s BLAS-3 operations per band entry)
   costs less than the hundred or so gemv passes over the bands it saves. */
#define MC_EPS_GRAM_MAX_ROWS 4096
static PetscBool gram_pays(const BipCtx *b)
{
  PetscInt   ns = 0;
  PetscInt64 entries = 0;

  if (!b->nband) return PETSC_FALSE;
  for (PetscInt t = 0; t < b->nband; ++t) {
    const PetscInt *w = b->band + 4 * t;
    ns += w[1] - w[0];
    if (w[3] > w[2]) entries += (PetscInt64)(w[1] - w[0]) * (w[3] - w[2]);
  }
  return ns <= MC_EPS_GRAM_MAX_ROWS && (PetscInt64)ns * ns <= entries ? PETSC_TRUE : PETSC_FALSE;
}

/* The operator S_s B S_l^2 B^T S_s itself, as a dense matrix, for a banded B held by one rank: the
   products then read an n_s x n_s matrix instead of the bands twice (for an MLP, 0.27M entries instead of
   0.8M per product, over about a hundred products), at the cost of one Gram product by BLAS level 3:
   with Bs = S_s B S_l, each band's diagonal block is Bs_a Bs_a^T (syrk over the band's window) and two
   bands meet over the overlap of their windows (gemm); bands whose windows do not overlap give zero
   blocks. */
static PetscErrorCode form_gram(const BipCtx *b, Mat *G)
{
  const PetscScalar *a, *ss, *sl;
  PetscScalar       *bs, *g;
  PetscInt           ns, nl, lda;
  PetscBLASInt       ld, m, n, kk;
  const PetscScalar  one = 1, zero = 0;
  MPI_Comm           comm;

  PetscFunctionBeginUser;
  PetscCall(PetscObjectGetComm((PetscObject)b->B, &comm));
  PetscCall(MatGetLocalSize(b->B, &ns, &nl));
  PetscCall(MatDenseGetLDA(b->B, &lda));
  PetscCall(PetscBLASIntCast(ns, &ld));
  /* Bs, packed with leading dimension ns. */
  PetscCall(PetscMalloc1(ns * nl, &bs));
  PetscCall(MatDenseGetArrayRead(b->B, &a));
  PetscCall(VecGetArrayRead(b->ss, &ss));
  PetscCall(VecGetArrayRead(b->sl, &sl));
  for (PetscInt c = 0; c < nl; ++c)
    for (PetscInt r = 0; r < ns; ++r) bs[r + c * ns] = ss[r] * a[r + c * lda] * sl[c];
  PetscCall(VecRestoreArrayRead(b->sl, &sl));
  PetscCall(VecRestoreArrayRead(b->ss, &ss));
  PetscCall(MatDenseRestoreArrayRead(b->B, &a));
  PetscCall(MatCreateDense(comm, ns, ns, ns, ns, NULL, G));
  PetscCall(MatDenseGetArrayWrite(*G, &g));
  PetscCall(PetscArrayzero(g, ns * ns));
  for (PetscInt t = 0; t < b->nband; ++t) {
    const PetscInt *w = b->band + 4 * t;
    if (w[3] <= w[2]) continue;
    PetscCall(PetscBLASIntCast(w[1] - w[0], &m));
    PetscCall(PetscBLASIntCast(w[3] - w[2], &kk));
    PetscCallBLAS("BLASsyrk", BLASsyrk_("L", "N", &m, &kk, &one, bs + w[0] + w[2] * ns, &ld, &zero, g + w[0] + w[0] * ns, &ld));
    for (PetscInt u = t + 1; u < b->nband; ++u) {
      const PetscInt *v  = b->band + 4 * u;
      const PetscInt  c0 = PetscMax(w[2], v[2]), c1 = PetscMin(w[3], v[3]);
      if (c1 <= c0) continue;
      /* Rows of band u come after those of band t: the block lies below the diagonal. */
      PetscCall(PetscBLASIntCast(v[1] - v[0], &n));
      PetscCall(PetscBLASIntCast(c1 - c0, &kk));
      PetscCallBLAS("BLASgemm", BLASgemm_("N", "T", &n, &m, &kk, &one, bs + v[0] + c0 * ns, &ld, bs + w[0] + c0 * ns, &ld, &zero, g + v[0] + w[0] * ns, &ld));
    }
  }
  /* The upper triangle from the lower. */
  for (PetscInt j = 0; j < ns; ++j)
    for (PetscInt i = 0; i < j; ++i) g[i + j * ns] = g[j + i * ns];
  PetscCall(MatDenseRestoreArrayWrite(*G, &g));
  PetscCall(MatAssemblyBegin(*G, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*G, MAT_FINAL_ASSEMBLY));
  PetscCall(PetscFree(bs));
  PetscCall(PetscInfo(b->B, "Formed the %" PetscInt_FMT " x %" PetscInt_FMT " operator from %" PetscInt_FMT " bands\n", ns, ns, b->nband));
  PetscFunctionReturn(0);
}

/* Group (layer) of global node i. */
static PetscInt node_group(const MCGroups *groups, PetscInt i)
{
  PetscInt        lo = 0, hi = groups->n_groups;
  const PetscInt *off = groups->offset;

  while (hi - lo > 1) {
    PetscInt mid = (lo + hi) / 2;
    if (off[mid] <= i) lo = mid;
    else hi = mid;
  }
  return lo;
}

/* Side (0 or 1) of global node i: the parity of its group. */
static PetscInt node_side(const MCGroups *groups, PetscInt i)
{
  return node_group(groups, i) % 2;
}

/* A_sl, dense, filled straight from adj's rows (no sorted sparse copy to convert), when every rank owns
   the rows it needs: rows[] are this rank's nr side-s nodes; the columns are the side-l nodes of kept[]
   (replicated, n_kept of them) in node order, nl of them on this rank and gl in all. Entries of those
   rows outside side l are left out, as MatCreateSubMatrix would; *nz counts the entries kept on all
   ranks. Collective. */
static PetscErrorCode extract_dense(Mat adj, const MCGroups *groups, PetscInt side_l, PetscInt n_kept, const PetscInt kept[], PetscInt nr,
                                    const PetscInt rows[], PetscInt nl, PetscInt gl, Mat *B, PetscLogDouble *nz)
{
  MPI_Comm     comm;
  PetscInt     N, *col_of, lda;
  PetscScalar *a;
  PetscInt64   kept_nz = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscObjectGetComm((PetscObject)adj, &comm));
  PetscCall(MatGetSize(adj, &N, NULL));
  PetscCall(PetscMalloc1(N, &col_of));
  for (PetscInt i = 0; i < N; ++i) col_of[i] = -1;
  for (PetscInt j = 0, p = 0; j < n_kept; ++j)
    if (node_side(groups, kept[j]) == side_l) col_of[kept[j]] = p++;
  /* A dense matrix's local array holds its rows across all gl columns. */
  PetscCall(MatCreateDense(comm, nr, nl, PETSC_DETERMINE, gl, NULL, B));
  PetscCall(MatDenseGetLDA(*B, &lda));
  PetscCall(MatDenseGetArrayWrite(*B, &a));
  PetscCall(PetscArrayzero(a, lda * gl));
  for (PetscInt t = 0; t < nr; ++t) {
    PetscInt           n;
    const PetscInt    *cj;
    const PetscScalar *v;
    PetscCall(MatGetRow(adj, rows[t], &n, &cj, &v));
    for (PetscInt q = 0; q < n; ++q)
      if (col_of[cj[q]] >= 0) {
        a[t + col_of[cj[q]] * lda] = v[q];
        kept_nz++;
      }
    PetscCall(MatRestoreRow(adj, rows[t], &n, &cj, &v));
  }
  PetscCall(MatDenseRestoreArrayWrite(*B, &a));
  PetscCall(MatAssemblyBegin(*B, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*B, MAT_FINAL_ASSEMBLY));
  PetscCall(PetscFree(col_of));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &kept_nz, 1, MPIU_INT64, MPI_SUM, comm));
  *nz = (PetscLogDouble)kept_nz;
  PetscFunctionReturn(0);
}

/* The bands of a dense B held whole by this rank (see BipCtx): rows[] are the global nodes of its rows,
   in order; each run of rows from one group is a band, and its window spans its first to its last
   non-zero column. */
static PetscErrorCode find_bands(BipCtx *b, const MCGroups *groups, PetscInt nrows, const PetscInt rows[])
{
  const PetscScalar *a;
  PetscInt           lda, ncols;

  PetscFunctionBeginUser;
  PetscCall(MatGetLocalSize(b->B, NULL, &ncols));
  PetscCall(MatDenseGetLDA(b->B, &lda));
  b->nband = 0;
  for (PetscInt t = 0; t < nrows; ++t)
    if (t == 0 || node_group(groups, rows[t]) != node_group(groups, rows[t - 1])) b->nband++;
  PetscCall(PetscMalloc1(4 * b->nband, &b->band));
  PetscCall(MatDenseGetArrayRead(b->B, &a));
  for (PetscInt t = 0, r0 = 0; t < b->nband; ++t) {
    PetscInt *w = b->band + 4 * t, r1 = r0 + 1;
    while (r1 < nrows && node_group(groups, rows[r1]) == node_group(groups, rows[r0])) r1++;
    w[0] = r0;
    w[1] = r1;
    w[2] = ncols;
    w[3] = 0;
    for (PetscInt j = 0; j < ncols; ++j)
      for (PetscInt r = r0; r < r1; ++r)
        if (a[r + j * lda] != 0) {
          w[2] = PetscMin(w[2], j);
          w[3] = j + 1;
          break;
        }
    r0 = r1;
  }
  PetscCall(MatDenseRestoreArrayRead(b->B, &a));
  PetscFunctionReturn(0);
}

/* For a bipartite graph (edges only between the two sides), M = [0 C; C^T 0] up to the node order: its
   eigenvalues are +-sigma for the singular values sigma of C, with eigenvectors (u, v) / sqrt(2), where
   C C^T u = sigma^2 u and v = C^T u / sigma. The top eigenpairs of M are therefore those of the
   smaller matrix C C^T (C = B of BipCtx), whose spectrum has no mirrored negative half: Krylov-Schur needs
   about half the products (each costs one pass over the block and its transpose, as one product with M).
   Each side is split evenly over the ranks in node order, so this path runs at any rank count.
   Residuals: ||M x - sigma x|| = ||C C^T u - sigma^2 u|| / (sigma sqrt(2)) for this x, so the relative
   test on sigma^2 is at least as tight as the same test on sigma. Fills e->U (before the sign flip),
   eigenvalues, n_converged and max_residual and sets *done; leaves *done false (and e untouched) when
   the graph is not bipartite as composed, the smaller side is too small for dim pairs (or for the ranks),
   or a needed sigma is too small to recover v accurately. Collective. */
PetscErrorCode mc__eps_solve_bipartite(Mat adj, const MCGroups *groups, Vec s, PetscInt n_kept, const PetscInt kept[], PetscInt dim, PetscReal tol,
                                       PetscInt max_it, uint64_t seed, const char *options_prefix, MCEmbedding *e, PetscBool *done)
{
  MPI_Comm           comm;
  PetscMPIInt        size;
  PetscInt           gcnt[2] = {0, 0}, small, nloc[2], first[2], *idx[2], *pos[2], nconv, *order, nk;
  IS                 is[2], ip[2];
  VecScatter         sc[2];
  BipCtx             b;
  Mat                Op;
  EPS                eps;
  Vec                v0, u, rv, xk;
  PetscReal         *lam, *res;
  MatInfo            ia, ib;
  PetscLogDouble     nzb = 0;
  PetscBool          dense;
  PetscInt           lacking;

  PetscFunctionBeginUser;
  *done = PETSC_FALSE;
  PetscCall(PetscObjectGetComm((PetscObject)adj, &comm));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(VecGetLocalSize(s, &nk));
  /* kept[] is replicated, so every rank knows both sides in full and takes a contiguous run of each side
     in node order, so no rank is left without rows. */
  for (PetscInt j = 0; j < n_kept; ++j) gcnt[node_side(groups, kept[j])]++;
  small = gcnt[0] <= gcnt[1] ? 0 : 1;
  /* Room for the Krylov basis and more singular values than needed (none of them zero-padded). */
  if (gcnt[small] < 2 * dim + 16 || gcnt[small] < 4 * (PetscInt)size) PetscFunctionReturn(0);
  /* Rows in adj's own layout when every rank owns nodes of both sides (MatCreateSubMatrix is then local
     and fast); otherwise each side split evenly in node order. */
  {
    PetscInt rstart, rend, own[2] = {0, 0};
    PetscCall(MatGetOwnershipRange(adj, &rstart, &rend));
    for (PetscInt j = 0; j < n_kept; ++j)
      if (kept[j] >= rstart && kept[j] < rend) own[node_side(groups, kept[j]) == small ? 0 : 1]++;
    lacking = (own[0] == 0 || own[1] == 0) ? 1 : 0;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &lacking, 1, MPIU_INT, MPI_MAX, comm));
    for (PetscInt t = 0; t < 2; ++t) {
      PetscInt sd = t == 0 ? small : 1 - small;
      if (!lacking) nloc[t] = own[t];
      else {
        nloc[t] = PETSC_DECIDE;
        PetscCall(PetscSplitOwnership(comm, &nloc[t], &gcnt[sd]));
      }
      PetscCall(mc_sys_ownership_start(comm, nloc[t], &first[t]));
    }
  }
  PetscCall(PetscMalloc4(nloc[0], &idx[0], nloc[1], &idx[1], nloc[0], &pos[0], nloc[1], &pos[1]));
  {
    PetscInt r[2] = {0, 0}, q[2] = {0, 0};
    for (PetscInt j = 0; j < n_kept; ++j) {
      PetscInt sd = node_side(groups, kept[j]), t = sd == small ? 0 : 1;
      if (r[t] >= first[t] && r[t] < first[t] + nloc[t]) {
        idx[t][q[t]]   = kept[j];
        pos[t][q[t]++] = j;
      }
      r[t]++;
    }
  }
  PetscCall(PetscMemzero(&b, sizeof(b)));
  /* Storage for the products: below the lean size, a block at least a third full is stored dense (at
     most twice the memory of the sparse block), and both of its products run as BLAS gemv, with no
     scattered transpose product (an unpruned MLP's block is about 60% full; its products run about twice
     as fast as from the sparse block). Otherwise the sparse block. adj holds the block twice when the
     graph is bipartite, so its entries tell the density before the block exists. */
  PetscCall(MatGetInfo(adj, MAT_GLOBAL_SUM, &ia));
  dense = gcnt[0] + gcnt[1] <= MC_EPS_LEAN_ROWS && 3 * (ia.nz_used / 2) >= (PetscLogDouble)gcnt[0] * (PetscLogDouble)gcnt[1] ? PETSC_TRUE : PETSC_FALSE;
  if (dense && !lacking) PetscCall(extract_dense(adj, groups, 1 - small, n_kept, kept, nloc[0], idx[0], nloc[1], gcnt[1 - small], &b.B, &nzb));
  else {
    PetscCall(ISCreateGeneral(comm, nloc[0], idx[0], PETSC_USE_POINTER, &is[0]));
    PetscCall(ISCreateGeneral(comm, nloc[1], idx[1], PETSC_USE_POINTER, &is[1]));
    PetscCall(MatCreateSubMatrix(adj, is[0], is[1], MAT_INITIAL_MATRIX, &b.B));
    PetscCall(ISDestroy(&is[0]));
    PetscCall(ISDestroy(&is[1]));
    PetscCall(MatGetInfo(b.B, MAT_GLOBAL_SUM, &ib));
    nzb = ib.nz_used;
  }
  /* Bipartite as composed: the block holds exactly half of the stored entries. */
  if (ia.nz_used != 2 * nzb) {
    PetscCall(PetscInfo(adj, "Not bipartite as composed (%g stored entries, block %g); general eigensolver\n", ia.nz_used, nzb));
    PetscCall(MatDestroy(&b.B));
    PetscCall(PetscFree4(idx[0], idx[1], pos[0], pos[1]));
    PetscFunctionReturn(0);
  }
  if (dense && lacking) PetscCall(MatConvert(b.B, MATDENSE, MAT_INPLACE_MATRIX, &b.B));
  /* Held whole by one rank: products by bands, skipping the zero blocks. */
  if (dense && size == 1) PetscCall(find_bands(&b, groups, nloc[0], idx[0]));
  PetscCall(PetscInfo(adj, "Bipartite block %" PetscInt_FMT " x %" PetscInt_FMT ", %" PetscInt64_FMT " non-zeros: %s, %" PetscInt_FMT " bands\n", gcnt[small],
                      gcnt[1 - small], (PetscInt64)nzb, dense ? "dense" : "sparse", b.nband));
  PetscCall(MatCreateVecs(b.B, &b.wl, &b.ws));
  PetscCall(VecDuplicate(b.ws, &b.ss));
  PetscCall(VecDuplicate(b.wl, &b.sl));
  PetscCall(VecDuplicate(b.wl, &b.sl2));
  /* Scatters from each side's vector to the kept layout (positions in kept[]), and d^-1/2 per side. */
  PetscCall(ISCreateGeneral(comm, nloc[0], pos[0], PETSC_USE_POINTER, &ip[0]));
  PetscCall(ISCreateGeneral(comm, nloc[1], pos[1], PETSC_USE_POINTER, &ip[1]));
  PetscCall(VecScatterCreate(b.ss, NULL, s, ip[0], &sc[0]));
  PetscCall(VecScatterCreate(b.sl, NULL, s, ip[1], &sc[1]));
  PetscCall(ISDestroy(&ip[0]));
  PetscCall(ISDestroy(&ip[1]));
  PetscCall(VecScatterBegin(sc[0], s, b.ss, INSERT_VALUES, SCATTER_REVERSE));
  PetscCall(VecScatterEnd(sc[0], s, b.ss, INSERT_VALUES, SCATTER_REVERSE));
  PetscCall(VecScatterBegin(sc[1], s, b.sl, INSERT_VALUES, SCATTER_REVERSE));
  PetscCall(VecScatterEnd(sc[1], s, b.sl, INSERT_VALUES, SCATTER_REVERSE));
  PetscCall(VecPointwiseMult(b.sl2, b.sl, b.sl));
  if (gram_pays(&b)) PetscCall(form_gram(&b, &Op));
  else {
    PetscCall(MatCreateShell(comm, nloc[0], nloc[0], gcnt[small], gcnt[small], &b, &Op));
    PetscCall(MatShellSetOperation(Op, MATOP_MULT, (void (*)(void))bip_mult));
  }

  /* Start vector: the same function of the global node id as the general path, on side s. */
  PetscCall(VecDuplicate(b.ws, &v0));
  {
    PetscScalar *p;
    PetscCall(VecGetArray(v0, &p));
    for (PetscInt t = 0; t < nloc[0]; ++t) {
      MCRng r;
      mc_rng_init(&r, seed, MC_STREAM_KMEANS, ((uint64_t)1 << 62) | (uint64_t)idx[0][t]);
      p[t] = 0.5 + mc_rng_uniform(&r);
    }
    PetscCall(VecRestoreArray(v0, &p));
  }
  PetscCall(mc__eps_solve_largest(comm, Op, dim, tol, max_it, v0, options_prefix, &eps, &nconv));
  PetscCall(PetscMalloc3(dim, &lam, dim, &res, dim, &order));
  for (PetscInt i = 0; i < dim; ++i) {
    PetscScalar kr;
    PetscCall(EPSGetEigenvalue(eps, i, &kr, NULL));
    lam[i]   = PetscRealPart(kr);
    order[i] = i;
  }
  mc__eps_sort_descending(dim, lam, order);
  /* v = C^T u / sigma loses accuracy as sigma approaches 0: leave such graphs to the general path. */
  if (lam[order[dim - 1]] > 1e-6) {
    const PetscReal    r2 = 1 / PetscSqrtReal(2.0);
    const PetscScalar *xa;
    PetscCall(MatCreateVecs(Op, &u, NULL));
    PetscCall(VecDuplicate(u, &rv));
    PetscCall(VecDuplicate(s, &xk));
    e->n_converged  = nconv;
    e->max_residual = 0;
    for (PetscInt c = 0; c < dim; ++c) {
      PetscReal sigma = PetscSqrtReal(lam[order[c]]);
      e->eigenvalues[c] = 1 - sigma;
      PetscCall(EPSGetEigenvector(eps, order[c], u, NULL));
      /* U = D^-1/2 x with x = (u, C^T u / sigma) / sqrt(2); C^T u = S_l A_ls S_s u. */
      PetscCall(VecPointwiseMult(b.ws, b.ss, u));
      PetscCall(mult_transpose(&b, b.ws, b.wl));
      PetscCall(VecPointwiseMult(b.wl, b.wl, b.sl2));
      /* The residual of x for M: the lower half vanishes by construction, the upper half is
         (C C^T u - sigma^2 u) / (sigma sqrt 2); C^T u is at hand, so one product with C completes it. */
      {
        PetscReal rn;
        PetscCall(mult_block(&b, b.wl, rv));
        PetscCall(VecPointwiseMult(rv, rv, b.ss));
        PetscCall(VecAXPY(rv, -lam[order[c]], u));
        PetscCall(VecNorm(rv, NORM_2, &rn));
        e->max_residual = PetscMax(e->max_residual, rn / (sigma * PetscSqrtReal(2.0)));
      }
      PetscCall(VecScale(b.wl, r2 / sigma));
      PetscCall(VecScale(b.ws, r2));
      PetscCall(VecScatterBegin(sc[0], b.ws, xk, INSERT_VALUES, SCATTER_FORWARD));
      PetscCall(VecScatterEnd(sc[0], b.ws, xk, INSERT_VALUES, SCATTER_FORWARD));
      PetscCall(VecScatterBegin(sc[1], b.wl, xk, INSERT_VALUES, SCATTER_FORWARD));
      PetscCall(VecScatterEnd(sc[1], b.wl, xk, INSERT_VALUES, SCATTER_FORWARD));
      PetscCall(VecGetArrayRead(xk, &xa));
      for (PetscInt i = 0; i < nk; ++i) e->U[i * dim + c] = PetscRealPart(xa[i]);
      PetscCall(VecRestoreArrayRead(xk, &xa));
    }
    PetscCall(VecDestroy(&u));
    PetscCall(VecDestroy(&rv));
    PetscCall(VecDestroy(&xk));
    *done = PETSC_TRUE;
  } else PetscCall(PetscInfo(adj, "A needed singular value is %g; general eigensolver\n", (double)lam[order[dim - 1]]));
  PetscCall(PetscFree3(lam, res, order));
  PetscCall(VecDestroy(&v0));
  PetscCall(EPSDestroy(&eps));
  PetscCall(MatDestroy(&Op));
  PetscCall(MatDestroy(&b.B));
  PetscCall(PetscFree(b.band));
  PetscCall(VecDestroy(&b.ss));
  PetscCall(VecDestroy(&b.sl));
  PetscCall(VecDestroy(&b.sl2));
  PetscCall(VecDestroy(&b.ws));
  PetscCall(VecDestroy(&b.wl));
  PetscCall(VecScatterDestroy(&sc[0]));
  PetscCall(VecScatterDestroy(&sc[1]));
  PetscCall(PetscFree4(idx[0], idx[1], pos[0], pos[1]));
  PetscFunctionReturn(0);
}

