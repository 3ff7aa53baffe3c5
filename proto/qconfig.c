/* qconfig.c - Query Config rules. */
#include "config.h"
#include "qconfig.h"
#include "frame.h"
#include "wire.h"

#include <string.h>

size_t qc_build_reply(const struct qconfig *qc, const struct qc_params *p,
		      uint8_t ccmd, uint8_t *out)
{
	put_be16(out + QC_OFF_BUFCNT, p->bufcnt);
	put_be16(out + QC_OFF_FWVER, p->fwver);
	out[QC_OFF_SCNT] = p->maxsect;
	out[QC_OFF_VERCMD] = (uint8_t)(AOE_VERSION << 4 | (ccmd & 0x0f));
	put_be16(out + QC_OFF_CSLEN, qc->len);
	memcpy(out + QC_OFF_CS, qc->str, qc->len);
	return QC_HDR_LEN + qc->len;
}

size_t qc_handle(struct qconfig *qc, const struct qc_params *p,
		 const uint8_t *req, size_t len, uint8_t *out, bool *changed,
		 bool *bad_len)
{
	uint8_t ccmd = req[QC_OFF_VERCMD] & 0x0f;
	size_t slen = get_be16(req + QC_OFF_CSLEN);
	const uint8_t *s = req + QC_OFF_CS;
	uint8_t err = 0;

	*changed = false;
	*bad_len = ccmd != QC_READ && (slen > QC_CS_MAX || slen > len - QC_HDR_LEN);
	if (*bad_len)
		return 0;

	switch (ccmd) {
	case QC_READ:
		break;
	case QC_TEST:
		if (slen != qc->len || memcmp(s, qc->str, slen) != 0)
			return 0;
		break;
	case QC_TEST_PREFIX:
		if (slen > qc->len || memcmp(s, qc->str, slen) != 0)
			return 0;
		break;
	case QC_SET:
		if (qc->len && (slen != qc->len || memcmp(s, qc->str, slen) != 0)) {
			err = AOE_ERR_CFGSET;
			break;
		}
		/* fall through */
	case QC_FORCE_SET:
		memcpy(qc->str, s, slen);
		qc->len = (uint16_t)slen;
		*changed = true;
		break;
	default:
		err = AOE_ERR_BADARG;
		break;
	}
	if (err)
		aoe_set_error(out, err);
	return qc_build_reply(qc, p, ccmd, out);
}
