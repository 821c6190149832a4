/*
 * caps.c - dropping privilege (see caps.h).
 *
 * Order matters: the bounding set can only be cut while CAP_SETPCAP is
 * still effective, so that comes first; PR_SET_KEEPCAPS carries the
 * permitted set across setresuid() away from root (the kernel would
 * otherwise clear it); capset() then trims effective and permitted to
 * exactly what is kept.
 */
#define _GNU_SOURCE                     /* setresuid, setresgid */
#include "priv/caps.h"


#include <errno.h>
#include <linux/capability.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int caps_lookup_user(const char *name, struct caps_user *ret)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(name);
	if (!pw)
		return errno ? -errno : -ENOENT;
	ret->uid = pw->pw_uid;
	ret->gid = pw->pw_gid;
	return 0;
}

int caps_get(uint64_t *ret_eff, uint64_t *ret_prm)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &hdr, d) < 0)
		return -errno;
	*ret_eff = (uint64_t)d[1].effective << 32 | d[0].effective;
	*ret_prm = (uint64_t)d[1].permitted << 32 | d[0].permitted;
	return 0;
}

static int caps_set(uint64_t keep)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(d, 0, sizeof(d));
	d[0].effective = d[0].permitted = (uint32_t)keep;
	d[1].effective = d[1].permitted = (uint32_t)(keep >> 32);
	return syscall(SYS_capset, &hdr, d) < 0 ? -errno : 0;
}

/* Cut the bounding set down to keep. Without CAP_SETPCAP that is not
 * allowed (EPERM): the set stays as the caller got it (systemd's
 * CapabilityBoundingSet= limits it then). */
static int drop_bounding(uint64_t keep)
{
	unsigned cap;

	for (cap = 0; cap < 64; cap++) {
		if (keep & CAPS_BIT(cap))
			continue;
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
			break;                  /* EINVAL: past the kernel's last capability */
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return errno == EPERM ? 0 : -errno;
	}
	return 0;
}

static int switch_user(const struct caps_user *u, uint64_t keep, const char **why)
{
	if (keep && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) {
		*why = "prctl(PR_SET_KEEPCAPS)";
		return -errno;
	}
	if (setgroups(1, &u->gid) < 0) {
		*why = "setgroups";
		return -errno;
	}
	if (setresgid(u->gid, u->gid, u->gid) < 0) {
		*why = "setresgid";
		return -errno;
	}
	if (setresuid(u->uid, u->uid, u->uid) < 0) {
		*why = "setresuid";
		return -errno;
	}
	if (keep && prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) {
		*why = "prctl(PR_SET_KEEPCAPS, 0)";
		return -errno;
	}
	return 0;
}

int caps_drop(const struct caps_user *u, uint64_t keep, const char **ret_why)
{
	const char *why = NULL;
	uint64_t eff = 0, prm = 0;
	int r;

	if ((r = caps_get(&eff, &prm)) < 0) {
		why = "capget";
		goto out;
	}
	if ((prm & keep) != keep) {
		why = "a capability to keep is not held";
		r = -EPERM;
		goto out;
	}
	if ((r = drop_bounding(keep)) < 0) {
		why = "prctl(PR_CAPBSET_DROP)";
		goto out;
	}
	if (u && geteuid() == 0 && (r = switch_user(u, keep, &why)) < 0)
		goto out;
	if ((r = caps_set(keep)) < 0) {
		why = "capset";
		goto out;
	}
	/* Ambient capabilities survive capset(); EINVAL: a kernel before 4.3. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
		why = "prctl(PR_CAP_AMBIENT_CLEAR_ALL)";
		r = -errno;
		goto out;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		why = "prctl(PR_SET_NO_NEW_PRIVS / PR_SET_DUMPABLE)";
		r = -errno;
		goto out;
	}
	if ((r = caps_get(&eff, &prm)) == 0 && (eff != keep || prm != keep)) {
		why = "capabilities still held after dropping";
		r = -EPERM;
	}
out:
	if (r < 0 && ret_why)
		*ret_why = why;
	return r;
}

int caps_pass_on_exec(uint64_t caps)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	unsigned cap;

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &hdr, d) < 0)
		return -errno;
	d[0].inheritable = (uint32_t)caps;
	d[1].inheritable = (uint32_t)(caps >> 32);
	if (syscall(SYS_capset, &hdr, d) < 0)
		return -errno;
	for (cap = 0; cap < 64; cap++)
		if ((caps & CAPS_BIT(cap)) &&
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return -errno;
	return 0;
}

int caps_proc_status(pid_t pid, const char *field, uint64_t *ret)
{
	char path[64], line[256];
	size_t flen = strlen(field);
	FILE *f;
	int r = -ENOENT;

	if (pid == 0)
		snprintf(path, sizeof(path), "/proc/self/status");
	else
		snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		const char *v;
		uint64_t x = 0;
		size_t i;

		if (strncmp(line, field, flen) != 0 || line[flen] != ':')
			continue;
		for (v = line + flen + 1; *v == ' ' || *v == '\t'; v++)
			;
		for (i = 0; i < 16; i++) {
			char ch = v[i];
			int d = ch >= '0' && ch <= '9' ? ch - '0' :
				ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;

			if (d < 0)
				break;
			x = x << 4 | (uint64_t)d;
		}
		r = i == 16 ? 0 : -EINVAL;
		if (r == 0)
			*ret = x;
		break;
	}
	fclose(f);
	return r;
}
