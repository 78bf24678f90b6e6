/* src/run/run_impl.h: helpers shared by the stage runner's files. */
#pragma once
#include "mc/run.h"

/* mc__run_graph_build - The graph of `kind` of `model` with the [graph] options (an activation graph reads
   the training split of [data] source). Collective on comm. Caller owns *out. */
PetscErrorCode mc__run_graph_build(MPI_Comm comm, const MCConfig *cfg, MCGraphKind kind, const MCModel *model, MCGraph **out);

/* mc__run_graphs - Build graphs[kind] (when still NULL) for every partitioning's kind and point
   part[p].graph at it. Collective on comm. Caller owns the graphs. */
PetscErrorCode mc__run_graphs(MPI_Comm comm, const MCConfig *cfg, PetscInt n_parts, MCPartitioning part[], const MCModel *model, MCGraph *graphs[2]);

/* mc__run_partitions - part[p].clustering for every partitioning (graphs set): the global spectral
   clustering, or for a local scope the local partitioning, part[p].global then being the global one it came
   from (a copy of the global partitioning of the same graph when the run has one, else computed).
   Collective. The caller owns them (mc_cluster_destroy). */
PetscErrorCode mc__run_partitions(const MCConfig *cfg, PetscInt n_parts, MCPartitioning part[]);
