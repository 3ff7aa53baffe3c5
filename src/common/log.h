/*
 * log.h - one logging call for the daemon and the tools.
 *
 * Messages go to stderr (foreground, the default, like vblade) or to syslog.
 * Every line names the program; the level filters what is printed.
 */
#ifndef AOEX_LOG_H
#define AOEX_LOG_H

#include <syslog.h>

void log_init(const char *progname, int level, int use_syslog);
void log_set_level(int level);
void log_to_syslog(void);		/* from now on, at the same level */
int log_level_from_name(const char *name);	/* -1 if unknown */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)	log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
