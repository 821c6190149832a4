/*
 * policy_conf.h - the policies (core/policy.h, core/pin_policy.h) from a
 * configuration: secure_mode, acl, pinhole_acl and lan_interface handed to
 * core as a struct policy_conf, so core knows no conf (the layer rule,
 * docs/ARCHITECTURE.md).
 */
#ifndef IGDD_POLICY_CONF_H
#define IGDD_POLICY_CONF_H

#include <stddef.h>

#include "conf/config.h"
#include "core/pin_policy.h"
#include "core/policy.h"

/* pc borrows cfg's strings: it is good while cfg is. */
void config_policy_conf(const struct config *cfg, struct policy_conf *pc);

/* policy_new() and pin_policy_new() over config_policy_conf(cfg). */
struct policy *config_policy_new(const struct config *cfg, char *err, size_t errsz);
struct pin_policy *config_pin_policy_new(const struct config *cfg, char *err, size_t errsz);

#endif
