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

/* min(|x - c|^2, cap), leaving the sum early once it reaches cap (the result is then exactly cap). */
static inline PetscReal mc__kmeans_dist2_capped(PetscInt dim, const PetscReal *x, const PetscReal *c, PetscReal cap)
{
  PetscReal d = 0;
  for (PetscInt j = 0; j < dim; ++j) {
    PetscReal t = x[j] - c[j];
    d += t * t;
    if (d >= cap) return cap;
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

/* The state of one k-means restart. Restarts run in batches, in lockstep, so one collective serves the
   whole batch; each restart still computes exactly what it would alone. */
typedef struct {
  PetscInt   index;      /* restart number: stream (seed, MC_STREAM_KMEANS, index) */
  MCRng      rng;
  PetscReal *centers;    /* k x dim, replicated */
  PetscInt  *labels;     /* n_local */
  PetscInt  *labels_old; /* n_local */
  PetscReal *dist;       /* n_local: D(x)^2 while seeding, distance to the assigned centre in Lloyd */
  PetscInt   n_iter;
  PetscBool  done;
  int64_t    inertia;    /* fixed point (dscale) */
} MCKMeansRestart;

/* mc__kmeans_fetch_rows - Coordinates of the rows with the given global indices (n of them, -1 allowed:
   zeros), replicated into out (n x dim). Collective. */
PetscErrorCode mc__kmeans_fetch_rows(const MCKMeansCtx *ctx, PetscInt n, const PetscInt idx[], PetscReal out[]);

/* mc__kmeans_seed - Greedy k-means++ centres for the nb restarts of a batch, in lockstep (three
   collectives per centre for the whole batch). Fills rs[b].centers and leaves D(x)^2 in rs[b].dist.
   Collective. */
PetscErrorCode mc__kmeans_seed(const MCKMeansCtx *ctx, PetscInt nb, MCKMeansRestart rs[]);

/* Number of candidates per centre in greedy k-means++ (scikit-learn's 2 + floor(ln k)). */
static inline PetscInt mc__kmeans_n_trials(PetscInt k)
{
  return 2 + (PetscInt)floor(log((double)k));
}
