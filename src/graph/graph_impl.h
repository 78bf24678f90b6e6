/* src/graph/graph_impl.h: internals shared by the graph module's files. */
#pragma once
#include "mc/graph.h"

/* mc__graph_knn_adjacency - The act_knn activation graph from Y (N x S standardised values by rows, released
   as by mc_dense_gram_stream): each unit keeps its k strongest squared correlations (diagonal, NaN and
   zeros dropped; ties to the smaller column), the lists are united with their transposes, and *adj is the
   symmetric MPIAIJ result in the row blocks of mc_dense_split. Collective on comm. */
PetscErrorCode mc__graph_knn_adjacency(MPI_Comm comm, const MCDenseOpts *dense, PetscInt N, PetscInt S, PetscInt k, PetscReal **Y, Mat *adj, MCDenseStats *st);

/* mc__graph_kendall_rows - Kendall's tau-b of this rank's units (rows [r0, r0 + nr) of Y: dense integer ranks,
   stride lda) against every unit, into G (nr x N, leading dimension lda): every rank gathers all units'
   ranks and computes its rows pair by pair. Collective on comm. */
PetscErrorCode mc__graph_kendall_rows(MPI_Comm comm, PetscInt N, PetscInt S, PetscInt r0, PetscInt nr, const PetscReal Y[], PetscInt lda, PetscReal G[]);
