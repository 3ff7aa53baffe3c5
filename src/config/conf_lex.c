/*
 * conf_lex.c - the text libconfuse gets: the file with its comments blanked.
 *
 * libconfuse 3.3's lexer counts two lines too many for every # or //
 * comment and one for every block comment (lexer.l: qput() and qend() both
 * count), and its parser refuses comments inside lists (libconfuse issue
 * #150).  So it never sees a comment: they are blanked out here, newlines
 * kept, split off where its lexer would split them.  On the way this
 * catches what libconfuse reports badly or not at all: a string or comment
 * running to the end of the file, a '{' never closed (libconfuse takes the
 * end of the file for the missing braces), a '*' outside quotes (its lexer
 * drops it without a word: eth* would read as eth), and NUL bytes.
 */
#include "config.h"
#include "config/conf_int.h"

#include <string.h>

static int lex_fail(int *line_out, int line, const char **why, const char *msg)
{
	*line_out = line;
	*why = msg;
	return -1;
}

#define MAX_DEPTH	8		/* sections hold lists: 2 is plenty */

struct scan {
	char *s;
	size_t i, len;
	int line;
};

/* the next character, counting lines */
static char scan_take(struct scan *sc)
{
	char ch = sc->s[sc->i++];

	if (ch == '\n')
		sc->line++;
	return ch;
}

static void scan_blank(struct scan *sc)
{
	if (sc->s[sc->i] != '\n')
		sc->s[sc->i] = ' ';
	scan_take(sc);
}

/* blank the comment starting at sc->i, keeping its newlines; false if unterminated */
static bool blank_comment(struct scan *sc)
{
	bool block = sc->s[sc->i] == '/' && sc->s[sc->i + 1] == '*';

	if (block) {	/* its own star must not close it, as in slash-star-slash */
		scan_blank(sc);
		scan_blank(sc);
	}
	while (sc->i < sc->len) {
		if (!block && sc->s[sc->i] == '\n')
			return true;
		if (block && sc->s[sc->i] == '*' && sc->i + 1 < sc->len && sc->s[sc->i + 1] == '/') {
			scan_blank(sc);
			scan_blank(sc);
			return true;
		}
		scan_blank(sc);
	}
	return !block;
}

/* what libconfuse's lexer takes into an unquoted word */
static bool word_char(char ch)
{
	return ch && !strchr(" #\"'\t\n\r={}()+,*", ch);
}

/* skip the string whose quote is at sc->i; false if unterminated */
static bool skip_string(struct scan *sc)
{
	char quote = scan_take(sc);

	while (sc->i < sc->len) {
		char ch = scan_take(sc);
		if (ch == '\\' && sc->i < sc->len)
			scan_take(sc);
		else if (ch == quote)
			return true;
	}
	return false;
}

int conf_lex(char *text, size_t len, int *line_out, const char **why)
{
	struct scan sc = { text, 0, len, 1 };
	int open[MAX_DEPTH], depth = 0;

	while (sc.i < sc.len) {
		char ch = sc.s[sc.i], next = sc.i + 1 < sc.len ? sc.s[sc.i + 1] : '\0';
		int line = sc.line;

		if (ch == '\0')
			return lex_fail(line_out, line, why, "NUL byte in the file");
		/* a slash inside an unquoted word, as in /srv//x, is part of it */
		bool word = sc.i > 0 && word_char(sc.s[sc.i - 1]);
		if (ch == '#' || (ch == '/' && !word && (next == '/' || next == '*'))) {
			if (!blank_comment(&sc))
				return lex_fail(line_out, line, why, "comment without its */");
			continue;
		}
		if (ch == '"' || ch == '\'') {
			if (!skip_string(&sc))
				return lex_fail(line_out, line, why, "string without its closing quote");
			continue;
		}
		if (ch == '*')
			return lex_fail(line_out, line, why, "'*' outside quotes (write patterns as \"eth*\")");
		if (ch == '{' && depth == MAX_DEPTH)
			return lex_fail(line_out, line, why, "braces nested too deep");
		if (ch == '{')
			open[depth++] = line;
		else if (ch == '}' && depth)
			depth--;	/* one too many: libconfuse says so */
		scan_take(&sc);
	}
	if (depth)
		return lex_fail(line_out, open[depth - 1], why, "'{' without its '}'");
	return 0;
}
