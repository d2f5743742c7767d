#include "registry/group_query.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/strutil.h"
#include "registry/semver.h"

enum node_kind { N_OR, N_AND, N_NOT, N_CMP };

enum field { F_NAME, F_HARDWARE_TYPE, F_FIRMWARE_VERSION, F_ATTR };

enum op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_GLOB, OP_IN, OP_EXISTS };

static const char *const op_text[] = { "=", "!=", "<", "<=", ">", ">=", "~", "in", "exists" };
/* SQL operator of OP_LT..OP_GE and of their negation. */
static const char *const sql_order_op[] = { "<", "<=", ">", ">=" };
static const char *const sql_order_neg[] = { ">=", ">", "<=", "<" };

struct node {
	enum node_kind kind;
	/* N_AND, N_OR: kids[0..nkids), at least two; N_NOT: kids[0] */
	struct node **kids;
	size_t nkids;
	size_t cap;
	/* N_CMP */
	enum field field;
	enum op op;
	char *key;     /* attribute key (F_ATTR) */
	char **values; /* one value, 1..GROUP_QUERY_IN_MAX for OP_IN, none for OP_EXISTS */
	size_t nvalues;
	struct semver version; /* firmware_version with an ordering op: the parsed value */
	char *sort_key;	       /* ... and its sort key */
};

struct group_query {
	struct node *root;
};

/* ---- nodes ---- */

static void node_free(struct node *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	for (i = 0; i < n->nvalues; i++)
		free(n->values[i]);
	free(n->values);
	free(n->key);
	free(n->sort_key);
	free(n);
}

static struct node *node_new(enum node_kind kind)
{
	struct node *n = calloc(1, sizeof(*n));

	if (n)
		n->kind = kind;
	return n;
}

static bool node_reserve(struct node *n, size_t extra)
{
	size_t cap;
	struct node **kids;

	if (n->nkids + extra <= n->cap)
		return true;
	cap = n->cap ? n->cap : 4;
	while (cap < n->nkids + extra)
		cap *= 2;
	kids = realloc(n->kids, cap * sizeof(*kids));
	if (!kids)
		return false;
	n->kids = kids;
	n->cap = cap;
	return true;
}

/* Add child to an N_AND/N_OR node, splicing a child of the same kind. Takes ownership of child in
 * every case (freed on failure). */
static bool node_add(struct node *n, struct node *child)
{
	if (child->kind == n->kind) {
		if (!node_reserve(n, child->nkids)) {
			node_free(child);
			return false;
		}
		memcpy(n->kids + n->nkids, child->kids, child->nkids * sizeof(*child->kids));
		n->nkids += child->nkids;
		child->nkids = 0;
		node_free(child);
		return true;
	}
	if (!node_reserve(n, 1)) {
		node_free(child);
		return false;
	}
	n->kids[n->nkids++] = child;
	return true;
}

/* ---- lexer ---- */

enum tok_kind { T_END, T_LPAREN, T_RPAREN, T_COMMA, T_OP, T_WORD, T_STRING };

struct token {
	enum tok_kind kind;
	size_t pos; /* byte offset of the first character */
	size_t len; /* bytes, including quotes of a string */
	enum op op; /* T_OP */
};

struct parser {
	const char *text;
	size_t len;
	size_t pos;	  /* where the next token starts scanning */
	struct token tok; /* current token */
	int ncmp;
	int depth;
	char *err;
	size_t errlen;
	bool has_failed;
};

/* 1-based character column of byte offset pos (text is valid UTF-8). */
static size_t column_of(const struct parser *p, size_t pos)
{
	size_t col = 1;

	for (size_t i = 0; i < pos && i < p->len; i++) {
		if (((unsigned char)p->text[i] & 0xC0) != 0x80)
			col++;
	}
	return col;
}

