/* src/kmeans/lloyd.c: distributed Lloyd iterations and restarts (scikit-learn's KMeans semantics), one
   int64 Allreduce per iteration. See include/mc/kmeans.h for how the result is made rank-count independent. */
#include "kmeans_impl.h"

/* Memory for the restarts run together in one batch, per rank. */
#define MC_KMEANS_BATCH_BYTES (64.0 * 1048576.0)

/* A power of two 2^s such that n values each below `bound` (in absolute value) sum, scaled by 2^s, to at
   most 2^62. Every rank computes it from the same global numbers. */
static PetscReal fixed_scale(PetscReal bound, PetscInt n)
{
  int e, l = 0;

  if (!(bound > 0)) return 1.0;
  (void)frexp(bound, &e); /* bound < 2^e */
  while (((PetscInt64)1 << l) < (PetscInt64)n + 1) l++;
  return ldexp(1.0, 62 - e - l);
}

/* Assign each local row to its nearest centre (first on ties) and return the squared distance. The centres
   are transposed (ct[j * k + c]) so the inner loop runs over centres and vectorizes, while each centre's
   distance is still summed over j = 0..dim-1 in order: the same value on any rank. */
static void assign_rows(const MCKMeansCtx *ctx, const PetscReal centers[], PetscReal *restrict ct, PetscReal *restrict dw, PetscInt labels[], PetscReal dist[])
{
  const PetscInt dim = ctx->dim, k = ctx->k;

  for (PetscInt c = 0; c < k; ++c)
    for (PetscInt j = 0; j < dim; ++j) ct[j * k + c] = centers[c * dim + j];
  for (PetscInt i = 0; i < ctx->n_local; ++i) {
    const PetscReal *x = ctx->U + i * dim;
    PetscReal        best;
    PetscInt         bc = 0;
    for (PetscInt c = 0; c < k; ++c) {
      PetscReal t = x[0] - ct[c];
      dw[c]       = t * t;
    }
    for (PetscInt j = 1; j < dim; ++j) {
      const PetscReal           xj  = x[j];
      const PetscReal *restrict ctj = ct + j * k;
      for (PetscInt c = 0; c < k; ++c) {
        PetscReal t = xj - ctj[c];
        dw[c] += t * t;
      }
    }
    best = dw[0];
    for (PetscInt c = 1; c < k; ++c)
      if (dw[c] < best) {
        best = dw[c];
        bc   = c;
      }
    labels[i] = bc;
    dist[i]   = best;
  }
}

/* Empty clusters get the rows farthest from their centres (largest distance first, the smaller global
   index on ties), moved out of their old cluster's sum exactly as scikit-learn does. */
static PetscErrorCode relocate_empty(const MCKMeansCtx *ctx, const PetscInt labels[], const PetscReal dist[], int64_t sums[], int64_t counts[])
{
  const PetscInt dim = ctx->dim, k = ctx->k;
  PetscInt       n_empty = 0, *empty, *lidx, *gidx, *pick, n_all;
  PetscReal     *ldist, *gdist;
  int64_t       *rows;
  PetscMPIInt    ne, cnt;

  PetscFunctionBeginUser;
  for (PetscInt c = 0; c < k; ++c)
    if (counts[c] == 0) n_empty++;
  if (!n_empty) PetscFunctionReturn(0);
  n_empty = PetscMin(n_empty, ctx->n_global);
  PetscCall(PetscMPIIntCast(n_empty, &ne));
  n_all = n_empty * ctx->size;
  PetscCall(PetscMalloc6(n_empty, &empty, n_empty, &lidx, n_all, &gidx, n_empty, &pick, n_empty, &ldist, n_all, &gdist));
  for (PetscInt c = 0, e = 0; c < k && e < n_empty; ++c)
    if (counts[c] == 0) empty[e++] = c;
  /* Local top n_empty by (distance desc, index asc), by selection: n_empty is small. */
  for (PetscInt e = 0; e < n_empty; ++e) {
    lidx[e]  = -1;
    ldist[e] = -1;
    for (PetscInt i = 0; i < ctx->n_local; ++i) {
      PetscBool used = PETSC_FALSE;
      for (PetscInt f = 0; f < e; ++f)
        if (lidx[f] == ctx->rstart + i) used = PETSC_TRUE;
      if (!used && dist[i] > ldist[e]) {
        ldist[e] = dist[i];
        lidx[e]  = ctx->rstart + i;
      }
    }
  }
  PetscCallMPI(MPI_Allgather(ldist, ne, MPIU_REAL, gdist, ne, MPIU_REAL, ctx->comm));
  PetscCallMPI(MPI_Allgather(lidx, ne, MPIU_INT, gidx, ne, MPIU_INT, ctx->comm));
  for (PetscInt e = 0; e < n_empty; ++e) {
    PetscInt b = -1;
    for (PetscInt a = 0; a < n_all; ++a) {
      if (gidx[a] < 0) continue;
      if (b < 0 || gdist[a] > gdist[b] || (gdist[a] == gdist[b] && gidx[a] < gidx[b])) b = a;
    }
    pick[e] = b >= 0 ? gidx[b] : -1;
    if (b >= 0) gidx[b] = -1;
  }
  /* Quantized coordinates and old label of each picked row, from its owner. */
  PetscCall(PetscCalloc1(n_empty * (dim + 1), &rows));
  for (PetscInt e = 0; e < n_empty; ++e) {
    PetscInt i = pick[e] - ctx->rstart;
    if (pick[e] < 0 || i < 0 || i >= ctx->n_local) continue;
    for (PetscInt j = 0; j < dim; ++j) rows[e * (dim + 1) + j] = ctx->Uq[i * dim + j];
    rows[e * (dim + 1) + dim] = labels[i];
  }
  PetscCall(PetscMPIIntCast(n_empty * (dim + 1), &cnt));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, rows, cnt, MPI_INT64_T, MPI_SUM, ctx->comm));
  for (PetscInt e = 0; e < n_empty; ++e) {
    PetscInt nc = empty[e], oc = (PetscInt)rows[e * (dim + 1) + dim];
    if (pick[e] < 0) continue;
    for (PetscInt j = 0; j < dim; ++j) {
      sums[oc * dim + j] -= rows[e * (dim + 1) + j];
      sums[nc * dim + j] = rows[e * (dim + 1) + j];
    }
    counts[nc] = 1;
    counts[oc] -= 1;
  }
  PetscCall(PetscFree(rows));
  PetscCall(PetscFree6(empty, lidx, gidx, pick, ldist, gdist));
  PetscFunctionReturn(0);
}

