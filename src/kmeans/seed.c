/* src/kmeans/seed.c: greedy k-means++ seeding over distributed rows, independent of the rank count, for a
   batch of restarts at once. */
#include "kmeans_impl.h"

PetscErrorCode mc__kmeans_fetch_rows(const MCKMeansCtx *ctx, PetscInt n, const PetscInt idx[], PetscReal out[])
{
  PetscMPIInt cnt;

  PetscFunctionBeginUser;
  PetscCall(PetscArrayzero(out, n * ctx->dim));
  for (PetscInt t = 0; t < n; ++t) {
    PetscInt i = idx[t] - ctx->rstart;
    if (idx[t] >= 0 && i >= 0 && i < ctx->n_local) PetscCall(PetscArraycpy(out + t * ctx->dim, ctx->U + i * ctx->dim, ctx->dim));
  }
  /* One owner per row and zeros elsewhere: the sum reproduces the owner's values exactly. */
  PetscCall(PetscMPIIntCast(n * ctx->dim, &cnt));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, out, cnt, MPIU_REAL, MPI_SUM, ctx->comm));
  PetscFunctionReturn(0);
}

/* D(x)^2 of every local row to the single centre c. */
static void dist_to_center(const MCKMeansCtx *ctx, const PetscReal *c, PetscReal d[])
{
  const PetscInt dim = ctx->dim, n = ctx->n_local;
  PetscInt       i   = 0;

  for (; i + 4 <= n; i += 4) {
    const PetscReal *x = ctx->U + i * dim;
    mc__kmeans_dist2_p4(dim, x, x + dim, x + 2 * dim, x + 3 * dim, c, d + i);
  }
  for (; i < n; ++i) d[i] = mc__kmeans_dist2(dim, ctx->U + i * dim, c);
}

/* Before each new centre: running fixed-point sums of D(x)^2 in R->cum (cum[n-1] is the local total),
   and 2 D(x) rounded up in R->ub (the pruning threshold of candidate_potential while seeding). */
MC_KMEANS_CLONES
static void seed_prepare(const MCKMeansCtx *ctx, MCKMeansRestart *R)
{
  int64_t acc = 0;
  for (PetscInt i = 0; i < ctx->n_local; ++i) {
    acc += mc__kmeans_qd(ctx, R->dist[i]);
    R->cum[i] = acc;
  }
  for (PetscInt i = 0; i < ctx->n_local; ++i) R->ub[i] = 2 * PetscSqrtReal(R->dist[i]) * (1 + MC_KMEANS_SLACK);
}

/* Centre c (its distances to the earlier centres in cdist, rounded down) joins: tr[x] is |x - c|^2, or -1
   where candidate_potential pruned row x. Updates D(x), the nearest centre (the earlier one on ties) and
   R->lb, a lower bound on the distance to the second nearest: the old D(x) when the new centre wins the
   row, else the new centre's distance, or for a pruned row its triangle bound
   |c - centre(near[x])| - D(x). */
MC_KMEANS_CLONES
static void seed_take(const MCKMeansCtx *ctx, MCKMeansRestart *R, PetscInt c, const PetscReal cdist[], const PetscReal tr[])
{
  for (PetscInt i = 0; i < ctx->n_local; ++i) {
    PetscReal other;
    if (tr[i] < 0) other = (cdist[R->labels[i]] - 0.5 * R->ub[i]) * (1 - MC_KMEANS_SLACK);
    else if (tr[i] < R->dist[i]) {
      other        = PetscSqrtReal(R->dist[i]) * (1 - MC_KMEANS_SLACK);
      R->labels[i] = c;
      R->dist[i]   = tr[i];
    } else other = PetscSqrtReal(tr[i]) * (1 - MC_KMEANS_SLACK);
    R->lb[i] = PetscMin(R->lb[i], other);
  }
}

/* |cc - centre m| rounded down, for the nc centres chosen so far (the pruning distances). */
static void center_dists(const MCKMeansCtx *ctx, const MCKMeansRestart *R, PetscInt nc, const PetscReal *cc, PetscReal cdist[])
{
  for (PetscInt m = 0; m < nc; ++m) cdist[m] = PetscSqrtReal(mc__kmeans_dist2(ctx->dim, cc, R->centers + m * ctx->dim)) * (1 - MC_KMEANS_SLACK);
}

