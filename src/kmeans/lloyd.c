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

/* Half the distance from each centre to its nearest other centre, rounded down (Hamerly's s(c)). */
static void center_halves(const MCKMeansCtx *ctx, MCKMeansRestart *R)
{
  const PetscInt dim = ctx->dim, k = ctx->k;

  for (PetscInt c = 0; c < k; ++c) R->half[c] = PETSC_MAX_REAL;
  for (PetscInt c = 0; c < k; ++c)
    for (PetscInt e = c + 1; e < k; ++e) {
      PetscReal h = 0.5 * PetscSqrtReal(mc__kmeans_dist2(dim, R->centers + c * dim, R->centers + e * dim)) * (1 - MC_KMEANS_SLACK);
      R->half[c]  = PetscMin(R->half[c], h);
      R->half[e]  = PetscMin(R->half[e], h);
    }
}

/* Squared distances of row x to all k centres (ct transposed: ct[j * k + c]), each summed over
   j = 0..dim-1 in order, four centres at a time in registers (independent sums, which the compiler runs
   as vector lanes). */
static inline void scan_centers(PetscInt dim, PetscInt k, const PetscReal *restrict x, const PetscReal *restrict ct, PetscReal *restrict dw)
{
  PetscInt c = 0;

  for (; c + 4 <= k; c += 4) {
    PetscReal a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (PetscInt j = 0; j < dim; ++j) {
      const PetscReal  xj = x[j];
      const PetscReal *cj = ct + j * k + c;
      PetscReal        t0 = xj - cj[0], t1 = xj - cj[1], t2 = xj - cj[2], t3 = xj - cj[3];
      a0 += t0 * t0;
      a1 += t1 * t1;
      a2 += t2 * t2;
      a3 += t3 * t3;
    }
    dw[c]     = a0;
    dw[c + 1] = a1;
    dw[c + 2] = a2;
    dw[c + 3] = a3;
  }
  for (; c < k; ++c) {
    PetscReal a = 0;
    for (PetscInt j = 0; j < dim; ++j) {
      PetscReal t = x[j] - ct[j * k + c];
      a += t * t;
    }
    dw[c] = a;
  }
}

/* Assign each local row to its nearest centre (first on ties) with Hamerly's bounds: a row whose bounds
   (moved by the centre shifts R->delta) prove its centre still strictly nearest, by the slack, keeps it
   without a distance; otherwise its distance to its centre, and if needed to all centres, is computed.
   Three passes, each over the rows the previous one left open (listed in work[], n_local entries): the
   bounds; the distance to the own centre, four rows at a time (independent sums keep the floating-point
   units busy); the full scan. The full scan transposes the centres (ct[j * k + c]) so the inner loop runs
   over centres, while each centre's distance is still summed over j = 0..dim-1 in order: the same value
   on any rank, and the same label as a scan of every row. need_dist also makes R->dist exact for every
   row. The local label sums follow the changes. Returns the number of rows whose label changed. */
