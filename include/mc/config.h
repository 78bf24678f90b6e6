/* include/mc/config.h: configurations, from compiled-in defaults < INI file < command line, through one
   schema mechanism (an X-macro table of keys, the strict INI parser, overrides, the effective text, the
   generated reference), used for modclust-mpi's MCConfig (src/config/config.def) and modclust-train's
   MCTrainConfig (src/train/train.def). ENUM keys are parsed once, here, into the index of their value in
   the key's choices; the stage modules' C enums (MCGraphKind, MCTies, ...) list their values in that same
   order, and src/run converts (checked by tests/config/test_config_enums.c). Only src/run, src/train and
   the executables include this header. */
#pragma once
#include <petscsys.h>
#include "mc/io.h" /* MCLayerSpec: [layer.N] sections fill the io module's layer description */

/* ---- The schema mechanism ---- */

typedef enum {
  MC_CONFIG_STRING, /* char[size] */
  MC_CONFIG_PATH,   /* char[size]; relative to the config file's directory (the working directory when given
                       on the command line), absolute after parsing */
  MC_CONFIG_INT,    /* PetscInt64 */
  MC_CONFIG_REAL,   /* PetscReal */
  MC_CONFIG_BOOL,   /* PetscBool */
  MC_CONFIG_ENUM    /* int: the index of the value in `choices` (-1: unset, for an empty default) */
} MCConfigType;

/* One key of a schema. */
typedef struct {
  const char  *section; /* NULL for [layer.N] keys */
  const char  *key;
  MCConfigType type;
  const char  *def;     /* default, as INI text */
  double       lo, hi;  /* inclusive bounds of INT and REAL keys; lo == hi means unbounded */
  const char  *choices; /* ENUM: '|'-separated; NULL otherwise */
  const char  *doc;
  size_t       offset;  /* of the field in the configuration struct (or the layer struct for layer keys) */
  size_t       size;    /* of the field, in bytes */
} MCKeyInfo;

typedef struct {
  const char *section;
  const char *doc;
} MCSectionInfo;

/* MCKeyCheckFn - A schema's extra check of a STRING or PATH value (e.g. "1 to 3 integers"); raises
   PETSC_ERR_USER_INPUT on comm quoting `where` and `label`. */
typedef PetscErrorCode MCKeyCheckFn(MPI_Comm comm, const char *where, const char *label, const MCKeyInfo *k, const char *value);

/* A configuration schema: its sections and keys, and optionally [layer.N] sections of layer_size-byte
   structs. */
typedef struct {
  const char          *tool; /* the program, for the effective text and messages */
  const MCSectionInfo *sections;
  PetscInt             n_sections;
  const MCKeyInfo     *keys;
  PetscInt             n_keys;
  const MCKeyInfo     *layer_keys; /* NULL: no [layer.N] sections */
  PetscInt             n_layer_keys;
  size_t               layer_size;
  MCKeyCheckFn        *check; /* may be NULL */
} MCSchema;

/* What a parse yields besides the struct's fields. */
typedef struct {
  char      path[PETSC_MAX_PATH_LEN]; /* the config file, as given */
  char      dir[PETSC_MAX_PATH_LEN];  /* its directory, absolute: relative paths are relative to it */
  char     *text;                     /* the effective configuration as INI text (complete); owned */
  PetscInt  n_layers;                 /* [layer.N] sections, numbered 0.. without gaps */
  void     *layers;                   /* n_layers structs of schema->layer_size bytes, index = N; owned */
  PetscInt *layer_line;               /* n_layers: line of each section's first header (0: command line); owned */
} MCConfigFile;

/* mc_config_schema_parse - Fill the struct at `base` from `schema`'s defaults, then the INI `text` (`name`
   in messages and for relative paths), then the `n_overrides` "section.key=value" overrides
   ("layer.N.key=value" for layer sections); PATH keys become absolute. Errors (PETSC_ERR_USER_INPUT, all
   "name:line: message" or "command line: message"): syntax, unknown section or key (naming the closest
   valid one), a key given twice, a bad value or one out of range, gaps in [layer.N] numbering.
   Collective on comm (every rank passes the same text). Release *file with mc_config_file_clear(). */
PetscErrorCode mc_config_schema_parse(MPI_Comm comm, const MCSchema *schema, const char *name, const char *text, int n_overrides, const char *const overrides[], void *base,
                                      MCConfigFile *file);

/* mc_config_file_clear - Free what *file owns. Not collective. */
PetscErrorCode mc_config_file_clear(MCConfigFile *file);

/* mc_config_schema_hash - A 64-bit FNV-1a hash of the typed values of the keys named by `parts`: a section
   name takes all its keys, "section.key" one key, "layer" every one of the n_layers layer structs. Keys enter
   with their section and name, in schema order; equal configurations hash alike whatever their spelling
   in the file (1e-4 or 0.0001, yes or true). Errors: PETSC_ERR_PLIB for a part that names nothing.
   Not collective. */
PetscErrorCode mc_config_schema_hash(const MCSchema *schema, const void *base, PetscInt n_layers, const void *layers, PetscInt n_parts, const char *const parts[], uint64_t *hash);

/* mc_config_schema_markdown - The reference of `schema` as Markdown to fp: `intro`, then per section its
   doc and a table of its keys (type, default, range or choices, description), then, for a schema with
   layer sections, "[layer.N]" with `layer_intro` and their table. Not collective; needs no MPI.
   Errors: PETSC_ERR_FILE_WRITE if writing fails. */
PetscErrorCode mc_config_schema_markdown(FILE *fp, const MCSchema *schema, const char *intro, const char *layer_intro);

/* ---- modclust-mpi's configuration ---- */

typedef struct {
#define MC_KEY(sec, key, TYPE, def, lo, hi, choices, doc) MC_FIELD_##TYPE(sec##_##key)
#define MC_FIELD_STRING(f) char f[PETSC_MAX_PATH_LEN];
#define MC_FIELD_PATH(f)   char f[PETSC_MAX_PATH_LEN];
#define MC_FIELD_INT(f)    PetscInt64 f;
#define MC_FIELD_REAL(f)   PetscReal f;
#define MC_FIELD_BOOL(f)   PetscBool f;
#define MC_FIELD_ENUM(f)   int f; /* index of the value in the key's choices (config.def order) */
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

/* mc_config_hash - mc_config_schema_hash of modclust-mpi's configuration ("model", "cluster.k", "layer",
   ...). Not collective. */
PetscErrorCode mc_config_hash(const MCConfig *cfg, PetscInt n_parts, const char *const parts[], uint64_t *hash);

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
