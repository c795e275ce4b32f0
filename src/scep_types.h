/* SPDX-License-Identifier: ISC */
/*
 * scep_types.h: the protocol constants every module shares (RFC 8894 §3.2.1):
 * message types, pkiStatus, failInfo. Values are the wire values.
 */
#ifndef SCEP_TYPES_H
#define SCEP_TYPES_H

enum scep_msgtype {
	SCEP_MSG_CERTREP = 3,
	SCEP_MSG_RENEWALREQ = 17,
	SCEP_MSG_PKCSREQ = 19,
	SCEP_MSG_CERTPOLL = 20,
	SCEP_MSG_GETCERT = 21,
	SCEP_MSG_GETCRL = 22,
};

enum scep_status {
	SCEP_STATUS_SUCCESS = 0,
	SCEP_STATUS_FAILURE = 2,
	SCEP_STATUS_PENDING = 3,
};

enum scep_failinfo {
	SCEP_FAIL_BADALG = 0,
	SCEP_FAIL_BADMESSAGECHECK = 1,
	SCEP_FAIL_BADREQUEST = 2,
	SCEP_FAIL_BADTIME = 3,
	SCEP_FAIL_BADCERTID = 4,
	SCEP_FAIL_NONE = -1,
};

const char *scep_msgtype_name(int type);     /* "PKCSReq", ..., "unknown" */
const char *scep_failinfo_name(int failinfo); /* "badAlg", ..., "none" */

#endif
