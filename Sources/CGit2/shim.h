#ifndef FLOTILLA_CGIT2_SHIM_H
#define FLOTILLA_CGIT2_SHIM_H
#include <git2.h>
#endif
