/* src/config/config.c: modclust-mpi's configuration: the schema of config.def, its extra value checks, the
   whole-file checks, load / parse / destroy. The parsing itself is the schema mechanism (parse.c). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "mc/config.h"
#include "config_impl.h"

/* ---- The schema, expanded from config.def ---- */

#define MC_KEY(sec, key, TYPE, def, lo, hi, choices, doc) \
  {#sec, #key, MC_CONFIG_##TYPE, def, lo, hi, choices, doc, offsetof(MCConfig, sec##_##key), sizeof(((MCConfig *)0)->sec##_##key)},
const MCKeyInfo mc__config_keys[] = {
#include "config.def"
};
#undef MC_KEY
const PetscInt mc__config_n_keys = (PetscInt)(sizeof(mc__config_keys) / sizeof(mc__config_keys[0]));

#define MC_KEY(...)
#define MC_LAYER_KEY(key, TYPE, def, lo, hi, choices, doc) \
  {NULL, #key, MC_CONFIG_##TYPE, def, lo, hi, choices, doc, offsetof(MCLayerSpec, key), sizeof(((MCLayerSpec *)0)->key)},
const MCKeyInfo mc__config_layer_keys[] = {
#include "config.def"
};
#undef MC_LAYER_KEY
const PetscInt mc__config_n_layer_keys = (PetscInt)(sizeof(mc__config_layer_keys) / sizeof(mc__config_layer_keys[0]));

#define MC_SECTION(sec, doc) {#sec, doc},
const MCSectionInfo mc__config_sections[] = {
#include "config.def"
};
#undef MC_SECTION
#undef MC_KEY
const PetscInt mc__config_n_sections = (PetscInt)(sizeof(mc__config_sections) / sizeof(mc__config_sections[0]));

/* ---- Extra value checks ---- */

/* "1,2,3": between min_n and max_n positive integers separated by commas (spaces allowed). */
static PetscBool is_int_list(const char *s, int min_n, int max_n)
{
  int n = 0;

  if (!*s) return PETSC_TRUE; /* empty: the key's default behaviour */
  for (;;) {
    char *end;
    long  v;

    while (isspace((unsigned char)*s)) ++s;
    errno = 0;
    v     = strtol(s, &end, 10);
    if (end == s || errno == ERANGE || v <= 0 || v > 1000000000L) return PETSC_FALSE;
    ++n;
    s = end;
    while (isspace((unsigned char)*s)) ++s;
    if (!*s) break;
    if (*s != ',') return PETSC_FALSE;
    ++s;
  }
  return n >= min_n && n <= max_n;
}

/* Keys whose string value has a shape: lists of positive integers. */
static PetscErrorCode check_format(MPI_Comm comm, const char *where, const char *label, const MCKeyInfo *k, const char *value)
{
  PetscFunctionBeginUser;
  if (k->section && !strcmp(k->section, "model") && !strcmp(k->key, "input_shape")) {
    PetscCheck(is_int_list(value, 1, 3), comm, PETSC_ERR_USER_INPUT, "%s: %s = '%s' must be 1 to 3 positive integers separated by commas", where, label, value);
  }
  if (!k->section && (!strcmp(k->key, "stride") || !strcmp(k->key, "pool"))) {
    PetscCheck(is_int_list(value, 1, 2), comm, PETSC_ERR_USER_INPUT, "%s: %s = '%s' must be one or two positive integers (h,w)", where, label, value);
  }
  PetscFunctionReturn(0);
}

const MCSchema mc__config_schema = {"modclust-mpi", mc__config_sections, sizeof(mc__config_sections) / sizeof(mc__config_sections[0]), mc__config_keys,
                                    sizeof(mc__config_keys) / sizeof(mc__config_keys[0]), mc__config_layer_keys,
                                    sizeof(mc__config_layer_keys) / sizeof(mc__config_layer_keys[0]), sizeof(MCLayerSpec), check_format};

/* ---- Whole-configuration checks ---- */

/* "file:line" of a layer section's header, "command line" when only an override named it. */
static void layer_where(const MCConfigFile *f, PetscInt i, char *buf, size_t n)
{
  if (f->layer_line[i] > 0) snprintf(buf, n, "%s:%" PetscInt_FMT, f->path, f->layer_line[i]);
  else snprintf(buf, n, "command line");
}

static PetscErrorCode finish_config(MPI_Comm comm, MCConfig *cfg, const MCConfigFile *f)
{
  char where[PETSC_MAX_PATH_LEN + 32];

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < cfg->n_layer_specs; ++i) {
    MCLayerSpec *s = &cfg->layer_specs[i];

    s->line = f->layer_line[i];
    layer_where(f, i, where, sizeof(where));
    PetscCheck(s->type != MC_LAYER_UNSET, comm, PETSC_ERR_USER_INPUT, "%s: [layer.%" PetscInt_FMT "] has no type; set type = dense, conv2d, flatten, ...", where, i);
    PetscCheck(!((s->type == MC_LAYER_DENSE || s->type == MC_LAYER_CONV2D) && !s->weight[0]), comm, PETSC_ERR_USER_INPUT,
               "%s: [layer.%" PetscInt_FMT "] type = %s needs a weight (the tensor name of its kernel)", where, i, mc_model_layer_type_name(s->type));
    PetscCheck(!(s->type == MC_LAYER_BATCHNORM && (!s->mean[0] || !s->var[0])), comm, PETSC_ERR_USER_INPUT,
               "%s: [layer.%" PetscInt_FMT "] type = batchnorm needs mean and var (tensor names of its running statistics)", where, i);
  }
  PetscCheck(cfg->model_path[0], comm, PETSC_ERR_USER_INPUT, "%s: [model] path is required", f->path);
  PetscCheck(!(cfg->n_layer_specs > 0 && cfg->model_infer == MC_INFER_MLP), comm, PETSC_ERR_USER_INPUT,
             "%s: [model] infer = mlp cannot be combined with [layer.N] sections; use one or the other", f->path);
  PetscFunctionReturn(0);
}

/* ---- Public ---- */

static PetscErrorCode parse_into(MPI_Comm comm, const char *name, const char *text, int n_overrides, const char *const overrides[], MCConfig *cfg, MCConfigFile *f)
{
  PetscFunctionBeginUser;
  PetscCall(mc_config_schema_parse(comm, &mc__config_schema, name, text, n_overrides, overrides, cfg, f));
  PetscCall(PetscStrncpy(cfg->path, f->path, sizeof(cfg->path)));
  PetscCall(PetscStrncpy(cfg->dir, f->dir, sizeof(cfg->dir)));
  cfg->text          = f->text;
  f->text            = NULL;
  cfg->n_layer_specs = f->n_layers;
  PetscCall(PetscMalloc1(f->n_layers, &cfg->layer_specs));
  if (f->n_layers) PetscCall(PetscArraycpy(cfg->layer_specs, (const MCLayerSpec *)f->layers, f->n_layers));
  PetscCall(finish_config(comm, cfg, f));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_config_parse(MPI_Comm comm, const char *name, const char *text, int n_overrides, const char *const overrides[], MCConfig **out)
{
  MCConfig    *cfg;
  MCConfigFile f;

  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  *out = NULL;
  PetscCall(PetscCalloc1(1, &cfg));
  PetscCall(PetscMemzero(&f, sizeof(f)));
  ierr = parse_into(comm, name, text, n_overrides, overrides, cfg, &f);
  PetscCall(mc_config_file_clear(&f));
  if (ierr) PetscCall(mc_config_destroy(&cfg)); /* nothing of a refused config stays behind */
  PetscCall(ierr);
  *out = cfg;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_config_load(MPI_Comm comm, const char *path, int n_overrides, const char *const overrides[], MCConfig **out)
{
  char          *text = NULL;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(mc_config_read_text(comm, path, &text));
  ierr = mc_config_parse(comm, path, text, n_overrides, overrides, out);
  PetscCall(PetscFree(text));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

PetscErrorCode mc_config_hash(const MCConfig *cfg, PetscInt n_parts, const char *const parts[], uint64_t *hash)
{
  PetscFunctionBeginUser;
  PetscCall(mc_config_schema_hash(&mc__config_schema, cfg, cfg->n_layer_specs, cfg->layer_specs, n_parts, parts, hash));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_config_destroy(MCConfig **cfg)
{
  PetscFunctionBeginUser;
  if (!cfg || !*cfg) PetscFunctionReturn(0);
  PetscCall(PetscFree((*cfg)->layer_specs));
  PetscCall(PetscFree((*cfg)->text));
  PetscCall(PetscFree(*cfg));
  PetscFunctionReturn(0);
}
