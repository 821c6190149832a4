/*
 * caps.h - giving up privilege: switching to an unprivileged user and
 * keeping exactly the capabilities a process needs (the capset system
 * call and prctl; libcap is not needed).
 *
 * The engine keeps none; the privileged helper keeps CAP_NET_ADMIN only
 * (docs/ARCHITECTURE.md rule 3).
 */
#ifndef IGDD_CAPS_H
#define IGDD_CAPS_H

#include <stdint.h>
#include <sys/types.h>

#define CAPS_BIT(cap) (UINT64_C(1) << (cap))

struct caps_user {
	uid_t uid;
	gid_t gid;
};

/* The user's ids (getpwnam): 0, -ENOENT, or another -errno. */
int caps_lookup_user(const char *name, struct caps_user *ret);

/*
 * Give up privilege for good: when u is not NULL and the process runs as
 * root, become u (supplementary groups dropped); then keep exactly keep
 * (bit n = capability n) in the effective and permitted sets, with the
 * inheritable and ambient sets empty, the bounding set cut down to keep
 * where that is allowed (root or CAP_SETPCAP), no_new_privs set and core
 * dumps off (no ptrace by other processes of the same user). Fails with
 * -EPERM when a capability of keep is not held. 0 or -errno; *ret_why
 * (optional) names the step that failed.
 */
int caps_drop(const struct caps_user *u, uint64_t keep, const char **ret_why);

/*
 * Let the next execve() keep caps (a subset of the permitted set): put
 * them in the inheritable and ambient sets. For a program the helper
 * runs for the admin (wan_up_command): it runs with those capabilities
 * only, whatever its user. 0 or -errno.
 */
int caps_pass_on_exec(uint64_t caps);

/* The effective and permitted sets as the kernel reports them. */
int caps_get(uint64_t *ret_eff, uint64_t *ret_prm);

/*
 * A capability field ("CapEff", "CapPrm", "CapBnd", ...) of
 * /proc/PID/status (pid 0: this process), as an admin or a test reads
 * it. 0, -ENOENT (no such field) or -errno.
 */
int caps_proc_status(pid_t pid, const char *field, uint64_t *ret);

#endif