MC_KMEANS_CLONES
static PetscInt assign_rows(const MCKMeansCtx *ctx, MCKMeansRestart *R, PetscBool need_dist, PetscReal *restrict ct, PetscReal *restrict dw,
                            PetscInt *restrict work, PetscReal *restrict zw)
{
  const PetscInt   dim = ctx->dim, k = ctx->k;
  const PetscReal  S   = MC_KMEANS_SLACK;
  const PetscReal *U   = ctx->U, *cen = R->centers;
  PetscReal        dmax1 = 0, dmax2 = 0;
  PetscInt         imax = -1, changed = 0, nw = 0, nf = 0;

  for (PetscInt c = 0; c < k; ++c)
    for (PetscInt j = 0; j < dim; ++j) ct[j * k + c] = cen[c * dim + j];
  /* The largest and second largest shift: a row's lower bound drops by the largest shift of another centre. */
  for (PetscInt c = 0; c < k; ++c) {
    if (R->delta[c] > dmax1) {
      dmax2 = dmax1;
      dmax1 = R->delta[c];
      imax  = c;
    } else if (R->delta[c] > dmax2) dmax2 = R->delta[c];
  }
  /* Pass 1: move the bounds; rows they do not settle go to work[], with their threshold z in zw[]. */
  for (PetscInt i = 0; i < ctx->n_local; ++i) {
    const PetscInt  a  = R->labels[i];
    const PetscReal dm = (a == imax) ? dmax2 : dmax1;
    const PetscReal u  = (R->ub[i] + R->delta[a]) * (1 + S);
    const PetscReal l  = R->lb[i] - dm - S * (PetscAbsReal(R->lb[i]) + dm);
    R->ub[i]           = u;
    R->lb[i]           = l;
    /* Listed without a branch: the slot is written always and kept only when the row stays open. */
    zw[nw]   = PetscMax(l, R->half[a]);
    work[nw] = i;
    nw += (need_dist || !(u < zw[nw])) ? 1 : 0;
  }
  /* Pass 2: the exact distance to the own centre; rows it does not settle stay listed. */
  for (PetscInt q = 0; q < nw; q += 4) {
    PetscReal d2[4];
    PetscInt  m = PetscMin(4, nw - q);
    if (m == 4) {
      const PetscInt i0 = work[q], i1 = work[q + 1], i2 = work[q + 2], i3 = work[q + 3];
      mc__kmeans_dist2_pairs4(dim, U + i0 * dim, cen + R->labels[i0] * dim, U + i1 * dim, cen + R->labels[i1] * dim, U + i2 * dim,
                              cen + R->labels[i2] * dim, U + i3 * dim, cen + R->labels[i3] * dim, d2);
    } else
      for (PetscInt r = 0; r < m; ++r) d2[r] = mc__kmeans_dist2(dim, U + work[q + r] * dim, cen + R->labels[work[q + r]] * dim);
    for (PetscInt r = 0; r < m; ++r) {
      const PetscInt  i = work[q + r];
      const PetscReal u = PetscSqrtReal(d2[r]) * (1 + S);
      R->dist[i]        = d2[r];
      R->ub[i]          = u;
      work[nf]          = i;
      nf += u < zw[q + r] ? 0 : 1;
    }
  }
  /* Pass 3: the full scan. */
  for (PetscInt q = 0; q < nf; ++q) {
    const PetscInt i = work[q], a = R->labels[i];
    PetscReal      best, second = PETSC_MAX_REAL;
    PetscInt       bc = 0;
    scan_centers(dim, k, U + i * dim, ct, dw);
    /* The nearest (first on ties) and the second nearest distance, by selects rather than branches. */
    best = dw[0];
    for (PetscInt c = 1; c < k; ++c) {
      const PetscReal d  = dw[c];
      const int       lt = d < best;
      second             = lt ? best : PetscMin(second, d);
      bc                 = lt ? c : bc;
      best               = lt ? d : best;
    }
    if (bc != a) {
      const int64_t *uq = ctx->Uq + i * dim;
      int64_t       *so = R->lsum + a * dim, *sn = R->lsum + bc * dim;
      for (PetscInt j = 0; j < dim; ++j) {
        so[j] -= uq[j];
        sn[j] += uq[j];
      }
      R->lcnt[a]--;
      R->lcnt[bc]++;
      R->labels[i] = bc;
      changed++;
    }
    R->dist[i] = best;
    R->ub[i]   = PetscSqrtReal(best) * (1 + S);
    R->lb[i]   = k > 1 ? PetscSqrtReal(second) * (1 - S) : PETSC_MAX_REAL;
  }
  return changed;
}

/* The exact squared distance of every local row to its assigned centre (rows the bounds skipped keep
   stale values in R->dist). */
