/*
 * statedir.h - the state directory (config state_dir: the device UUID,
 * the lease files) belongs to the user that writes it, and no other user
 * can write it.
 *
 * igdd started as root with the nft backend switches its engine to an
 * unprivileged user (config `user`) before it reads the network; the
 * engine then writes the lease files (snapshots, the journal and its
 * compaction) as that user. So the directory and the files in it are
 * that user's: created for it, or handed over to it when an igdd that
 * ran as root before left them root's. A directory another user can
 * write (group or others write bit, another owner) would let that user
 * replace igdd's state under it: refused, with an error that says why.
 */
#ifndef IGDD_STATEDIR_H
#define IGDD_STATEDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Whether name (an entry of the directory) is one of igdd's own files. */
typedef bool (*statedir_ours_fn)(const char *name);

/*
 * Make dir ready for its writer (uid, gid): create it (mode 0700) when
 * missing, its parent existing; refuse it when it is not a directory (a
 * symlink included), when its group or others may write it, when it
 * belongs to another user than uid or root, or when uid cannot reach it
 * (an ancestor it may not search, with its uid and primary group only).
 * Run as root for another uid: a new directory is given to uid; an
 * existing one of root's is handed over when it holds nothing but
 * igdd's own files (ours() says which), those files too, and is refused
 * otherwise; igdd's files of root's in a directory of uid's are handed
 * over. 0, or -errno with the reason in err ("state_dir /x: ...").
 */
int statedir_prepare(const char *dir, uid_t uid, gid_t gid, statedir_ours_fn ours, char *err,
		     size_t errsz);

#endif
