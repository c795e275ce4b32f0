/* SPDX-License-Identifier: ISC */
/* scep_types.c: names of the protocol constants, for logs and messages. */
#include "scep_types.h"

const char *scep_msgtype_name(int type)
{
	switch (type) {
	case SCEP_MSG_CERTREP: return "CertRep";
	case SCEP_MSG_RENEWALREQ: return "RenewalReq";
	case SCEP_MSG_PKCSREQ: return "PKCSReq";
	case SCEP_MSG_CERTPOLL: return "CertPoll";
	case SCEP_MSG_GETCERT: return "GetCert";
	case SCEP_MSG_GETCRL: return "GetCRL";
	default: return "unknown";
	}
}

const char *scep_failinfo_name(int failinfo)
{
	switch (failinfo) {
	case SCEP_FAIL_BADALG: return "badAlg";
	case SCEP_FAIL_BADMESSAGECHECK: return "badMessageCheck";
	case SCEP_FAIL_BADREQUEST: return "badRequest";
	case SCEP_FAIL_BADTIME: return "badTime";
	case SCEP_FAIL_BADCERTID: return "badCertId";
	default: return "none";
	}
}
