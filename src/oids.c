/* SPDX-License-Identifier: ISC */
/*
 * oids.c: registers the SCEP and Microsoft OIDs scepd reads and writes, once at
 * start-up (before threads start). OBJ_create is idempotent per OID here
 * because an already known OID is looked up instead of created again.
 */
#include <openssl/objects.h>

#include "oids.h"

static struct scep_nids nids;

static int oid(const char *dotted, const char *sn, const char *ln)
{
	int nid = OBJ_txt2nid(dotted);

	if (nid != NID_undef)
		return nid;
	return OBJ_create(dotted, sn, ln);
}

int oids_register(void)
{
	struct scep_nids n;

	n.message_type = oid("2.16.840.1.113733.1.9.2", "messageType", "SCEP messageType");
	n.pki_status = oid("2.16.840.1.113733.1.9.3", "pkiStatus", "SCEP pkiStatus");
	n.fail_info = oid("2.16.840.1.113733.1.9.4", "failInfo", "SCEP failInfo");
	n.sender_nonce = oid("2.16.840.1.113733.1.9.5", "senderNonce", "SCEP senderNonce");
	n.recipient_nonce = oid("2.16.840.1.113733.1.9.6", "recipientNonce", "SCEP recipientNonce");
	n.transaction_id = oid("2.16.840.1.113733.1.9.7", "transactionID", "SCEP transactionID");
	n.fail_info_text = oid("1.3.6.1.5.5.7.24.1", "failInfoText", "SCEP failInfoText");
	n.ms_scep_error = oid("1.3.6.1.4.1.311.21.33", "msScepError", "szOID_ENROLL_SCEP_ERROR");
	n.cert_request_agent = oid("1.3.6.1.4.1.311.20.2.1", "msCertRequestAgent",
	    "Certificate Request Agent");
	if (n.message_type == NID_undef || n.pki_status == NID_undef ||
	    n.fail_info == NID_undef || n.sender_nonce == NID_undef ||
	    n.recipient_nonce == NID_undef || n.transaction_id == NID_undef ||
	    n.fail_info_text == NID_undef || n.ms_scep_error == NID_undef ||
	    n.cert_request_agent == NID_undef)
		return -1;
	nids = n;
	return 0;
}

const struct scep_nids *oids_nids(void)
{
	return &nids;
}
