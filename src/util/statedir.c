/*
 * statedir.c - the state directory belongs to the user that writes it
 * (see statedir.h). Everything is done through a descriptor of the
 * directory opened without following a symlink (fstat, fchown, the
 *   *at() calls with AT_SYMLINK_NOFOLLOW), so what is checked is what is
 * changed.
 */
#define _GNU_SOURCE             /* O_DIRECTORY, O_NOFOLLOW */
#include "util/statedir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(char *err, size_t errsz, const char *dir, int r, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int fail(char *err, size_t errsz, const char *dir, int r, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errsz, "state_dir %s: ", dir);

	if (n >= 0 && (size_t)n < errsz) {
		va_start(ap, fmt);
		vsnprintf(err + n, errsz - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* May (uid, gid) search st (an ancestor directory)? Only its uid and
 * primary group count: the engine keeps no supplementary group. */
static bool searchable(const struct stat *st, uid_t uid, gid_t gid)
{
	if (uid == 0)
		return true;
	if (st->st_uid == uid)
		return st->st_mode & S_IXUSR;
	if (st->st_gid == gid)
		return st->st_mode & S_IXGRP;
	return st->st_mode & S_IXOTH;
}

/* Every ancestor of dir searchable by (uid, gid): 0, or -EACCES and the
 * first that is not in ret_bad, or another -errno. */
static int reachable(const char *dir, uid_t uid, gid_t gid, char ret_bad[PATH_MAX])
{
	char path[PATH_MAX];
	struct stat st;
	size_t len = strlen(dir), i;

	if (len >= sizeof(path))
		return -ENAMETOOLONG;
	for (i = 0; i < len; i++) {             /* "/", then the prefix before each '/' */
		if (dir[i] != '/')
			continue;
		memcpy(path, dir, i ? i : 1);
		path[i ? i : 1] = '\0';
		if (stat(path, &st) < 0)
			return -errno;
		if (!searchable(&st, uid, gid)) {
			memcpy(ret_bad, path, strlen(path) + 1);
			return -EACCES;
		}
	}
	return 0;
}

/*
 * Walk the entries of the directory fd: with hand_over, give igdd's
 * regular files to (uid, gid); without, report the first entry that is
 * not igdd's (its name in ret_name). 0, 1 (a foreign entry) or -errno.
 */
static int walk(int fd, statedir_ours_fn ours, bool hand_over, uid_t uid, gid_t gid,
		char ret_name[NAME_MAX + 1])
{
	int dfd = dup(fd), r = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		r = -errno;
		close(dfd);
		return r;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (!ours(de->d_name)) {
			if (!hand_over) {
				snprintf(ret_name, NAME_MAX + 1, "%s", de->d_name);
				r = 1;
				break;
			}
			continue;
		}
		if (!hand_over || fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || (st.st_uid == uid && st.st_gid == gid))
			continue;
		if (fchownat(fd, de->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
			snprintf(ret_name, NAME_MAX + 1, "%s", de->d_name);
			r = -errno;
			break;
		}
	}
	closedir(d);
	return r;
}

/* A directory of root's, uid not root, run as root: hand it over, or refuse. */
static int hand_over(const char *dir, int fd, bool created, uid_t uid, gid_t gid,
		     statedir_ours_fn ours, char *err, size_t errsz)
{
	char name[NAME_MAX + 1] = "";
	int r;

	if (!created) {
		r = walk(fd, ours, false, uid, gid, name);
		if (r < 0)
			return fail(err, errsz, dir, r, "cannot read it: %s", strerror(-r));
		if (r > 0)
			return fail(err, errsz, dir, -EPERM, "belongs to root and holds '%s', which "
				    "is not igdd's: give the directory to uid %u (chown) or choose "
				    "another state_dir", name, (unsigned)uid);
	}
	r = walk(fd, ours, true, uid, gid, name);
	if (r < 0)
		return fail(err, errsz, dir, r, "cannot give %s to uid %u: %s", name,
			    (unsigned)uid, strerror(-r));
	if (fchown(fd, uid, gid) < 0)
		return fail(err, errsz, dir, -errno, "cannot give it to uid %u: %s",
			    (unsigned)uid, strerror(errno));
	return 0;
}

int statedir_prepare(const char *dir, uid_t uid, gid_t gid, statedir_ours_fn ours, char *err,
		     size_t errsz)
{
	char bad[PATH_MAX];
	bool root = geteuid() == 0, created = false;
	struct stat st;
	int fd, r = 0;

	if (dir[0] != '/')
		return fail(err, errsz, dir, -EINVAL, "not an absolute path");
	if (mkdir(dir, 0700) == 0)
		created = true;
	else if (errno != EEXIST)
		return fail(err, errsz, dir, -errno, "cannot create it: %s", strerror(errno));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (r == -ENOTDIR || r == -ELOOP)
			return fail(err, errsz, dir, r, "not a directory (a symlink is not taken)");
		return fail(err, errsz, dir, r, "cannot open it: %s", strerror(-r));
	}
	if (fstat(fd, &st) < 0) {
		r = fail(err, errsz, dir, -errno, "%s", strerror(errno));
	} else if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		r = fail(err, errsz, dir, -EPERM, "other users can write it (mode %04o): "
			 "chmod go-w it", (unsigned)(st.st_mode & 07777));
	} else if (st.st_uid != uid && st.st_uid != 0) {
		r = fail(err, errsz, dir, -EPERM, "belongs to uid %u, not to uid %u, which "
			 "writes it", (unsigned)st.st_uid, (unsigned)uid);
	} else if (st.st_uid != uid && !root) {
		r = fail(err, errsz, dir, -EPERM, "belongs to root: uid %u cannot write it",
			 (unsigned)uid);
	} else if (st.st_uid != uid) {
		r = hand_over(dir, fd, created, uid, gid, ours, err, errsz);
	} else if (root && uid != 0) {
		char name[NAME_MAX + 1] = "";

		r = walk(fd, ours, true, uid, gid, name);      /* root's files left in it */
		if (r < 0)
			r = fail(err, errsz, dir, r, "cannot give %s to uid %u: %s", name,
				 (unsigned)uid, strerror(-r));
	}
	if (r == 0 && (st.st_mode & S_IRWXU) != S_IRWXU)
		r = fail(err, errsz, dir, -EPERM, "its owner cannot use it (mode %04o): "
			 "chmod u+rwx it", (unsigned)(st.st_mode & 07777));
	if (r == 0 && root && uid != 0 && (r = reachable(dir, uid, gid, bad)) < 0)
		r = r == -EACCES ? fail(err, errsz, dir, r, "uid %u cannot reach it: %s is not "
					"searchable by it", (unsigned)uid, bad)
				 : fail(err, errsz, dir, r, "%s", strerror(-r));
	close(fd);
	return r;
}
