/* src/config/parse.c: the schema mechanism every configuration goes through (modclust-mpi's and
   modclust-train's): typed values, sections and keys, [layer.N] sections, command-line overrides, paths
   relative to the file, the effective INI text, the hash of typed values. Every rank parses the same text,
   so every check is collective and raised on the caller's comm. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mc/config.h"
#include "mc/sys.h"
#include "config_impl.h"

const char *mc__config_type_name(MCConfigType type)
{
  switch (type) {
  case MC_CONFIG_STRING:
    return "string";
  case MC_CONFIG_PATH:
    return "path";
  case MC_CONFIG_INT:
    return "integer";
  case MC_CONFIG_REAL:
    return "real";
  case MC_CONFIG_BOOL:
    return "bool";
  case MC_CONFIG_ENUM:
    return "enum";
  }
  return "?";
}

int mc__config_enum_index(const char *choices, const char *value)
{
  size_t len = strlen(value);
  int    i   = 0;

  for (const char *c = choices; c && *c; ++i) {
    size_t n = strcspn(c, "|");

    if (n == len && !strncmp(c, value, n)) return i;
    c += n;
    if (*c == '|') ++c;
  }
  return -1;
}

const char *mc__config_enum_name(const char *choices, int index, size_t *len)
{
  const char *c = choices;

  if (index < 0 || !c) return NULL;
  for (int i = 0; i < index && *c; ++i) {
    c += strcspn(c, "|");
    if (*c == '|') ++c;
  }
  if (!*c) return NULL;
  *len = strcspn(c, "|");
  return c;
}

void mc__config_enum_list(const char *choices, char *buf, size_t n)
{
  size_t nl = 0;

  for (const char *c = choices; *c && nl + 3 < n; ++c) {
    if (*c == '|') {
      buf[nl++] = ',';
      buf[nl++] = ' ';
    } else buf[nl++] = *c;
  }
  buf[nl] = '\0';
}

/* ---- Parser state ---- */

typedef struct {
  PetscInt   index;    /* N of [layer.N] */
  PetscInt   line;     /* line of its first header; 0 if only the command line named it */
  PetscInt  *set_line; /* per layer key: file line that set it; 0 = not set in the file */
  PetscBool *set_cli;  /* per layer key: set by a command-line override */
  char      *spec;     /* the layer's struct, schema->layer_size bytes */
} LayerEntry;

typedef struct {
  MPI_Comm        comm;
  const MCSchema *schema;
  const char     *name;     /* the config file as given, for messages */
  char           *base;     /* the struct being filled */
  PetscInt       *key_line; /* per key: file line that set it; 0 = not set in the file */
  PetscBool      *key_cli;  /* per key: set by a command-line override */
  PetscInt        layer;    /* entry of the current [layer.N] section of the file, or -1 */
  PetscInt        n_layers, max_layers;
  LayerEntry     *layers;   /* in order of first appearance */
} Parser;

/* "file:line" for a file line, "command line" for line 0, the file name alone for line < 0. */
static void where_of(const Parser *p, PetscInt line, char *buf, size_t n)
{
  if (line > 0) snprintf(buf, n, "%s:%" PetscInt_FMT, p->name, line);
  else if (line == 0) snprintf(buf, n, "command line");
  else snprintf(buf, n, "%s", p->name);
}

/* ---- Suggestions for unknown names ---- */

/* Levenshtein distance, ignoring case; b is a schema name (short), a may be anything the user typed. */
static PetscInt edit_distance(const char *a, const char *b)
{
  PetscInt row[65], nb = (PetscInt)strlen(b);

  if (nb >= 64) return PETSC_MAX_INT;
  for (PetscInt j = 0; j <= nb; ++j) row[j] = j;
  for (PetscInt i = 1; a[i - 1]; ++i) {
    PetscInt diag = row[0];

    row[0] = i;
    for (PetscInt j = 1; j <= nb; ++j) {
      PetscInt up = row[j], cost = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
      PetscInt best = PetscMin(row[j] + 1, row[j - 1] + 1);

      row[j] = PetscMin(best, diag + cost);
      diag   = up;
    }
  }
  return row[nb];
}

