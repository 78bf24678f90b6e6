/* src/train/train_config.c: the [train] configuration of modclust-train (schema src/train/train.def).
   A strict INI reader of one section: every problem is "file:line: message". */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "mc/train.h"

typedef enum { T_STRING, T_INT, T_REAL, T_BOOL, T_ENUM } KeyType;

typedef struct {
  const char *key;
  KeyType     type;
  const char *def;
  double      lo, hi;
  const char *choices;
  size_t      offset, size;
} KeyInfo;

static const KeyInfo keys[] = {
#define MC_TRAIN_KEY(k, TYPE, d, l, h, c, doc) {#k, T_##TYPE, d, l, h, c, offsetof(MCTrainConfig, k), sizeof(((MCTrainConfig *)0)->k)},
#include "train.def"
#undef MC_TRAIN_KEY
};
static const PetscInt n_keys = (PetscInt)(sizeof(keys) / sizeof(keys[0]));

static char *trim(char *s)
{
  char *e;
  while (*s && isspace((unsigned char)*s)) s++;
  e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
  return s;
}

static PetscBool in_choices(const char *choices, const char *v)
{
  size_t      n = strlen(v);
  const char *p = choices;
  while (p && *p) {
    const char *bar = strchr(p, '|');
    size_t      len = bar ? (size_t)(bar - p) : strlen(p);
    if (len == n && !strncmp(p, v, n)) return PETSC_TRUE;
    p = bar ? bar + 1 : NULL;
  }
  return PETSC_FALSE;
}

/* Store value v of key k into tc; `where` prefixes messages ("file:line" or "command line"). */
static PetscErrorCode set_value(MPI_Comm comm, const char *where, const KeyInfo *k, const char *v, MCTrainConfig *tc)
{
  char *base = (char *)tc + k->offset, *end = NULL;

  PetscFunctionBeginUser;
  switch (k->type) {
  case T_STRING:
    PetscCheck(strlen(v) < k->size, comm, PETSC_ERR_USER_INPUT, "%s: value of train.%s is too long.", where, k->key);
    PetscCall(PetscStrncpy(base, v, k->size));
    break;
  case T_ENUM:
    PetscCheck(in_choices(k->choices, v), comm, PETSC_ERR_USER_INPUT, "%s: train.%s = '%s' is not one of %s.", where, k->key, v, k->choices);
    PetscCall(PetscStrncpy(base, v, k->size));
    break;
  case T_INT: {
    long long x;
    errno = 0;
    x     = strtoll(v, &end, 10);
    PetscCheck(*v && !*end && !errno, comm, PETSC_ERR_USER_INPUT, "%s: train.%s = '%s' is not an integer.", where, k->key, v);
    PetscCheck(x >= k->lo && x <= k->hi, comm, PETSC_ERR_USER_INPUT, "%s: train.%s = %lld is outside [%g, %g].", where, k->key, x, k->lo, k->hi);
    *(PetscInt64 *)base = (PetscInt64)x;
  } break;
  case T_REAL: {
    double x;
    errno = 0;
    x     = strtod(v, &end);
    PetscCheck(*v && !*end && !errno && x == x, comm, PETSC_ERR_USER_INPUT, "%s: train.%s = '%s' is not a number.", where, k->key, v);
    PetscCheck(x >= k->lo && x <= k->hi, comm, PETSC_ERR_USER_INPUT, "%s: train.%s = %g is outside [%g, %g].", where, k->key, x, k->lo, k->hi);
    *(PetscReal *)base = (PetscReal)x;
  } break;
  case T_BOOL:
    if (!strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "1")) *(PetscBool *)base = PETSC_TRUE;
    else if (!strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "0")) *(PetscBool *)base = PETSC_FALSE;
    else SETERRQ(comm, PETSC_ERR_USER_INPUT, "%s: train.%s = '%s' is not a boolean (true or false).", where, k->key, v);
    break;
  }
  PetscFunctionReturn(0);
}

static const KeyInfo *find_key(const char *name)
{
  for (PetscInt i = 0; i < n_keys; ++i)
    if (!strcmp(keys[i].key, name)) return &keys[i];
  return NULL;
}

