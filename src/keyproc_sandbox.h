/* SPDX-License-Identifier: ISC */
/*
 * keyproc_sandbox.h: what a signer process worker may still do once it runs:
 * no new privileges, no network, no writing to the file system (seccomp, via
 * libseccomp). Called by the worker after it closed every other descriptor.
 */
#ifndef KEYPROC_SANDBOX_H
#define KEYPROC_SANDBOX_H

/* 0, or -1 when the filter cannot be installed. */
int keyproc_sandbox(const char *config_file);

#endif
