/* src/kmeans/kmeans_impl.h: internals shared by seed.c and lloyd.c. */
#pragma once
#include <math.h>
#include <stdint.h>
#include "mc/kmeans.h"

typedef struct {
  MPI_Comm         comm;
  PetscMPIInt      rank, size;
  PetscInt         n_local, n_global, rstart, dim, k;
  PetscInt        *rstarts;  /* size + 1 global row offsets of the ranks */
  const PetscReal *U;        /* n_local x dim, borrowed */
  int64_t         *Uq;       /* n_local x dim fixed-point copies of U (cscale), owned by mc_kmeans_run */
  PetscReal        cscale;   /* 2^s: coordinate x becomes the integer nearbyint(x * cscale) */
  PetscReal        dscale;   /* 2^s: squared distance d becomes the integer trunc(d * dscale) */
} MCKMeansCtx;

/* Squared distance of row x to centre c (dim entries each), accumulated in a fixed order. */
static inline PetscReal mc__kmeans_dist2(PetscInt dim, const PetscReal *x, const PetscReal *c)
{
  PetscReal d = 0;
  for (PetscInt j = 0; j < dim; ++j) {
    PetscReal t = x[j] - c[j];
    d += t * t;
  }
  return d;
}

static inline int64_t mc__kmeans_qd(const MCKMeansCtx *ctx, PetscReal d)
{
  return (int64_t)(d * ctx->dscale);
}

static inline int64_t mc__kmeans_qc(const MCKMeansCtx *ctx, PetscReal x)
{
  return (int64_t)nearbyint(x * ctx->cscale);
}

/* Squared distances of four (row, centre) pairs, each summed over j = 0..dim-1 in order (the same values
   as mc__kmeans_dist2 per pair); the four independent sums keep the floating-point units busy. */
static inline void mc__kmeans_dist2_pairs4(PetscInt dim, const PetscReal *x0, const PetscReal *c0, const PetscReal *x1, const PetscReal *c1,
                                           const PetscReal *x2, const PetscReal *c2, const PetscReal *x3, const PetscReal *c3, PetscReal d[4])
{
  PetscReal a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  for (PetscInt j = 0; j < dim; ++j) {
    PetscReal t0 = x0[j] - c0[j], t1 = x1[j] - c1[j], t2 = x2[j] - c2[j], t3 = x3[j] - c3[j];
    a0 += t0 * t0;
    a1 += t1 * t1;
    a2 += t2 * t2;
    a3 += t3 * t3;
  }
  d[0] = a0;
  d[1] = a1;
  d[2] = a2;
  d[3] = a3;
}

/* The hottest loops also get an AVX2 clone, chosen when the program loads on a CPU that has it (GCC on
   x86-64). The clone rounds exactly as the baseline code: AVX2 brings no fused multiply-add (and the
   project compiles with -ffp-contract=off), and the vector lanes only run independent sums side by side,
   each still added in the same order (tests/cluster builds k-means without them, MC_KMEANS_NO_CLONES,
   and compares). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(MC_KMEANS_NO_CLONES)
  #define MC_KMEANS_CLONES __attribute__((target_clones("avx2", "default")))
#else
  #define MC_KMEANS_CLONES
#endif

/* Relative slack of the distance bounds (seeding and Lloyd). A row is skipped only when its bounds decide
   the outcome with this margin, far above the rounding of a dim-term distance, so every skipped row gets
   exactly what the full computation would give: the bounds save work and never change a result. */
#define MC_KMEANS_SLACK 1e-10

/* The state of one k-means restart. Restarts run in batches, in lockstep, so one collective serves the
   whole batch; each restart still computes exactly what it would alone. */
typedef struct {
  PetscInt   index;      /* restart number: stream (seed, MC_STREAM_KMEANS, index) */
  MCRng      rng;
  PetscReal *centers;    /* k x dim, replicated */
  PetscReal *delta;      /* k: how far each centre moved in the last update (Euclidean, rounded up) */
  PetscReal *half;       /* k: half the distance to the nearest other centre (rounded down) */
  PetscInt  *labels;     /* n_local: nearest chosen centre while seeding, the label in Lloyd (-1 before) */
  PetscReal *dist;       /* n_local: D(x)^2 while seeding, squared distance to the assigned centre in Lloyd
                            (exact when the row was last examined; see mc__kmeans_refresh_dist) */
  PetscReal *ub, *lb;    /* n_local: Hamerly bounds (distance to the assigned centre, to the second nearest) */
  int64_t   *cum;        /* n_local: running sums of the fixed-point D(x)^2 while seeding */
  int64_t   *lsum;       /* k x dim local fixed-point coordinate sums per label, kept up to date row by row */
  int64_t   *lcnt;       /* k local counts per label */
  PetscInt   n_iter;
  PetscBool  done;
  int64_t    inertia;    /* fixed point (dscale) */
} MCKMeansRestart;

/* Squared distances of the four rows x0..x3 to one centre c (the same values as mc__kmeans_dist2). */
static inline void mc__kmeans_dist2_p4(PetscInt dim, const PetscReal *x0, const PetscReal *x1, const PetscReal *x2, const PetscReal *x3,
                                       const PetscReal *c, PetscReal d[4])
{
  mc__kmeans_dist2_pairs4(dim, x0, c, x1, c, x2, c, x3, c, d);
}

/* mc__kmeans_fetch_rows - Coordinates of the rows with the given global indices (n of them, -1 allowed:
   zeros), replicated into out (n x dim). Collective. */
PetscErrorCode mc__kmeans_fetch_rows(const MCKMeansCtx *ctx, PetscInt n, const PetscInt idx[], PetscReal out[]);

/* mc__kmeans_seed - Greedy k-means++ centres for the nb restarts of a batch, in lockstep (three
   collectives per centre for the whole batch). Fills rs[b].centers and leaves, per row, the nearest
   centre in rs[b].labels (the earlier one on ties), D(x)^2 in rs[b].dist and a lower bound on the
   distance to the second nearest centre in rs[b].lb. Collective. */
PetscErrorCode mc__kmeans_seed(const MCKMeansCtx *ctx, PetscInt nb, MCKMeansRestart rs[]);

/* Number of candidates per centre in greedy k-means++ (scikit-learn's 2 + floor(ln k)). */
static inline PetscInt mc__kmeans_n_trials(PetscInt k)
{
  return 2 + (PetscInt)floor(log((double)k));
}
