/* The route table: every HTTP route with its handler, minimum role and body mode. */
#ifndef BW_API_ROUTES_H
#define BW_API_ROUTES_H

#include <stddef.h>

#include "http/router.h"

extern const struct route api_routes[];
extern const size_t api_routes_count;

#endif
