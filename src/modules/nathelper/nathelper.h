/* nathelper.h - what other modules may use of nathelper (Kamailio's
 * nathelper: NAT detection, Contact/SDP fixing, NAT keepalives). */
#ifndef OSP_NATHELPER_H
#define OSP_NATHELPER_H

#include "core/str.h"

/* 1 when ip is an IPv4 address (dotted quad) in the ranges nathelper
 * treats as private: RFC 1918 (10/8, 172.16/12, 192.168/16), RFC 6598
 * (100.64/10), RFC 7335 (192.0.0.0/29) and, with nat_addr_mode 1 (the
 * default), the rest of 192.0.0.0/24. 0 for any other text, IPv6
 * addresses included (as Kamailio). */
int nh_is_rfc1918(str_t ip);

#endif
