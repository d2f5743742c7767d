/* Dynamic thing group queries: parse the small query language (docs/GROUP_QUERY.md), compile it
 * to a parameterised SQL condition, or evaluate it in memory. PURE: libc + jansson.
 *
 *   expr    := and_expr ("or" and_expr)*
 *   and_expr:= unary ("and" unary)*
 *   unary   := "not" unary | "(" expr ")" | cmp
 *   cmp     := field op value | field "in" "(" value ("," value)* ")" | field "exists"
 *   field   := name | hardware_type | firmware_version | attributes.<key>
 *   op      := = | != | < | <= | > | >= | ~
 */
#ifndef BW_REGISTRY_GROUP_QUERY_H
#define BW_REGISTRY_GROUP_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/buf.h"

#define GROUP_QUERY_TEXT_MAX 4096 /* bytes of query text */
#define GROUP_QUERY_CMP_MAX 64	  /* comparisons per query */
#define GROUP_QUERY_DEPTH_MAX 16  /* nested '(' and 'not' */
#define GROUP_QUERY_IN_MAX 100	  /* values in one 'in' list */

struct group_query;

/* A thing as the in-memory matcher sees it. NULL members are absent (SQL NULL). */
struct group_query_thing {
	const char *name;
	const char *hardware_type;
	const char *firmware_version;
	const json_t *attributes; /* JSON object or NULL; string values (see docs) */
};

/* Parse query text. Returns a new query (free with group_query_free), or NULL with a message in
 * err (size errlen; err may be NULL) that starts with the 1-based character column, e.g.
 * "column 17: expected a value after '='". Text must be UTF-8 of at most GROUP_QUERY_TEXT_MAX
 * bytes. */
struct group_query *group_query_parse(const char *text, char *err, size_t errlen);

/* Free a query; NULL is fine. */
void group_query_free(struct group_query *q);

/* Append a parenthesised SQL boolean condition over table alias t (columns t.name,
 * t.hardware_type, t.firmware_version, t.firmware_sort_key COLLATE "C", t.attributes jsonb) to
 * sql. Every value and attribute key is passed as a placeholder $first_param, $first_param+1, ...;
 * no query text is ever inlined. On success *params is a new array (caller frees each string and
 * the array; it has *nparams entries followed by a NULL) and *nparams its length. Returns false on
 * OOM, a full buf, or first_param < 1; then *params = NULL, *nparams = 0, and sql may hold a
 * partial append. */
bool group_query_to_sql(const struct group_query *q, int first_param, struct buf *sql,
			char ***params, int *nparams);

/* Evaluate q against t in memory, with the same result as the SQL condition on the same row. */
bool group_query_match(const struct group_query *q, const struct group_query_thing *t);

/* Normalised query text (lowercase keywords, single spaces, minimal parentheses, values quoted
 * only when needed); parses back to an equivalent query. Caller frees; NULL on OOM. */
char *group_query_format(const struct group_query *q);

#endif
