/* src/spectral/bipartite.h: how the graph module tells the eigensolver that an adjacency is bipartite.
   mc_graph_from_blocks composes a PetscContainer under MC_GRAPH_GROUPS_KEY on the matrix, holding a
   PetscInt array: n_groups, then the n_groups + 1 global node offsets of the groups. Edges join
   consecutive groups only, so even and odd groups are the two sides. A matrix without it (any other
   graph) takes the general path. */
#pragma once

#define MC_GRAPH_GROUPS_KEY "mc_graph_groups"
