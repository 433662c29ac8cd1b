/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The one way tcpdwell speaks to its user on stderr: "tcpdwell: ", the
 * message, a newline. Errors return the exit code they come with.
 */
#ifndef TCPDWELL_ERR_H
#define TCPDWELL_ERR_H

/* Say it; nothing more (a notice, a warning, a summary line). */
void td_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Say it and hand back `code` (an enum td_exit), for `return td_err(...)`. */
int td_err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* TCPDWELL_ERR_H */