/* Common names from other tools (scikit-learn, Keras) that users try; they only steer suggestions. */
static const struct {
  const char *alias, *key;
} ALIASES[] = {
  {"n_clusters", "k"},     {"num_clusters", "k"},  {"clusters", "k"},        {"n_components", "k"},  {"random_state", "seed"},
  {"random_seed", "seed"}, {"file", "path"},       {"filename", "path"},     {"model", "path"},      {"path", "source"},
  {"n_iter", "max_iter"},  {"tolerance", "tol"},   {"directory", "dir"},     {"outdir", "dir"},      {"activation_fn", "activation"},
  {"kernel", "weight"},    {"strides", "stride"},  {"pool_size", "pool"},    {"epsilon", "eps"},     {"dropout", "rate"},
};

/* The candidate closest to `word` by edit distance (aliases count as their key); the first on ties. */
static const char *closest(const char *word, PetscInt n, const char *const cand[])
{
  const char *best   = NULL;
  PetscInt    best_d = PETSC_MAX_INT;

  for (PetscInt i = 0; i < n; ++i) {
    PetscInt d = edit_distance(word, cand[i]);

    for (size_t a = 0; a < sizeof(ALIASES) / sizeof(ALIASES[0]); ++a) {
      if (!strcmp(ALIASES[a].key, cand[i])) d = PetscMin(d, edit_distance(word, ALIASES[a].alias));
    }
    if (d < best_d) {
      best_d = d;
      best   = cand[i];
    }
  }
  return best;
}

static PetscErrorCode suggest_key(const MCSchema *sc, const char *section, const char *key, char *buf, size_t n)
{
  const char *cand[64] = {NULL};
  PetscInt    n_cand = 0;
  const char *best, *elsewhere = NULL;

  PetscFunctionBeginUser;
  if (section) {
    for (PetscInt i = 0; i < sc->n_keys && n_cand < 64; ++i) {
      if (!strcmp(sc->keys[i].section, section)) cand[n_cand++] = sc->keys[i].key;
      else if (!elsewhere && !strcmp(sc->keys[i].key, key)) elsewhere = sc->keys[i].section;
    }
  } else {
    for (PetscInt i = 0; i < sc->n_layer_keys && n_cand < 64; ++i) cand[n_cand++] = sc->layer_keys[i].key;
  }
  best = n_cand ? closest(key, n_cand, cand) : "";
  if (elsewhere) snprintf(buf, n, "; did you mean '%s'? ('%s' is a key of [%s])", best, key, elsewhere);
  else snprintf(buf, n, "; did you mean '%s'?", best);
  PetscFunctionReturn(0);
}

/* ---- Values ---- */

/* Parse `value` as key k and store it in the struct at `base`. `label` names the key as the user wrote it
   ("[cluster] k" or "cluster.k"). */