__attribute__((format(printf, 3, 4))) static void fail(struct parser *p, size_t pos,
						       const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->has_failed)
		return;
	p->has_failed = true;
	if (!p->err || p->errlen == 0)
		return;
	n = snprintf(p->err, p->errlen, "column %zu: ", column_of(p, pos));
	if (n < 0 || (size_t)n >= p->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

static void fail_oom(struct parser *p)
{
	if (p->has_failed)
		return;
	p->has_failed = true;
	if (p->err && p->errlen)
		snprintf(p->err, p->errlen, "out of memory");
}

static bool is_word_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == ':' || c == '-' || c == '*' || c == '?';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Describe the current token for an error message: 'text' (shortened) or "the end of the
 * query". */
static const char *describe(const struct parser *p, char *out, size_t outlen)
{
	const struct token *t = &p->tok;
	size_t n = t->len;
	bool is_cut = false;

	if (t->kind == T_END)
		return "the end of the query";
	if (n > 40) {
		n = 40;
		/* do not cut a UTF-8 sequence */
		while (n > 0 && ((unsigned char)p->text[t->pos + n] & 0xC0) == 0x80)
			n--;
		is_cut = true;
	}
	snprintf(out, outlen, "'%.*s%s'", (int)n, p->text + t->pos, is_cut ? "..." : "");
	return out;
}

/* Scan the double-quoted string whose opening quote is at byte start; sets p->tok. */
static bool lex_string(struct parser *p, size_t start)
{
	size_t i = start + 1;

	for (;;) {
		unsigned char c;
		if (i >= p->len) {
			fail(p, start, "unterminated string");
			return false;
		}
		c = (unsigned char)p->text[i];
		if (c == '"')
			break;
		if (c < 0x20 || c == 0x7F) {
			fail(p, i, "control character 0x%02x in a string", c);
			return false;
		}
		if (c == '\\') {
			char e;
			if (i + 1 >= p->len) {
				fail(p, start, "unterminated string");
				return false;
			}
			e = p->text[i + 1];
			if (e != '"' && e != '\\') {
				if ((unsigned char)e < 0x20 || (unsigned char)e >= 0x7F)
					fail(p, i,
					     "invalid escape in a string (only \\\" and \\\\)");
				else
					fail(p, i,
					     "invalid escape '\\%c' in a string (only \\\" and \\\\)",
					     e);
				return false;
			}
			i++;
		}
		i++;
	}
	p->tok.kind = T_STRING;
	p->tok.len = i + 1 - start;
	return true;
}

/* Read the next token into p->tok. */
static bool advance(struct parser *p)
{
	size_t i = p->pos;
	char c;

	while (i < p->len && is_space(p->text[i]))
		i++;
	memset(&p->tok, 0, sizeof(p->tok));
	p->tok.pos = i;
	p->tok.len = 1;
	c = i < p->len ? p->text[i] : '\0';
	switch (c) {
	case '\0':
		p->tok.kind = T_END;
		p->tok.len = 0;
		break;
	case '(':
		p->tok.kind = T_LPAREN;
		break;
	case ')':
		p->tok.kind = T_RPAREN;
		break;
	case ',':
		p->tok.kind = T_COMMA;
		break;
	case '=':
		p->tok.kind = T_OP;
		p->tok.op = OP_EQ;
		break;
	case '~':
		p->tok.kind = T_OP;
		p->tok.op = OP_GLOB;
		break;
	case '!':
		if (p->text[i + 1] != '=') {
			fail(p, i, "unexpected '!' (did you mean '!='?)");
			return false;
		}
		p->tok.kind = T_OP;
		p->tok.op = OP_NE;
		p->tok.len = 2;
		break;
	case '<':
	case '>':
		p->tok.kind = T_OP;
		if (p->text[i + 1] == '=') {
			p->tok.op = c == '<' ? OP_LE : OP_GE;
			p->tok.len = 2;
		} else {
			p->tok.op = c == '<' ? OP_LT : OP_GT;
		}
		break;
	case '"':
		if (!lex_string(p, i))
			return false;
		break;
	default:
		if (!is_word_char((unsigned char)c)) {
			if ((unsigned char)c < 0x20 || (unsigned char)c == 0x7F) {
				fail(p, i, "unexpected control character 0x%02x", (unsigned char)c);
			} else {
				size_t n = 1;
				while (i + n < p->len &&
				       ((unsigned char)p->text[i + n] & 0xC0) == 0x80)
					n++;
				fail(p, i, "unexpected character '%.*s'", (int)n, p->text + i);
			}
			return false;
		}
		p->tok.kind = T_WORD;
		while (i + p->tok.len < p->len &&
		       is_word_char((unsigned char)p->text[i + p->tok.len]))
			p->tok.len++;
	}
	p->pos = p->tok.pos + p->tok.len;
	return true;
}

static bool word_is(const char *s, size_t len, const char *kw)
{
	return strlen(kw) == len && strncasecmp(s, kw, len) == 0;
}

static bool is_keyword(const char *s, size_t len)
{
	static const char *const kws[] = { "and", "or", "not", "in", "exists" };

	for (size_t i = 0; i < sizeof(kws) / sizeof(kws[0]); i++) {
		if (word_is(s, len, kws[i]))
			return true;
	}
	return false;
}

static bool tok_is(const struct parser *p, const char *kw)
{
	return p->tok.kind == T_WORD && word_is(p->text + p->tok.pos, p->tok.len, kw);
}

/* ---- parser ---- */

static struct node *parse_or(struct parser *p);

/* Decoded text of the current value token (T_WORD or T_STRING). */
static char *token_value(struct parser *p)
{
	const char *s = p->text + p->tok.pos;
	char *out;
	size_t o = 0;

	if (p->tok.kind == T_WORD)
		return strutil_dup_n(s, p->tok.len);
	out = malloc(p->tok.len);
	if (!out)
		return NULL;
	for (size_t i = 1; i + 1 < p->tok.len; i++) {
		if (s[i] == '\\')
			i++;
		out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
}

/* Parse one value at the current token; after names the preceding token for the message. */
static char *parse_value(struct parser *p, const char *after)
{
	char tmp[64];
	char *v;

	if (p->tok.kind == T_WORD && is_keyword(p->text + p->tok.pos, p->tok.len)) {
		fail(p, p->tok.pos, "%s is a keyword; quote it to use it as a value after %s",
		     describe(p, tmp, sizeof(tmp)), after);
		return NULL;
	}
	if (p->tok.kind != T_WORD && p->tok.kind != T_STRING) {
		fail(p, p->tok.pos, "expected a value after %s, found %s", after,
		     describe(p, tmp, sizeof(tmp)));
		return NULL;
	}
	v = token_value(p);
	if (!v) {
		fail_oom(p);
		return NULL;
	}
	if (!advance(p)) {
		free(v);
		return NULL;
	}
	return v;
}

static bool add_value(struct parser *p, struct node *n, char *v)
{
	char **values = realloc(n->values, (n->nvalues + 1) * sizeof(*values));

	if (!values) {
		free(v);
		fail_oom(p);
		return false;
	}
	n->values = values;
	n->values[n->nvalues++] = v;
	return true;
}

static bool parse_field(struct parser *p, struct node *n)
{
	const char *s = p->text + p->tok.pos;
	size_t len = p->tok.len;
	char tmp[64];

	if (p->tok.kind != T_WORD || is_keyword(s, len)) {
		fail(p, p->tok.pos, "expected a comparison, found %s",
		     describe(p, tmp, sizeof(tmp)));
		return false;
	}
	if (len == 4 && strncmp(s, "name", 4) == 0) {
		n->field = F_NAME;
	} else if (len == 13 && strncmp(s, "hardware_type", 13) == 0) {
		n->field = F_HARDWARE_TYPE;
	} else if (len == 16 && strncmp(s, "firmware_version", 16) == 0) {
		n->field = F_FIRMWARE_VERSION;
	} else if (len >= 11 && strncmp(s, "attributes.", 11) == 0) {
		n->field = F_ATTR;
		n->key = strutil_dup_n(s + 11, len - 11);
		if (!n->key) {
			fail_oom(p);
			return false;
		}
		if (!strutil_is_valid_attr_key(n->key)) {
			fail(p, p->tok.pos + 11,
			     "invalid attribute key '%.*s' (1 to 128 of A-Z a-z 0-9 _ . : -)",
			     (int)(len - 11 > 40 ? 40 : len - 11), s + 11);
			return false;
		}
	} else {
		fail(p, p->tok.pos,
		     "unknown field %s (expected name, hardware_type, firmware_version or "
		     "attributes.<key>)",
		     describe(p, tmp, sizeof(tmp)));
		return false;
	}
	return true;
}

static bool parse_in_list(struct parser *p, struct node *n)
{
	char tmp[64];
	char *v;

	if (p->tok.kind != T_LPAREN) {
		fail(p, p->tok.pos, "expected '(' after 'in', found %s",
		     describe(p, tmp, sizeof(tmp)));
		return false;
	}
	if (!advance(p))
		return false;
	for (;;) {
		if (n->nvalues == GROUP_QUERY_IN_MAX) {
			fail(p, p->tok.pos, "more than %d values in an 'in' list",
			     GROUP_QUERY_IN_MAX);
			return false;
		}
		v = parse_value(p, n->nvalues ? "','" : "'('");
		if (!v || !add_value(p, n, v))
			return false;
		if (p->tok.kind == T_RPAREN)
			break;
		if (p->tok.kind != T_COMMA) {
			fail(p, p->tok.pos, "expected ',' or ')' in the 'in' list, found %s",
			     describe(p, tmp, sizeof(tmp)));
			return false;
		}
		if (!advance(p))
			return false;
	}
	return advance(p);
}

/* Check a firmware_version ordering value and store its parsed form and sort key. */
static bool prepare_version(struct parser *p, struct node *n, size_t value_pos)
{
	char key[SEMVER_SORT_KEY_SIZE];
	const char *v = n->values[0];

	if (!semver_parse(v, &n->version) || !semver_sort_key_of(&n->version, key, sizeof(key))) {
		fail(p, value_pos,
		     "'%.*s' is not a semantic version like 1.2.3 (needed by '%s' on "
		     "firmware_version)",
		     (int)strnlen(v, 40), v, op_text[n->op]);
		return false;
	}
	n->sort_key = strdup(key);
	if (!n->sort_key) {
		fail_oom(p);
		return false;
	}
	return true;
}

static struct node *parse_cmp(struct parser *p)
{
	struct node *n = node_new(N_CMP);
	size_t field_pos = p->tok.pos, field_len = p->tok.len, value_pos;
	char tmp[64], after[8];
	char *v;

	if (!n) {
		fail_oom(p);
		return NULL;
	}
	if (!parse_field(p, n))
		goto fail;
	if (++p->ncmp > GROUP_QUERY_CMP_MAX) {
		fail(p, field_pos, "more than %d comparisons", GROUP_QUERY_CMP_MAX);
		goto fail;
	}
	if (!advance(p))
		goto fail;
	if (tok_is(p, "exists")) {
		n->op = OP_EXISTS;
		if (!advance(p))
			goto fail;
		return n;
	}
	if (tok_is(p, "in")) {
		n->op = OP_IN;
		if (!advance(p) || !parse_in_list(p, n))
			goto fail;
		return n;
	}
	if (p->tok.kind != T_OP) {
		fail(p, p->tok.pos,
		     "expected an operator (=, !=, <, <=, >, >=, ~, in, exists) after '%.*s%s', "
		     "found %s",
		     (int)(field_len > 40 ? 40 : field_len), p->text + field_pos,
		     field_len > 40 ? "..." : "", describe(p, tmp, sizeof(tmp)));
		goto fail;
	}
	n->op = p->tok.op;
	snprintf(after, sizeof(after), "'%s'", op_text[n->op]);
	if (!advance(p))
		goto fail;
	value_pos = p->tok.pos;
	v = parse_value(p, after);
	if (!v || !add_value(p, n, v))
		goto fail;
	if (n->field == F_FIRMWARE_VERSION && n->op >= OP_LT && n->op <= OP_GE &&
	    !prepare_version(p, n, value_pos))
		goto fail;
	return n;
fail:
	node_free(n);
	return NULL;
}

static bool enter(struct parser *p)
{
	if (++p->depth > GROUP_QUERY_DEPTH_MAX) {
		fail(p, p->tok.pos, "nesting deeper than %d levels", GROUP_QUERY_DEPTH_MAX);
		return false;
	}
	return true;
}

static struct node *parse_unary(struct parser *p)
{
	struct node *n = NULL, *kid;
	size_t open_pos = p->tok.pos;
	char tmp[64];

	if (tok_is(p, "not")) {
		if (!enter(p) || !advance(p))
			return NULL;
		kid = parse_unary(p);
		if (!kid)
			return NULL;
		p->depth--;
		n = node_new(N_NOT);
		if (!n || !node_reserve(n, 1)) {
			free(n);
			node_free(kid);
			fail_oom(p);
			return NULL;
		}
		n->kids[n->nkids++] = kid;
		return n;
	}
	if (p->tok.kind == T_LPAREN) {
		if (!enter(p) || !advance(p))
			return NULL;
		n = parse_or(p);
		if (!n)
			return NULL;
		if (p->tok.kind != T_RPAREN) {
			fail(p, p->tok.pos, "expected ')' to close the '(' at column %zu, found %s",
			     column_of(p, open_pos), describe(p, tmp, sizeof(tmp)));
			node_free(n);
			return NULL;
		}
		p->depth--;
		if (!advance(p)) {
			node_free(n);
			return NULL;
		}
		return n;
	}
	return parse_cmp(p);
}

/* and_expr / expr: kind N_AND with parse_unary below, or N_OR with parse_and below. */
static struct node *parse_chain(struct parser *p, enum node_kind kind)
{
	const char *kw = kind == N_AND ? "and" : "or";
	struct node *left, *right, *group = NULL;

	left = kind == N_AND ? parse_unary(p) : parse_chain(p, N_AND);
	if (!left)
		return NULL;
	while (tok_is(p, kw)) {
		if (!advance(p))
			goto fail;
		right = kind == N_AND ? parse_unary(p) : parse_chain(p, N_AND);
		if (!right)
			goto fail;
		if (!group) {
			group = node_new(kind);
			if (!group) {
				node_free(right);
				fail_oom(p);
				goto fail;
			}
			if (!node_add(group, left)) {
				left = NULL;
				node_free(right);
				fail_oom(p);
				goto fail;
			}
			left = NULL;
		}
		if (!node_add(group, right)) {
			fail_oom(p);
			goto fail;
		}
	}
	return group ? group : left;
fail:
	node_free(left);
	node_free(group);
	return NULL;
}

static struct node *parse_or(struct parser *p)
{
	return parse_chain(p, N_OR);
}

/* Byte offset of the first malformed UTF-8 sequence in s[0..len). */
static size_t first_invalid_utf8(const char *s, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		/* the shortest valid prefix is exactly one character */
		for (n = 1; n <= 4 && i + n <= len; n++) {
			if (strutil_is_utf8(s + i, n))
				break;
		}
		if (n > 4 || i + n > len)
			return i;
		i += n;
	}
	return len;
}

struct group_query *group_query_parse(const char *text, char *err, size_t errlen)
{
	struct parser p;
	struct group_query *q = NULL;
	struct node *root = NULL;
	char tmp[64];

	memset(&p, 0, sizeof(p));
	p.err = err;
	p.errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
	if (!text) {
		if (err && errlen)
			snprintf(err, errlen, "query is missing");
		return NULL;
	}
	p.text = text;
	p.len = strnlen(text, GROUP_QUERY_TEXT_MAX + 1);
	if (p.len > GROUP_QUERY_TEXT_MAX) {
		if (err && errlen)
			snprintf(err, errlen, "query is longer than %d bytes",
				 GROUP_QUERY_TEXT_MAX);
		return NULL;
	}
	if (!strutil_is_utf8(text, p.len)) {
		p.len = first_invalid_utf8(text, p.len); /* columns count over the valid prefix */
		fail(&p, p.len, "invalid UTF-8");
		return NULL;
	}
	if (!advance(&p))
		return NULL;
	if (p.tok.kind == T_END) {
		fail(&p, p.tok.pos, "query is empty");
		return NULL;
	}
	root = parse_or(&p);
	if (!root)
		return NULL;
	if (p.tok.kind != T_END) {
		if (p.tok.kind == T_RPAREN)
			fail(&p, p.tok.pos, "unmatched ')'");
		else
			fail(&p, p.tok.pos,
			     "expected 'and', 'or' or the end of the query, found %s",
			     describe(&p, tmp, sizeof(tmp)));
		node_free(root);
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	if (!q) {
		node_free(root);
		fail_oom(&p);
		return NULL;
	}
	q->root = root;
	return q;
}

void group_query_free(struct group_query *q)
{
	if (!q)
		return;
	node_free(q->root);
	free(q);
}

/* ---- SQL ---- */

struct sql_ctx {
	struct buf *sql;
	char **params;
	int nparams;
	int cap;
	int first;
	bool is_oom;
};

/* Store a copy of s as the next parameter; returns its $ number, or 0 on OOM. */
static int add_param(struct sql_ctx *c, const char *s, size_t len)
{
	char *copy;

	if (c->is_oom)
		return 0;
	if (c->nparams + 2 > c->cap) {
		int cap = c->cap ? c->cap * 2 : 16;
		char **np = realloc(c->params, (size_t)cap * sizeof(*np));
		if (!np) {
			c->is_oom = true;
			return 0;
		}
		c->params = np;
		c->cap = cap;
	}
	copy = strutil_dup_n(s, len);
	if (!copy) {
		c->is_oom = true;
		return 0;
	}
	c->params[c->nparams++] = copy;
	c->params[c->nparams] = NULL;
	return c->first + c->nparams - 1;
}

/* Translate a glob (* and ?) to a LIKE pattern with the default escape character '\'. */
static int add_like_param(struct sql_ctx *c, const char *glob)
{
	struct buf b;
	int n;
	bool ok = true;

	buf_init(&b);
	for (const char *s = glob; ok && *s; s++) {
		switch (*s) {
		case '*':
			ok = buf_putc(&b, '%');
			break;
		case '?':
			ok = buf_putc(&b, '_');
			break;
		case '%':
		case '_':
		case '\\':
			ok = buf_putc(&b, '\\') && buf_putc(&b, *s);
			break;
		default:
			ok = buf_putc(&b, *s);
		}
	}
	if (!ok) {
		buf_cleanup(&b);
		c->is_oom = true;
		return 0;
	}
	n = add_param(c, b.data ? b.data : "", b.len);
	buf_cleanup(&b);
	return n;
}

static int add_value_param(struct sql_ctx *c, const char *v)
{
	return add_param(c, v, strlen(v));
}

/* The column expression of a comparison; key is the $ number of the attribute key. */
static void put_column(struct sql_ctx *c, const struct node *n, int key)
{
	switch (n->field) {
	case F_NAME:
		buf_puts(c->sql, "t.name");
		break;
	case F_HARDWARE_TYPE:
		buf_puts(c->sql, "t.hardware_type");
		break;
	case F_FIRMWARE_VERSION:
		buf_puts(c->sql, "t.firmware_version");
		break;
	case F_ATTR:
		buf_printf(c->sql, "(t.attributes->>$%d::text)", key);
		break;
	}
}

/* Emit a comparison. When is_negated, emit the condition that is true exactly when the
 * comparison is false or NULL, so the whole expression never needs SQL NOT over NULLs. */
static void put_cmp(struct sql_ctx *c, const struct node *n, bool is_negated)
{
	struct buf *b = c->sql;
	int key = 0, v = 0;

	if (n->field == F_ATTR && !(key = add_value_param(c, n->key)))
		return;
	if (n->op == OP_EXISTS) {
		if (n->field == F_ATTR) {
			if (is_negated)
				buf_printf(
					b,
					"(t.attributes IS NULL OR NOT (t.attributes ? $%d::text))",
					key);
			else
				buf_printf(b, "(t.attributes ? $%d::text)", key);
			return;
		}
		buf_putc(b, '(');
		put_column(c, n, key);
		buf_puts(b, is_negated ? " IS NULL)" : " IS NOT NULL)");
		return;
	}
	if (n->op == OP_IN) {
		buf_putc(b, '(');
		if (is_negated) {
			put_column(c, n, key);
			buf_puts(b, " IS NULL OR ");
		}
		put_column(c, n, key);
		buf_puts(b, is_negated ? " NOT IN (" : " IN (");
		for (size_t i = 0; i < n->nvalues; i++) {
			if (!(v = add_value_param(c, n->values[i])))
				return;
			buf_printf(b, "%s$%d", i ? ", " : "", v);
		}
		buf_puts(b, "))");
		return;
	}
	if (n->op == OP_GLOB)
		v = add_like_param(c, n->values[0]);
	else if (n->sort_key)
		v = add_value_param(c, n->sort_key);
	else
		v = add_value_param(c, n->values[0]);
	if (!v)
		return;
	buf_putc(b, '(');
	switch (n->op) {
	case OP_EQ:
	case OP_NE:
		put_column(c, n, key);
		buf_printf(b, (n->op == OP_EQ) != is_negated ? " = $%d)" : " IS DISTINCT FROM $%d)",
			   v);
		break;
	case OP_GLOB:
		if (is_negated) {
			put_column(c, n, key);
			buf_puts(b, " IS NULL OR ");
		}
		put_column(c, n, key);
		buf_printf(b, is_negated ? " NOT LIKE $%d)" : " LIKE $%d)", v);
		break;
	default: /* OP_LT..OP_GE */
		if (n->sort_key) {
			if (is_negated)
				buf_puts(b, "t.firmware_sort_key IS NULL OR ");
			buf_printf(b, "t.firmware_sort_key %s $%d)",
				   (is_negated ? sql_order_neg : sql_order_op)[n->op - OP_LT], v);
			break;
		}
		if (is_negated) {
			put_column(c, n, key);
			buf_puts(b, " IS NULL OR ");
		}
		put_column(c, n, key);
		/* bytewise, whatever the column's collation */
		buf_printf(b, " COLLATE \"C\" %s $%d)",
			   (is_negated ? sql_order_neg : sql_order_op)[n->op - OP_LT], v);
		break;
	}
}

static void put_node(struct sql_ctx *c, const struct node *n, bool is_negated)
{
	switch (n->kind) {
	case N_NOT:
		put_node(c, n->kids[0], !is_negated);
		break;
	case N_AND:
	case N_OR: {
		/* De Morgan under negation */
		bool is_and = (n->kind == N_AND) != is_negated;
		buf_putc(c->sql, '(');
		for (size_t i = 0; i < n->nkids && !c->is_oom; i++) {
			if (i)
				buf_puts(c->sql, is_and ? " AND " : " OR ");
			put_node(c, n->kids[i], is_negated);
		}
		buf_putc(c->sql, ')');
		break;
	}
	case N_CMP:
		put_cmp(c, n, is_negated);
		break;
	}
}

bool group_query_to_sql(const struct group_query *q, int first_param, struct buf *sql,
			char ***params, int *nparams)
{
	struct sql_ctx c;

	*params = NULL;
	*nparams = 0;
	if (!q || first_param < 1)
		return false;
	memset(&c, 0, sizeof(c));
	c.sql = sql;
	c.first = first_param;
	c.params = calloc(1, sizeof(*c.params));
	if (!c.params)
		return false;
	c.cap = 1;
	put_node(&c, q->root, false);
	if (c.is_oom || sql->is_oom || sql->is_over) {
		for (int i = 0; i < c.nparams; i++)
			free(c.params[i]);
		free(c.params);
		return false;
	}
	*params = c.params;
	*nparams = c.nparams;
	return true;
}

/* ---- in-memory evaluation ---- */

/* Bytes of the UTF-8 character at s (1 for a stray byte). */
static size_t char_len(const char *s)
{
	unsigned char c = (unsigned char)*s;
	size_t n = c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;

	for (size_t i = 1; i < n; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			return 1;
	}
	return n;
}

/* Glob match: '*' any run of characters, '?' one character, anything else literally. */
static bool glob_match(const char *pat, const char *s)
{
	const char *star_p = NULL, *star_s = NULL;

	while (*s) {
		if (*pat == '?') {
			pat++;
			s += char_len(s);
		} else if (*pat == '*') {
			star_p = ++pat;
			star_s = s;
		} else if (*pat && *pat == *s) {
			pat++;
			s++;
		} else if (star_p) {
			pat = star_p;
			star_s += char_len(star_s);
			s = star_s;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return !*pat;
}

/* The thing's value of n's field as SQL would see it, or NULL. tmp holds formatted integers. */
static const char *thing_value(const struct node *n, const struct group_query_thing *t, char *tmp,
			       size_t tmplen)
{
	const json_t *v;

	switch (n->field) {
	case F_NAME:
		return t->name;
	case F_HARDWARE_TYPE:
		return t->hardware_type;
	case F_FIRMWARE_VERSION:
		return t->firmware_version;
	case F_ATTR:
		break;
	}
	if (!t->attributes || !json_is_object(t->attributes))
		return NULL;
	v = json_object_get(t->attributes, n->key);
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(tmp, tmplen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return tmp;
	}
	if (json_is_boolean(v))
		return json_is_true(v) ? "true" : "false";
	return NULL; /* null, real, object, array: see docs/GROUP_QUERY.md */
}

static bool order_holds(enum op op, int c)
{
	switch (op) {
	case OP_LT:
		return c < 0;
	case OP_LE:
		return c <= 0;
	case OP_GT:
		return c > 0;
	case OP_GE:
		return c >= 0;
	default:
		return false;
	}
}

static bool match_cmp(const struct node *n, const struct group_query_thing *t)
{
	char tmp[32];
	const char *v = thing_value(n, t, tmp, sizeof(tmp));

	switch (n->op) {
	case OP_EXISTS:
		if (n->field == F_ATTR)
			return t->attributes && json_object_get(t->attributes, n->key) != NULL;
		return v != NULL;
	case OP_EQ:
		return v && strcmp(v, n->values[0]) == 0;
	case OP_NE:
		return !v || strcmp(v, n->values[0]) != 0;
	case OP_GLOB:
		return v && glob_match(n->values[0], v);
	case OP_IN:
		for (size_t i = 0; v && i < n->nvalues; i++) {
			if (strcmp(v, n->values[i]) == 0)
				return true;
		}
		return false;
	default: /* OP_LT..OP_GE */
		if (!v)
			return false;
		if (n->sort_key) {
			struct semver sv;
			if (!semver_parse(v, &sv))
				return false; /* no sort key: NULL in SQL */
			return order_holds(n->op, semver_compare(&sv, &n->version));
		}
		return order_holds(n->op, strcmp(v, n->values[0]));
	}
}

static bool match_node(const struct node *n, const struct group_query_thing *t)
{
	switch (n->kind) {
	case N_NOT:
		return !match_node(n->kids[0], t);
	case N_AND:
		for (size_t i = 0; i < n->nkids; i++) {
			if (!match_node(n->kids[i], t))
				return false;
		}
		return true;
	case N_OR:
		for (size_t i = 0; i < n->nkids; i++) {
			if (match_node(n->kids[i], t))
				return true;
		}
		return false;
	case N_CMP:
		return match_cmp(n, t);
	}
	return false;
}

bool group_query_match(const struct group_query *q, const struct group_query_thing *t)
{
	return q && match_node(q->root, t);
}

/* ---- format ---- */

static void put_value(struct buf *b, const char *v)
{
	size_t len = strlen(v);
	bool is_bare = len > 0 && !is_keyword(v, len);

	for (size_t i = 0; is_bare && i < len; i++)
		is_bare = is_word_char((unsigned char)v[i]);
	if (is_bare) {
		buf_puts(b, v);
		return;
	}
	buf_putc(b, '"');
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			buf_putc(b, '\\');
		buf_putc(b, *v);
	}
	buf_putc(b, '"');
}

static int precedence(enum node_kind kind)
{
	return kind == N_OR ? 1 : kind == N_AND ? 2 : 3;
}

static void format_node(struct buf *b, const struct node *n, int min_prec)
{
	bool is_wrapped = precedence(n->kind) < min_prec;

	if (is_wrapped)
		buf_putc(b, '(');
	switch (n->kind) {
	case N_OR:
	case N_AND:
		for (size_t i = 0; i < n->nkids; i++) {
			if (i)
				buf_puts(b, n->kind == N_OR ? " or " : " and ");
			format_node(b, n->kids[i], precedence(n->kind) + 1);
		}
		break;
	case N_NOT:
		buf_puts(b, "not ");
		format_node(b, n->kids[0], 3);
		break;
	case N_CMP:
		switch (n->field) {
		case F_NAME:
			buf_puts(b, "name");
			break;
		case F_HARDWARE_TYPE:
			buf_puts(b, "hardware_type");
			break;
		case F_FIRMWARE_VERSION:
			buf_puts(b, "firmware_version");
			break;
		case F_ATTR:
			buf_printf(b, "attributes.%s", n->key);
			break;
		}
		buf_printf(b, " %s", op_text[n->op]);
		if (n->op == OP_IN) {
			buf_puts(b, " (");
			for (size_t i = 0; i < n->nvalues; i++) {
				if (i)
					buf_puts(b, ", ");
				put_value(b, n->values[i]);
			}
			buf_putc(b, ')');
		} else if (n->op != OP_EXISTS) {
			buf_putc(b, ' ');
			put_value(b, n->values[0]);
		}
		break;
	}
	if (is_wrapped)
		buf_putc(b, ')');
}

char *group_query_format(const struct group_query *q)
{
	struct buf b;

	if (!q)
		return NULL;
	buf_init(&b);
	format_node(&b, q->root, 0);
	if (b.is_oom || !b.data) {
		buf_cleanup(&b);
		return NULL;
	}
	return buf_take(&b);
}
