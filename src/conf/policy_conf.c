/*
 * policy_conf.c - a configuration's policy keys as core's struct
 * policy_conf (see policy_conf.h).
 */
#include "conf/policy_conf.h"

#include <string.h>

void config_policy_conf(const struct config *cfg, struct policy_conf *pc)
{
	size_t i;

	memset(pc, 0, sizeof(*pc));
	pc->secure = cfg->secure_mode;
	for (i = 0; i < cfg->nacl && i < IGDD_CONF_MAX_ACL; i++)
		pc->acl[i] = cfg->acl[i];
	pc->nacl = i;
	for (i = 0; i < cfg->npinhole_acl && i < IGDD_CONF_MAX_ACL; i++)
		pc->pinhole_acl[i] = cfg->pinhole_acl[i];
	pc->npinhole_acl = i;
	for (i = 0; i < cfg->nlans && i < IGDD_CONF_MAX_LANS; i++)
		pc->lans[i] = cfg->lan_interface[i];
	pc->nlans = i;
}

struct policy *config_policy_new(const struct config *cfg, char *err, size_t errsz)
{
	struct policy_conf pc;

	config_policy_conf(cfg, &pc);
	return policy_new(&pc, err, errsz);
}

struct pin_policy *config_pin_policy_new(const struct config *cfg, char *err, size_t errsz)
{
	struct policy_conf pc;

	config_policy_conf(cfg, &pc);
	return pin_policy_new(&pc, err, errsz);
}
