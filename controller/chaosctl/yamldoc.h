/* SPDX-License-Identifier: MIT */
/*
 * One YAML document (libyaml's event parser) as a small tree of mappings,
 * lists and scalars, each node with the line and column where it starts,
 * so that whoever reads it can say where a value is wrong. Built for files
 * people write by hand (experiment files): bounded in depth and node count,
 * aliases refused, a second document refused. A mapping's children are its
 * keys and values in turn: key, value, key, value...
 *
 * Thread safety: a document is immutable once parsed; nothing is shared.
 */
#ifndef CHAOS_CONTROLLER_CHAOSCTL_YAMLDOC_H
#define CHAOS_CONTROLLER_CHAOSCTL_YAMLDOC_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

#define YDOC_MAX_DEPTH 8    /* nested mappings and lists */
#define YDOC_MAX_NODES 4096 /* scalars, mappings and lists in all */

enum ydoc_kind {
	YDOC_SCALAR,
	YDOC_MAP,
	YDOC_SEQ,
};

struct ydoc_node {
	enum ydoc_kind kind;
	unsigned       line, col; /* 1-based, where the node starts */
	const char    *text;      /* a scalar's value, "" for an empty one; NULL for
	                           * mappings and lists */
	bool   null; /* a plain scalar that YAML reads as null: "", ~, null */
	size_t n;    /* children: items of a list, 2 x pairs of a mapping */
	size_t first, last, next; /* indexes into the document; 0: none */
};

struct ydoc;

/* Parses buf (len bytes, UTF-8 or UTF-16 with a BOM) into *out (new; free
 * with ydoc_free). CHAOS_EINVAL with why as "name:LINE:COL: what is wrong"
 * when it is not YAML, holds more than one document, an alias, a NUL in a
 * value, or is deeper or bigger than the limits above; CHAOS_ENOMEM. */
chaos_err ydoc_parse(const char *name, const char *buf, size_t len, struct ydoc **out,
                     chaos_why *why);

/* The document's top node; NULL when the stream holds no document. */
const struct ydoc_node *ydoc_root(const struct ydoc *d);

/* A node's first child, and the child after n; NULL when there is none. */
const struct ydoc_node *ydoc_first(const struct ydoc *d, const struct ydoc_node *n);
const struct ydoc_node *ydoc_next(const struct ydoc *d, const struct ydoc_node *n);

/* "a mapping", "a list", "a value": for messages. */
const char *ydoc_kind_name(enum ydoc_kind kind);

/* Frees a document; NULL is fine. Node pointers die with it. */
void ydoc_free(struct ydoc *d);

#endif