static void refresh_dist(const MCKMeansCtx *ctx, MCKMeansRestart *R)
{
  for (PetscInt i = 0; i < ctx->n_local; ++i) R->dist[i] = mc__kmeans_dist2(ctx->dim, ctx->U + i * ctx->dim, R->centers + R->labels[i] * ctx->dim);
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
  PetscInt       n_active, *active, *work;
  PetscMPIInt    cnt;
  int64_t       *buf, *inert;
  PetscReal     *ct, *dw, *zw;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc7(k * dim, &ct, k, &dw, n, &work, n, &zw, nb * nbuf, &buf, nb, &active, nb, &inert));
  for (PetscInt b = 0; b < nb; ++b) {
    mc_rng_init(&rs[b].rng, opts->seed, MC_STREAM_KMEANS, (uint64_t)rs[b].index);
    rs[b].done   = PETSC_FALSE;
    rs[b].n_iter = 0;
  }
  PetscCall(mc__kmeans_seed(ctx, nb, rs));
  /* Seeding leaves each row's nearest seed (first on ties), the exact distance to it and a lower bound
     on the distance to the second nearest: the first assignment's answer for every row, and valid
     Hamerly bounds. So the first iteration goes straight to the centroid update. */
  for (PetscInt b = 0; b < nb; ++b) {
    MCKMeansRestart *R = &rs[b];
    PetscCall(PetscArrayzero(R->lsum, k * dim));
    PetscCall(PetscArrayzero(R->lcnt, k));
    PetscCall(PetscArrayzero(R->delta, k));
    center_halves(ctx, R);
    for (PetscInt i = 0; i < n; ++i) {
      const int64_t *uq = ctx->Uq + i * dim;
      int64_t       *sc = R->lsum + R->labels[i] * dim;
      for (PetscInt j = 0; j < dim; ++j) sc[j] += uq[j];
      R->lcnt[R->labels[i]]++;
      R->ub[i] = PetscSqrtReal(R->dist[i]) * (1 + MC_KMEANS_SLACK);
    }
  }
  for (;;) {
    n_active = 0;
    for (PetscInt b = 0; b < nb; ++b)
      if (!rs[b].done) active[n_active++] = b;
    if (!n_active) break;
    PetscCall(PetscLogEventBegin(MC_EVENTS[MC_EVENT_KMEANS_ITER], 0, 0, 0, 0));
    for (PetscInt a = 0; a < n_active; ++a) {
      MCKMeansRestart *R  = &rs[active[a]];
      int64_t         *bb = buf + a * nbuf;
      /* Every label counts as changed in the first iteration (they were unset before it). */
      PetscInt changed = R->n_iter == 0 ? n : assign_rows(ctx, R, PETSC_FALSE, ct, dw, work, zw);
      PetscCall(PetscArraycpy(bb, R->lsum, k * dim));
      PetscCall(PetscArraycpy(bb + k * dim, R->lcnt, k));
      bb[nbuf - 1] = changed;
    }
    PetscCall(PetscMPIIntCast(n_active * nbuf, &cnt));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, buf, cnt, MPI_INT64_T, MPI_SUM, ctx->comm));
    for (PetscInt a = 0; a < n_active; ++a) {
      MCKMeansRestart *R     = &rs[active[a]];
      int64_t         *bb    = buf + a * nbuf, *sums = bb, *counts = bb + k * dim;
      PetscReal        shift = 0;
      PetscBool        empty = PETSC_FALSE;
      for (PetscInt c = 0; c < k; ++c)
        if (counts[c] == 0) empty = PETSC_TRUE;
      /* Every rank sees the same reduced counts, so all take part in the same relocations, which pick the
         farthest rows by exact distances. */
      if (empty) {
        refresh_dist(ctx, R);
        PetscCall(relocate_empty(ctx, R->labels, R->dist, sums, counts));
      }
      for (PetscInt c = 0; c < k; ++c) {
        PetscReal move = 0;
        for (PetscInt j = 0; j < dim; ++j) {
          /* An emptied cluster keeps its (zero) sum as centre, as scikit-learn's _average_centers. */
          PetscReal v = (PetscReal)sums[c * dim + j] / ctx->cscale, t;
          if (counts[c] > 0) v /= (PetscReal)counts[c];
          t = v - R->centers[c * dim + j];
          shift += t * t;
          move += t * t;
          R->centers[c * dim + j] = v;
        }
        R->delta[c] = PetscSqrtReal(move) * (1 + MC_KMEANS_SLACK);
      }
      center_halves(ctx, R);
      R->n_iter++;
      /* Strict convergence (no label changed), the tolerance, or the iteration limit. */
      if (bb[nbuf - 1] == 0 || shift <= tol_abs || R->n_iter >= opts->max_iter) R->done = PETSC_TRUE;
    }
    PetscCall(PetscLogEventEnd(MC_EVENTS[MC_EVENT_KMEANS_ITER], 0, 0, 0, 0));
  }
  /* Final assignment with the final centres; the inertia is an exact integer sum. */
  for (PetscInt b = 0; b < nb; ++b) {
    (void)assign_rows(ctx, &rs[b], PETSC_TRUE, ct, dw, work, zw);
    inert[b] = 0;
    for (PetscInt i = 0; i < n; ++i) inert[b] += mc__kmeans_qd(ctx, rs[b].dist[i]);
  }
  PetscCall(PetscMPIIntCast(nb, &cnt));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, inert, cnt, MPI_INT64_T, MPI_SUM, ctx->comm));
  for (PetscInt b = 0; b < nb; ++b) rs[b].inertia = inert[b];
  PetscCall(PetscFree7(ct, dw, work, zw, buf, active, inert));
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
    per = (PetscReal)PetscMax(nmax, 1) * (PetscReal)((1 + T) * sizeof(PetscInt) + sizeof(int64_t) + (3 + T) * sizeof(PetscReal));
    nb  = (PetscInt)PetscMax(1.0, PetscMin((PetscReal)opts->n_init, MC_KMEANS_BATCH_BYTES / per));
    PetscCall(PetscCalloc1(nb, &rs));
    for (PetscInt b = 0; b < nb; ++b) {
      PetscCall(PetscMalloc5(ctx.k * dim, &rs[b].centers, ctx.k, &rs[b].delta, ctx.k, &rs[b].half, ctx.k * dim, &rs[b].lsum, ctx.k, &rs[b].lcnt));
      PetscCall(PetscMalloc5(n_local, &rs[b].labels, n_local, &rs[b].dist, n_local, &rs[b].ub, n_local, &rs[b].lb, n_local, &rs[b].cum));
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
      PetscCall(PetscFree5(rs[b].centers, rs[b].delta, rs[b].half, rs[b].lsum, rs[b].lcnt));
      PetscCall(PetscFree5(rs[b].labels, rs[b].dist, rs[b].ub, rs[b].lb, rs[b].cum));
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
