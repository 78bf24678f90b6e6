/* src/spectral/cluster.c: spectral clustering end to end (docs/method.md sections 3 to 5): degree-0 removal,
   embedding, distributed k-means, renumbering, n-cut. */
#include "mc/cluster.h"
#include "mc/graph.h"
#include "mc/kmeans.h"
#include "mc/spectral.h"

PetscErrorCode mc_cluster_graph(Mat adj, const MCGroups *groups, const MCClusterOpts *opts, MCClustering **out)
{
  MPI_Comm      comm;
  MCClustering *c;
  MCEmbedding  *emb;
  MCKMeansOpts  ko;
  MCKMeansInfo  info;
  PetscInt      N, n_kept, *kept, *lab, *lab_kept, *map, next = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscObjectGetComm((PetscObject)adj, &comm));
  PetscCall(MatGetSize(adj, &N, NULL));
  PetscCheck(opts->k >= 2, comm, PETSC_ERR_USER_INPUT, "cluster.k must be at least 2, got %" PetscInt_FMT, opts->k);
  PetscCall(mc_graph_find_isolated(adj, &n_kept, &kept, NULL));
  PetscCheck(opts->k <= n_kept, comm, PETSC_ERR_USER_INPUT,
             "cluster.k = %" PetscInt_FMT " exceeds the %" PetscInt_FMT " nodes left after removing %" PetscInt_FMT " degree-0 nodes", opts->k, n_kept,
             N - n_kept);

  PetscCall(PetscNew(&c));
  c->n_nodes   = N;
  c->n_removed = N - n_kept;
  c->k         = opts->k;
  PetscCall(mc_spectral_embed(adj, groups, n_kept, kept, opts->k, opts->eig_tol > 0 ? opts->eig_tol : 1e-10, opts->eig_max_it, opts->seed,
                              opts->options_prefix, &emb));
  PetscCall(PetscMalloc1(opts->k, &c->eigenvalues));
  PetscCall(PetscArraycpy(c->eigenvalues, emb->eigenvalues, opts->k));
  c->n_converged  = emb->n_converged;
  c->max_residual = emb->max_residual;
  /* A repeated zero eigenvalue: the kept graph has several components (clustered as is). */
  c->n_components_warn = (opts->k >= 2 && emb->eigenvalues[1] < 1e-10) ? 1 : 0;
  if (c->n_components_warn) PetscCall(PetscInfo(NULL, "The graph has several connected components (second eigenvalue %g)\n", (double)emb->eigenvalues[1]));

  ko.k        = opts->k;
  ko.n_init   = opts->n_init > 0 ? opts->n_init : (n_kept > 2000 ? 100 : 25);
  ko.max_iter = opts->max_iter > 0 ? opts->max_iter : 300;
  ko.tol      = opts->tol >= 0 ? opts->tol : 1e-4;
  ko.seed     = opts->seed;
  PetscCall(PetscMalloc1(emb->n_local, &lab));
  PetscCall(mc_kmeans_run(comm, emb->n_local, emb->dim, emb->U, &ko, lab, NULL, &info));
  c->inertia      = info.inertia;
  c->best_restart = info.best_restart;
  c->n_init       = ko.n_init;

  /* Gather the labels of the kept nodes to every rank, scatter them into the N-array, renumber by first
     appearance in global node order (the smallest member names the cluster). */
  PetscCall(PetscMalloc1(n_kept, &lab_kept));
  PetscCall(mc_sys_gatherv(comm, -1, lab, emb->n_local, MPIU_INT, lab_kept));
  PetscCall(PetscMalloc1(N, &c->labels));
  for (PetscInt i = 0; i < N; ++i) c->labels[i] = -1;
  for (PetscInt j = 0; j < n_kept; ++j) c->labels[kept[j]] = lab_kept[j];
  PetscCall(PetscMalloc1(opts->k, &map));
  for (PetscInt q = 0; q < opts->k; ++q) map[q] = -1;
  for (PetscInt i = 0; i < N; ++i) {
    PetscInt l = c->labels[i];
    if (l < 0) continue;
    if (map[l] < 0) map[l] = next++;
    c->labels[i] = map[l];
  }
  PetscCall(mc_cluster_ncut(adj, c->labels, &c->ncut));

  PetscCall(PetscFree(map));
  PetscCall(PetscFree(lab_kept));
  PetscCall(PetscFree(lab));
  PetscCall(PetscFree(kept));
  PetscCall(mc_spectral_embedding_destroy(&emb));
  *out = c;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_cluster_duplicate(const MCClustering *c, MCClustering **out)
{
  MCClustering *d;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&d));
  *d = *c;
  d->labels      = NULL;
  d->eigenvalues = NULL;
  d->local_k = NULL;
  PetscCall(PetscMalloc1(c->n_nodes, &d->labels));
  PetscCall(PetscArraycpy(d->labels, c->labels, c->n_nodes));
  if (c->eigenvalues) {
    PetscCall(PetscMalloc1(c->k, &d->eigenvalues));
    PetscCall(PetscArraycpy(d->eigenvalues, c->eigenvalues, c->k));
  }
  if (c->local_k) {
    PetscCall(PetscMalloc1(c->n_groups, &d->local_k));
    PetscCall(PetscArraycpy(d->local_k, c->local_k, c->n_groups));
  }
  *out = d;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_cluster_destroy(MCClustering **c)
{
  PetscFunctionBeginUser;
  if (!c || !*c) PetscFunctionReturn(0);
  PetscCall(PetscFree((*c)->labels));
  PetscCall(PetscFree((*c)->eigenvalues));
  PetscCall(PetscFree((*c)->local_k));
  PetscCall(PetscFree(*c));
  PetscFunctionReturn(0);
}
