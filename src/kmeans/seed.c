/* src/kmeans/seed.c: greedy k-means++ seeding over distributed rows, independent of the rank count. */
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

PetscErrorCode mc__kmeans_seed(const MCKMeansCtx *ctx, MCRng *r, PetscReal centers[], PetscReal closest[])
{
  const PetscInt dim = ctx->dim, n = ctx->n_local, k = ctx->k;
  PetscInt       n_trials = 2 + (PetscInt)PetscFloorReal(PetscLogReal((PetscReal)k)), first, *cand;
  int64_t       *pot, *q, mysum, off, tot;
  PetscReal     *ccoord, *trial;
  PetscMPIInt    nt;

  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(MC_EVENTS[MC_EVENT_KMEANS_SEED], 0, 0, 0, 0));
  PetscCall(PetscMalloc5(n_trials, &cand, n_trials, &pot, n_trials * dim, &ccoord, n, &q, n_trials * n, &trial));
  PetscCall(PetscMPIIntCast(n_trials, &nt));
  /* First centre: uniform over the global rows. */
  first = (PetscInt)mc_rng_below(r, (uint64_t)ctx->n_global);
  PetscCall(mc__kmeans_fetch_rows(ctx, 1, &first, centers));
  for (PetscInt i = 0; i < n; ++i) closest[i] = mc__kmeans_dist2(dim, ctx->U + i * dim, centers);
  for (PetscInt c = 1; c < k; ++c) {
    /* Candidates drawn with probability proportional to D(x)^2, as integers: a uniform draw in [0, total)
       falls into the interval of exactly one row in global order, whichever rank holds it. */
    mysum = 0;
    for (PetscInt i = 0; i < n; ++i) {
      q[i] = mc__kmeans_qd(ctx, closest[i]);
      mysum += q[i];
    }
    off = 0;
    PetscCallMPI(MPI_Exscan(&mysum, &off, 1, MPI_INT64_T, MPI_SUM, ctx->comm));
    if (ctx->rank == 0) off = 0;
    tot = mysum;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &tot, 1, MPI_INT64_T, MPI_SUM, ctx->comm));
    for (PetscInt t = 0; t < n_trials; ++t) {
      int64_t draw = tot > 0 ? (int64_t)mc_rng_below(r, (uint64_t)tot) : -1;
      cand[t] = -1;
      if (tot <= 0) {
        /* Every row coincides with a centre: take row 0, as scikit-learn's searchsorted does. */
        cand[t] = 0;
      } else if (draw >= off && draw < off + mysum) {
        int64_t acc = off;
        for (PetscInt i = 0; i < n; ++i) {
          acc += q[i];
          if (draw < acc) {
            cand[t] = ctx->rstart + i;
            break;
          }
        }
      }
    }
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, cand, nt, MPIU_INT, MPI_MAX, ctx->comm));
    PetscCall(mc__kmeans_fetch_rows(ctx, n_trials, cand, ccoord));
    /* Potential of each candidate: sum over rows of min(D(x)^2, |x - candidate|^2). The capped distances
       are kept, so the winner's become the new D(x)^2 without another pass. */
    for (PetscInt t = 0; t < n_trials; ++t) pot[t] = 0;
    for (PetscInt i = 0; i < n; ++i) {
      const PetscReal *x = ctx->U + i * dim;
      for (PetscInt t = 0; t < n_trials; ++t) {
        PetscReal d = mc__kmeans_dist2_capped(dim, x, ccoord + t * dim, closest[i]);
        trial[t * n + i] = d;
        pot[t] += mc__kmeans_qd(ctx, d);
      }
    }
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, pot, nt, MPI_INT64_T, MPI_SUM, ctx->comm));
    {
      PetscInt best = 0;
      for (PetscInt t = 1; t < n_trials; ++t)
        if (pot[t] < pot[best]) best = t;
      PetscCall(PetscArraycpy(centers + c * dim, ccoord + best * dim, dim));
      PetscCall(PetscArraycpy(closest, trial + best * n, n));
    }
  }
  PetscCall(PetscFree5(cand, pot, ccoord, q, trial));
  PetscCall(PetscLogEventEnd(MC_EVENTS[MC_EVENT_KMEANS_SEED], 0, 0, 0, 0));
  PetscFunctionReturn(0);
}