/* The potential of candidate cc: the fixed-point sum over rows of min(D(x)^2, |x - cc|^2). Row x is
   nearest to chosen centre near[x]; when |cc - centre(near[x])| >= 2 D(x) (with the slack), the triangle
   inequality gives |x - cc| >= D(x), so the row keeps D(x)^2 without computing anything. The others are
   listed (their local indices in idx[], |x - cc|^2 in d[], *nd of them), and the potential is the sum of
   D(x)^2 over all rows, base, less what the listed rows gain: integers, so the same sum as row by row.
   sroot[x] is 2 D(x) rounded up; cdist (work, nc entries) receives center_dists. */
MC_KMEANS_CLONES
static int64_t candidate_potential(const MCKMeansCtx *ctx, const MCKMeansRestart *R, PetscInt nc, const PetscReal *cc, const PetscReal sroot[],
                                   int64_t base, PetscReal cdist[], PetscInt idx[], PetscReal d[], PetscInt *nd)
{
  const PetscInt   dim = ctx->dim, n = ctx->n_local;
  const PetscReal *cl  = R->dist;
  int64_t          s   = base;
  PetscInt         nw  = 0, q = 0;

  center_dists(ctx, R, nc, cc, cdist);
  /* The rows that need a distance, listed without a branch, then done four at a time. */
  for (PetscInt i = 0; i < n; ++i) {
    idx[nw] = i;
    nw += cdist[R->labels[i]] > sroot[i] ? 0 : 1;
  }
  for (; q + 4 <= nw; q += 4)
    mc__kmeans_dist2_p4(dim, ctx->U + idx[q] * dim, ctx->U + idx[q + 1] * dim, ctx->U + idx[q + 2] * dim, ctx->U + idx[q + 3] * dim, cc, d + q);
  for (; q < nw; ++q) d[q] = mc__kmeans_dist2(dim, ctx->U + idx[q] * dim, cc);
  for (q = 0; q < nw; ++q) s -= mc__kmeans_qd(ctx, cl[idx[q]]) - mc__kmeans_qd(ctx, PetscMin(d[q], cl[idx[q]]));
  *nd = nw;
  return s;
}

