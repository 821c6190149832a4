/*
 * log.h - the daemon's small logging API (OpenBSD shape).
 *
 * log_warn() appends the errno text; log_warnx() does not. fatal() and
 * fatalx() are for start-up and the helper only: a peer's input never ends
 * the daemon. Peer strings are logged quoted and escaped (log_escape()).
 */
#ifndef IGDD_LOG_H
#define IGDD_LOG_H

#include <stddef.h>

#define LOG_FMT(a, b) __attribute__((format(printf, a, b)))

/* foreground: log to stderr; otherwise syslog (daemon facility). */
void log_init(const char *ident, int foreground, int verbose);
void log_set_verbose(int verbose);
/* Leave the terminal: stdin, stdout and stderr on /dev/null (left as they
 * are when it cannot be opened). A daemon then calls log_init() again,
 * not in the foreground, to log to syslog. */
void log_detach_stdio(void);
int log_get_verbose(void);
/* What is logged: LOG_LEVEL_WARN (warnings and worse), LOG_LEVEL_INFO (the
 * default) or LOG_LEVEL_DEBUG (the same as verbose). */
enum log_level { LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

void log_warn(const char *fmt, ...) LOG_FMT(1, 2);
void log_warnx(const char *fmt, ...) LOG_FMT(1, 2);
void log_info(const char *fmt, ...) LOG_FMT(1, 2);
void log_debug(const char *fmt, ...) LOG_FMT(1, 2);
void fatal(const char *fmt, ...) LOG_FMT(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) LOG_FMT(1, 2) __attribute__((noreturn));

/*
 * Copy at most len bytes of peer text into out (size outsz), escaping
 * quotes, backslashes and non-printable bytes as \xNN; always
 * NUL-terminated, truncated with "..." when it does not fit. Returns out.
 */
const char *log_escape(char *out, size_t outsz, const char *in, size_t len);

#endif
