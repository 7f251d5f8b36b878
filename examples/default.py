# Osprey's default routing policy (Python 3, app_python3).
#
# The same policy as default.lua, function for function (and in
# default.js, and the native default-native.cfg); tests/engines/ checks
# that they behave alike. Start it with default-py.cfg. It is a registrar
# and proxy for the server's own domain:
#   * initial checks: flood protection (pike + an "ipban" htable), scanner
#     user agents, Max-Forwards, OPTIONS keepalive, sanity;
#   * CANCEL and retransmissions handled by the transaction layer;
#   * requests inside dialogs follow their Record-Route (loose_route);
#   * digest authentication of local users (REGISTER, and calls from them);
#   * REGISTER saved in the location table; calls looked up there;
#   * relay with branch, reply and failure callbacks: a call that fails
#     with 486, 408 or a timeout goes on to the voicemail target, when the
#     configuration defines VOICEMAIL (e.g. #!define VOICEMAIL "sip:vm@...").
# Modules that are not loaded are skipped (KSR has no such attribute then).
#
# Kamailio's contract: mod_init() returns the object whose methods are the
# routes and the callbacks named with t_on_*(). KSR functions return
# Kamailio's integers: test them with "< 0" / "> 0", as -1 is true.
# KSR.x.exit() ends the whole route (it raises an exception derived from
# BaseException, so "except Exception" does not stop it); Kamailio's
# "return -255" convention is not needed.

import re

import KSR

FLT_ACC = 1
FLT_ACCMISSED = 2
FLT_ACCFAILED = 3
FLT_NATS = 5
FLB_NATB = 6
FLB_NATSIPPING = 7


def have(module):
    """True when the module is loaded (KSR.<module> exists)."""
    return getattr(KSR, module, None) is not None


def define(name):
    """A define's value without the quotes it was written with, or None."""
    if not hasattr(KSR.kx, "ifdef") or KSR.kx.ifdef(name) is not True:
        return None
    v = KSR.kx.get_def(name)
    if v:
        v = re.sub(r'^"(.*)"$', r"\1", v)
    return v


def mod_init():
    return DefaultPolicy()


