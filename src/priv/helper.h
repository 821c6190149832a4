/*
 * helper.h - the privileged helper process (docs/ARCHITECTURE.md rule 3),
 * forked by priv_start(): it holds CAP_NET_ADMIN and nothing else, reads
 * fixed-size requests from the engine's socketpair, re-checks them
 * against its own copy of the static policy and what it knows of the
 * gateway (priv/guard.h) and applies them to table ip igdd with
 * libnftables, one transaction per request. It keeps its
 * own copy of every element (priv/nft_state.h), checks every few seconds
 * that the kernel still holds them (priv/nft_verify.h) and rebuilds the
 * table when the ruleset was flushed or edited behind its back; at the
 * same check it removes the mappings on ports the gateway itself now
 * holds, and follows the configuration file's port policy, telling the
 * engine what it removed (PRIV_EVENT_GONE). When the engine goes away
 * (socket EOF, or SIGTERM) it deletes the table and exits.
 *
 * It also runs the admin's wan_up_command / wan_down_command when the
 * engine asks (PRIV_OP_WAN_UP / PRIV_OP_WAN_DOWN): the command line is
 * the one copied here at start, never text from the engine; one at a
 * time (a newer request stops the running command and waits for it),
 * with an empty environment but PATH, stdin from /dev/null, its own
 * process group, CAP_NET_ADMIN as its only capability, and killed after
 * PRIV_WAN_CMD_TIMEOUT_MS. Its end is reported as a PRIV_EVENT_WAN_DONE
 * message; the loop never waits for it (SIGCHLD through the signalfd).
 */
#ifndef IGDD_HELPER_H
#define IGDD_HELPER_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/config.h"
#include "priv/caps.h"
#include "priv/guard.h"
#include "priv/nft_rules.h"
#include "priv/priv_msg.h"

#define HELPER_MAX_HAIRPIN 8            /* external addresses hairpin answers on */

struct priv_helper_conf {
	struct nft_table_conf table;
	struct guard_conf guard;        /* what it refuses (priv/guard.h) */
	size_t max_mappings;
	bool have_external_ip;          /* config external_ip: also a hairpin address */
	struct in_addr external_ip;
	bool switch_user;               /* started as root: become user */
	struct caps_user user;
	bool foreground;                /* keep logging to stderr (else syslog) */
	unsigned check_interval_ms;     /* how often the kernel's table is verified */
	int parent;                     /* the engine's pid (PR_SET_PDEATHSIG race) */
	char wan_up_command[CONFIG_WAN_COMMAND_MAX];    /* "" = not configured */
	char wan_down_command[CONFIG_WAN_COMMAND_MAX];
	char nft_table[NFT_TABLE_NAME_MAX];     /* table ip NAME ("" = igdd) */
	char nft_table6[NFT_TABLE_NAME_MAX];    /* table ip6 NAME ("" = igdd) */
};

/*
 * Run the helper on socket fd (the child's end of the socketpair) until
 * the engine goes away; never returns. It first reports its start-up
 * (capabilities dropped, table installed) as a reply with seq 0.
 */
void priv_helper_run(const struct priv_helper_conf *c, int fd) __attribute__((noreturn));

#endif
