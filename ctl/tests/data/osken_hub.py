"""A minimal os-ken controller for ferrovs's controller test: on connect it installs a
table-miss flow to the controller, and answers every packet-in with a packet-out that floods
the packet (a hub). Prints one line per event so that the test can see what happened.

Usage: python3 osken_hub.py PORT   (listens on 127.0.0.1:PORT, OpenFlow 1.3)
"""
import sys

from os_ken import cfg
from os_ken.lib import hub

hub.patch(thread=False)

from os_ken.base import app_manager  # noqa: E402
from os_ken.controller import ofp_event  # noqa: E402
from os_ken.controller.handler import CONFIG_DISPATCHER, MAIN_DISPATCHER, set_ev_cls  # noqa: E402
from os_ken.ofproto import ofproto_v1_3  # noqa: E402


class Hub(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def features(self, ev):
        dp = ev.msg.datapath
        ofp, parser = dp.ofproto, dp.ofproto_parser
        actions = [parser.OFPActionOutput(ofp.OFPP_CONTROLLER, ofp.OFPCML_NO_BUFFER)]
        inst = [parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions)]
        dp.send_msg(parser.OFPFlowMod(datapath=dp, priority=0, match=parser.OFPMatch(), instructions=inst))
        print("connected dpid=%016x" % dp.id, flush=True)

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def packet_in(self, ev):
        msg = ev.msg
        dp = msg.datapath
        ofp, parser = dp.ofproto, dp.ofproto_parser
        in_port = msg.match["in_port"]
        print("packet_in in_port=%d len=%d" % (in_port, len(msg.data)), flush=True)
        out = parser.OFPPacketOut(
            datapath=dp,
            buffer_id=ofp.OFP_NO_BUFFER,
            in_port=in_port,
            actions=[parser.OFPActionOutput(ofp.OFPP_FLOOD)],
            data=msg.data,
        )
        dp.send_msg(out)


def main():
    port = sys.argv[1]
    cfg.CONF(args=["--ofp-tcp-listen-port", port, "--ofp-listen-host", "127.0.0.1"], project="os_ken")
    mgr = app_manager.AppManager.get_instance()
    mgr.load_apps([__name__, "os_ken.controller.ofp_handler"])
    services = mgr.instantiate_apps(**mgr.create_contexts())
    print("listening on %s" % port, flush=True)
    hub.joinall(services)


if __name__ == "__main__":
    main()
