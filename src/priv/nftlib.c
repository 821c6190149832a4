/*
 * nftlib.c - libnftables loaded with dlopen() in the helper (nftlib.h).
 */
#include "priv/nftlib.h"

#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>

#define NFTLIB_SONAME "libnftables.so.1"

static struct {
	void *handle;
	struct nft_ctx *(*ctx_new)(uint32_t);
	void (*ctx_free)(struct nft_ctx *);
	int (*buffer_output)(struct nft_ctx *);
	int (*buffer_error)(struct nft_ctx *);
	const char *(*get_error_buffer)(struct nft_ctx *);
	const char *(*get_output_buffer)(struct nft_ctx *);
	int (*run_cmd_from_buffer)(struct nft_ctx *, const char *);
} nftlib;

/* dlsym() returns void *: copy it into a function pointer of any type. */
#define NFTLIB_SYM(field, name) do { \
		void *sym_ = dlsym(nftlib.handle, name); \
		if (!sym_) { \
			*why = name " not found in " NFTLIB_SONAME; \
			return -ENOENT; \
		} \
		*(void **)(void *)&nftlib.field = sym_; \
	} while (0)

int nftlib_load(const char **why)
{
	const char *dummy;

	if (!why)
		why = &dummy;
	if (nftlib.handle)
		return 0;
	nftlib.handle = dlopen(NFTLIB_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!nftlib.handle) {
		*why = "cannot load " NFTLIB_SONAME " (package libnftables1)";
		return -ENOENT;
	}
	NFTLIB_SYM(ctx_new, "nft_ctx_new");
	NFTLIB_SYM(ctx_free, "nft_ctx_free");
	NFTLIB_SYM(buffer_output, "nft_ctx_buffer_output");
	NFTLIB_SYM(buffer_error, "nft_ctx_buffer_error");
	NFTLIB_SYM(get_error_buffer, "nft_ctx_get_error_buffer");
	NFTLIB_SYM(get_output_buffer, "nft_ctx_get_output_buffer");
	NFTLIB_SYM(run_cmd_from_buffer, "nft_run_cmd_from_buffer");
	return 0;
}

struct nft_ctx *nftlib_ctx_new(uint32_t flags)
{
	return nftlib.ctx_new ? nftlib.ctx_new(flags) : NULL;
}

void nftlib_ctx_free(struct nft_ctx *ctx)
{
	if (ctx && nftlib.ctx_free)
		nftlib.ctx_free(ctx);
}

int nftlib_ctx_buffer_output(struct nft_ctx *ctx)
{
	return nftlib.buffer_output ? nftlib.buffer_output(ctx) : -1;
}

int nftlib_ctx_buffer_error(struct nft_ctx *ctx)
{
	return nftlib.buffer_error ? nftlib.buffer_error(ctx) : -1;
}

const char *nftlib_ctx_get_error_buffer(struct nft_ctx *ctx)
{
	return nftlib.get_error_buffer ? nftlib.get_error_buffer(ctx) : NULL;
}

const char *nftlib_ctx_get_output_buffer(struct nft_ctx *ctx)
{
	return nftlib.get_output_buffer ? nftlib.get_output_buffer(ctx) : NULL;
}

int nftlib_run_cmd_from_buffer(struct nft_ctx *ctx, const char *buf)
{
	return nftlib.run_cmd_from_buffer ? nftlib.run_cmd_from_buffer(ctx, buf) : -1;
}
