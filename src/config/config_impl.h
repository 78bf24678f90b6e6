/* src/config/config_impl.h: the schema table shared by config.c (parsing) and reference.c (Markdown). */
#pragma once
#include <stddef.h>
#include "mc/config.h"

typedef enum {
  MC_CONFIG_STRING,
  MC_CONFIG_INT,
  MC_CONFIG_REAL,
  MC_CONFIG_BOOL,
  MC_CONFIG_ENUM
} MCConfigType;

/* One key of config.def. */
typedef struct {
  const char  *section; /* NULL for [layer.N] keys */
  const char  *key;
  MCConfigType type;
  const char  *def;     /* default, as INI text */
  double       lo, hi;  /* inclusive bounds of INT and REAL keys; lo == hi means unbounded */
  const char  *choices; /* ENUM: '|'-separated; NULL otherwise */
  const char  *doc;
  size_t       offset;  /* of the field in MCConfig (or MCLayerSpec for layer keys) */
  size_t       size;    /* of the field, in bytes */
} MCKeyInfo;

typedef struct {
  const char *section;
  const char *doc;
} MCSectionInfo;

/* The tables, in config.def order (read-only). */
extern const MCKeyInfo     mc__config_keys[];
extern const PetscInt      mc__config_n_keys;
extern const MCKeyInfo     mc__config_layer_keys[];
extern const PetscInt      mc__config_n_layer_keys;
extern const MCSectionInfo mc__config_sections[];
extern const PetscInt      mc__config_n_sections;

/* mc__config_type_name - "string", "integer", "real", "bool" or "enum". Not collective. */
const char *mc__config_type_name(MCConfigType type);
