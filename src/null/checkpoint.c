/* src/null/checkpoint.c: the clusterability checkpoint: which files, under which hash (the files
   themselves, their lock and resume are src/io/checkpoint.c). */
#include <ctype.h>
#include <string.h>
#include "null_impl.h"

/* Whether PETSc option `name` (without its dash, perhaps behind an options prefix) can change a shuffle's
   n-cut: the eigensolver's (SLEPc's eps, st, bv, ds, rg objects) and the choice of eigenproblem. */
static PetscBool option_matters(const char *name)
{
  static const char *const keys[] = {"eps_", "st_", "bv_", "ds_", "rg_", "mc_bipartite", "mc_eig_dense", "mc_dense_"};

  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); ++i)
    if (strstr(name, keys[i])) return PETSC_TRUE;
  return PETSC_FALSE;
}

/* Hash of everything the null's n-cuts depend on: the configuration keys (opts->config_hash: the [model],
   [graph], [cluster] and [layer.N] sections and the shuffle method), the eigensolver's PETSc options, and
   the true graph's blocks (so a changed model file invalidates the checkpoint). The number of shuffles and
   trials, the group size, the output keys and PETSc's reporting options (-log_view, -info...) are left
   out: a shuffle's n-cut does not depend on them. */
static PetscErrorCode checkpoint_hash(const MCNullOpts *o, const MCGraph *g, uint64_t *hash)
{
  uint64_t  h = mc_sys_hash(MC_SYS_HASH_INIT, &o->config_hash, sizeof(o->config_hash));
  char     *opts, *tok, *save = NULL;
  PetscBool keep_value = PETSC_FALSE;

  PetscFunctionBeginUser;
  for (PetscInt b = 0; b < g->n_blocks; ++b) {
    PetscInt nr, nc;

    mc_graph_block_dims(g, b, &nr, &nc);
    h = mc_sys_hash(h, g->block_pair + 2 * b, 2 * sizeof(PetscInt));
    h = mc_sys_hash(h, g->block[b], (size_t)(nr * nc) * sizeof(PetscReal));
  }
  /* "-name value -name ...": an option's name starts with a dash and a letter; a value may be negative. */
  PetscCall(PetscOptionsGetAll(NULL, &opts));
  for (tok = strtok_r(opts, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
    PetscBool is_name = tok[0] == '-' && tok[1] && !isdigit((unsigned char)tok[1]) && tok[1] != '.' ? PETSC_TRUE : PETSC_FALSE;

    if (is_name) keep_value = option_matters(tok + 1);
    if (keep_value) h = mc_sys_hash(h, tok, strlen(tok) + 1);
  }
  PetscCall(PetscFree(opts));
  *hash = h;
  PetscFunctionReturn(0);
}

PetscErrorCode mc__null_checkpoint_open(MPI_Comm comm, const MCNullOpts *opts, const MCGraph *graph, MCNull *nul, PetscReal res[], PetscBool skip[],
                                        MCCheckpoint **ck)
{
  PetscInt  n_tasks = nul->n_shuffles + nul->n_random_init;
  char      what[PETSC_MAX_PATH_LEN + 64];
  uint64_t  h = 0, *key;

  PetscFunctionBeginUser;
  PetscCall(checkpoint_hash(opts, graph, &h));
  PetscCall(mc_io_checkpoint_prefix(opts->dir, h, nul->checkpoint_prefix, sizeof(nul->checkpoint_prefix)));
  PetscCall(PetscSNPrintf(what, sizeof(what), "the clusterability checkpoint %s.*", nul->checkpoint_prefix));
  /* Shuffle s under key s, trial i under 2^62 + i: a rerun with more shuffles or trials finds both. */
  PetscCall(PetscMalloc1(PetscMax(n_tasks, 1), &key));
  for (PetscInt t = 0; t < n_tasks; ++t) key[t] = t < nul->n_shuffles ? (uint64_t)t : ((uint64_t)1 << 62) + (uint64_t)(t - nul->n_shuffles);
  PetscCall(mc_io_checkpoint_open(comm, nul->checkpoint_prefix, what, n_tasks, key, 2, res, skip, &nul->n_resumed, ck));
  PetscCall(PetscFree(key));
  if (nul->n_resumed > 0)
    PetscCall(PetscPrintf(comm, "clusterability: resuming from checkpoint %s.*: %" PetscInt_FMT " of %" PetscInt_FMT " tasks already done\n", nul->checkpoint_prefix,
                          nul->n_resumed, n_tasks));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_null_checkpoint_clear(MPI_Comm comm, const MCNull *nul)
{
  PetscFunctionBeginUser;
  if (nul) PetscCall(mc_io_checkpoint_clear(comm, nul->checkpoint_prefix));
  PetscFunctionReturn(0);
}