static PetscErrorCode set_value(MPI_Comm comm, const MCSchema *sc, const char *where, const char *label, const MCKeyInfo *k, const char *value, char *base)
{
  char  *field = base + k->offset, *end;
  size_t len   = strlen(value);

  PetscFunctionBeginUser;
  switch (k->type) {
  case MC_CONFIG_STRING:
  case MC_CONFIG_PATH:
    PetscCheck(len < k->size, comm, PETSC_ERR_USER_INPUT, "%s: %s is %zu characters long; at most %zu are allowed", where, label, len, k->size - 1);
    if (sc->check) PetscCall(sc->check(comm, where, label, k, value));
    memcpy(field, value, len + 1);
    break;
  case MC_CONFIG_INT: {
    long long  v;
    PetscInt64 v64;

    errno = 0;
    v     = strtoll(value, &end, 10);
    PetscCheck(len > 0 && *end == '\0' && !isspace((unsigned char)value[0]), comm, PETSC_ERR_USER_INPUT, "%s: %s = '%s' is not an integer", where, label, value);
    PetscCheck(errno != ERANGE, comm, PETSC_ERR_USER_INPUT, "%s: %s = '%s' is too large for an integer", where, label, value);
    PetscCheck(k->lo == k->hi || ((double)v >= k->lo && (double)v <= k->hi), comm, PETSC_ERR_USER_INPUT, "%s: %s = %lld is out of range [%lld, %lld]", where, label,
               v, (long long)k->lo, (long long)k->hi);
    v64 = (PetscInt64)v;
    memcpy(field, &v64, sizeof(v64));
  } break;
  case MC_CONFIG_REAL: {
    double    v;
    PetscReal r;

    errno = 0;
    v     = strtod(value, &end);
    PetscCheck(len > 0 && *end == '\0' && !isspace((unsigned char)value[0]), comm, PETSC_ERR_USER_INPUT, "%s: %s = '%s' is not a real number", where, label, value);
    PetscCheck(isfinite(v) && !(errno == ERANGE && fabs(v) > 1.0), comm, PETSC_ERR_USER_INPUT, "%s: %s = '%s' is not a finite real number", where, label, value);
    PetscCheck(k->lo == k->hi || (v >= k->lo && v <= k->hi), comm, PETSC_ERR_USER_INPUT, "%s: %s = %s is out of range [%g, %g]", where, label, value, k->lo, k->hi);
    r = (PetscReal)v;
    memcpy(field, &r, sizeof(r));
  } break;
  case MC_CONFIG_BOOL: {
    static const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
    PetscBool          b = PETSC_FALSE, found = PETSC_FALSE, eq;

    for (int i = 0; i < 4 && !found; ++i) {
      PetscCall(PetscStrcasecmp(value, yes[i], &eq));
      if (eq) b = found = PETSC_TRUE;
      PetscCall(PetscStrcasecmp(value, no[i], &eq));
      if (eq) found = PETSC_TRUE;
    }
    PetscCheck(found, comm, PETSC_ERR_USER_INPUT, "%s: %s = '%s' is not a bool; use true/false, yes/no, on/off or 1/0", where, label, value);
    memcpy(field, &b, sizeof(b));
  } break;
  case MC_CONFIG_ENUM: {
    int  idx = mc__config_enum_index(k->choices, value);
    char list[512];

    if (idx < 0) mc__config_enum_list(k->choices, list, sizeof(list));
    PetscCheck(idx >= 0, comm, PETSC_ERR_USER_INPUT, "%s: %s = '%s' is not one of: %s", where, label, value, list);
    PetscCheck(k->size == sizeof(int), comm, PETSC_ERR_PLIB, "the field of enum key %s is not an int", label);
    memcpy(field, &idx, sizeof(idx));
  } break;
  }
  PetscFunctionReturn(0);
}

/* Compiled-in defaults; an empty ENUM default (layer type) means "must be given" and is stored as -1. */
static PetscErrorCode apply_defaults(MPI_Comm comm, const MCSchema *sc, PetscInt n, const MCKeyInfo keys[], char *base)
{
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < n; ++i) {
    if (keys[i].type == MC_CONFIG_ENUM && !keys[i].def[0]) {
      const int unset = -1;

      memcpy(base + keys[i].offset, &unset, sizeof(unset));
    }
    else PetscCall(set_value(comm, sc, "the schema's default", keys[i].key, &keys[i], keys[i].def, base));
  }
  PetscFunctionReturn(0);
}

/* ---- Sections and keys ---- */

static PetscBool known_section(const MCSchema *sc, const char *section)
{
  for (PetscInt i = 0; i < sc->n_sections; ++i) {
    if (!strcmp(sc->sections[i].section, section)) return PETSC_TRUE;
  }
  return PETSC_FALSE;
}

/* Enter [section] (a file header, or the section of an override when line == 0). Sets *layer to the
   LayerEntry of a [layer.N] section (created on first sight) or to -1. */
