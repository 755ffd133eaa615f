// SPDX-License-Identifier: MIT
#include "controller/chaosctl/yamldoc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct ydoc {
	struct ydoc_node *n; /* n[0] is never used: index 0 means "none" */
	size_t            len, cap;
};

/* What is being built: the open mappings and lists, innermost last. */
struct ydoc_build {
	struct ydoc *d;
	const char  *name;
	size_t       open[YDOC_MAX_DEPTH];
	size_t       depth;
	unsigned     docs;
	chaos_why   *why;
};

const char *
ydoc_kind_name(enum ydoc_kind kind)
{
	return kind == YDOC_MAP ? "a mapping" : kind == YDOC_SEQ ? "a list" : "a value";
}

const struct ydoc_node *
ydoc_root(const struct ydoc *d)
{
	return d->len > 1 ? &d->n[1] : NULL;
}

const struct ydoc_node *
ydoc_first(const struct ydoc *d, const struct ydoc_node *n)
{
	return n->first ? &d->n[n->first] : NULL;
}

const struct ydoc_node *
ydoc_next(const struct ydoc *d, const struct ydoc_node *n)
{
	return n->next ? &d->n[n->next] : NULL;
}

void
ydoc_free(struct ydoc *d)
{
	if (d == NULL)
		return;
	for (size_t i = 1; i < d->len; i++)
		free((char *)d->n[i].text);
	free(d->n);
	free(d);
}

static chaos_err __attribute__((format(printf, 3, 4)))
ydoc_fail(struct ydoc_build *b, const yaml_mark_t *at, const char *fmt, ...)
{
	char    what[CHAOS_WHY_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return chaos_fail(b->why, CHAOS_EINVAL, "%s:%zu:%zu: %s", b->name, at->line + 1,
	                  at->column + 1, what);
}

/* Appends a node under the innermost open mapping or list; its index in
 * *idx. text (owned) moves into the node, also on failure. */
static chaos_err
ydoc_add(struct ydoc_build *b, enum ydoc_kind kind, const yaml_mark_t *at, char *text,
         size_t *idx)
{
	struct ydoc      *d = b->d;
	struct ydoc_node *grown, *parent;

	if (d->len > YDOC_MAX_NODES) {
		free(text);
		return ydoc_fail(b, at, "more than %d values", YDOC_MAX_NODES);
	}
	if (d->len >= d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 32;
		if ((grown = realloc(d->n, cap * sizeof(*grown))) == NULL) {
			free(text);
			return chaos_fail(b->why, CHAOS_ENOMEM, "%s: out of memory",
			                  b->name);
		}
		d->n   = grown;
		d->cap = cap;
	}
	*idx       = d->len++;
	d->n[*idx] = (struct ydoc_node) {.kind = kind,
	                                 .line = (unsigned)at->line + 1,
	                                 .col  = (unsigned)at->column + 1,
	                                 .text = text};
	if (b->depth == 0)
		return CHAOS_OK;
	parent = &d->n[b->open[b->depth - 1]];
	if (parent->last)
		d->n[parent->last].next = *idx;
	else
		parent->first = *idx;
	parent->last = *idx;
	parent->n++;
	return CHAOS_OK;
}

static bool
ydoc_is_null(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    !ev->data.scalar.plain_implicit)
		return false;
	return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	    strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static chaos_err
ydoc_scalar(struct ydoc_build *b, const yaml_event_t *ev)
{
	size_t    len = ev->data.scalar.length, idx;
	char     *text;
	chaos_err rv;

	/* "\0" in a quoted scalar would cut the value short unseen */
	if (memchr(ev->data.scalar.value, '\0', len) != NULL)
		return ydoc_fail(b, &ev->start_mark, "a NUL character in a value");
	if ((text = malloc(len + 1)) == NULL)
		return chaos_fail(b->why, CHAOS_ENOMEM, "%s: out of memory", b->name);
	memcpy(text, ev->data.scalar.value, len);
	text[len] = '\0';
	if ((rv = ydoc_add(b, YDOC_SCALAR, &ev->start_mark, text, &idx)) != CHAOS_OK)
		return rv;
	b->d->n[idx].null = ydoc_is_null(ev);
	return CHAOS_OK;
}

static chaos_err
ydoc_open(struct ydoc_build *b, enum ydoc_kind kind, const yaml_event_t *ev)
{
	size_t    idx;
	chaos_err rv;

	if (b->depth == YDOC_MAX_DEPTH)
		return ydoc_fail(b, &ev->start_mark, "nested deeper than %d levels",
		                 YDOC_MAX_DEPTH);
	if ((rv = ydoc_add(b, kind, &ev->start_mark, NULL, &idx)) != CHAOS_OK)
		return rv;
	b->open[b->depth++] = idx;
	return CHAOS_OK;
}

/* One event into the tree; *done once the stream ends. */
static chaos_err
ydoc_event(struct ydoc_build *b, const yaml_event_t *ev, bool *done)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (b->docs++ > 0)
			return ydoc_fail(b, &ev->start_mark,
			                 "a second document ('---'); a file holds one");
		return CHAOS_OK;
	case YAML_ALIAS_EVENT:
		return ydoc_fail(b, &ev->start_mark,
		                 "alias *%.60s: aliases are not supported; write the "
		                 "value out",
		                 (const char *)ev->data.alias.anchor);
	case YAML_SCALAR_EVENT:
		return ydoc_scalar(b, ev);
	case YAML_SEQUENCE_START_EVENT:
		return ydoc_open(b, YDOC_SEQ, ev);
	case YAML_MAPPING_START_EVENT:
		return ydoc_open(b, YDOC_MAP, ev);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		b->depth--; /* libyaml pairs every end with its start */
		return CHAOS_OK;
	case YAML_STREAM_END_EVENT:
		*done = true;
		return CHAOS_OK;
	default:
		return CHAOS_OK;
	}
}