class DefaultPolicy:
    def ksr_request_route(self, msg):
        self.route_reqinit()
        self.route_natdetect()

        # CANCEL goes to the transaction it cancels
        if KSR.is_CANCEL():
            if KSR.tm.t_check_trans() > 0:
                self.route_relay()
            return 1

        # retransmissions are absorbed by their transaction
        if not KSR.is_ACK():
            if KSR.tmx.t_precheck_trans() > 0:
                KSR.tm.t_check_trans()
                return 1
            if KSR.tm.t_check_trans() == 0:
                return 1

        self.route_withindlg()

        # only initial requests from here on
        self.route_auth()

        # preloaded Route headers are not honoured; record-route dialogs
        KSR.hdr.remove("Route")
        if KSR.is_method_in("IS"):
            KSR.rr.record_route()
        if KSR.is_INVITE():
            KSR.setflag(FLT_ACC)

        self.route_sipout()
        self.route_registrar()

        if KSR.corex.has_ruri_user() < 0:
            KSR.sl.sl_send_reply(484, "Address Incomplete")
            return 1
        self.route_location()
        return 1

    # relay through the transaction layer, with the callbacks below
    def route_relay(self):
        if KSR.is_method_in("IBSU") and KSR.tm.t_is_set("branch_route") < 0:
            KSR.tm.t_on_branch("ksr_branch_manage")
        if KSR.is_method_in("ISU") and KSR.tm.t_is_set("onreply_route") < 0:
            KSR.tm.t_on_reply("ksr_onreply_manage")
        if KSR.is_INVITE() and KSR.tm.t_is_set("failure_route") < 0:
            KSR.tm.t_on_failure("ksr_failure_manage")
        if KSR.tm.t_relay() < 0:
            KSR.sl.sl_reply_error()
        KSR.x.exit()

    def route_reqinit(self):
        KSR.set_reply_no_connect()
        KSR.force_rport()
        if have("htable") and have("pike") and not KSR.is_myself_srcip():
            srcip = KSR.kx.get_srcip()
            if KSR.htable.sht_match_name("ipban", "eq", srcip) > 0:
                KSR.x.exit()
            if KSR.pike.pike_check_req() < 0:
                KSR.err("pike: blocking %s from %s:%s"
                        % (KSR.kx.get_method(), srcip,
                           KSR.kx.get_srcport()))
                KSR.htable.sht_seti("ipban", srcip, 1)
                KSR.x.exit()
        ua = KSR.kx.gete_ua()
        if ("friendly" in ua or "scanner" in ua or "sipcli" in ua
                or "sipvicious" in ua):
            KSR.sl.sl_send_reply(200, "OK")
            KSR.x.exit()
        if KSR.maxfwd.process_maxfwd(10) < 0:
            KSR.sl.sl_send_reply(483, "Too Many Hops")
            KSR.x.exit()
        if (KSR.is_OPTIONS() and KSR.is_myself_ruri()
                and KSR.corex.has_ruri_user() < 0):
            KSR.sl.sl_send_reply(200, "Keepalive")
            KSR.x.exit()
        if KSR.sanity.sanity_check(17895, 7) < 0:
            KSR.err("malformed SIP message from %s:%s"
                    % (KSR.kx.get_srcip(), KSR.kx.get_srcport()))
            KSR.x.exit()

    def route_withindlg(self):
        if KSR.siputils.has_totag() < 0:
            return
        if KSR.rr.loose_route() > 0:
            self.route_dlguri()
            if KSR.is_BYE():
                KSR.setflag(FLT_ACC)
                KSR.setflag(FLT_ACCFAILED)
            elif KSR.is_ACK():
                self.route_natmanage()
            elif KSR.is_NOTIFY():
                KSR.rr.record_route()
            self.route_relay()
        if KSR.is_ACK():
            if KSR.tm.t_check_trans() > 0:
                self.route_relay()
            KSR.x.exit()
        KSR.sl.sl_send_reply(404, "Not here")
        KSR.x.exit()

    def route_registrar(self):
        if not KSR.is_REGISTER():
            return
        if KSR.isflagset(FLT_NATS):
            KSR.setbflag(FLB_NATB)
            KSR.setbflag(FLB_NATSIPPING)
        if KSR.registrar.save("location", 0) < 0:
            KSR.sl.sl_reply_error()
        KSR.x.exit()

    def route_location(self):
        rc = KSR.registrar.lookup("location")
        if rc < 0:
            KSR.tm.t_newtran()
            if rc == -2:
                KSR.sl.send_reply(405, "Method Not Allowed")
            else:
                KSR.sl.send_reply(404, "Not Found")
            KSR.x.exit()
        if KSR.is_INVITE():
            KSR.setflag(FLT_ACCMISSED)
        self.route_relay()

    def route_auth(self):
        if not have("auth"):
            return
        if (have("permissions") and not KSR.is_REGISTER()
                and KSR.permissions.allow_source_address(1) > 0):
            return
        if KSR.is_REGISTER() or KSR.is_myself_furi():
            realm = KSR.kx.gete_fhost()
            if KSR.auth_db.auth_check(realm, "subscriber", 1) < 0:
                KSR.auth.auth_challenge(realm, 1)
                KSR.x.exit()
            if not KSR.is_method_in("RP"):
                KSR.auth.consume_credentials()
        # not an open relay: the caller or the callee must be ours
        if not KSR.is_myself_furi() and not KSR.is_myself_ruri():
            KSR.sl.sl_send_reply(403, "Not relaying")
            KSR.x.exit()

    def route_natdetect(self):
        if not have("nathelper"):
            return
        if KSR.nathelper.nat_uac_test(19) > 0:
            if KSR.is_REGISTER():
                KSR.nathelper.fix_nated_register()
            elif KSR.siputils.is_first_hop() > 0:
                KSR.nathelper.set_contact_alias()
            KSR.setflag(FLT_NATS)

    def route_natmanage(self):
        if not have("nathelper"):
            return
        if (KSR.siputils.is_request() > 0 and KSR.siputils.has_totag() > 0
                and KSR.rr.check_route_param("nat=yes") > 0):
            KSR.setbflag(FLB_NATB)
        if not (KSR.isflagset(FLT_NATS) or KSR.isbflagset(FLB_NATB)):
            return
        if have("rtpengine"):
            KSR.rtpengine.rtpengine_manage(
                "replace-origin replace-session-connection")
        if (KSR.siputils.is_request() > 0 and KSR.siputils.has_totag() < 0
                and KSR.tmx.t_is_branch_route() > 0):
            KSR.rr.add_rr_param(";nat=yes")
        if KSR.siputils.is_reply() > 0 and KSR.isbflagset(FLB_NATB):
            KSR.nathelper.set_contact_alias()

    def route_dlguri(self):
        if have("nathelper") and not KSR.isdsturiset():
            KSR.nathelper.handle_ruri_alias()

    # requests for other domains are relayed as they are
    def route_sipout(self):
        if KSR.is_myself_ruri():
            return
        KSR.hdr.append("P-Hint: outbound\r\n")
        self.route_relay()

    def ksr_branch_manage(self, msg):
        KSR.dbg("new branch [%s] to %s"
                % (KSR.pv.get("$T_branch_idx"), KSR.kx.get_ruri()))
        self.route_natmanage()
        return 1

    def ksr_onreply_manage(self, msg):
        code = KSR.kx.get_status()
        if 100 < code <= 299:
            self.route_natmanage()
        return 1

    # a call that was busy, timed out or not answered goes to voicemail
    def ksr_failure_manage(self, msg):
        self.route_natmanage()
        if KSR.tm.t_is_canceled() > 0:
            return 1
        vm = define("VOICEMAIL")
        if not vm:
            return 1
        code = KSR.pv.get("$T_reply_code")
        if (code == 486 or code == 408 or code == 480
                or KSR.tm.t_branch_timeout() > 0):
            KSR.seturi(vm)
            KSR.resetdsturi()
            self.route_relay()
        return 1

    # replies relayed statelessly (no transaction): drop malformed ones
    def ksr_reply_route(self, msg):
        if KSR.sanity.sanity_check(17604, 6) < 0:
            KSR.x.drop()
        return 1
