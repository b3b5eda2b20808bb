// Thin module over the reference implementation's C API (apt: libjsonnet-dev).
#include <stddef.h>
#include <libjsonnet.h>
