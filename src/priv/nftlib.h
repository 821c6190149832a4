/*
 * nftlib.h - libnftables, loaded at run time by the privileged helper only.
 *
 * The engine (the process that parses what the network sends) never maps
 * libnftables and the libraries it pulls in (libnftnl, libxtables,
 * libjansson, libgmp...): that keeps the engine's address space, and its
 * private memory, to what it uses. The helper calls nftlib_load() once,
 * after fork, and then the wrappers below, which have the signatures of
 * the libnftables functions of the same name without the "lib" infix.
 */
#ifndef IGDD_NFTLIB_H
#define IGDD_NFTLIB_H

#include <nftables/libnftables.h>

/* Load libnftables.so.1 and resolve what the helper uses. 0, or -ENOENT
 * (the library or a symbol is missing; *why says which, static text). */
int nftlib_load(const char **why);

struct nft_ctx *nftlib_ctx_new(uint32_t flags);
void nftlib_ctx_free(struct nft_ctx *ctx);
int nftlib_ctx_buffer_output(struct nft_ctx *ctx);
int nftlib_ctx_buffer_error(struct nft_ctx *ctx);
const char *nftlib_ctx_get_error_buffer(struct nft_ctx *ctx);
/* What the last command printed (after nftlib_ctx_buffer_output()). */
const char *nftlib_ctx_get_output_buffer(struct nft_ctx *ctx);
int nftlib_run_cmd_from_buffer(struct nft_ctx *ctx, const char *buf);

#endif
