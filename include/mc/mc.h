/* include/mc/mc.h: every public modclust header. */
#pragma once
#include "mc/sys.h"
#include "mc/cli.h"
#include "mc/config.h"
#include "mc/model.h"
#include "mc/io.h"
#include "mc/graph.h"
#include "mc/cluster.h"
