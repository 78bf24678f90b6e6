/* include/mc/config.h: the run configuration, from compiled-in defaults < INI file < command line.
   The schema is src/config/config.def; every key is a field <section>_<key> of MCConfig. */
#pragma once
#include <petscsys.h>

#define MC_ENUM_LEN 32

typedef struct {
#define MC_LAYER_KEY(key, TYPE, def, lo, hi, choices, doc) MC_LAYER_FIELD_##TYPE(key)
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
   `n_overrides` command-line overrides ("section.key=value", also "layer.N.key=value"), validates and
   fills *out. Precedence: compiled-in defaults < file < overrides.
   Errors (PETSC_ERR_USER_INPUT, or PETSC_ERR_FILE_OPEN/READ for the file; collective): unreadable file
   or a directory (naming it), syntax error, unknown section or key (naming the closest valid one),
   duplicate key, bad value or value out of range, gaps in [layer.N] numbering, missing required keys,
   all as "file:line: message" ("command line: ..." for overrides, "file: ..." for whole-file checks).
   Relative [model] path and [data] source values from the file are resolved against the file's
   directory; those from overrides against the working directory. Both become absolute paths.
   Collective on comm. Caller owns *out; release with mc_config_destroy(). */
PetscErrorCode mc_config_load(MPI_Comm comm, const char *path, int n_overrides, const char *const overrides[], MCConfig **out);

/* mc_config_parse - As mc_config_load but from text already in memory; `name` is used in messages and
   to resolve relative paths. Collective on comm (every rank passes the same text). */
PetscErrorCode mc_config_parse(MPI_Comm comm, const char *name, const char *text, int n_overrides, const char *const overrides[], MCConfig **out);

/* mc_config_destroy - Free *cfg; sets it to NULL; does nothing on NULL. Not collective. */
PetscErrorCode mc_config_destroy(MCConfig **cfg);

/* mc_config_print_markdown - Write the config reference (every key, type, default, range, doc) as
   Markdown to `fp` (docs/config.md is generated with it). Not collective; needs no PetscInitialize.
   Errors: PETSC_ERR_FILE_WRITE if writing fails. */
PetscErrorCode mc_config_print_markdown(FILE *fp);

/* ---- The INI reader underneath, for other schemas (e.g. training configs). ---- */

/* MCIniFn - Called by mc_config_ini_parse for every section header (key == NULL, value == NULL) and every
   "key = value" line (section is the current section). `line` is the 1-based line number. Strings are
   trimmed, the value has its inline comment removed; they live until mc_config_ini_parse returns. An
   error returned by the callback stops the parse and is returned. */
typedef PetscErrorCode MCIniFn(void *ctx, const char *section, const char *key, const char *value, PetscInt line);

/* mc_config_ini_parse - Strict INI syntax: "[section]" headers, "key = value" lines, comments starting with
   ';' or '#' (a whole line, or after whitespace inside a value), blank lines; no line-length limit, CRLF
   and a UTF-8 byte-order mark accepted. Section names are letters, digits, '_' and '.'; keys letters,
   digits and '_'. Syntax errors (PETSC_ERR_USER_INPUT) read "name:line: message".
   Collective on comm in the sense that every rank must pass the same text (errors are raised on comm). */
PetscErrorCode mc_config_ini_parse(MPI_Comm comm, const char *name, const char *text, MCIniFn *fn, void *ctx);

/* mc_config_read_text - Rank 0 reads the whole file `path` (a regular text file of at most 64 MiB) and
   broadcasts it; *text is NUL-terminated on every rank. Errors, raised on every rank and printed once:
   PETSC_ERR_FILE_OPEN (missing, unreadable, a directory), PETSC_ERR_FILE_READ (NUL bytes, too large).
   Collective on comm. Caller owns *text; release with PetscFree(). */
PetscErrorCode mc_config_read_text(MPI_Comm comm, const char *path, char **text);
