// Thin module over the system zlib (apt: zlib1g-dev), for gzip-compressed chart archives.
#include <zlib.h>