/* libyaml's own words for a syntax error, at the place it names. */
static chaos_err
ydoc_syntax(struct ydoc_build *b, const yaml_parser_t *p, const char *buf, size_t len)
{
	yaml_mark_t at       = p->problem_mark;
	char        ctx[128] = "";

	if (p->error == YAML_MEMORY_ERROR)
		return chaos_fail(b->why, CHAOS_ENOMEM, "%s: out of memory", b->name);
	if (p->error == YAML_READER_ERROR) {
		/* the reader gives a byte offset, not a line */
		at = (yaml_mark_t) {0};
		for (size_t i = 0; i < p->problem_offset && i < len; i++, at.column++)
			if (buf[i] == '\n') {
				at.line++;
				at.column = (size_t)-1;
			}
	}
	if (p->context != NULL)
		snprintf(ctx, sizeof(ctx), " (%s at %zu:%zu)", p->context,
		         p->context_mark.line + 1, p->context_mark.column + 1);
	return chaos_fail(b->why, CHAOS_EINVAL, "%s:%zu:%zu: not YAML: %s%s", b->name,
	                  at.line + 1, at.column + 1,
	                  p->problem != NULL ? p->problem : "unreadable", ctx);
}

chaos_err
ydoc_parse(const char *name, const char *buf, size_t len, struct ydoc **out,
           chaos_why *why)
{
	struct ydoc_build b = {.name = name, .why = why};
	yaml_parser_t     p;
	yaml_event_t      ev;
	bool              done = false;
	chaos_err         rv   = CHAOS_OK;

	if ((b.d = calloc(1, sizeof(*b.d))) == NULL)
		return chaos_fail(why, CHAOS_ENOMEM, "%s: out of memory", name);
	b.d->len = 1;
	if (!yaml_parser_initialize(&p)) {
		ydoc_free(b.d);
		return chaos_fail(why, CHAOS_ENOMEM, "%s: out of memory", name);
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done && rv == CHAOS_OK) {
		if (!yaml_parser_parse(&p, &ev)) {
			rv = ydoc_syntax(&b, &p, buf, len);
			break;
		}
		rv = ydoc_event(&b, &ev, &done);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	if (rv != CHAOS_OK) {
		ydoc_free(b.d);
		return rv;
	}
	*out = b.d;
	return CHAOS_OK;
}