PetscErrorCode mc__kmeans_seed(const MCKMeansCtx *ctx, PetscInt nb, MCKMeansRestart rs[])
{
  const PetscInt dim = ctx->dim, n = ctx->n_local, k = ctx->k, T = mc__kmeans_n_trials(k), row = dim + 1;
  PetscInt      *first;
  int64_t       *mysum, *allsum, *pot;
  PetscReal     *cand, *tdist, *c0, *cdist, *tr;
  PetscInt      *tidx, *tcnt;
  PetscMPIInt    cnt;

  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(MC_EVENTS[MC_EVENT_KMEANS_SEED], 0, 0, 0, 0));
  PetscCall(PetscMalloc5(nb, &first, nb, &mysum, nb * ctx->size, &allsum, nb * T, &pot, nb * T, &tcnt));
  PetscCall(PetscMalloc6(nb * T * row, &cand, nb * T * n, &tdist, nb * T * n, &tidx, nb * dim, &c0, k, &cdist, n, &tr));
  /* First centre of each restart: uniform over the global rows. */
  for (PetscInt b = 0; b < nb; ++b) first[b] = (PetscInt)mc_rng_below(&rs[b].rng, (uint64_t)ctx->n_global);
  PetscCall(mc__kmeans_fetch_rows(ctx, nb, first, c0));
  for (PetscInt b = 0; b < nb; ++b) {
    PetscCall(PetscArraycpy(rs[b].centers, c0 + b * dim, dim));
    dist_to_center(ctx, rs[b].centers, rs[b].dist);
    for (PetscInt i = 0; i < n; ++i) {
      rs[b].labels[i] = 0;
      rs[b].lb[i]     = PETSC_MAX_REAL;
    }
  }
  for (PetscInt c = 1; c < k; ++c) {
    /* Candidates drawn with probability proportional to D(x)^2, as integers: a uniform draw in [0, total)
       falls into the interval of exactly one row in global order, whichever rank holds it. */
    for (PetscInt b = 0; b < nb; ++b) {
      seed_prepare(ctx, &rs[b]);
      mysum[b] = n > 0 ? rs[b].cum[n - 1] : 0;
    }
    PetscCall(PetscMPIIntCast(nb, &cnt));
    PetscCallMPI(MPI_Allgather(mysum, cnt, MPI_INT64_T, allsum, cnt, MPI_INT64_T, ctx->comm));
    PetscCall(PetscArrayzero(cand, nb * T * row));
    for (PetscInt b = 0; b < nb; ++b) {
      int64_t off = 0, tot = 0;
      for (PetscMPIInt p = 0; p < ctx->size; ++p) {
        if (p < ctx->rank) off += allsum[p * nb + b];
        tot += allsum[p * nb + b];
      }
      for (PetscInt t = 0; t < T; ++t) {
        PetscReal *slot = cand + (b * T + t) * row;
        PetscInt   li   = -1;
        if (tot <= 0) {
          /* Every row coincides with a centre: take row 0, as scikit-learn's searchsorted does. */
          if (ctx->rstart == 0 && n > 0) li = 0;
        } else {
          int64_t draw = (int64_t)mc_rng_below(&rs[b].rng, (uint64_t)tot);
          if (draw >= off && draw < off + mysum[b]) {
            /* The first row whose running sum exceeds the draw. */
            int64_t  r  = draw - off;
            PetscInt lo = 0, hi = n - 1;
            while (lo < hi) {
              PetscInt mid = lo + (hi - lo) / 2;
              if (r < rs[b].cum[mid]) hi = mid;
              else lo = mid + 1;
            }
            li = lo;
          }
        }
        /* The owner publishes index + 1 and the row; others add zeros, so the sum is exact. */
        if (li >= 0) {
          slot[0] = (PetscReal)(ctx->rstart + li + 1);
          PetscCall(PetscArraycpy(slot + 1, ctx->U + li * dim, dim));
        }
      }
    }
    PetscCall(PetscMPIIntCast(nb * T * row, &cnt));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, cand, cnt, MPIU_REAL, MPI_SUM, ctx->comm));
    /* Potential of each candidate: sum over rows of min(D(x)^2, |x - candidate|^2). The trial distances
       are kept, so the winner's update D(x) without another distance. */
    for (PetscInt b = 0; b < nb; ++b)
      for (PetscInt t = 0; t < T; ++t)
        pot[b * T + t] = candidate_potential(ctx, &rs[b], c, cand + (b * T + t) * row + 1, rs[b].ub, mysum[b], cdist, tidx + (b * T + t) * n,
                                             tdist + (b * T + t) * n, &tcnt[b * T + t]);
    PetscCall(PetscMPIIntCast(nb * T, &cnt));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, pot, cnt, MPI_INT64_T, MPI_SUM, ctx->comm));
    for (PetscInt b = 0; b < nb; ++b) {
      MCKMeansRestart *R    = &rs[b];
      PetscInt         best = 0, w;
      for (PetscInt t = 1; t < T; ++t)
        if (pot[b * T + t] < pot[b * T + best]) best = t;
      w = b * T + best;
      PetscCall(PetscArraycpy(R->centers + c * dim, cand + w * row + 1, dim));
      center_dists(ctx, R, c, R->centers + c * dim, cdist);
      /* The winner's distances by row, -1 where the row was pruned. */
      for (PetscInt i = 0; i < n; ++i) tr[i] = -1;
      for (PetscInt q = 0; q < tcnt[w]; ++q) tr[tidx[w * n + q]] = tdist[w * n + q];
      seed_take(ctx, R, c, cdist, tr);
    }
  }
  PetscCall(PetscFree5(first, mysum, allsum, pot, tcnt));
  PetscCall(PetscFree6(cand, tdist, tidx, c0, cdist, tr));
  PetscCall(PetscLogEventEnd(MC_EVENTS[MC_EVENT_KMEANS_SEED], 0, 0, 0, 0));
  PetscFunctionReturn(0);
}