static PetscErrorCode enter_section(Parser *p, const char *section, PetscInt line, PetscInt *layer)
{
  const MCSchema *sc = p->schema;
  char            where[PETSC_MAX_PATH_LEN + 32];

  PetscFunctionBeginUser;
  where_of(p, line, where, sizeof(where));
  *layer = -1;
  if (sc->n_layer_keys > 0 && (!strncmp(section, "layer.", 6) || !strcmp(section, "layer"))) {
    /* N: 1 to 6 decimal digits, no leading zero (so [layer.01] cannot alias [layer.1]). */
    const char *d  = strcmp(section, "layer") ? section + 6 : "";
    size_t      nd = strspn(d, "0123456789");
    PetscInt    idx;

    PetscCheck(nd > 0 && nd == strlen(d) && nd <= 6 && !(d[0] == '0' && nd > 1), p->comm, PETSC_ERR_USER_INPUT,
               "%s: invalid layer section [%s]; layer sections are [layer.0], [layer.1], [layer.2], ...", where, section);
    idx = (PetscInt)atol(d);
    for (PetscInt i = 0; i < p->n_layers; ++i) {
      if (p->layers[i].index == idx) {
        /* A repeated [layer.N] header merges into the first; keep the first header's line. */
        if (p->layers[i].line == 0 && line > 0) p->layers[i].line = line;
        *layer = i;
        PetscFunctionReturn(0);
      }
    }
    if (p->n_layers == p->max_layers) {
      LayerEntry *grown;

      p->max_layers = PetscMax(4, 2 * p->max_layers);
      PetscCall(PetscCalloc1(p->max_layers, &grown));
      if (p->n_layers) PetscCall(PetscArraycpy(grown, p->layers, p->n_layers));
      PetscCall(PetscFree(p->layers));
      p->layers = grown;
    }
    {
      LayerEntry *e = &p->layers[p->n_layers];

      PetscCall(PetscMemzero(e, sizeof(*e)));
      e->index = idx;
      e->line  = line;
      PetscCall(PetscCalloc3(sc->n_layer_keys, &e->set_line, sc->n_layer_keys, &e->set_cli, sc->layer_size, &e->spec));
      PetscCall(apply_defaults(p->comm, sc, sc->n_layer_keys, sc->layer_keys, e->spec));
    }
    *layer = p->n_layers++;
    PetscFunctionReturn(0);
  }
  if (!known_section(sc, section)) {
    const char *cand[64];
    PetscInt    n_cand = 0;

    for (PetscInt i = 0; i < sc->n_sections && n_cand < 63; ++i) cand[n_cand++] = sc->sections[i].section;
    if (sc->n_layer_keys > 0) cand[n_cand++] = "layer.N";
    PetscCheck(PETSC_FALSE, p->comm, PETSC_ERR_USER_INPUT, "%s: unknown section [%s]; did you mean [%s]?", where, section, closest(section, n_cand, cand));
  }
  PetscFunctionReturn(0);
}

/* Set `key` = `value` in `section` (layer >= 0: in that LayerEntry); line 0 = command-line override. */
static PetscErrorCode set_key(Parser *p, const char *section, PetscInt layer, const char *key, const char *value, PetscInt line)
{
  const MCSchema  *sc = p->schema;
  char             where[PETSC_MAX_PATH_LEN + 32], label[256], hint[256];
  const MCKeyInfo *keys = layer >= 0 ? sc->layer_keys : sc->keys;
  PetscInt         n    = layer >= 0 ? sc->n_layer_keys : sc->n_keys, i;
  PetscInt        *set_line;
  PetscBool       *set_cli;

  PetscFunctionBeginUser;
  where_of(p, line, where, sizeof(where));
  for (i = 0; i < n; ++i) {
    if ((layer >= 0 || !strcmp(keys[i].section, section)) && !strcmp(keys[i].key, key)) break;
  }
  if (i == n) {
    PetscCall(suggest_key(sc, layer >= 0 ? NULL : section, key, hint, sizeof(hint)));
    PetscCheck(PETSC_FALSE, p->comm, PETSC_ERR_USER_INPUT, "%s: unknown key '%s' in [%s]%s", where, key, section, hint);
  }
  if (line > 0) snprintf(label, sizeof(label), "[%s] %s", section, key);
  else snprintf(label, sizeof(label), "%s.%s", section, key);
  set_line = layer >= 0 ? &p->layers[layer].set_line[i] : &p->key_line[i];
  set_cli  = layer >= 0 ? &p->layers[layer].set_cli[i] : &p->key_cli[i];
  if (line > 0) {
    PetscCheck(*set_line == 0, p->comm, PETSC_ERR_USER_INPUT, "%s: duplicate key '%s' in [%s] (first set on line %" PetscInt_FMT ")", where, key, section, *set_line);
    *set_line = line;
  } else {
    PetscCheck(!*set_cli, p->comm, PETSC_ERR_USER_INPUT, "command line: %s is given twice", label);
    *set_cli = PETSC_TRUE;
  }
  PetscCall(set_value(p->comm, sc, where, label, &keys[i], value, layer >= 0 ? p->layers[layer].spec : p->base));
  PetscFunctionReturn(0);
}

