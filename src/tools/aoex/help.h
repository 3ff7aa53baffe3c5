/* help.h - the text of aoex --help (help.c). */
#ifndef AOEX_HELP_H
#define AOEX_HELP_H

extern const char help_text[];

#endif