/* A batch of restarts in lockstep: seeding, Lloyd, final assignment, one int64 Allreduce per iteration for
   the whole batch. Each restart computes exactly what it would alone. */
static PetscErrorCode run_batch(const MCKMeansCtx *ctx, const MCKMeansOpts *opts, PetscReal tol_abs, PetscInt nb, MCKMeansRestart rs[])
{
  const PetscInt dim = ctx->dim, k = ctx->k, nbuf = k * dim + k + 1, n = ctx->n_local;
  PetscInt       n_active, *active;
  PetscMPIInt    cnt;
  int64_t       *buf, *inert;
  PetscReal     *ct, *dw;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc5(k * dim, &ct, k, &dw, nb * nbuf, &buf, nb, &active, nb, &inert));
  for (PetscInt b = 0; b < nb; ++b) {
    mc_rng_init(&rs[b].rng, opts->seed, MC_STREAM_KMEANS, (uint64_t)rs[b].index);
    rs[b].done   = PETSC_FALSE;
    rs[b].n_iter = 0;
    for (PetscInt i = 0; i < n; ++i) rs[b].labels_old[i] = -1;
  }
  PetscCall(mc__kmeans_seed(ctx, nb, rs));
  for (;;) {
    n_active = 0;
    for (PetscInt b = 0; b < nb; ++b)
      if (!rs[b].done) active[n_active++] = b;
    if (!n_active) break;
    PetscCall(PetscLogEventBegin(MC_EVENTS[MC_EVENT_KMEANS_ITER], 0, 0, 0, 0));
    PetscCall(PetscArrayzero(buf, n_active * nbuf));
    for (PetscInt a = 0; a < n_active; ++a) {
      MCKMeansRestart *R      = &rs[active[a]];
      int64_t         *bb     = buf + a * nbuf, *sums = bb, *counts = bb + k * dim;
      assign_rows(ctx, R->centers, ct, dw, R->labels, R->dist);
      for (PetscInt i = 0; i < n; ++i) {
        int64_t       *sc = sums + R->labels[i] * dim;
        const int64_t *uq = ctx->Uq + i * dim;
        for (PetscInt j = 0; j < dim; ++j) sc[j] += uq[j];
        counts[R->labels[i]]++;
        if (R->labels[i] != R->labels_old[i]) bb[nbuf - 1]++;
      }
    }
    PetscCall(PetscMPIIntCast(n_active * nbuf, &cnt));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, buf, cnt, MPI_INT64_T, MPI_SUM, ctx->comm));
    for (PetscInt a = 0; a < n_active; ++a) {
      MCKMeansRestart *R     = &rs[active[a]];
      int64_t         *bb    = buf + a * nbuf, *sums = bb, *counts = bb + k * dim;
      PetscReal        shift = 0;
      /* Every rank sees the same reduced counts, so all take part in the same relocations. */
      PetscCall(relocate_empty(ctx, R->labels, R->dist, sums, counts));
      for (PetscInt c = 0; c < k; ++c)
        for (PetscInt j = 0; j < dim; ++j) {
          /* An emptied cluster keeps its (zero) sum as centre, as scikit-learn's _average_centers. */
          PetscReal v = (PetscReal)sums[c * dim + j] / ctx->cscale, t;
          if (counts[c] > 0) v /= (PetscReal)counts[c];
          t = v - R->centers[c * dim + j];
          shift += t * t;
          R->centers[c * dim + j] = v;
        }
      R->n_iter++;
      /* Strict convergence (no label changed), the tolerance, or the iteration limit. */
      if (bb[nbuf - 1] == 0 || shift <= tol_abs || R->n_iter >= opts->max_iter) R->done = PETSC_TRUE;
      else PetscCall(PetscArraycpy(R->labels_old, R->labels, n));
    }
    PetscCall(PetscLogEventEnd(MC_EVENTS[MC_EVENT_KMEANS_ITER], 0, 0, 0, 0));
  }
  /* Final assignment with the final centres; the inertia is an exact integer sum. */
  for (PetscInt b = 0; b < nb; ++b) {
    assign_rows(ctx, rs[b].centers, ct, dw, rs[b].labels, rs[b].dist);
    inert[b] = 0;
    for (PetscInt i = 0; i < n; ++i) inert[b] += mc__kmeans_qd(ctx, rs[b].dist[i]);
  }
  PetscCall(PetscMPIIntCast(nb, &cnt));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, inert, cnt, MPI_INT64_T, MPI_SUM, ctx->comm));
  for (PetscInt b = 0; b < nb; ++b) rs[b].inertia = inert[b];
  PetscCall(PetscFree5(ct, dw, buf, active, inert));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_kmeans_run(MPI_Comm comm, PetscInt n_local, PetscInt dim, const PetscReal U[], const MCKMeansOpts *opts,
                             PetscInt labels[], PetscReal centers[], MCKMeansInfo *info)
{
  MCKMeansCtx ctx;
  PetscReal   umax = 0, tol_abs, *cen, *best_cen, vsum = 0, dscale_save;
  PetscInt    best = -1, best_iter = 0;
  int64_t     best_inertia = 0;
  PetscMPIInt cnt;

  PetscFunctionBeginUser;
  ctx.comm    = comm;
  ctx.n_local = n_local;
  ctx.dim     = dim;
  ctx.k       = opts->k;
  ctx.U       = U;
  ctx.Uq      = NULL;
  PetscCallMPI(MPI_Comm_rank(comm, &ctx.rank));
  PetscCallMPI(MPI_Comm_size(comm, &ctx.size));
  PetscCall(PetscMalloc1(ctx.size + 1, &ctx.rstarts));
  ctx.rstarts[0] = 0;
  PetscCallMPI(MPI_Allgather(&n_local, 1, MPIU_INT, ctx.rstarts + 1, 1, MPIU_INT, comm));
  for (PetscMPIInt p = 0; p < ctx.size; ++p) ctx.rstarts[p + 1] += ctx.rstarts[p];
  ctx.n_global = ctx.rstarts[ctx.size];
  ctx.rstart   = ctx.rstarts[ctx.rank];
  PetscCheck(opts->k >= 1 && opts->k <= ctx.n_global, comm, PETSC_ERR_USER_INPUT,
             "k-means needs 1 <= k <= %" PetscInt_FMT " points, got k = %" PetscInt_FMT, ctx.n_global, opts->k);
  PetscCheck(opts->n_init >= 1 && opts->max_iter >= 1 && dim >= 1, comm, PETSC_ERR_USER_INPUT,
             "k-means needs n_init >= 1, max_iter >= 1 and dim >= 1, got %" PetscInt_FMT ", %" PetscInt_FMT ", %" PetscInt_FMT, opts->n_init,
             opts->max_iter, dim);

  /* Agreed fixed-point scales from the exact global maximum |U|. */
  for (PetscInt i = 0; i < n_local * dim; ++i) umax = PetscMax(umax, PetscAbsReal(U[i]));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &umax, 1, MPIU_REAL, MPI_MAX, comm));
  ctx.cscale = fixed_scale(umax, ctx.n_global);
  ctx.dscale = fixed_scale(4 * umax * umax * (PetscReal)dim, ctx.n_global);

  PetscCall(PetscMalloc2(ctx.k * dim, &cen, ctx.k * dim, &best_cen));

  /* scikit-learn's tolerance: tol times the mean over columns of the population variance. Column sums
     and squared deviations are fixed-point sums, hence exact. */
  {
    int64_t   *s;
    PetscReal *mean;
    PetscCall(PetscCalloc1(dim, &s));
    PetscCall(PetscMalloc1(dim, &mean));
    for (PetscInt i = 0; i < n_local; ++i)
      for (PetscInt j = 0; j < dim; ++j) s[j] += mc__kmeans_qc(&ctx, U[i * dim + j]);
    PetscCall(PetscMPIIntCast(dim, &cnt));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, s, cnt, MPI_INT64_T, MPI_SUM, comm));
    for (PetscInt j = 0; j < dim; ++j) mean[j] = (PetscReal)s[j] / ctx.cscale / (PetscReal)ctx.n_global;
    /* (x - mean)^2 <= (2 umax)^2: the distance scale for dim = 1 bounds it. */
    dscale_save = ctx.dscale;
    ctx.dscale  = fixed_scale(4 * umax * umax, ctx.n_global);
    PetscCall(PetscArrayzero(s, dim));
    for (PetscInt i = 0; i < n_local; ++i)
      for (PetscInt j = 0; j < dim; ++j) {
        PetscReal t = U[i * dim + j] - mean[j];
        s[j] += mc__kmeans_qd(&ctx, t * t);
      }
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, s, cnt, MPI_INT64_T, MPI_SUM, comm));
    for (PetscInt j = 0; j < dim; ++j) vsum += (PetscReal)s[j] / ctx.dscale / (PetscReal)ctx.n_global;
    ctx.dscale = dscale_save;
    tol_abs    = opts->tol * vsum / (PetscReal)dim;
    PetscCall(PetscFree(s));
    PetscCall(PetscFree(mean));
  }

  /* Quantized coordinates, once: the centroid sums add these integers. */
  {
    int64_t *uq;
    PetscCall(PetscMalloc1(n_local * dim, &uq));
    for (PetscInt i = 0; i < n_local * dim; ++i) uq[i] = mc__kmeans_qc(&ctx, U[i]);
    ctx.Uq = uq;
  }

  /* Batches of restarts sized to a memory budget (the same on every rank: from the largest n_local). */
  {
    const PetscInt  T = mc__kmeans_n_trials(ctx.k);
    PetscInt        nmax = n_local, nb;
    PetscReal       per;
    MCKMeansRestart *rs;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &nmax, 1, MPIU_INT, MPI_MAX, comm));
    per = (PetscReal)PetscMax(nmax, 1) * (PetscReal)(2 * sizeof(PetscInt) + (1 + T) * sizeof(PetscReal));
    nb  = (PetscInt)PetscMax(1.0, PetscMin((PetscReal)opts->n_init, MC_KMEANS_BATCH_BYTES / per));
    PetscCall(PetscCalloc1(nb, &rs));
    for (PetscInt b = 0; b < nb; ++b) {
      PetscCall(PetscMalloc1(ctx.k * dim, &rs[b].centers));
      PetscCall(PetscMalloc3(n_local, &rs[b].labels, n_local, &rs[b].labels_old, n_local, &rs[b].dist));
    }
    for (PetscInt r0 = 0; r0 < opts->n_init; r0 += nb) {
      PetscInt m = PetscMin(nb, opts->n_init - r0);
      for (PetscInt b = 0; b < m; ++b) rs[b].index = r0 + b;
      PetscCall(run_batch(&ctx, opts, tol_abs, m, rs));
      /* In restart order: the lowest inertia wins, the lower restart on a tie. */
      for (PetscInt b = 0; b < m; ++b)
        if (best < 0 || rs[b].inertia < best_inertia) {
          best         = rs[b].index;
          best_inertia = rs[b].inertia;
          best_iter    = rs[b].n_iter;
          PetscCall(PetscArraycpy(labels, rs[b].labels, n_local));
          PetscCall(PetscArraycpy(best_cen, rs[b].centers, ctx.k * dim));
        }
    }
    for (PetscInt b = 0; b < nb; ++b) {
      PetscCall(PetscFree(rs[b].centers));
      PetscCall(PetscFree3(rs[b].labels, rs[b].labels_old, rs[b].dist));
    }
    PetscCall(PetscFree(rs));
  }
  if (centers) PetscCall(PetscArraycpy(centers, best_cen, ctx.k * dim));
  if (info) {
    info->inertia      = (PetscReal)best_inertia / ctx.dscale;
    info->best_restart = best;
    info->n_iter       = best_iter;
  }
  PetscCall(PetscFree2(cen, best_cen));
  PetscCall(PetscFree(ctx.rstarts));
  PetscCall(PetscFree(ctx.Uq));
  PetscFunctionReturn(0);
}