static PetscErrorCode on_ini(void *ctx, const char *section, const char *key, const char *value, PetscInt line)
{
  Parser *p = (Parser *)ctx;

  PetscFunctionBeginUser;
  if (!key) PetscCall(enter_section(p, section, line, &p->layer));
  else PetscCall(set_key(p, section, p->layer, key, value, line));
  PetscFunctionReturn(0);
}

/* "section.key=value"; the section may itself contain a dot (layer.0.type=dense). */
static PetscErrorCode apply_override(Parser *p, const char *word)
{
  char    *copy, *eq, *lhs, *dot, *value;
  PetscInt layer;

  PetscFunctionBeginUser;
  PetscCall(PetscStrallocpy(word, &copy));
  eq = strchr(copy, '=');
  PetscCheck(eq, p->comm, PETSC_ERR_USER_INPUT, "command line: '%s' is not section.key=value", word);
  *eq = '\0';
  lhs = copy;
  while (isspace((unsigned char)*lhs)) ++lhs;
  for (char *e = eq; e > lhs && isspace((unsigned char)e[-1]);) *--e = '\0';
  value = eq + 1;
  while (isspace((unsigned char)*value)) ++value;
  for (char *e = value + strlen(value); e > value && isspace((unsigned char)e[-1]);) *--e = '\0';
  dot = strrchr(lhs, '.');
  PetscCheck(dot && dot > lhs && dot[1], p->comm, PETSC_ERR_USER_INPUT, "command line: '%s' is not section.key=value", word);
  *dot = '\0';
  /* The value is stored in the effective INI text, where these would start a comment. */
  for (const char *c = value; *c; ++c) {
    PetscCheck(!((*c == ';' || *c == '#') && (c == value || isspace((unsigned char)c[-1]))), p->comm, PETSC_ERR_USER_INPUT,
               "command line: the value of %s.%s may not contain ';' or '#' at its start or after a space", lhs, dot + 1);
  }
  PetscCall(enter_section(p, lhs, 0, &layer));
  PetscCall(set_key(p, lhs, layer, dot + 1, value, 0));
  PetscCall(PetscFree(copy));
  PetscFunctionReturn(0);
}

/* ---- Whole-configuration steps ---- */

/* [layer.N] sections in order of N, numbered without gaps, into out->layers and out->layer_line. */
static PetscErrorCode finish_layers(Parser *p, MCConfigFile *out)
{
  const MCSchema *sc = p->schema;
  PetscInt       *order;
  char            where[PETSC_MAX_PATH_LEN + 32];

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(p->n_layers, &order));
  /* Insertion sort by N: a handful of layers. */
  for (PetscInt i = 0; i < p->n_layers; ++i) {
    PetscInt j = i;

    for (; j > 0 && p->layers[order[j - 1]].index > p->layers[i].index; --j) order[j] = order[j - 1];
    order[j] = i;
  }
  for (PetscInt i = 0; i < p->n_layers; ++i) {
    const LayerEntry *e = &p->layers[order[i]];

    where_of(p, e->line, where, sizeof(where));
    PetscCheck(e->index == i, p->comm, PETSC_ERR_USER_INPUT,
               "%s: [layer.%" PetscInt_FMT "] but no [layer.%" PetscInt_FMT "]; layer sections must be numbered 0, 1, 2, ... without gaps", where, e->index, i);
  }
  out->n_layers = p->n_layers;
  PetscCall(PetscMalloc2(p->n_layers * (PetscInt)sc->layer_size, (char **)&out->layers, p->n_layers, &out->layer_line));
  for (PetscInt i = 0; i < p->n_layers; ++i) {
    const LayerEntry *e = &p->layers[order[i]];

    memcpy((char *)out->layers + i * sc->layer_size, e->spec, sc->layer_size);
    out->layer_line[i] = e->line;
  }
  PetscCall(PetscFree(order));
  PetscFunctionReturn(0);
}

