/* include/mc/config.h: the run configuration, from compiled-in defaults < INI file < command line.
   The schema is src/config/config.def; every key is a field <section>_<key> of MCConfig. */
#pragma once
#include <petscsys.h>

#define MC_ENUM_LEN 32

typedef struct {
#define MC_LAYER_KEY(key, TYPE, def, choices, doc) MC_LAYER_FIELD_##TYPE(key)
#define MC_LAYER_FIELD_STRING(key) char key[PETSC_MAX_PATH_LEN];
#define MC_LAYER_FIELD_ENUM(key)   char key[MC_ENUM_LEN];
#define MC_LAYER_FIELD_REAL(key)   PetscReal key;
#define MC_KEY(...)
#include "../../src/config/config.def"
#undef MC_KEY
#undef MC_LAYER_KEY
  PetscInt line; /* line of the [layer.N] header, for messages */
} MCLayerSpec;

typedef struct {
#define MC_KEY(sec, key, TYPE, def, lo, hi, choices, doc) MC_FIELD_##TYPE(sec##_##key)
#define MC_FIELD_STRING(f) char f[PETSC_MAX_PATH_LEN];
#define MC_FIELD_INT(f)    PetscInt64 f;
#define MC_FIELD_REAL(f)   PetscReal f;
#define MC_FIELD_BOOL(f)   PetscBool f;
#define MC_FIELD_ENUM(f)   char f[MC_ENUM_LEN];
#include "../../src/config/config.def"
#undef MC_KEY

  PetscInt     n_layer_specs; /* number of [layer.N] sections */
  MCLayerSpec *layer_specs;   /* n_layer_specs entries, index = N; owned */

  char  path[PETSC_MAX_PATH_LEN]; /* the config file, as given */
  char  dir[PETSC_MAX_PATH_LEN];  /* its directory, for relative paths */
  char *text;                     /* the effective configuration as INI text (complete); owned */
} MCConfig;

/* mc_config_load - Rank 0 reads `path` and broadcasts its text; every rank parses it, applies the
   `n_overrides` command-line overrides ("section.key=value"), validates and fills *out.
   Errors (PETSC_ERR_USER_INPUT, collective): unreadable file (naming it), syntax error, unknown section
   or key (naming the closest valid one), duplicate key, bad value or value out of range, all as
   "file:line: message" ("command line: ..." for overrides).
   Relative model/data paths in the file are resolved against the file's directory.
   Collective on comm. Caller owns *out; release with mc_config_destroy(). */
PetscErrorCode mc_config_load(MPI_Comm comm, const char *path, int n_overrides, const char *const overrides[], MCConfig **out);

/* mc_config_parse - As mc_config_load but from text already in memory; `name` is used in messages and
   to resolve relative paths. Collective on comm (every rank passes the same text). */
PetscErrorCode mc_config_parse(MPI_Comm comm, const char *name, const char *text, int n_overrides, const char *const overrides[], MCConfig **out);

/* mc_config_destroy - Free *cfg; sets it to NULL; does nothing on NULL. Not collective. */
PetscErrorCode mc_config_destroy(MCConfig **cfg);

/* mc_config_print_markdown - Write the config reference (every key, type, default, range, doc) as
   Markdown to `fp` (docs/config.md is generated with it). Not collective. */
PetscErrorCode mc_config_print_markdown(FILE *fp);
