/*
 * doc.h - a response built once and written as text or as JSON: the
 * caller says what the document holds (objects, fields, arrays) and the
 * writer chosen at doc_init() says it in its own syntax.
 *
 *   text   one line per object: "KIND NAME [WORD] key=value ...", objects
 *          inside arrays on lines of their own, indented two blanks per
 *          level below the first; a list of strings as key=a,b (or key=-)
 *   JSON   {"name":NAME,"word-key":WORD,"key":value,...,"array":[{...}]}
 */
#ifndef AOEX_DOC_H
#define AOEX_DOC_H

#include <stdbool.h>
#include <stdint.h>

#include "common/ctl_proto.h"

#define DOC_DEPTH 8

struct doc_ops;

struct doc {
	struct ctl_buf *b;
	const struct doc_ops *ops;
	unsigned depth;			/* objects and arrays open */
	bool first[DOC_DEPTH];		/* nothing written yet at that depth */
	bool line;			/* text: a line is open */
};

void doc_init(struct doc *d, struct ctl_buf *b, bool json);

/* An object: kind and name (NULL: none; JSON writes the name only). */
void doc_begin(struct doc *d, const char *kind, const char *name);
void doc_end(struct doc *d);
/* A field the text gives by position, without its key (the JSON has it). */
void doc_word(struct doc *d, const char *key, const char *v);
void doc_str(struct doc *d, const char *key, const char *v);
void doc_u64(struct doc *d, const char *key, uint64_t v);
void doc_bool(struct doc *d, const char *key, bool v);
/* A list of strings as one field. */
void doc_strings(struct doc *d, const char *key, const char *const *v, unsigned n);
/* An array of objects (doc_begin ... doc_end each). */
void doc_array(struct doc *d, const char *key);
void doc_array_end(struct doc *d);

#endif
