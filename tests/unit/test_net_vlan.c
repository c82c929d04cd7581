/* SPDX-License-Identifier: GPL-2.0-only */
/* splitvm-net's VLAN ports: parameters, printing, the ingress and egress
 * decisions, and 802.1Q tag push/pop on plain buffers. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <string.h>

#include "net_vlan.h"
#include "unit.h"

static int param(struct net_vlan_config *c, const char *p)
{
	char err[160];

	return net_vlan_parse_param(c, p, strlen(p), err, sizeof(err));
}

static struct net_vlan_config conf(const char *a, const char *b)
{
	struct net_vlan_config c = { 0 };

	CU_ASSERT_EQUAL(param(&c, a), 0);
	if (b)
		CU_ASSERT_EQUAL(param(&c, b), 0);
	return c;
}

static void test_parse(void)
{
	struct net_vlan_config c = { 0 };
	char err[160] = "";

	/* Not ours: the caller looks further. */
	CU_ASSERT_EQUAL(param(&c, "name=x"), 1);
	CU_ASSERT_EQUAL(param(&c, "vlanx=3"), 1);
	CU_ASSERT_EQUAL(param(&c, "trunks=3"), 1);
	CU_ASSERT_EQUAL(c.mode, NET_VLAN_MODE_NONE);
	/* The length given counts, not the terminator. */
	CU_ASSERT_EQUAL(net_vlan_parse_param(&c, "vlan=12,name=x", 7, err,
					     sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.mode, NET_VLAN_MODE_ACCESS);
	CU_ASSERT_EQUAL(c.vid, 12);
	CU_ASSERT_EQUAL(net_vlan_parse_param(&c, "vlan=13", 7, err,
					     sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "twice"));
	c = conf("trunk=1:4094:100-102", NULL);
	CU_ASSERT_TRUE(net_vlan_allowed(&c, 1));
	CU_ASSERT_TRUE(net_vlan_allowed(&c, 4094));
	CU_ASSERT_TRUE(net_vlan_allowed(&c, 101));
	CU_ASSERT_FALSE(net_vlan_allowed(&c, 0));
	CU_ASSERT_FALSE(net_vlan_allowed(&c, 4095));
	CU_ASSERT_FALSE(net_vlan_allowed(&c, 103));
	CU_ASSERT_EQUAL(net_vlan_parse_param(&c, "trunk=8", 7, err,
					     sizeof(err)), -EINVAL);
	/* Duplicates, by id or by range, say which. */
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(net_vlan_parse_param(&c, "trunk=5:3-9", 11, err,
					     sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "VLAN 5 listed twice"));
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(net_vlan_parse_param(&c, "trunk=5:x", 9, err,
					     sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "'x'"));
	/* native= alone parses (trunk= may follow), but is no config. */
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(param(&c, "native=9"), 0);
	CU_ASSERT_EQUAL(net_vlan_config_check(&c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(param(&c, "trunk=10"), 0);
	CU_ASSERT_EQUAL(net_vlan_config_check(&c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.vid, 9);
}

static void test_format(void)
{
	struct net_vlan_config c = conf("trunk=1-3:5:7-8:4094", NULL);
	char buf[64], small[6];

	CU_ASSERT_EQUAL(net_vlan_format_list(&c, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "1-3:5:7-8:4094");
	/* What it prints, the parser takes back. */
	{
		struct net_vlan_config d = { 0 };
		char p[80];

		snprintf(p, sizeof(p), "trunk=%s", buf);
		CU_ASSERT_EQUAL(param(&d, p), 0);
		CU_ASSERT_EQUAL(memcmp(d.allowed, c.allowed, sizeof(c.allowed)),
				0);
	}
	CU_ASSERT_EQUAL(net_vlan_format_list(&c, small, sizeof(small)),
			-ENOSPC);
	CU_ASSERT_STRING_EQUAL(small, "1-3:5");
	c = conf("trunk=all", NULL);
	CU_ASSERT_EQUAL(net_vlan_format_list(&c, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "all");
	CU_ASSERT_EQUAL(net_vlan_describe(&c, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "trunk all");
	c = conf("trunk=3:4", "native=9");
	CU_ASSERT_EQUAL(net_vlan_describe(&c, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "trunk 3-4 native 9");
	CU_ASSERT_EQUAL(net_vlan_describe(&c, small, sizeof(small)), -ENOSPC);
	c = conf("vlan=4094", NULL);
	CU_ASSERT_EQUAL(net_vlan_describe(&c, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "access vlan 4094");
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(net_vlan_describe(&c, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "");
	CU_ASSERT_STRING_EQUAL(net_vlan_mode_name(NET_VLAN_MODE_TRUNK), "trunk");
	CU_ASSERT_STRING_EQUAL(net_vlan_mode_name(NET_VLAN_MODE_NONE), "none");
}

static void test_ingress(void)
{
	struct net_vlan_config none = { 0 };
	struct net_vlan_config access = conf("vlan=10", NULL);
	struct net_vlan_config trunk = conf("trunk=10:20", NULL);
	struct net_vlan_config native = conf("trunk=20", "native=10");

	/* Unaware: everything in the unaware domain, tags or not. */
	CU_ASSERT_EQUAL(net_vlan_ingress(&none, false, 0), NET_VLAN_UNAWARE);
	CU_ASSERT_EQUAL(net_vlan_ingress(&none, true, 10), NET_VLAN_UNAWARE);
	/* Access: untagged only. */
	CU_ASSERT_EQUAL(net_vlan_ingress(&access, false, 0), 10);
	CU_ASSERT_EQUAL(net_vlan_ingress(&access, true, 10), -1);
	CU_ASSERT_EQUAL(net_vlan_ingress(&access, true, 0), -1);
	/* Trunk: the listed VLANs, the priority bits ignored. */
	CU_ASSERT_EQUAL(net_vlan_ingress(&trunk, true, 10), 10);
	CU_ASSERT_EQUAL(net_vlan_ingress(&trunk, true, 0xe000 | 20), 20);
	CU_ASSERT_EQUAL(net_vlan_ingress(&trunk, true, 30), -1);
	CU_ASSERT_EQUAL(net_vlan_ingress(&trunk, true, 0), -1);
	CU_ASSERT_EQUAL(net_vlan_ingress(&trunk, true, 4095), -1);
	CU_ASSERT_EQUAL(net_vlan_ingress(&trunk, false, 0), -1);
	/* Native: untagged frames, and tagged ones of that VLAN. */
	CU_ASSERT_EQUAL(net_vlan_ingress(&native, false, 0), 10);
	CU_ASSERT_EQUAL(net_vlan_ingress(&native, true, 10), 10);
	CU_ASSERT_EQUAL(net_vlan_ingress(&native, true, 20), 20);
	CU_ASSERT_EQUAL(net_vlan_ingress(&native, true, 30), -1);
}

static void test_egress(void)
{
	struct net_vlan_config none = { 0 };
	struct net_vlan_config access = conf("vlan=10", NULL);
	struct net_vlan_config trunk = conf("trunk=10:20", NULL);
	struct net_vlan_config native = conf("trunk=20", "native=10");

	CU_ASSERT_EQUAL(net_vlan_egress(&none, 0), NET_VLAN_OUT_AS_IS);
	CU_ASSERT_EQUAL(net_vlan_egress(&none, 10), NET_VLAN_OUT_NOT);
	CU_ASSERT_EQUAL(net_vlan_egress(&access, 10), NET_VLAN_OUT_UNTAGGED);
	CU_ASSERT_EQUAL(net_vlan_egress(&access, 20), NET_VLAN_OUT_NOT);
	CU_ASSERT_EQUAL(net_vlan_egress(&access, 0), NET_VLAN_OUT_NOT);
	CU_ASSERT_EQUAL(net_vlan_egress(&trunk, 10), NET_VLAN_OUT_TAGGED);
	CU_ASSERT_EQUAL(net_vlan_egress(&trunk, 20), NET_VLAN_OUT_TAGGED);
	CU_ASSERT_EQUAL(net_vlan_egress(&trunk, 30), NET_VLAN_OUT_NOT);
	CU_ASSERT_EQUAL(net_vlan_egress(&trunk, 0), NET_VLAN_OUT_NOT);
	CU_ASSERT_EQUAL(net_vlan_egress(&native, 10), NET_VLAN_OUT_UNTAGGED);
	CU_ASSERT_EQUAL(net_vlan_egress(&native, 20), NET_VLAN_OUT_TAGGED);
}

static const uint8_t untagged[] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,	/* dst, src */
	0x08, 0x00, 0x45, 0x00, 0xaa, 0xbb,	/* IPv4 ... */
};
static const uint8_t tagged[] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	0x81, 0x00, 0x20, 0x0a,			/* PCP 1, VLAN 10 */
	0x08, 0x00, 0x45, 0x00, 0xaa, 0xbb,
};

static void test_push_pop(void)
{
	uint8_t out[64], buf[64];
	uint16_t tci = 0;
	bool short_tag;

	net_vlan_push(out, untagged, sizeof(untagged), 0x200a);
	CU_ASSERT_EQUAL(memcmp(out, tagged, sizeof(tagged)), 0);
	net_vlan_pop(out, tagged, sizeof(tagged));
	CU_ASSERT_EQUAL(memcmp(out, untagged, sizeof(untagged)), 0);
	/* In place: the frame grows into the 4 bytes before it. */
	memset(buf, 0xee, sizeof(buf));
	memcpy(buf + 4, untagged, sizeof(untagged));
	net_vlan_push_in_place(buf, 0x200a);
	CU_ASSERT_EQUAL(memcmp(buf, tagged, sizeof(tagged)), 0);
	net_vlan_pop_in_place(buf);
	CU_ASSERT_EQUAL(memcmp(buf + 4, untagged, sizeof(untagged)), 0);
	/* Reading the tag. */
	CU_ASSERT_TRUE(net_vlan_read_tag(tagged, sizeof(tagged), &tci,
					 &short_tag));
	CU_ASSERT_EQUAL(tci, 0x200a);
	CU_ASSERT_FALSE(short_tag);
	CU_ASSERT_FALSE(net_vlan_read_tag(untagged, sizeof(untagged), &tci,
					  &short_tag));
	CU_ASSERT_FALSE(short_tag);
	/* A tag cut off by the end of the frame's first bytes. */
	CU_ASSERT_FALSE(net_vlan_read_tag(tagged, 16, &tci, &short_tag));
	CU_ASSERT_TRUE(short_tag);
	CU_ASSERT_FALSE(net_vlan_read_tag(tagged, 12, &tci, &short_tag));
	CU_ASSERT_FALSE(short_tag);
}

static CU_TestInfo vlan_tests[] = {
	{ "vlan=, trunk=, native= parameters", test_parse },
	{ "trunk lists printed as parsed", test_format },
	{ "ingress: which VLAN a frame belongs to", test_ingress },
	{ "egress: member, tagged or not", test_egress },
	{ "tag push and pop on buffers", test_push_pop },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "net_vlan", NULL, NULL, NULL, NULL, vlan_tests },
	CU_SUITE_INFO_NULL,
};