/* Make a relative path absolute against `base` (an absolute directory); "./" prefixes are dropped. */
static PetscErrorCode resolve_path(MPI_Comm comm, const char *where, const char *label, const char *base, char *path, size_t size)
{
  char       *joined;
  const char *rel = path;
  size_t      n;

  PetscFunctionBeginUser;
  if (!path[0] || path[0] == '/') PetscFunctionReturn(0);
  while (!strncmp(rel, "./", 2)) rel += 2;
  if (!strcmp(rel, ".")) rel = "";
  n = strlen(base) + strlen(rel) + 2;
  PetscCall(PetscMalloc1(n, &joined));
  if (!rel[0]) snprintf(joined, n, "%s", base);
  else snprintf(joined, n, "%s%s%s", base, base[strlen(base) - 1] == '/' ? "" : "/", rel);
  n = strlen(joined) + 1;
  PetscCheck(n <= size, comm, PETSC_ERR_USER_INPUT, "%s: %s becomes '%s' relative to %s, longer than %zu characters", where, label, joined, base, size - 1);
  memcpy(path, joined, n);
  PetscCall(PetscFree(joined));
  PetscFunctionReturn(0);
}

/* PATH keys: relative to the file's directory when set in the file (or by default), to the working directory
   when set on the command line; absolute afterwards. */
static PetscErrorCode resolve_paths(Parser *p, const char *cwd, const char *dir)
{
  const MCSchema *sc = p->schema;
  char            where[PETSC_MAX_PATH_LEN + 32], label[128];

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < sc->n_keys; ++i) {
    const MCKeyInfo *k = &sc->keys[i];

    if (k->type != MC_CONFIG_PATH) continue;
    snprintf(label, sizeof(label), "[%s] %s", k->section, k->key);
    if (p->key_cli[i]) PetscCall(resolve_path(p->comm, "command line", label, cwd, p->base + k->offset, k->size));
    else {
      where_of(p, p->key_line[i], where, sizeof(where));
      PetscCall(resolve_path(p->comm, where, label, dir, p->base + k->offset, k->size));
    }
  }
  PetscFunctionReturn(0);
}

/* ---- The effective configuration as INI text ---- */

typedef struct {
  char  *buf;
  size_t len, cap;
} Text;

static PetscErrorCode text_printf(Text *t, const char *fmt, ...)
{
  va_list ap;
  int     n;

  PetscFunctionBeginUser;
  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  PetscCheck(n >= 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "cannot format the effective configuration");
  if (t->len + (size_t)n + 1 > t->cap) {
    char *grown;

    t->cap = PetscMax(2 * t->cap, t->len + (size_t)n + 1024);
    PetscCall(PetscMalloc1(t->cap, &grown));
    if (t->len) PetscCall(PetscArraycpy(grown, t->buf, t->len));
    PetscCall(PetscFree(t->buf));
    t->buf = grown;
  }
  va_start(ap, fmt);
  vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
  va_end(ap);
  t->len += (size_t)n;
  PetscFunctionReturn(0);
}

