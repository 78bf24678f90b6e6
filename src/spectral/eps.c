/* src/spectral/eps.c: leading eigenpairs of D^-1/2 A D^-1/2 over the kept nodes with SLEPc, applied
   matrix-free so the adjacency is never copied (peak memory stays near one matrix). */
#include <slepceps.h>
#include <petscblaslapack.h>
#include "mc/spectral.h"
#include "bipartite.h"

typedef struct {
  Mat        A;   /* the full adjacency, borrowed */
  Vec        s;   /* d^-1/2 in the kept layout */
  Vec        w;   /* work, kept layout */
  VecScatter sc;  /* full -> kept (forward); NULL when kept = all nodes in the same layout */
  Vec        xf, yf; /* work, full layout (only with sc) */
} ShellCtx;

/* y = S P^T A P S x: S = diag(d^-1/2), P embeds the kept nodes into all nodes. */
/* Graphs above 200k rows run lean on memory: a smaller Krylov basis and no explicit transpose. */
#define MC_EPS_LEAN_ROWS 200000

/* Krylov basis size: SLEPc's default (about 2 k) for graphs up to MC_EPS_LEAN_ROWS rows; beyond,
   k + max(8, k/2) vectors, which on a 1M-node graph converges as fast and keeps the basis below the
   matrix's own size (bench/bench_large). -eps_ncv overrides either. */
static PetscInt basis_size(Mat A, PetscInt k)
{
  PetscInt n = 0;

  if (MatGetSize(A, &n, NULL)) return PETSC_DEFAULT;
  return n > MC_EPS_LEAN_ROWS ? k + PetscMax(8, k / 2) : PETSC_DEFAULT;
}

/* order[0..n) (initially any permutation) sorted so that v[order[i]] descends; insertion sort, n is k. */
static void sort_descending(PetscInt n, const PetscReal v[], PetscInt order[])
{
  for (PetscInt i = 1; i < n; ++i)
    for (PetscInt j = i; j > 0 && v[order[j]] > v[order[j - 1]]; --j) {
      PetscInt t   = order[j];
      order[j]     = order[j - 1];
      order[j - 1] = t;
    }
}

/* The dim largest eigenpairs of the symmetric operator Op with Krylov-Schur (PETSc options, under
   options_prefix, override), started from v0; fewer than dim converged pairs is an error. Caller owns *eps
   (EPSDestroy). */
static PetscErrorCode solve_largest(MPI_Comm comm, Mat Op, PetscInt dim, PetscReal tol, PetscInt max_it, Vec v0, const char *options_prefix, EPS *eps,
                                    PetscInt *nconv)
{
  PetscFunctionBeginUser;
  PetscCall(EPSCreate(comm, eps));
  PetscCall(EPSSetOperators(*eps, Op, NULL));
  PetscCall(EPSSetProblemType(*eps, EPS_HEP));
  PetscCall(EPSSetType(*eps, EPSKRYLOVSCHUR));
  PetscCall(EPSSetWhichEigenpairs(*eps, EPS_LARGEST_REAL));
  PetscCall(EPSSetDimensions(*eps, dim, basis_size(Op, dim), PETSC_DEFAULT));
  PetscCall(EPSSetTolerances(*eps, tol, max_it > 0 ? max_it : PETSC_DEFAULT));
  PetscCall(EPSSetInitialSpace(*eps, 1, &v0));
  if (options_prefix && options_prefix[0]) PetscCall(EPSSetOptionsPrefix(*eps, options_prefix));
  PetscCall(EPSSetFromOptions(*eps));
  PetscCall(PetscLogEventBegin(MC_EVENTS[MC_EVENT_EPS_SOLVE], 0, 0, 0, 0));
  PetscCall(EPSSolve(*eps));
  PetscCall(PetscLogEventEnd(MC_EVENTS[MC_EVENT_EPS_SOLVE], 0, 0, 0, 0));
  PetscCall(EPSGetConverged(*eps, nconv));
  PetscCheck(*nconv >= dim, comm, PETSC_ERR_NOT_CONVERGED,
             "The eigensolver converged %" PetscInt_FMT " of the %" PetscInt_FMT " eigenpairs needed; raise cluster.eig_max_it or loosen cluster.eig_tol",
             *nconv, dim);
  PetscFunctionReturn(0);
}