PetscErrorCode mc_train_config_parse(MPI_Comm comm, const char *name, const char *text, int n_overrides, const char *const overrides[], MCTrainConfig *tc)
{
  char     *buf, *line, where[PETSC_MAX_PATH_LEN + 32];
  PetscBool seen[64] = {PETSC_FALSE}, in_train = PETSC_FALSE;
  PetscInt  lineno = 0;
  size_t    len    = strlen(text);

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(tc, sizeof(*tc)));
  for (PetscInt i = 0; i < n_keys; ++i) PetscCall(set_value(comm, "train.def", &keys[i], keys[i].def, tc));
  PetscCall(PetscStrncpy(tc->path, name, sizeof(tc->path)));
  PetscCall(PetscMalloc1(len + 2, &buf));
  memcpy(buf, text, len + 1);
  /* strtok_r would merge empty lines and lose line numbers, so walk the lines by hand. */
  for (line = buf; line && *line;) {
    char *nl = strchr(line, '\n'), *s, *eq, *c;
    if (nl) *nl = 0;
    lineno++;
    PetscCall(PetscSNPrintf(where, sizeof(where), "%s:%" PetscInt_FMT, name, lineno));
    for (c = line; *c; ++c)
      if (*c == ';' || *c == '#') {
        *c = 0;
        break;
      }
    s = trim(line);
    if (*s == '[') {
      char *close = strchr(s, ']');
      PetscCheck(close && !*trim(close + 1), comm, PETSC_ERR_USER_INPUT, "%s: malformed section header '%s'.", where, s);
      *close = 0;
      PetscCheck(!strcmp(trim(s + 1), "train"), comm, PETSC_ERR_USER_INPUT, "%s: unknown section [%s]; modclust-train reads only [train].", where, trim(s + 1));
      in_train = PETSC_TRUE;
    } else if (*s) {
      const KeyInfo *k;
      PetscCheck(in_train, comm, PETSC_ERR_USER_INPUT, "%s: key outside the [train] section.", where);
      eq = strchr(s, '=');
      PetscCheck(eq, comm, PETSC_ERR_USER_INPUT, "%s: expected 'key = value', got '%s'.", where, s);
      *eq = 0;
      k   = find_key(trim(s));
      PetscCheck(k, comm, PETSC_ERR_USER_INPUT, "%s: unknown key train.%s (see src/train/train.def or docs/training.md).", where, trim(s));
      PetscCheck(!seen[k - keys], comm, PETSC_ERR_USER_INPUT, "%s: duplicate key train.%s.", where, k->key);
      seen[k - keys] = PETSC_TRUE;
      PetscCall(set_value(comm, where, k, trim(eq + 1), tc));
      if (k->offset == offsetof(MCTrainConfig, data) && tc->data[0] && tc->data[0] != '/' && strchr(name, '/')) {
        char   dir[PETSC_MAX_PATH_LEN], joined[PETSC_MAX_PATH_LEN];
        size_t dl;
        PetscCall(PetscStrncpy(dir, name, sizeof(dir)));
        *strrchr(dir, '/') = 0;
        dl                 = strlen(dir);
        PetscCheck(dl + 1 + strlen(tc->data) < sizeof(joined), comm, PETSC_ERR_USER_INPUT, "%s: train.data path too long.", where);
        PetscCall(PetscSNPrintf(joined, sizeof(joined), "%s/%s", dir, tc->data));
        PetscCall(PetscStrncpy(tc->data, joined, sizeof(tc->data)));
      }
    }
    line = nl ? nl + 1 : NULL;
  }
  PetscCall(PetscFree(buf));
  for (int o = 0; o < n_overrides; ++o) {
    char           ov[PETSC_MAX_PATH_LEN + 64], *eq, *kname;
    const KeyInfo *k;
    PetscCall(PetscStrncpy(ov, overrides[o], sizeof(ov)));
    eq = strchr(ov, '=');
    PetscCheck(eq && !strncmp(ov, "train.", 6), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "command line: override '%s' is not train.key=value.", overrides[o]);
    *eq   = 0;
    kname = trim(ov + 6);
    k     = find_key(kname);
    PetscCheck(k, comm, PETSC_ERR_USER_INPUT, "command line: unknown key train.%s.", kname);
    PetscCall(set_value(comm, "command line", k, trim(eq + 1), tc));
  }
  PetscCheck(tc->prune_initial <= tc->prune_final, comm, PETSC_ERR_USER_INPUT, "%s: train.prune_initial = %g exceeds train.prune_final = %g.", name, (double)tc->prune_initial, (double)tc->prune_final);
  PetscFunctionReturn(0);
}

PetscErrorCode mc_train_config_load(MPI_Comm comm, const char *path, int n_overrides, const char *const overrides[], MCTrainConfig *tc)
{
  PetscMPIInt    rank;
  long           len  = 0;
  char          *text = NULL;
  PetscErrorCode ierr = 0;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    FILE *fp = fopen(path, "rb");
    if (!fp) ierr = PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_FILE_OPEN, PETSC_ERROR_INITIAL, "Cannot read the training config '%s'.", path);
    else {
      fseek(fp, 0, SEEK_END);
      len = ftell(fp);
      fseek(fp, 0, SEEK_SET);
      PetscCall(PetscMalloc1(len + 1, &text));
      if (fread(text, 1, (size_t)len, fp) != (size_t)len) ierr = PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_FILE_READ, PETSC_ERROR_INITIAL, "Short read of the training config '%s'.", path);
      text[len] = 0;
      fclose(fp);
    }
  }
  PetscCall(mc_sys_rank0_status(comm, ierr));
  PetscCallMPI(MPI_Bcast(&len, 1, MPI_LONG, 0, comm));
  if (rank != 0) PetscCall(PetscMalloc1(len + 1, &text));
  PetscCallMPI(MPI_Bcast(text, (PetscMPIInt)(len + 1), MPI_CHAR, 0, comm));
  PetscCall(mc_train_config_parse(comm, path, text, n_overrides, overrides, tc));
  PetscCall(PetscFree(text));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_train_config_print(FILE *fp, const MCTrainConfig *tc)
{
  PetscFunctionBeginUser;
  fprintf(fp, "[train]\n");
  for (PetscInt i = 0; i < n_keys; ++i) {
    const char *base = (const char *)tc + keys[i].offset;
    switch (keys[i].type) {
    case T_STRING:
    case T_ENUM:
      fprintf(fp, "%s = %s\n", keys[i].key, base);
      break;
    case T_INT:
      fprintf(fp, "%s = %lld\n", keys[i].key, (long long)*(const PetscInt64 *)base);
      break;
    case T_REAL:
      fprintf(fp, "%s = %.15g\n", keys[i].key, (double)*(const PetscReal *)base);
      break;
    case T_BOOL:
      fprintf(fp, "%s = %s\n", keys[i].key, *(const PetscBool *)base ? "true" : "false");
      break;
    }
  }
  PetscFunctionReturn(0);
}