static PetscErrorCode text_value(Text *t, const MCKeyInfo *k, const char *base)
{
  const char *field = base + k->offset;

  PetscFunctionBeginUser;
  switch (k->type) {
  case MC_CONFIG_STRING:
  case MC_CONFIG_PATH:
    if (field[0]) PetscCall(text_printf(t, "%s = %s\n", k->key, field));
    else PetscCall(text_printf(t, "%s =\n", k->key));
    break;
  case MC_CONFIG_ENUM: {
    int    v;
    size_t len;
    const char *name;

    memcpy(&v, field, sizeof(v));
    name = mc__config_enum_name(k->choices, v, &len);
    if (name) PetscCall(text_printf(t, "%s = %.*s\n", k->key, (int)len, name));
    else PetscCall(text_printf(t, "%s =\n", k->key));
  } break;
  case MC_CONFIG_INT: {
    PetscInt64 v;

    memcpy(&v, field, sizeof(v));
    PetscCall(text_printf(t, "%s = %lld\n", k->key, (long long)v));
  } break;
  case MC_CONFIG_REAL: {
    PetscReal v;
    char      num[64];

    /* The shortest form that reads back to the same double. */
    memcpy(&v, field, sizeof(v));
    for (int prec = 1; prec <= 17; ++prec) {
      snprintf(num, sizeof(num), "%.*g", prec, (double)v);
      if (strtod(num, NULL) == (double)v) break;
    }
    PetscCall(text_printf(t, "%s = %s\n", k->key, num));
  } break;
  case MC_CONFIG_BOOL: {
    PetscBool v;

    memcpy(&v, field, sizeof(v));
    PetscCall(text_printf(t, "%s = %s\n", k->key, v ? "true" : "false"));
  } break;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode build_text(const MCSchema *sc, const char *name, const char *base, const MCConfigFile *f, char **out)
{
  Text t = {NULL, 0, 0};

  PetscFunctionBeginUser;
  PetscCall(text_printf(&t, "; %s effective configuration: defaults < %s < command line\n", sc->tool, name));
  for (PetscInt s = 0; s < sc->n_sections; ++s) {
    PetscCall(text_printf(&t, "\n[%s]\n", sc->sections[s].section));
    for (PetscInt i = 0; i < sc->n_keys; ++i) {
      if (!strcmp(sc->keys[i].section, sc->sections[s].section)) PetscCall(text_value(&t, &sc->keys[i], base));
    }
  }
  for (PetscInt l = 0; l < f->n_layers; ++l) {
    PetscCall(text_printf(&t, "\n[layer.%" PetscInt_FMT "]\n", l));
    for (PetscInt i = 0; i < sc->n_layer_keys; ++i) PetscCall(text_value(&t, &sc->layer_keys[i], (const char *)f->layers + l * sc->layer_size));
  }
  *out = t.buf;
  PetscFunctionReturn(0);
}

/* ---- Hash of typed values ---- */

/* The key's name and value; strings up to their NUL, other types as stored. */
static uint64_t hash_key(uint64_t h, const MCKeyInfo *k, const char *base)
{
  const char *field = base + k->offset;

  if (k->section) h = mc_sys_hash(h, k->section, strlen(k->section) + 1);
  h = mc_sys_hash(h, k->key, strlen(k->key) + 1);
  return mc_sys_hash(h, field, (k->type == MC_CONFIG_STRING || k->type == MC_CONFIG_PATH) ? strlen(field) + 1 : k->size);
}

PetscErrorCode mc_config_schema_hash(const MCSchema *sc, const void *base_, PetscInt n_layers, const void *layers, PetscInt n_parts, const char *const parts[], uint64_t *hash)
{
  const char *base = (const char *)base_;
  uint64_t    h    = MC_SYS_HASH_INIT;

  PetscFunctionBeginUser;
  for (PetscInt p = 0; p < n_parts; ++p) {
    const char *dot   = strchr(parts[p], '.');
    size_t      n_sec = dot ? (size_t)(dot - parts[p]) : strlen(parts[p]);
    PetscInt    found = 0;

    if (!strcmp(parts[p], "layer")) {
      for (PetscInt l = 0; l < n_layers; ++l) {
        h = mc_sys_hash(h, &l, sizeof(l));
        for (PetscInt i = 0; i < sc->n_layer_keys; ++i) h = hash_key(h, &sc->layer_keys[i], (const char *)layers + l * sc->layer_size);
      }
      continue;
    }
    for (PetscInt i = 0; i < sc->n_keys; ++i) {
      const MCKeyInfo *k = &sc->keys[i];

      if (strlen(k->section) != n_sec || strncmp(k->section, parts[p], n_sec) || (dot && strcmp(k->key, dot + 1))) continue;
      h = hash_key(h, k, base);
      found++;
    }
    PetscCheck(found, PETSC_COMM_SELF, PETSC_ERR_PLIB, "configuration hash: '%s' names no section or key of the %s schema", parts[p], sc->tool);
  }
  *hash = h;
  PetscFunctionReturn(0);
}

/* Rank 0's working directory, so that every rank resolves relative paths alike. */
static PetscErrorCode get_cwd(char cwd[PETSC_MAX_PATH_LEN])
{
  PetscFunctionBeginUser;
  PetscCheck(getcwd(cwd, PETSC_MAX_PATH_LEN), PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot determine the working directory: %s", strerror(errno));
  PetscFunctionReturn(0);
}

/* Everything after the parser's allocation; p is freed by the caller whatever happens. */
static PetscErrorCode schema_parse(Parser *p, const char *text, int n_overrides, const char *const overrides[], MCConfigFile *out)
{
  MPI_Comm        comm = p->comm;
  const MCSchema *sc   = p->schema;
  const char     *name = p->name;
  char            cwd[PETSC_MAX_PATH_LEN] = "";
  const char     *slash;
  PetscMPIInt     rank;
  PetscErrorCode  ierr = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscCalloc2(sc->n_keys, &p->key_line, sc->n_keys, &p->key_cli));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) ierr = get_cwd(cwd);
  PetscCall(mc_sys_rank0_status(comm, ierr));
  PetscCallMPI(MPI_Bcast(cwd, PETSC_MAX_PATH_LEN, MPI_CHAR, 0, comm));

  PetscCheck(strlen(name) < sizeof(out->path), comm, PETSC_ERR_USER_INPUT, "config file name '%s' is too long", name);
  PetscCall(PetscStrncpy(out->path, name, sizeof(out->path)));
  /* The file's directory, absolute. */
  slash = strrchr(name, '/');
  if (!slash) PetscCall(PetscStrncpy(out->dir, cwd, sizeof(out->dir)));
  else {
    snprintf(out->dir, sizeof(out->dir), "%.*s", slash == name ? 1 : (int)(slash - name), name);
    PetscCall(resolve_path(comm, name, "its directory", cwd, out->dir, sizeof(out->dir)));
  }

  PetscCall(apply_defaults(comm, sc, sc->n_keys, sc->keys, p->base));
  PetscCall(mc_config_ini_parse(comm, name, text, on_ini, p));
  for (int i = 0; i < n_overrides; ++i) PetscCall(apply_override(p, overrides[i]));
  PetscCall(finish_layers(p, out));
  PetscCall(resolve_paths(p, cwd, out->dir));
  PetscCall(build_text(sc, name, p->base, out, &out->text));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_config_schema_parse(MPI_Comm comm, const MCSchema *sc, const char *name, const char *text, int n_overrides, const char *const overrides[], void *base,
                                      MCConfigFile *out)
{
  Parser        *p;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(out, sizeof(*out)));
  PetscCall(PetscNew(&p));
  p->comm   = comm;
  p->schema = sc;
  p->name   = name;
  p->base   = (char *)base;
  p->layer  = -1;
  ierr      = schema_parse(p, text, n_overrides, overrides, out);
  /* The parser's state goes whatever happened; after an error, so does what out holds. */
  for (PetscInt l = 0; l < p->n_layers; ++l) PetscCall(PetscFree3(p->layers[l].set_line, p->layers[l].set_cli, p->layers[l].spec));
  PetscCall(PetscFree(p->layers));
  PetscCall(PetscFree2(p->key_line, p->key_cli));
  PetscCall(PetscFree(p));
  if (ierr) PetscCall(mc_config_file_clear(out));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

PetscErrorCode mc_config_file_clear(MCConfigFile *f)
{
  PetscFunctionBeginUser;
  if (!f) PetscFunctionReturn(0);
  PetscCall(PetscFree2(f->layers, f->layer_line));
  PetscCall(PetscFree(f->text));
  f->n_layers = 0;
  PetscFunctionReturn(0);
}