static PetscErrorCode shell_mult(Mat M, Vec x, Vec y)
{
  ShellCtx *ctx;

  PetscFunctionBeginUser;
  PetscCall(MatShellGetContext(M, &ctx));
  PetscCall(VecPointwiseMult(ctx->w, ctx->s, x));
  if (!ctx->sc) PetscCall(MatMult(ctx->A, ctx->w, y));
  else {
    PetscCall(VecScatterBegin(ctx->sc, ctx->w, ctx->xf, INSERT_VALUES, SCATTER_REVERSE));
    PetscCall(VecScatterEnd(ctx->sc, ctx->w, ctx->xf, INSERT_VALUES, SCATTER_REVERSE));
    PetscCall(MatMult(ctx->A, ctx->xf, ctx->yf));
    PetscCall(VecScatterBegin(ctx->sc, ctx->yf, y, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(VecScatterEnd(ctx->sc, ctx->yf, y, INSERT_VALUES, SCATTER_FORWARD));
  }
  PetscCall(VecPointwiseMult(y, y, ctx->s));
  PetscFunctionReturn(0);
}

/* The bipartite operator: y = B B^T x with B = S_s A_sl S_l, the block of M = D^-1/2 A D^-1/2 from the
   smaller side s (rows) to the larger side l (columns). */
typedef struct {
  Mat B;      /* A_sl, kept nodes only (sparse, or dense when at least a third full); owned */
  Mat Bt;     /* its explicit transpose (row products instead of scattered ones) or NULL; owned */
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

/* wl = A_ls ws: by bands, or a row product with the explicit transpose when there is one. */
static PetscErrorCode mult_transpose(const BipCtx *b, Vec ws, Vec wl)
{
  PetscFunctionBeginUser;
  if (b->nband) PetscCall(band_mult(b, PETSC_TRUE, ws, wl));
  else if (b->Bt) PetscCall(MatMult(b->Bt, ws, wl));
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

/* Group (layer) of global node i. */
static PetscInt node_group(const PetscInt *groups, PetscInt i)
{
  PetscInt ng = groups[0], lo = 0, hi = ng;
  const PetscInt *off = groups + 1;

  while (hi - lo > 1) {
    PetscInt mid = (lo + hi) / 2;
    if (off[mid] <= i) lo = mid;
    else hi = mid;
  }
  return lo;
}

/* Side (0 or 1) of global node i: the parity of its group. */
static PetscInt node_side(const PetscInt *groups, PetscInt i)
{
  return node_group(groups, i) % 2;
}

/* A_sl on a single rank, dense, filled straight from adj's rows (no sorted sparse copy to convert): rows
   are the nr side-s nodes, columns the nc side-l nodes (both global ids in order). Entries of those rows
   outside side l are left out, as MatCreateSubMatrix would; *nz counts the entries kept. */
static PetscErrorCode extract_dense_self(Mat adj, PetscInt nr, const PetscInt rows[], PetscInt nc, const PetscInt cols[], Mat *B, PetscLogDouble *nz)
{
  MPI_Comm     comm;
  PetscInt     N, *col_of;
  PetscScalar *a;
  PetscInt64   kept = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscObjectGetComm((PetscObject)adj, &comm));
  PetscCall(MatGetSize(adj, &N, NULL));
  PetscCall(PetscMalloc1(N, &col_of));
  for (PetscInt i = 0; i < N; ++i) col_of[i] = -1;
  for (PetscInt p = 0; p < nc; ++p) col_of[cols[p]] = p;
  PetscCall(MatCreateDense(comm, nr, nc, nr, nc, NULL, B));
  PetscCall(MatDenseGetArrayWrite(*B, &a));
  PetscCall(PetscArrayzero(a, nr * nc));
  for (PetscInt t = 0; t < nr; ++t) {
    PetscInt           n;
    const PetscInt    *cj;
    const PetscScalar *v;
    PetscCall(MatGetRow(adj, rows[t], &n, &cj, &v));
    for (PetscInt q = 0; q < n; ++q)
      if (col_of[cj[q]] >= 0) {
        a[t + col_of[cj[q]] * nr] = v[q];
        kept++;
      }
    PetscCall(MatRestoreRow(adj, rows[t], &n, &cj, &v));
  }
  PetscCall(MatDenseRestoreArrayWrite(*B, &a));
  PetscCall(MatAssemblyBegin(*B, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*B, MAT_FINAL_ASSEMBLY));
  PetscCall(PetscFree(col_of));
  *nz = (PetscLogDouble)kept;
  PetscFunctionReturn(0);
}

/* The bands of a dense B held whole by this rank (see BipCtx): rows[] are the global nodes of its rows,
   in order; each run of rows from one group is a band, and its window spans its first to its last
   non-zero column. */
static PetscErrorCode find_bands(BipCtx *b, const PetscInt *groups, PetscInt nrows, const PetscInt rows[])
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
static PetscErrorCode solve_bipartite(Mat adj, const PetscInt *groups, Vec s, PetscInt n_kept, const PetscInt kept[], PetscInt dim, PetscReal tol,
                                      PetscInt max_it, uint64_t seed, const char *options_prefix, MCEmbedding *e,
                                      PetscBool *done)
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
  PetscBool          lean, dense;

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
    PetscInt rstart, rend, own[2] = {0, 0}, lacking;
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
      first[t] = 0;
      PetscCallMPI(MPI_Exscan(&nloc[t], &first[t], 1, MPIU_INT, MPI_SUM, comm));
      {
        PetscMPIInt rank;
        PetscCallMPI(MPI_Comm_rank(comm, &rank));
        if (rank == 0) first[t] = 0;
      }
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
  /* Storage for the products, below the lean size: a scattered transpose product costs about twice a
     row product, so the transpose is stored too (one more copy of the block); a block at least a third
     full is instead stored dense, in no more memory than those two, and both products run as BLAS gemv
     (an unpruned MLP's block is about 60% full; its products run twice as fast as by rows). adj holds the
     block twice when the graph is bipartite, so its entries tell the density before the block exists. */
  PetscCall(MatGetInfo(adj, MAT_GLOBAL_SUM, &ia));
  lean  = gcnt[0] + gcnt[1] > MC_EPS_LEAN_ROWS ? PETSC_TRUE : PETSC_FALSE;
  dense = !lean && 3 * (ia.nz_used / 2) >= (PetscLogDouble)gcnt[0] * (PetscLogDouble)gcnt[1] ? PETSC_TRUE : PETSC_FALSE;
  if (dense && size == 1) PetscCall(extract_dense_self(adj, nloc[0], idx[0], nloc[1], idx[1], &b.B, &nzb));
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
  if (dense) {
    if (size == 1) PetscCall(find_bands(&b, groups, nloc[0], idx[0]));
    else PetscCall(MatConvert(b.B, MATDENSE, MAT_INPLACE_MATRIX, &b.B));
    PetscCall(PetscInfo(adj, "Bipartite block %" PetscInt_FMT " x %" PetscInt_FMT ", %" PetscInt64_FMT " non-zeros: dense, %" PetscInt_FMT " bands\n",
                        gcnt[small], gcnt[1 - small], (PetscInt64)nzb, b.nband));
  } else if (!lean) {
    PetscCall(MatTranspose(b.B, MAT_INITIAL_MATRIX, &b.Bt));
    PetscCall(PetscInfo(adj, "Bipartite block %" PetscInt_FMT " x %" PetscInt_FMT ", %" PetscInt64_FMT " non-zeros: sparse with its transpose\n",
                        gcnt[small], gcnt[1 - small], (PetscInt64)nzb));
  }
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
  PetscCall(MatCreateShell(comm, nloc[0], nloc[0], gcnt[small], gcnt[small], &b, &Op));
  PetscCall(MatShellSetOperation(Op, MATOP_MULT, (void (*)(void))bip_mult));

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
  PetscCall(solve_largest(comm, Op, dim, tol, max_it, v0, options_prefix, &eps, &nconv));
  PetscCall(PetscMalloc3(dim, &lam, dim, &res, dim, &order));
  for (PetscInt i = 0; i < dim; ++i) {
    PetscScalar kr;
    PetscCall(EPSGetEigenvalue(eps, i, &kr, NULL));
    lam[i]   = PetscRealPart(kr);
    order[i] = i;
  }
  sort_descending(dim, lam, order);
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
  PetscCall(MatDestroy(&b.Bt));
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

PetscErrorCode mc_spectral_embed(Mat adj, PetscInt n_kept, const PetscInt kept[], PetscInt dim, PetscReal tol, PetscInt max_it,
                                 uint64_t seed, const char *options_prefix, MCEmbedding **out)
{
  MPI_Comm     comm;
  MCEmbedding *e;
  ShellCtx     ctx;
  Mat          M;
  EPS          eps;
  Vec          d, x, v0;
  PetscInt     nk = PETSC_DECIDE, kstart = 0, rstart, rend, N, nconv, *order;
  PetscMPIInt  rank;
  PetscBool    need_scatter, done = PETSC_FALSE;
  PetscReal   *mu, *res;

  PetscFunctionBeginUser;
  /* The driver may have started PETSc only; SLEPc's classes need SlepcInitialize, which is legal after
     PetscInitialize and is finalized by PetscFinalize through its registered hooks. */
  {
    PetscBool slepc;
    PetscCall(SlepcInitialized(&slepc));
    if (!slepc) PetscCall(SlepcInitialize(NULL, NULL, NULL, NULL));
  }
  PetscCall(PetscObjectGetComm((PetscObject)adj, &comm));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(MatGetSize(adj, &N, NULL));
  PetscCall(MatGetOwnershipRange(adj, &rstart, &rend));
  PetscCall(PetscSplitOwnership(comm, &nk, &n_kept));
  PetscCallMPI(MPI_Exscan(&nk, &kstart, 1, MPIU_INT, MPI_SUM, comm));
  if (rank == 0) kstart = 0;
  {
    PetscInt differ = (n_kept != N || nk != rend - rstart) ? 1 : 0;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &differ, 1, MPIU_INT, MPI_MAX, comm));
    need_scatter = differ ? PETSC_TRUE : PETSC_FALSE;
  }

  /* Degrees in the kept layout and the shell operator. */
  PetscCall(PetscMemzero(&ctx, sizeof(ctx)));
  ctx.A = adj;
  PetscCall(MatCreateVecs(adj, NULL, &d));
  PetscCall(MatGetRowSum(adj, d));
  PetscCall(VecCreateMPI(comm, nk, n_kept, &ctx.s));
  PetscCall(VecDuplicate(ctx.s, &ctx.w));
  if (need_scatter) {
    IS is;
    PetscCall(ISCreateGeneral(comm, nk, kept + kstart, PETSC_USE_POINTER, &is));
    PetscCall(VecDuplicate(d, &ctx.xf));
    PetscCall(VecDuplicate(d, &ctx.yf));
    PetscCall(VecSet(ctx.xf, 0));
    PetscCall(VecScatterCreate(d, is, ctx.s, NULL, &ctx.sc));
    PetscCall(VecScatterBegin(ctx.sc, d, ctx.s, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(VecScatterEnd(ctx.sc, d, ctx.s, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(ISDestroy(&is));
  } else PetscCall(VecCopy(d, ctx.s));
  PetscCall(VecDestroy(&d));
  PetscCall(VecSqrtAbs(ctx.s));
  PetscCall(VecReciprocal(ctx.s));
  PetscCall(PetscNew(&e));
  e->n_kept  = n_kept;
  e->n_local = nk;
  e->rstart  = kstart;
  e->dim     = dim;
  PetscCall(PetscMalloc1(nk * dim, &e->U));
  PetscCall(PetscMalloc1(dim, &e->eigenvalues));
  /* Graphs from layer blocks are bipartite: solve the half-size problem (solve_bipartite) unless
     -[prefix]mc_bipartite false asks for the general path. */
  {
    PetscContainer cont = NULL;
    PetscBool      use  = PETSC_TRUE;
    PetscCall(PetscObjectQuery((PetscObject)adj, MC_GRAPH_GROUPS_KEY, (PetscObject *)&cont));
    PetscCall(PetscOptionsGetBool(NULL, options_prefix, "-mc_bipartite", &use, NULL));
    if (cont && use) {
      const PetscInt *groups;
      PetscCall(PetscContainerGetPointer(cont, (void **)&groups));
      PetscCall(solve_bipartite(adj, groups, ctx.s, n_kept, kept, dim, tol, max_it, seed, options_prefix, e, &done));
    }
  }
  if (!done) {
    PetscCall(MatCreateShell(comm, nk, nk, n_kept, n_kept, &ctx, &M));
    PetscCall(MatShellSetOperation(M, MATOP_MULT, (void (*)(void))shell_mult));

    /* A deterministic start vector, a function of the global node id only (not of the rank count). */
    PetscCall(VecDuplicate(ctx.s, &v0));
    {
      PetscScalar *a;
      PetscCall(VecGetArray(v0, &a));
      for (PetscInt i = 0; i < nk; ++i) {
        MCRng r;
        mc_rng_init(&r, seed, MC_STREAM_KMEANS, ((uint64_t)1 << 62) | (uint64_t)kept[kstart + i]);
        a[i] = 0.5 + mc_rng_uniform(&r);
      }
      PetscCall(VecRestoreArray(v0, &a));
    }

    PetscCall(solve_largest(comm, M, dim, tol, max_it, v0, options_prefix, &eps, &nconv));
    /* Converged pairs are judged by SLEPc's default test (residual relative to |mu|, as ARPACK's); the
       residual reported is ||M x - mu x||, relative to ||M|| = 1, which stays meaningful for mu near 0. */

    e->n_converged = nconv;
    PetscCall(PetscMalloc3(dim, &mu, dim, &res, dim, &order));
    for (PetscInt i = 0; i < dim; ++i) {
      PetscScalar kr;
      PetscCall(EPSGetEigenvalue(eps, i, &kr, NULL));
      PetscCall(EPSComputeError(eps, i, EPS_ERROR_ABSOLUTE, &res[i]));
      mu[i]    = PetscRealPart(kr);
      order[i] = i;
    }
    /* Ascending 1 - mu, i.e. descending mu; the solver's order already is, but do not rely on it. */
    sort_descending(dim, mu, order);
    PetscCall(MatCreateVecs(M, &x, NULL));
    e->max_residual = 0;
    for (PetscInt c = 0; c < dim; ++c) {
      const PetscScalar *xa, *sa;
      e->eigenvalues[c] = 1 - mu[order[c]];
      e->max_residual   = PetscMax(e->max_residual, res[order[c]]);
      PetscCall(EPSGetEigenvector(eps, order[c], x, NULL));
      PetscCall(VecGetArrayRead(x, &xa));
      PetscCall(VecGetArrayRead(ctx.s, &sa));
      for (PetscInt i = 0; i < nk; ++i) e->U[i * dim + c] = PetscRealPart(xa[i] * sa[i]);
      PetscCall(VecRestoreArrayRead(ctx.s, &sa));
      PetscCall(VecRestoreArrayRead(x, &xa));
    }
    PetscCall(PetscFree3(mu, res, order));
    PetscCall(VecDestroy(&x));
    PetscCall(VecDestroy(&v0));
    PetscCall(EPSDestroy(&eps));
    PetscCall(MatDestroy(&M));
  }
  PetscCall(VecDestroy(&ctx.s));
  PetscCall(VecDestroy(&ctx.w));
  PetscCall(VecDestroy(&ctx.xf));
  PetscCall(VecDestroy(&ctx.yf));
  PetscCall(VecScatterDestroy(&ctx.sc));
  PetscCall(mc_spectral_sign_flip(comm, nk, kstart, dim, e->U));
  *out = e;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_spectral_embedding_destroy(MCEmbedding **e)
{
  PetscFunctionBeginUser;
  if (!e || !*e) PetscFunctionReturn(0);
  PetscCall(PetscFree((*e)->U));
  PetscCall(PetscFree((*e)->eigenvalues));
  PetscCall(PetscFree(*e));
  PetscFunctionReturn(0);
}
